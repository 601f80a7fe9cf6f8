"""The animatic's extend API, so long takes by extension run offline as they would on Vertex:
the clip so far comes in, the same clip longer by ``seconds`` comes back, the new part starting
on its last frame (picture and sound run on without a repeated frame)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reelflow.media.ffmpeg import probe
from reelflow.media.frames import extract_last_frame, join_segments
from reelflow.providers.base import GenerationRequest


def extend_animatic(req: GenerationRequest, dest: Path) -> dict:
    from reelflow.providers.animatic.provider import render_animatic, render_size

    source = Path(req.video_path or "")
    with tempfile.TemporaryDirectory(prefix="reelflow-extend-") as tmp:
        frame, more = Path(tmp) / "last.png", Path(tmp) / "more.mp4"
        extract_last_frame(source, frame)
        meta = render_animatic(req.model_copy(update={"image_path": str(frame), "video_path": None}), more)
        fps = render_size(req)[2]
        join_segments([source, more], dest, fps)
    # the new part's speech, placed in the whole clip (it starts where the clip so far ended)
    info = probe(source, count_frames=False)
    start = (info.video_duration or info.duration) - 1 / fps
    return {**meta, "speech_spans": [(a + start, b + start) for a, b in meta.get("speech_spans", [])],
            "notes": [*meta.get("notes", []), f"extended the clip so far by {req.seconds}s (extend API)"]}
