"""A transition and a deliverable added by another package, without touching reelflow (#10 "one
file per extension"): a distribution on the path declares a `reelflow.spec.transitions` or
`reelflow.deliverables` entry point; the shot list accepts the name and picture, sound, NLE export
and the deliver task use it like a built-in one."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess

import numpy as np
import opentimelineio as otio
import pytest
from pydub.generators import Sine

from reelflow import plugins
from reelflow.load.catalog_file import load_catalog
from reelflow.deliver.nle import ShotRef, build_otio
from reelflow.deliver.registry import DeliveryInput
from reelflow.edit.edit import Edit, Take
from reelflow.errors import ShotListError
from reelflow.edit.clip import ClipResult
from reelflow.media.edit import Source, iter_edit_frames
from reelflow.media.ffmpeg import ffmpeg_exe
from reelflow.media.mix import RATE, follow_picture
from reelflow.store.local import Store
from reelflow.plan.routing import plan_shotlist
from reelflow.load.loader import load_shotlist
from reelflow.tasks.deliver import deliver_companions
from reelflow.edit.timeline import build_timeline, mix_weights

from .conftest import make_repo

FLASH = '''
from reelflow.spec.transitions import Transition


class Flash(Transition):
    """A white flash: out to white in the first quarter, white, in from white in the last."""

    name, colour, sound, otio_type = "flash", "white", "through", "Custom"

    def weights(self, p):
        if p < 0.25:
            return 1 - 4 * p, 0.0, 4 * p
        if p > 0.75:
            return 0.0, 4 * p - 3, 4 - 4 * p
        return 0.0, 0.0, 1.0
'''

SHOTLOG = '''
import csv


class ShotLog:
    """A CSV line per shot: id, start frame, frames, model, who rendered the take."""

    name, suffix = "shotlog", ".shots.csv"

    def write(self, given, dest):
        with open(dest, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["shot", "start_frame", "frames", "model", "rendered_by"])
            for s in given.edit.shots:
                out.writerow([s.id, s.place.start, s.place.frames, s.plan.model, s.take.clip.provider])
        return []
'''

SHOTS = """\
title: Plugin cut
defaults: {{transition: {{type: {kind}, seconds: 0.5}}}}
output: {{resolution: 720p, aspect: "16:9", fps: 24, deliverables: [{deliverable}]}}
shots:
  - {{id: a, prompt: a quiet harbour at dawn, duration: 2, model: kling-3.0-std}}
  - {{id: b, prompt: gulls over the pier, duration: 2, model: kling-3.0-std}}
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Install a one-module distribution declaring entry points; forgotten after the test."""
    def install(module: str, source: str, group: str, name: str, attr: str) -> None:
        site = tmp_path / f"site-{module}"
        info = site / f"{module}-0.1.dist-info"
        info.mkdir(parents=True)
        (site / f"{module}.py").write_text(source)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:{attr}\n")
        monkeypatch.syspath_prepend(str(site))
        plugins.refresh()

    yield install
    monkeypatch.undo()
    plugins.refresh()


def test_a_plugin_transition_drives_picture_sound_and_the_nle_export(tmp_path, plugin):
    path = make_repo(tmp_path, SHOTS.format(kind="flash", deliverable="otio"))
    with pytest.raises(ShotListError, match="unknown transition 'flash'"):
        load_shotlist(path)
    plugin("reelflow_flash", FLASH, "reelflow.transitions", "flash", "Flash")
    spec = load_shotlist(path).spec
    timeline = build_timeline(spec)
    join = timeline.clips[0].join_out
    assert (join.type, join.frames) == ("flash", 12)
    assert mix_weights("flash", 0.5) == (0.0, 0.0, 1.0) and mix_weights("flash", 0.1) == pytest.approx((0.6, 0.0, 0.4))

    # picture: the middle of the join is white (video-range luma 235) between a black and a grey clip
    sources = []
    for name, colour in (("a", "black"), ("b", "gray")):
        clip = tmp_path / f"{name}.mp4"
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", f"color={colour}:s=64x36:r=24:d=2",
                        "-pix_fmt", "yuv420p", str(clip)], check=True)
        sources.append(Source(clip))
    frames = list(iter_edit_frames(timeline, sources, (64, 36)))
    luma = [np.frombuffer(f, np.uint8)[: 64 * 36].mean() for f in frames]
    middle = timeline.clips[1].start + join.frames // 2
    assert len(frames) == timeline.frames and luma[middle] > 230 and luma[5] < 25

    # sound: "through" fades out then in; the outgoing shot is silent in the join's second half
    tone = Sine(440).to_audio_segment(duration=2000).set_frame_rate(RATE).set_channels(2)
    out = follow_picture(tone, timeline.clips[0], timeline.fps)
    assert len(out) == 2000 and out[-200:].max == 0 and out[:1000].max > 0

    # NLE: the transition is exported as itself
    refs = [ShotRef(c.shot_id, str(tmp_path / f"{c.shot_id}.mp4"), 48, "p", "m", "animatic", "draft", "r")
            for c in timeline.clips]
    tl = build_otio(timeline, refs, None, "t")
    written = tmp_path / "cut.otio"
    otio.adapters.write_to_file(tl, str(written))
    back = otio.adapters.read_from_file(str(written))
    kinds = [(t.name, t.transition_type) for t in back.video_tracks()[0] if isinstance(t, otio.schema.Transition)]
    assert kinds == [("flash", otio.schema.TransitionTypes.Custom)]


def test_a_plugin_deliverable_is_accepted_and_written_by_the_deliver_task(tmp_path, plugin):
    path = make_repo(tmp_path, SHOTS.format(kind="crossfade", deliverable="shotlog"))
    with pytest.raises(ShotListError, match="unknown deliverable 'shotlog'"):
        load_shotlist(path)
    plugin("reelflow_shotlog", SHOTLOG, "reelflow.deliverables", "shotlog", "ShotLog")
    loaded = load_shotlist(path)
    assert "shotlog" in loaded.spec.output.deliverables
    plan = plan_shotlist(loaded.spec, load_catalog(), dt.date(2026, 11, 24))
    clips = {s.shot_id: ClipResult(key=s.shot_id, path=f"clips/{s.shot_id}.mp4", sha256="0" * 64, shot_id=s.shot_id,
                                   tier="draft", model=s.draft_model, provider="animatic", job_id="j", seconds=2,
                                   width=640, height=360, fps=24, has_audio=True) for s in plan.shots}
    edit = Edit.planned(loaded, plan).with_takes("draft", {i: Take(c) for i, c in clips.items()})
    given = DeliveryInput(edit=edit, out_dir=tmp_path, edit_path=tmp_path / "x.mp4", mix_wav=tmp_path / "x.wav",
                          media={i: tmp_path / f"{i}.mp4" for i in edit.ids}, captions={},
                          store=Store(tmp_path / "store"), edit_sha="0" * 64)
    done = deliver_companions.fn(given=given, wanted=["shotlog"])
    rows = list(csv.reader(open(done.files["shotlog"])))
    assert done.files["shotlog"].endswith("cut.shots.csv")
    assert rows[1:] == [["a", "0", "48", plan.shots[0].model, "animatic"],
                        ["b", "36", "48", plan.shots[1].model, "animatic"]]


def test_transition_and_deliverable_names_come_from_the_registry():
    assert {"cut", "crossfade", "fade_black", "dip_white"} <= set(plugins.names("reelflow.transitions"))
    assert {"otio", "fcpxml", "edl", "srt", "vtt", "contact_sheet"} <= set(plugins.names("reelflow.deliverables"))
