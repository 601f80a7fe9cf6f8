"""A scene group offline: each shot of the call painted as the animatic paints a shot (its own
prompt, its own seconds), one clip with hard cuts inside, as a multi-shot model returns it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from reelflow.media.frames import join_segments
from reelflow.providers.base import GenerationRequest


def render_group_animatic(req: GenerationRequest, dest: Path) -> dict:
    from reelflow.providers.animatic.provider import render_animatic, render_size

    fps = render_size(req)[2]
    notes, spans, at = [f"multi-shot call: {len(req.group)} shots with hard cuts at "
                        + ", ".join(f"{sum(p.seconds for p in req.group[:k])}s" for k in range(1, len(req.group)))], [], 0.0
    with tempfile.TemporaryDirectory(prefix="reelflow-group-") as tmp:
        parts = []
        for k, shot in enumerate(req.group):
            one = req.model_copy(update={
                "shot_id": shot.shot_id, "prompt": shot.prompt, "seconds": shot.seconds, "group": (),
                "image_path": req.image_path if k == 0 else None,  # the call starts on its first frame
                "last_frame_path": req.last_frame_path if k == len(req.group) - 1 else None})
            parts.append(Path(tmp) / f"{k}.mp4")
            made = render_animatic(one, parts[-1])
            spans += [(a + at, b + at) for a, b in made.get("speech_spans", [])]
            at += shot.seconds
        join_segments(parts, dest, fps, overlap=False)
    return {"speech_spans": spans, "notes": notes, "render_fps": fps}
