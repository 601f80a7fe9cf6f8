"""Music fitted to the cut (#20): a bed made for the edit at its exact length (offline, or Lyria
on the Gemini API through the official SDK against a local fake, paid once), and hard cuts moved
onto its beats (tracked by librosa) within the clips' spare frames."""

from __future__ import annotations

import datetime as dt

import pytest

from reelflow.edit.edit import Edit, Take
from reelflow.errors import TransientProviderError
from reelflow.spec.music import Cut, MusicRequest, nudge_cuts, tempo_of
from reelflow.providers.common import AuthError
from reelflow.providers.lyria import LyriaMusic, body
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList
from reelflow.edit.timeline import shift_cuts

from .fakes_lyria import FakeLyria
from .test_edit import CAT, clip, loaded

KEY = "gm-test-lyria-0123456789"


def test_tempo_words_and_numbers():
    assert tempo_of("slow warm strings, 84 bpm") == 84.0 and tempo_of("upbeat synth 140bpm") == 140.0
    assert tempo_of("slow piano at night") == 72.0 and tempo_of("a cello") == 96.0


def test_a_cut_moves_to_the_nearest_beat_within_its_reach_and_limits():
    cuts = [Cut(0, 100, earlier=10, later=0), Cut(1, 200, earlier=0, later=3), Cut(2, 300, earlier=5, later=5)]
    beats = [96 / 24, 205 / 24, 400 / 24]  # frame 96, 205, 400 at 24 fps
    # cut 0 may move 4 frames earlier (limit 10, reach 6); cut 1 may move 3 later only (205 is 5 away); cut 2 has no beat
    assert nudge_cuts(cuts, beats, 24, max_nudge=0.25) == {0: -4}


def test_moving_cuts_keeps_the_edit_length_and_refuses_transitions():
    lst = loaded({"duration": 2.3}, {"duration": 3.1}, {"duration": 2.6, "transition": {"type": "crossfade", "seconds": 0.5}},
                 {"duration": 2}, defaults={"transition": {"type": "cut"}, "handles": 1.0})
    edit = Edit.planned(lst, plan_shotlist(lst.spec, CAT, dt.date(2026, 12, 7)))
    edit = edit.with_takes("final", {s.id: Take(clip(s.id, "final")) for s in edit.shots})  # 4 s clips
    cuts = {c.index: c for c in edit.cuts()}
    assert set(cuts) == {0, 1}  # the cut after s2 is a crossfade: it stays
    fps = edit.timeline.fps
    assert cuts[0].later == 4 * 24 - int(round(2.3 * fps))  # s0's clip is 4 s: its spare tail
    moved = edit.with_timeline(shift_cuts(edit.timeline, {0: 5, 1: -3}))
    assert moved.timeline.frames == edit.timeline.frames
    assert [s.place.frames for s in moved.shots[:2]] == [edit.shots[0].place.frames + 5, edit.shots[1].place.frames - 8]
    with pytest.raises(ValueError, match="transition"):
        shift_cuts(edit.timeline, {2: 1})


def test_music_is_a_file_or_a_prompt_and_a_wrong_route_is_refused():
    base = {"title": "t", "shots": [{"id": "a", "prompt": "p", "duration": 2}]}
    made = ShotList.model_validate({**base, "audio": {"music": {"generate": "slow strings", "route": "lyria"}}})
    assert made.audio.music.route == "lyria" and made.assets() == []  # nothing in the repository to check
    with pytest.raises(ValueError, match="route"):
        ShotList.model_validate({**base, "audio": {"music": {"generate": "slow strings", "route": "suno"}}})


@pytest.fixture
def lyria(monkeypatch):
    server = FakeLyria(KEY).start()
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.setenv("GEMINI_BASE_URL", server.url)
    yield server
    server.stop()


def test_lyria_is_asked_through_the_sdk_and_its_faults_are_classified(lyria, monkeypatch):
    req = MusicRequest(prompt="slow strings", route="lyria", model="lyria-3.5", seconds=12.0)
    assert body(req) == {"model": "lyria-3.5", "input": "slow strings. Instrumental, no vocals. Exactly 12 seconds long."}
    assert len(LyriaMusic().compose(req)) > 100_000
    for fault in (500, 429, "badjson"):
        lyria.inject("submit", fault)
        with pytest.raises(TransientProviderError):
            LyriaMusic().compose(req)
    lyria.inject("download", "garbage")
    with pytest.raises(TransientProviderError, match="damaged"):
        LyriaMusic().compose(req)
    monkeypatch.setenv("GEMINI_API_KEY", "wrong")
    with pytest.raises(AuthError, match="GEMINI_API_KEY"):
        LyriaMusic().compose(req)


def _render(tmp_path, data):
    import yaml

    from .conftest import make_repo
    from .test_cloud_flow import render

    return render(make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False), music=False), tmp_path)


@pytest.mark.slow
def test_a_bed_made_offline_fits_the_edit_and_the_cuts_land_on_its_beats(prefect_harness, tmp_path):
    shots = [{"id": f"s{k}", "prompt": p, "duration": d} for k, (p, d) in
             enumerate([("a harbour at night", 2.3), ("a boat leaves", 3.1), ("gulls over the sea", 2.6),
                        ("the lighthouse", 2.0)])]
    data = {"title": "Beat", "output": {"resolution": "720p", "deliverables": ["otio"]},
            "defaults": {"transition": {"type": "cut"}, "handles": 1.0},
            "audio": {"music": {"generate": "slow warm pads at night, 84 bpm"}, "cut_on_beat": True}, "shots": shots}
    m = _render(tmp_path, data)
    music = m["music"]
    assert music["source"] == "offline" and music["cost_usd"] == 0.0
    assert abs(music["seconds"] - m["output"]["duration"]) <= 1 / 24  # made at the edit's exact length
    assert music["tracking_error_ms"] <= 50  # librosa finds the beats it was composed on
    beat = 60 / 84
    starts = [s["timeline"]["start"] for s in m["shots"][1:]]
    moved = music["cuts_moved"]
    assert len(moved) >= 2, music
    for shot in m["shots"][1:]:
        if shot["id"] in moved:  # a moved cut sits on a beat, to the frame (and the tracker's error)
            t = shot["timeline"]["start"]
            assert abs(t - round(t / beat) * beat) <= 1 / 24 + 0.05, (shot["id"], t)
    assert m["output"]["frames"] == sum(round(d * 24) for d in (2.3, 3.1, 2.6, 2.0))  # the length is unchanged
    import opentimelineio as otio

    from pathlib import Path

    track = otio.adapters.read_from_file(str(next(Path(tmp_path / "out").glob("*.otio")))).video_tracks()[0]
    cuts = [c.range_in_parent().start_time.to_seconds() for c in track.find_clips()][1:]
    assert [round(c, 3) for c in cuts] == [round(s, 3) for s in starts]  # the timeline export follows the cuts


@pytest.mark.slow
def test_a_lyria_bed_is_made_once_for_the_prototype_and_the_final(prefect_harness, lyria, tmp_path):
    data = {"title": "Song", "output": {"resolution": "720p", "deliverables": []},
            "audio": {"music": {"generate": "a slow cello", "route": "lyria"}},
            "shots": [{"id": "a", "prompt": "a harbour", "duration": 3}, {"id": "b", "prompt": "a boat", "duration": 3}]}
    lyria.inject("submit", 503)
    first = _render(tmp_path, data)
    assert lyria.submissions == 1 and first["music"]["cost_usd"] == 0.08 and not first["music"]["cache_hit"]
    assert first["cost"]["actual_usd"] == 0.08  # offline pictures are free; the song is not
    assert "Exactly 6 seconds long" in lyria.bodies[0]["input"]  # two 3 s shots, cut: as long as the edit
    assert first["music"]["seconds"] == 6.0  # a later run reads it from the store (tests/test_audio_matrix.py)
