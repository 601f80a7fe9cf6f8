"""Prefect task: the companions editors expect beside the MP4 (OTIO, FCP XML, EDL, captions,
contact sheet, and any a plugin registers), all from the same edit object."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from reelflow.deliver.registry import DeliveryInput, deliverable


class Companions(BaseModel):
    model_config = ConfigDict(frozen=True)
    files: dict[str, str]  # deliverable -> path
    captions: list[dict]  # cue timings, in frames and seconds
    notes: list[str] = []


@task(name="deliver-companions", cache_policy=NO_CACHE)
def deliver_companions(given: DeliveryInput, wanted: list[str]) -> Companions:
    """Not cached: each file is a cheap function of results that are; writing them always keeps
    the output folder complete even when someone deleted a companion."""
    files: dict[str, str] = {}
    notes: list[str] = []
    for name in wanted:
        maker = deliverable(name)
        dest = given.path(maker.suffix)
        notes += maker.write(given, dest)
        if dest.is_file():
            files[name] = str(dest)
    fps = given.edit.timeline.fps
    captions = [{"shot": c.shot_id, "speaker": c.speaker, "text": c.text, "start_frame": c.start_frame,
                 "end_frame": c.end_frame, "start": round(c.start_frame / fps, 3),
                 "end": round(c.end_frame / fps, 3)} for c in given.cues()]
    return Companions(files=files, captions=captions, notes=notes)
