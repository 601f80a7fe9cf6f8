"""Prefect task: the companions editors expect beside the MP4 (OTIO, FCP XML, EDL, captions,
contact sheet), all from the same render."""

from __future__ import annotations

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from reelflow.deliver.captions import build_cues, to_srt, to_vtt
from reelflow.deliver.contact import contact_sheet
from reelflow.deliver.nle import ShotRef, build_otio, write_nle
from reelflow.store import write_text_atomic
from reelflow.timeline import Timeline


class Companions(BaseModel):
    model_config = ConfigDict(frozen=True)
    files: dict[str, str]  # deliverable -> path
    captions: list[dict]  # cue timings, in frames and seconds
    notes: list[str] = []


@task(name="deliver-companions", cache_policy=NO_CACHE)
def deliver_companions(timeline: Timeline, title: str, stem: str, out_dir: str, edit_path: str,
                       mix_wav: str, shots: list[ShotRef], dialogue: list[list[tuple[str, str]]],
                       spans: list[list[tuple[float, float]]], labels: list[tuple[str, str]],
                       wanted: list[str]) -> Companions:
    """Not cached: each file is a cheap function of results that are; writing them always keeps
    the output folder complete even when someone deleted a companion."""
    out = Path(out_dir)
    files: dict[str, str] = {}
    notes: list[str] = []
    want = set(wanted)
    if want & {"otio", "fcpxml", "edl"}:
        tl = build_otio(timeline, shots, mix_wav, title)
        paths = {"otio": out / f"{stem}.otio", "fcpxml": out / f"{stem}.xml", "edl": out / f"{stem}.edl"}
        notes += write_nle(tl, paths["otio"] if "otio" in want else None,
                           paths["fcpxml"] if "fcpxml" in want else None,
                           paths["edl"] if "edl" in want else None)
        files.update({k: str(p) for k, p in paths.items() if k in want and p.is_file()})
    cues = build_cues(timeline, dialogue, spans)
    if "srt" in want:
        write_text_atomic(out / f"{stem}.srt", to_srt(cues, timeline.fps))
        files["srt"] = str(out / f"{stem}.srt")
    if "vtt" in want:
        write_text_atomic(out / f"{stem}.vtt", to_vtt(cues, timeline.fps))
        files["vtt"] = str(out / f"{stem}.vtt")
    if "contact_sheet" in want:
        contact_sheet(Path(edit_path), timeline, labels, out / f"{stem}.contact.png")
        files["contact_sheet"] = str(out / f"{stem}.contact.png")
    captions = [{"shot": c.shot_id, "speaker": c.speaker, "text": c.text, "start_frame": c.start_frame,
                 "end_frame": c.end_frame, "start": round(c.start_frame / timeline.fps, 3),
                 "end": round(c.end_frame / timeline.fps, 3)} for c in cues]
    return Companions(files=files, captions=captions, notes=notes)
