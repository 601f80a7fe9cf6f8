"""Routes decided once, in the plan, from what the user can reach (pure: no environment read)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.load.loader import parse_shotlist
from reelflow.plan.routes import Reach, route_for
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 8)
CAT = load_catalog()
ALL_ADAPTERS = frozenset(CAT.routes)


def reach(*routes: str) -> Reach:
    return Reach(configured=frozenset({"animatic", *routes}), adapters=ALL_ADAPTERS)


def shots(*shots, **top) -> ShotList:
    data = {"title": "t", "output": {"resolution": "720p"},
            "shots": [{"id": f"s{i}", "prompt": "A rainy street at night", "duration": 4, **s}
                      for i, s in enumerate(shots)], **top}
    return ShotList.model_validate(data)


def test_one_aggregator_key_and_a_pinned_model_draft_on_that_aggregator():
    """Only REPLICATE_API_TOKEN, wan-2.7 pinned: wan-3.0-draft lives on DashScope only, so the final
    drafts itself on Replicate (paid once: at 720p the draft asks for the final's very clip)."""
    plan = plan_shotlist(shots({"model": "wan-2.7"}), CAT, TODAY, reach("replicate"))
    p = plan.shots[0]
    assert (p.model, p.route.route) == ("wan-2.7", "replicate")
    assert (p.draft_model, p.draft_route.route) == ("wan-2.7", "replicate")
    assert p.draft.same_request(p.final) and p.draft_cost == 0.0
    assert "no draft tier of its family is reachable (wan-3.0-draft: no DASHSCOPE_API_KEY)" in p.reason


def test_offline_plans_as_before_every_clip_drawn_by_the_animatic():
    p = plan_shotlist(shots({"model": "wan-2.7"}), CAT, TODAY).shots[0]
    assert (p.draft_model, p.route.route, p.draft_route.route) == ("wan-3.0-draft", "animatic", "animatic")
    assert p.route.note == "intended wan-2.7, rendered animatic: no FAL_KEY / REPLICATE_API_TOKEN"


def test_an_auto_routed_shot_goes_to_the_best_model_the_user_can_reach():
    offline = plan_shotlist(shots({"kind": "environment"}), CAT, TODAY).shots[0]
    online = plan_shotlist(shots({"kind": "environment"}), CAT, TODAY, reach("dashscope")).shots[0]
    assert offline.model != online.model  # the top model is not on DashScope
    assert online.route.route == "dashscope" and "the best model reachable" in online.reason
    assert f"{offline.model} ranks higher but is not reachable" in online.reason


EXAMPLES = sorted((ROOT / "shotlists").glob("*.yaml"))
SINGLE_KEYS = [r for r, info in CAT.routes.items() if info.env]


@pytest.mark.parametrize("route", SINGLE_KEYS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_no_draft_is_drawn_offline_while_its_final_is_real(example, route):
    """Every example list, with one key at a time: a shot whose final reaches a real route never
    has its draft (or a take's draft) fall to the animatic, and the plan says where each renders."""
    spec, _, _ = parse_shotlist(example, TODAY)
    plan = plan_shotlist(spec, CAT, TODAY, reach(route))
    for p in plan.shots:
        assert p.route == route_for(p.model, CAT, TODAY, plan.reach)
        if p.route.route != "animatic":
            assert p.draft_route.route != "animatic", (p.shot_id, p.model, p.draft_model, p.reason)
            for option in p.options:
                if plan.route_of(option.model, CAT, TODAY).route != "animatic":
                    assert plan.route_of(option.draft.model, CAT, TODAY).route != "animatic", option.label


@pytest.mark.parametrize("entry", ["sync-lipsync", "topaz-video-upscale"])
def test_a_post_processing_entry_is_not_a_video_model(tmp_path, entry):
    """A lip sync or upscale entry named as a shot's model is refused at its field, in one line,
    by `validate` (and so by `plan` and `render`), never priced as a generation."""
    from reelflow.errors import RoutingError, ShotListError
    from reelflow.load.validate import check_shotlist

    assert CAT.models[entry].does != "video"
    with pytest.raises(RoutingError, match=f"'{entry}' is a .* model, not a video generation model"):
        plan_shotlist(shots({"model": entry}), CAT, TODAY)
    (tmp_path / ".git").mkdir()
    path = tmp_path / "cut.yaml"
    path.write_text(f"title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 4\n    model: {entry}\n")
    with pytest.raises(ShotListError) as err:
        check_shotlist(path, CAT, TODAY)
    (line,) = str(err.value).splitlines()
    assert line.endswith(f"cut.yaml:6: shot 'a': model: '{entry}' is a {'lip sync' if 'sync' in entry else 'video upscale'} "
                         "model, not a video generation model; a shot names a draft or final model (see `reelflow models`)")


def test_the_review_form_offers_video_models_only_and_a_model_that_cannot_render_asks_again():
    """The gate's model list holds only video generation models; an answer naming a model that
    cannot render the shot raises a ReelflowError from re-routing, which the gate turns into a
    problem shown on the form (the run pauses again instead of failing)."""
    import dataclasses

    from flows.gate import revise
    from flows.review import ReviewInput, problems_in
    from reelflow.errors import ReelflowError
    from reelflow.load.loader import load_shotlist

    video = sorted(m for m, s in CAT.models.items() if s.does == "video" and not s.lifecycle.retired_on(TODAY))
    assert "sync-lipsync" not in video and "topaz-video-upscale" not in video
    answer = ReviewInput(models={"horizon": "sync-lipsync"})
    assert problems_in(answer, ["horizon"], video) == \
        ["models: unknown model 'sync-lipsync' (see `reelflow models`)"]

    @dataclasses.dataclass(frozen=True)
    class Run:  # what revise reads of a RenderRun; the route task runs as a plain function
        loaded: object
        catalog_path: str | None = None
        today: dt.date = TODAY
        plan: object = None
        cat: object = None

        def task(self, t):
            return t.fn

    loaded = load_shotlist(ROOT / "shotlists" / "pier-scene.yaml", today=TODAY)
    long_take = next(s for s in loaded.spec.shots if s.duration >= 12)
    answer = ReviewInput(models={long_take.id: "ray-3.2"})
    assert problems_in(answer, [s.id for s in loaded.spec.shots], video) == []
    with pytest.raises(ReelflowError, match="ray-3.2 allows at most"):
        revise(Run(loaded), answer, 1)
