"""Bad clips on purpose: the animatic and the test fakes spoil a good clip the way real models
fail (black, frozen, flashing, short, wrong aspect, silent, clipped, a cut inside, the wrong
first frame), so every QC check and the re-roll policy are tested on real media.

``REELFLOW_ANIMATIC_FAULTS`` (JSON) tells the animatic which requests to spoil: a list of rules,
each a fault and what it matches, e.g. ``[{"fault": "frozen", "shot": "a1", "tier": "final",
"seed": 7}]`` (shot, tier, seed, model); a field left out matches anything."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from reelflow.media.ffmpeg import AAC, INTERMEDIATE, probe, run_ffmpeg

FAULTS = ("black", "frozen", "flash", "short", "aspect", "silent", "clipped", "cut", "first_frame")


def spoil(src: Path, dest: Path, fault: str) -> None:
    """``src`` made bad in one way, written to ``dest`` (H.264/AAC like the original)."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
    info = probe(src, count_frames=False)
    half = max(info.duration / 2, 0.1)
    video = {
        "black": "drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill",
        "frozen": "loop=loop=-1:size=1:start=0,setpts=N/FRAME_RATE/TB",
        "flash": "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(n\\,6)\\,2)'",
        "aspect": f"scale={info.height}:{info.height},setsar=1",
        "cut": f"negate=enable='gte(t\\,{half:.3f})',hue=h=180:enable='gte(t\\,{half:.3f})'",
        "first_frame": "hflip,negate",
    }.get(fault)
    audio = {"silent": "volume=0", "clipped": "volume=36dB,asoftclip=type=hard"}.get(fault)
    args = ["-i", str(src), "-map", "0:v:0", "-map", "0:a:0?"]
    if video:
        args += ["-vf", video]
    if audio:
        args += ["-af", audio]
    if fault == "short":
        args += ["-t", f"{half:.3f}"]
    elif fault == "frozen":
        args += ["-t", f"{info.duration:.3f}"]
    tmp = dest.with_name(dest.name + ".spoil.mp4")
    run_ffmpeg([*args, *INTERMEDIATE, *AAC, "-movflags", "+faststart", str(tmp)], what=f"spoiling ({fault})")
    shutil.move(str(tmp), dest)


def fault_for(shot_id: str, tier: str, seed: int, model: str) -> str | None:
    """The fault the first matching rule in REELFLOW_ANIMATIC_FAULTS gives this request, or None."""
    text = os.environ.get("REELFLOW_ANIMATIC_FAULTS")
    if not text:
        return None
    rules = json.loads(text)
    for rule in rules if isinstance(rules, list) else [rules]:
        wanted = {"shot": shot_id, "tier": tier, "seed": seed, "model": model}
        if not any(k in rule and rule[k] != v for k, v in wanted.items()):
            return rule["fault"]
    return None
