"""The pure rules behind continuity, long takes and takes (#11): which shots follow which, how a
long take is cut into segments, which take a final renders from, what the ModelArk task carries.
No Prefect server: milliseconds each."""

from __future__ import annotations

import datetime as dt

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.plan.continuity import MAX_SEGMENTS, long_take, reach, segment_lengths, segments_note
from reelflow.edit.edit import Edit, Take
from reelflow.flows.review import ReviewInput, problems_in
from reelflow.providers.base import GenerationRequest
from reelflow.providers.byteplus import BytePlusProvider
from reelflow.plan.routing import plan_shotlist

from .test_edit import clip, loaded

TODAY = dt.date(2026, 11, 24)
CAT = load_catalog()


def test_followers_are_the_chain_of_continuing_shots_and_nothing_after_it():
    lst = loaded({"id": "a"}, {"id": "b", "continues": True}, {"id": "c", "continues": True}, {"id": "d"},
                 {"id": "e", "continues": True})
    edit = Edit.planned(lst, plan_shotlist(lst.spec, CAT, TODAY))
    assert edit.followers({"a"}) == {"a", "b", "c"}
    assert edit.followers({"c"}) == {"c"} and edit.followers({"d"}) == {"d", "e"}
    # a continuous boundary is a cut on the timeline even with a crossfade default
    joins = [c.join_out.type if c.join_out else None for c in edit.timeline.clips]
    assert joins == ["cut", "cut", "crossfade", "cut", None]
    assert edit.approve(["a", "b", "c"]).split_cuts() == []
    assert edit.approve(["a", "c"]).split_cuts() == [
        "shot 'b' continues 'a' but only 'a' is approved: the cut between a final and a draft is not continuous "
        "(approve both)",
        "shot 'c' continues 'b' but only 'c' is approved: the cut between a final and a draft is not continuous "
        "(approve both)"]


@pytest.mark.parametrize("model, need, parts", [
    ("veo-3.1", 8, [8]), ("veo-3.1", 10, [8, 4]), ("veo-3.1", 20, [8, 8, 6]),
    ("kling-3.0", 14.2, [15]), ("kling-3.0", 40, [15, 15, 11]),
])
def test_a_long_take_is_its_models_longest_clips_and_a_last_one_covering_the_joins(model, need, parts):
    got = segment_lengths(CAT.models[model], need)
    assert got == parts
    # each join drops one repeated frame: the joined clip still covers the shot
    assert sum(got) - (len(got) - 1) * (1 / 24) >= need


@pytest.mark.parametrize("need, res, how", [
    (10, 720, ([4, 7], True)),      # Veo's extend API (+7 s a call, 720p only): the shortest cover
    (12, 720, ([6, 7], True)), (20, 720, ([6, 7, 7], True)), (30, 720, ([4, 7, 7, 7, 7], True)),
    (12, 1080, ([8, 6], False)),    # no extension at 1080p: segments from last frames
    (37, 720, ([8, 8, 8, 8, 6], False)),  # beyond 37 s of extension: last frames again
    (6, 720, ([6], False)),         # one clip is one clip
])
def test_a_long_take_extends_where_the_model_and_resolution_allow(need, res, how):
    veo = CAT.models["veo-3.1"]
    assert long_take(veo, need, res) == how
    parts, extends = how
    if extends:  # each call returns the clip so far plus 7 s; the input stays within 1-30 s
        assert sum(parts) >= need and sum(parts) <= 37 and sum(parts) - 7 <= 30
        assert "by its extend API on vertex (+7s per call, up to 37s)" in segments_note(veo, parts, True)
    elif len(parts) > 1:
        assert "last-frame continuation (its extend API takes 720p only)" in segments_note(veo, parts)
    # a model whose extend API no adapter sends says so, and continues from last frames
    omni = CAT.models["gemini-omni-1.1-flash"]
    assert long_take(omni, 15, 720) == ([10, 6], False)
    assert "does not send its extend API" in segments_note(omni, [10, 6])


def test_a_plan_costs_and_shows_an_extended_take():
    lst = loaded({"id": "a", "duration": 12, "model": "veo-3.1", "kind": "environment"})
    shot = plan_shotlist(lst.spec.model_copy(update={"output": lst.spec.output.model_copy(
        update={"resolution": "720p"})}), CAT, TODAY).shots[0]
    assert shot.final.segments == (6, 7) and shot.final.extends and shot.final.seconds == 13
    assert shot.final.cost == round(13 * CAT.models["veo-3.1"].price(720), 4)
    assert "13s (6+7 extended)" in shot.clip_note


def test_out_of_reach_takes_have_no_segments():
    veo = CAT.models["veo-3.1"]
    assert reach(veo) == veo.max_duration * MAX_SEGMENTS
    assert segment_lengths(veo, reach(veo) + 1) is None
    text_only = veo.model_copy(update={"image_to_video": False})
    assert segment_lengths(text_only, 9) is None and reach(text_only) == 8


def test_the_final_renders_from_the_chosen_take_and_every_take_is_paid_for():
    lst = loaded({"id": "a", "kind": "environment", "takes": 2, "compare": ["kling-3.0"]}, {"id": "b"})
    plan = plan_shotlist(lst.spec, CAT, TODAY)
    edit = Edit.planned(lst, plan)
    takes = tuple(Take(clip("a", "draft", cost=c)) for c in (0.1, 0.2, 0.3))
    edit = edit.with_options({"a": takes}).with_takes("draft", {"b": Take(clip("b", "draft", cost=0.4))})
    assert edit.shot("a").takes["draft"] is takes[0] and edit.spent_usd() == pytest.approx(1.0)
    chosen = edit.choose({"a": 2}).shot("a")
    assert chosen.takes["draft"] is takes[2] and chosen.final_from[0].model == "kling-3.0"
    assert chosen.final_from[1] == plan.shots[0].options[2].seed
    assert edit.shot("b").final_from == (plan.shots[1].final, None)  # one take: the shot's own
    assert "3 takes: " in plan.shots[0].clip_note and "kling-3.0" in plan.shots[0].clip_note


def test_a_take_number_outside_the_shot_is_a_problem_not_a_silent_choice():
    answer = ReviewInput(approve_all=True, takes={"a": 4, "b": 1})
    assert problems_in(answer, ["a", "b"], ["veo-3.1"], {"a": 3, "b": 1}) == \
        ["takes: shot 'a' has 3 take(s); 4 is not one of them"]
    assert problems_in(ReviewInput(approve_all=True, takes={"a": 3}), ["a"], [], {"a": 3}) == []


def _req(**kw) -> GenerationRequest:
    return GenerationRequest(shot_id="s", prompt="dunes", kind="environment", camera="static", model="seedance-2.5",
                             route_model="doubao-seedance-2-5-260628", tier="final", seed=3, seconds=5, width=1280,
                             height=720, fps=24, aspect="16:9", audio=True, **kw)


def test_the_modelark_task_carries_frames_references_or_the_draft_it_promotes(tmp_path):
    from PIL import Image

    img = tmp_path / "a.png"
    Image.new("RGB", (8, 8), (9, 9, 9)).save(img)
    plain = BytePlusProvider.body(_req(reference_paths=(str(img),), reference_sha256s=("x",)))
    assert [c["role"] for c in plain["content"][1:]] == ["reference_image"] and plain["ratio"] == "16:9"
    framed = BytePlusProvider.body(_req(image_path=str(img), last_frame_path=str(img),
                                        reference_paths=(str(img),)))
    assert [c.get("role") for c in framed["content"]] == [None, "first_frame", "last_frame"] and "ratio" not in framed
    promoted = BytePlusProvider.body(_req(draft_task_id="cgt-1"))
    assert promoted["content"] == [{"type": "draft_task", "draft_task": {"id": "cgt-1"}}] and "seed" not in promoted
    assert "draft_task_id" not in _req().key_fields() and _req(draft_task_id="cgt-1").key_fields()["draft_task_id"]


def test_the_plan_warns_before_a_promotable_draft_expires(tmp_path):
    import json
    import time

    from reelflow.generation.drafts import draft_warnings
    from reelflow.store.local import Store

    lst = loaded({"id": "dunes", "model": "seedance-2.5"}, {"id": "sea", "model": "seedance-2.5"},
                 {"id": "old", "model": "seedance-2.5"}, {"id": "harbor"})
    plan = plan_shotlist(lst.spec, CAT, TODAY)
    store = Store(tmp_path / "store")
    now = time.time()
    for shot, age_days, provider in (("dunes", 6, "byteplus"), ("sea", 1, "byteplus"), ("old", 9, "byteplus"),
                                     ("harbor", 6.5, "byteplus"), ("dunes", 6.5, "animatic")):
        clip = {"shot_id": shot, "model": "seedance-2.5-draft", "provider": provider, "job_id": f"cgt-{shot}-{age_days}"}
        (store.root / "clips" / f"{shot}-{age_days}-{provider}.json").write_text(
            json.dumps({"result": clip, "stored_at": now - age_days * 86400}))
    lines = draft_warnings(plan, CAT, store)
    assert len(lines) == 2, lines  # 'sea' has 6 days left; harbor's final has no native draft; the animatic's is no draft
    assert lines[0].startswith("shot 'dunes': draft cgt-dunes-6 expires on") and "(in 24 h)" in lines[0]
    assert lines[1].startswith("shot 'old': draft cgt-old-9 expired on") and "renders the final afresh" in lines[1]
