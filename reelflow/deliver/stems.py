"""The sound in parts beside the MP4: `<stem>.mix.wav` and one WAV per stem of it
(`.dialogue.wav`, `.effects.wav`, `.production.wav`, `.music.wav`) at the mix's gain, so they add up to
the mix before its limiter. The OTIO and FCP XML carry the same stems as audio tracks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class Stems:
    name, suffix = "stems", ".mix.wav"

    def write(self, given, dest: Path) -> list[str]:
        if not given.stems:
            return ["stems not written: this mix has none (made before stems existed); re-run to mix again"]
        for src, target in [(given.mix_wav, dest), *((path, dest.with_name(f"{given.edit.stem}.{name}.wav"))
                                                        for name, path in given.stems.items())]:
            tmp = target.with_name(f".{target.name}.part")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
        return []
