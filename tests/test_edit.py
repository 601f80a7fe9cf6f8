"""The pure core of the redesign (#10): the edit object, the one dialogue rule, the manifest written
from the edit, registered transitions, the provider limits and the lock manager's bounds. No
Prefect server, no media: milliseconds each."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.edit.dialogue import GAP, LEAD_IN, caption_spans, place_lines
from reelflow.edit.edit import Edit, Take
from reelflow.errors import InputError, JobPendingError
from reelflow.edit.clip import ClipResult
from reelflow.runtime.limits import limit_name, rate_limit_name, wanted_limits
from reelflow.edit.manifest import build_manifest
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import DialogueLine, LoadedShotList, ShotList
from reelflow.edit.timeline import build_timeline, mix_weights

TODAY = dt.date(2026, 11, 24)
CAT = load_catalog()


def loaded(*shots, **top) -> LoadedShotList:
    data = {"title": "Cut", "shots": [{"prompt": "a harbour", "duration": 4, **s} for s in shots], **top}
    for i, s in enumerate(data["shots"]):
        s.setdefault("id", f"s{i}")
    from pathlib import Path

    return LoadedShotList(spec=ShotList.model_validate(data), path=Path("/repo/shotlists/cut.yaml"),
                          repo_root=Path("/repo"), lines={})


def clip(shot_id: str, tier: str, cost: float = 0.5, **extra) -> ClipResult:
    return ClipResult(key=f"{shot_id}-{tier}", path=f"clips/{shot_id}-{tier}.mp4", sha256=shot_id[0] * 64,
                      shot_id=shot_id, tier=tier, model="kling-3.0-std", provider="kling", job_id="j", seconds=4,
                      width=1280, height=720, fps=24, has_audio=True, cost_usd=cost, **extra)


def planned(*shots, **top) -> tuple[LoadedShotList, Edit]:
    ld = loaded(*shots, **top)
    return ld, Edit.planned(ld, plan_shotlist(ld.spec, CAT, TODAY))


def test_the_planned_edit_places_every_shot_once_in_order():
    ld, edit = planned({"id": "a"}, {"id": "b", "transition": {"type": "cut"}}, {"id": "c"})
    assert edit.ids == ["a", "b", "c"] and all(s.take is None for s in edit.shots)
    assert [s.place.start for s in edit.shots] == [c.start for c in build_timeline(ld.spec).clips]
    assert edit.shots[1].place.join_out.type == "cut" and edit.shots[1].place.join_out.frames == 0
    assert edit.shots[0].plan.shot_id == "a" and edit.title == "Cut" and edit.stem == "cut"


def test_takes_arrive_by_tier_and_the_edit_shows_the_final_when_there_is_one():
    _, edit = planned({"id": "a"}, {"id": "b"})
    edit = edit.with_takes("draft", {"a": Take(clip("a", "draft")), "b": Take(clip("b", "draft"), cache_hit=True)})
    edit = edit.with_takes("final", {"a": Take(clip("a", "final", cost=3.0))})
    assert [c.tier for c in edit.clips()] == ["final", "draft"]
    assert [c.tier for c in edit.clips("draft")] == ["draft", "draft"]
    with pytest.raises(ValueError, match="no final take for b"):
        edit.clips("final")
    assert edit.spent_usd() == 3.5  # the cached draft of b cost nothing this run
    assert [c.tier for c in edit.without("final").clips()] == ["draft", "draft"]


def test_a_revised_plan_keeps_the_takes_of_shots_nobody_touched():
    ld, edit = planned({"id": "a"}, {"id": "b"})
    edit = edit.with_takes("draft", {i: Take(clip(i, "draft")) for i in edit.ids}).approve(["b", "zz"])
    revised = ld.model_copy(update={"spec": ld.spec.model_copy(update={"shots": [
        ld.spec.shots[0], ld.spec.shots[1].model_copy(update={"prompt": "gulls"})]})})
    again = edit.replan(revised, plan_shotlist(revised.spec, CAT, TODAY), {"b"})
    assert again.shot("a").take is not None and again.shot("b").take is None
    assert again.shot("b").shot.prompt == "gulls" and again.approved == ("b",)


def test_one_dialogue_rule_places_stems_one_after_another_and_generated_lines_where_spoken():
    lines = [DialogueLine(speaker="Ada", line="Hello", file="assets/a.wav"),
             DialogueLine(speaker="Bo", line="Hi there"),
             DialogueLine(speaker="Ada", line="Again", file="assets/b.wav"),
             DialogueLine(speaker="Ada", line="Late", file="assets/c.wav", at=3.0)]
    placed = place_lines(lines, lambda f: {"assets/a.wav": 1.0, "assets/b.wav": 0.5, "assets/c.wav": 0.4}[f],
                         [(1.2, 2.0)])
    assert [(p.start, p.end) for p in placed] == [
        (LEAD_IN, LEAD_IN + 1.0), (1.2, 2.0), (LEAD_IN + 1.0 + GAP, LEAD_IN + 1.5 + GAP), (3.0, 3.4)]
    assert caption_spans(placed) == [(p.start, p.end) for p in placed]
    unknown = place_lines(lines[1:2], lambda f: 0.0, [])  # the provider reported no speech
    assert unknown[0].start is None and caption_spans(unknown)[0][0] == LEAD_IN


def test_the_manifest_is_typed_and_written_from_the_edit():
    ld, edit = planned({"id": "a"}, {"id": "b"})
    fell_back = clip("b", "draft", fallback_from="veo-3.1-lite", fallback_reason="fallback from veo: refused")
    edit = edit.with_takes("draft", {"a": Take(clip("a", "draft")), "b": Take(fell_back)}).approve(["a"])
    edit = edit.with_takes("final", {"a": Take(clip("a", "final", cost=2.0), cache_hit=True)})
    plan = plan_shotlist(ld.spec, CAT, TODAY)
    m = json.loads(build_manifest(ld, plan, edit, {"mix": None}).model_dump_json())
    a, b = m["shots"]
    assert (a["approved"], a["used_tier"], a["cache_hit"], a["final"]["cost_usd"]) == (True, "final", True, 0.0)
    assert (b["approved"], b["used_tier"], b["draft"]["fallback_from"]) == (False, "draft", "veo-3.1-lite")
    assert m["status"] == "prototype" and m["cost"]["actual_usd"] == 1.0
    assert m["warnings"] == ["shot 'b' draft: veo-3.1-lite failed; rendered by kling-3.0-std via kling instead "
                             "(fallback from veo: refused)"]
    assert a["timeline"]["start_frame"] == 0 and b["timeline"]["start_frame"] == edit.shot("b").place.start


def test_transitions_come_from_the_registry_with_their_picture_rule():
    assert mix_weights("crossfade", 0.25) == (0.75, 0.25, 0.0)
    assert mix_weights("fade_black", 0.25) == (0.5, 0.0, 0.5)
    assert mix_weights("cut", 0.4) == (1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="unknown transition 'wipe'; use cut, crossfade, fade_black, dip_white"):
        ShotList.model_validate({"title": "t", "defaults": {"transition": {"type": "wipe"}},
                                 "shots": [{"id": "a", "prompt": "p", "duration": 2}]})


def test_provider_limits_are_derived_from_the_catalog(monkeypatch):
    monkeypatch.delenv("REELFLOW_RPM_FAL", raising=False)
    limits = wanted_limits(CAT, {"fal", "animatic"})
    rpm = CAT.routes["fal"].rpm
    assert limits[limit_name("fal")] == {"limit": CAT.routes["fal"].concurrency}
    assert limits[rate_limit_name("fal")]["slot_decay_per_second"] == pytest.approx(rpm / 60)
    assert not any("animatic" in name for name in limits)  # this machine's CPU: no shared limit
    monkeypatch.setenv("REELFLOW_RPM_FAL", "0")
    assert rate_limit_name("fal") not in wanted_limits(CAT, {"fal"})


def test_a_held_clip_lock_bounds_the_wait_and_names_the_remedy(tmp_path, monkeypatch):
    from reelflow.runtime.locks import lock_manager

    locks = lock_manager(tmp_path)
    assert locks.acquire_lock("clip", "host-a:1:1")
    with pytest.raises(JobPendingError, match="being submitted by another worker"):
        locks.acquire_lock("clip", "other-host:2:1", acquire_timeout=0.3)
    locks.release_lock("clip", "host-a:1:1")
    assert locks.acquire_lock("clip", "other-host:2:1", acquire_timeout=0.3)
    monkeypatch.setenv("REELFLOW_LOCKS", "http://example.com")
    with pytest.raises(InputError, match="must be 'file' or a redis:// URL"):
        lock_manager(tmp_path)


def test_a_plan_only_otio_blocks_out_the_cut_before_anything_is_paid_for(tmp_path):
    import opentimelineio as otio

    from reelflow.deliver.nle import planned_otio

    _, edit = planned({"id": "a", "duration": 3}, {"id": "b", "duration": 5})
    path = tmp_path / "plan.otio"
    otio.adapters.write_to_file(planned_otio(edit), str(path))
    back = otio.adapters.read_from_file(str(path))
    clips = [c for c in back.video_tracks()[0] if isinstance(c, otio.schema.Clip)]
    assert back.duration().value == edit.timeline.frames  # the record time of the planned edit
    assert [c.name for c in clips] == ["a", "b"]
    assert all(isinstance(c.media_reference, otio.schema.MissingReference) for c in clips)
    assert clips[1].metadata["reelflow"]["model"] == edit.shot("b").plan.model
