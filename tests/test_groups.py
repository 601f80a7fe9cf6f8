"""Scene groups (#21): consecutive shots in one multi-shot call. Planning is pure (milliseconds);
the flow test renders a group of three shots through the Kling adapter against its fake."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList

CAT = load_catalog()
TODAY = dt.date(2026, 12, 7)


def spec(*shots, **top) -> ShotList:
    data = {"title": "t", "output": {"resolution": "720p", "fps": 24},
            "defaults": {"transition": {"type": "crossfade", "seconds": 0.5}}, "shots": list(shots), **top}
    return ShotList.model_validate(data)


DOCK = [{"id": "open", "prompt": "Harbor at dawn", "duration": 3},
        {"id": "rope", "prompt": "Hands coil a rope", "duration": 2, "kind": "product", "group": "dock"},
        {"id": "crate", "prompt": "A crate swings onto the pier", "duration": 2.5, "kind": "action", "group": "dock"},
        {"id": "gull", "prompt": "A gull lands on a post", "duration": 2, "kind": "action", "group": "dock"},
        {"id": "close", "prompt": "Boats leave", "duration": 3}]


def test_a_group_is_planned_as_one_multi_shot_call_with_its_cost_compared():
    s = spec(*DOCK)
    plan = plan_shotlist(s, CAT, TODAY)
    [g] = plan.groups
    assert (g.name, g.shot_ids, g.model, g.draft_model, g.seconds) == ("dock", ["rope", "crate", "gull"], "kling-3.0",
                                                                      "kling-3.0-std", 7)
    grouped = [p for p in plan.shots if p.group == "dock"]
    assert [p.final.seconds for p in grouped] == [2, 3, 2] and sum(p.final.seconds for p in grouped) == g.seconds
    assert round(sum(p.final.cost + p.draft.cost for p in grouped), 4) == g.group_cost
    assert g.per_shot_cost > g.group_cost  # Kling's 3 s minimum per call: the group is cheaper
    assert "one kling-3.0 multi-shot call of 7s" in grouped[0].reason and "renders the group again" in g.reason
    assert f"${g.group_cost:.2f} cheaper than ${g.per_shot_cost:.2f}" in g.reason
    # inside the group the cuts are hard (one clip); around it the list's crossfades stay
    assert [s.transition_after(i).type for i in range(4)] == ["crossfade", "cut", "cut", "crossfade"]


def test_a_group_no_model_can_call_at_once_renders_shot_by_shot_and_says_why():
    many = [{"id": f"s{i}", "prompt": "p", "duration": 2, "group": "long"} for i in range(7)]  # 7 > 6 shots
    plan = plan_shotlist(spec(*many), CAT, TODAY)
    [g] = plan.groups
    assert not g.in_one_call and "shot by shot" in g.reason and "7 shots" in g.reason
    assert all(p.group is None and "shot by shot" in p.reason for p in plan.shots)


@pytest.mark.parametrize("shots, where, words", [
    ([{"id": "a", "prompt": "p", "duration": 2, "group": "g"}, {"id": "b", "prompt": "p", "duration": 2},
      {"id": "c", "prompt": "p", "duration": 2, "group": "g"}], "shots.2.group", "must be consecutive"),
    ([{"id": "a", "prompt": "p", "duration": 2, "group": "g"}, {"id": "b", "prompt": "p", "duration": 2}],
     "shots.0.group", "has one shot"),
    ([{"id": "a", "prompt": "p", "duration": 2, "group": "g", "takes": 2},
      {"id": "b", "prompt": "p", "duration": 2, "group": "g"}], "shots.0.takes", "rendered in one call"),
    ([{"id": "a", "prompt": "p", "duration": 2, "group": "g", "transition": {"type": "crossfade", "seconds": 0.5}},
      {"id": "b", "prompt": "p", "duration": 2, "group": "g"}], "shots.0.transition", "hard cuts"),
    ([{"id": "a", "prompt": "p", "duration": 2, "group": "g"}, {"id": "b", "prompt": "p", "duration": 2, "group": "g"},
      {"id": "c", "prompt": "p", "duration": 2, "continues": True, "keyframe": "assets/images/ref.png"}],
     "shots.2.keyframe", "cannot end on a given frame"),
])
def test_group_mistakes_are_one_line_errors_at_the_field(tmp_path, shots, where, words):
    from reelflow.errors import ShotListError
    from reelflow.load.loader import load_shotlist

    import yaml

    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump({"title": "t", "shots": shots}, sort_keys=False))
    with pytest.raises(ShotListError) as exc:
        load_shotlist(str(path))
    text = str(exc.value)
    assert words in text and "list.yaml:" in text, text
    assert where.split(".")[-1] in text


def test_the_planner_proposes_a_group_for_shots_sharing_scene_and_cast():
    shots = [{"id": "a", "prompt": "Product on a table", "duration": 3, "kind": "product", "scene": "shop"},
             {"id": "b", "prompt": "Product close up", "duration": 3, "kind": "product", "scene": "shop"}]
    plan = plan_shotlist(spec(*shots), CAT, TODAY)
    assert plan.shots[0].model == "kling-3.0" and not plan.groups
    assert any("share scene and cast" in n and "`group:`" in n for n in plan.notes)


@pytest.mark.slow
def test_a_group_of_three_renders_in_one_call_per_tier_and_each_shot_keeps_its_place(
        prefect_harness, fakes, tmp_path):
    import yaml

    from reelflow.media.ffmpeg import probe

    from .conftest import make_repo
    from .test_cloud_flow import render

    listing = {"title": "Dock", "output": {"resolution": "720p", "fps": 24, "deliverables": ["otio"]},
               "shots": [{**s, "model": "kling-3.0"} if s.get("group") else s for s in DOCK[1:4]]}
    path = make_repo(tmp_path, yaml.safe_dump(listing, sort_keys=False), music=False)
    kling = fakes["kling"]
    m = render(path, tmp_path)
    assert kling.submissions == 2  # one call per tier for three shots
    bodies = [j["body"] for j in kling.jobs.values()]
    assert all(b["multi_shot"] and [p["duration"] for p in b["multi_prompt"]] == ["2", "3", "2"] for b in bodies)
    assert [p["prompt"] for p in bodies[0]["multi_prompt"]] == [s["prompt"] for s in DOCK[1:4]]
    assert {b["mode"] for b in bodies} == {"std", "pro"} and all(b["duration"] == "7" for b in bodies)
    shots = {s["id"]: s for s in m["shots"]}
    assert all(shots[i]["group"] == "dock" and shots[i]["final"]["provider"] == "kling" for i in ("rope", "crate", "gull"))
    assert len({shots[i]["final"]["job_id"] for i in shots}) == 1  # the same paid job
    assert sum(shots[i]["final"]["cost_usd"] for i in shots) == pytest.approx(7 * 0.168)
    store = tmp_path / "store"
    for i, seconds in (("rope", 2), ("crate", 3), ("gull", 2)):  # cut at the call's frames, exactly
        clip = next(store.rglob(f"derived/*-{['rope', 'crate', 'gull'].index(i)}.mp4"))
        assert probe(clip).frames == seconds * 24
    out = tmp_path / "out"
    final = next(p for p in out.glob("*.mp4") if not p.name.endswith(".prototype.mp4"))
    assert probe(final).frames == int(6.5 * 24)  # the shots' own lengths (crate shows 2.5 s of its 3 s)
    otio_file = next(out.glob("*.otio"))
    names = [c["name"] for c in json.loads(otio_file.read_text())["tracks"]["children"][0]["children"]
             if c["OTIO_SCHEMA"].startswith("Clip")]
    assert names == ["rope", "crate", "gull"]

    again = render(path, tmp_path)  # unchanged: nothing paid
    assert kling.submissions == 2 and again["cost"]["actual_usd"] == 0
    listing["shots"][1]["prompt"] = "A crate swings onto the pier in the rain"
    path.write_text(yaml.safe_dump(listing, sort_keys=False))
    subprocess.run(["git", "-C", str(path.parent), "commit", "-qam", "rain"], check=False)
    edited = render(path, tmp_path)  # one shot edited: the group is one request, rendered again once
    assert kling.submissions == 4
    assert "in the rain" in [j["body"] for j in kling.jobs.values()][-1]["multi_prompt"][1]["prompt"]
    assert edited["cost"]["actual_usd"] == pytest.approx(7 * 0.168 + 7 * 0.126, abs=0.01)


from .test_cloud_flow import fakes  # noqa: E402,F401 - the provider fakes fixture
from .test_providers import video_bytes  # noqa: E402,F401


@pytest.mark.slow
def test_offline_the_animatic_renders_a_group_as_one_clip_with_hard_cuts(prefect_harness, tmp_path, monkeypatch):
    """No keys: the group's model resolves to the animatic, which renders the call as a multi-shot
    model does (one clip, a cut at each shot's start), then each shot is cut out of it."""
    import numpy as np
    import yaml

    from reelflow.media.frames import frame_at
    from reelflow.store.local import sha256_file

    from .conftest import make_repo
    from .test_cloud_flow import render

    for var in ("KLING_ACCESS_KEY", "KLING_SECRET_KEY", "FAL_KEY", "REPLICATE_API_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    listing = {"title": "Dock", "output": {"resolution": "720p", "fps": 24}, "shots": DOCK}
    m = render(make_repo(tmp_path, yaml.safe_dump(listing, sort_keys=False), music=False), tmp_path)
    shots = {s["id"]: s for s in m["shots"]}
    grouped = [shots[i]["final"] for i in ("rope", "crate", "gull")]
    assert all(c["provider"] == "animatic" and any("multi-shot call: 3 shots" in n for n in c["notes"]) for c in grouped)
    assert len({c["job_id"] for c in grouped}) == 1 and [c["seconds"] for c in grouped] == [2.0, 3.0, 2.0]
    assert [g["name"] for g in m["groups"]] == ["dock"]
    # each cut-out shot shows its own painting: its first frame differs from the shot before's last
    by_hash = {sha256_file(p): p for p in (tmp_path / "store" / "derived").glob("*-[0-9].mp4")}
    clips = [by_hash[shots[i]["final"]["clip_sha256"]] for i in ("rope", "crate", "gull")]
    for a, b in zip(clips, clips[1:]):
        assert np.abs(frame_at(a, -1).astype(float) - frame_at(b, 0).astype(float)).mean() > 10
