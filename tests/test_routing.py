"""Routing, catalog and timeline maths: the pure core, milliseconds per test."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.errors import CatalogError
from reelflow.providers import resolve_route
from reelflow.errors import RoutingError
from reelflow.plan.routing import plan_shotlist

from .conftest import ROOT
from reelflow.spec.shotlist import ShotList, TransitionType
from reelflow.edit.timeline import build_timeline, mix_weights

TODAY = dt.date(2026, 11, 22)
CAT = load_catalog()


def spec(*shots, **top) -> ShotList:
    data = {"title": "t", "shots": [{"prompt": "p", "duration": 4, **s} for s in shots], **top}
    for i, s in enumerate(data["shots"]):
        s.setdefault("id", f"s{i}")
    return ShotList.model_validate(data)


def route1(today=TODAY, **shot):
    return plan_shotlist(spec(shot), CAT, today).shots[0]


def test_catalog_has_the_required_models_and_fields():
    need = {"veo-3.1", "veo-3.1-fast", "veo-3.1-lite", "sora-2", "sora-2-pro", "kling-3.0",
            "kling-3.0-std", "seedance-2.0", "wan-2.7", "ltx-2.3-pro", "hailuo-2.3-pro", "ray-2"}
    assert need <= set(CAT.models)
    for m in CAT.models.values():
        assert m.routes and m.price_per_second and m.resolutions and m.fps
        assert m.draft is None or m.draft in CAT.models
    assert CAT.models["sora-2-pro"].lifecycle.retired_on(TODAY)
    assert not CAT.models["sora-2-pro"].lifecycle.retired_on(dt.date(2026, 9, 1))
    assert CAT.models["veo-3.1"].routes["gemini"].retired_on(TODAY)
    assert not CAT.models["veo-3.1"].routes["vertex"].retired_on(TODAY)


@pytest.mark.parametrize("kind,family", [
    ("environment", "veo"), ("physics", "veo"), ("product", "kling"), ("social", "kling"),
    ("action", "kling"),
])
def test_kind_routing(kind, family):
    p = route1(kind=kind)
    assert CAT.models[p.model].family == family
    assert p.reason and kind in p.reason
    assert p.model not in p.fallbacks and len(p.fallbacks) >= 2


def test_dialogue_goes_to_the_best_live_model_and_a_retired_one_hands_over_to_its_successor():
    p = route1(kind="dialogue", dialogue=[{"speaker": "A", "line": "hi"}])
    assert p.model == "happyhorse-1.1" and "best for dialogue" in p.reason and "LMArena I2V Elo 1445" in p.reason
    without = CAT.model_copy(update={"models": {k: m for k, m in CAT.models.items() if k != "happyhorse-1.1"}})
    p = plan_shotlist(spec({"kind": "dialogue", "dialogue": [{"speaker": "A", "line": "hi"}]}), without, TODAY).shots[0]
    assert p.preferred == "sora-2-pro" and p.model == "veo-3.1"
    assert "retired since 2026-09-24" in p.reason and "successor veo-3.1" in p.reason
    assert not any(CAT.models[f].lifecycle.retired_on(TODAY) for f in p.fallbacks)
    before = plan_shotlist(spec({"kind": "dialogue"}), without, dt.date(2026, 9, 1)).shots[0]
    assert before.model == "sora-2-pro" and before.draft_model == "sora-2"


def test_never_routes_to_a_retired_model_even_when_asked():
    p = route1(model="sora-2")
    assert p.requested == "sora-2" and p.model == "veo-3.1-fast"
    assert "retired" in p.reason


def test_explicit_model_wins():
    p = route1(kind="environment", model="kling-3.0")
    assert p.model == "kling-3.0" and p.draft_model == "kling-3.0-std"
    assert p.reason.startswith("requested kling-3.0")


def test_unknown_model_is_an_error_with_a_suggestion():
    with pytest.raises(RoutingError) as exc:
        route1(model="veo-3")
    (loc, msg), = exc.value.problems
    assert loc == ("shots", 0, "model") and "unknown model 'veo-3'" in msg and "veo-3.1" in msg


def test_clip_length_is_shortest_allowed_covering_the_shot():
    assert route1(kind="environment", duration=5).final.seconds == 6  # Veo 4/6/8
    assert route1(kind="environment", duration=4.2).final.seconds == 6
    assert route1(kind="environment", duration=3).final.seconds == 4
    assert route1(kind="product", duration=2.5).final.seconds == 3  # Kling 3-15
    assert route1(kind="product", duration=7.3).final.seconds == 8
    s = ShotList.model_validate({"title": "t", "defaults": {"handles": 1},
                                 "shots": [{"id": "a", "prompt": "p", "duration": 5, "kind": "environment"}]})
    assert plan_shotlist(s, CAT, TODAY).shots[0].final.seconds == 6


def test_long_shot_routes_to_a_model_that_can_or_errors():
    p = route1(kind="environment", duration=12)
    assert CAT.models[p.model].max_duration >= 12 and p.final.seconds >= 12
    assert not p.final.segments  # one clip where a model can: a chain is the last resort
    # longer than every model's clip: a long take of segments, each continuing the last frame
    veo = route1(model="veo-3.1", duration=10)
    assert veo.final.segments == (8, 4) and veo.final.seconds == 12 and "2 segments (8+4s)" in veo.reason
    assert veo.draft.segments and CAT.models[veo.draft_model].image_to_video


def test_constraints_change_the_choice():
    sixty = plan_shotlist(spec({"kind": "environment"}, output={"fps": 60}), CAT, TODAY).shots[0]
    assert sixty.model == "kling-3.0" and "60 fps" in sixty.reason
    # reference image needs image-to-video: every candidate must support it
    img = route1(kind="character", image="assets/x.png")
    assert CAT.models[img.model].image_to_video


def test_drafts_map_to_their_family_and_are_cheaper():
    for kind in ("environment", "product", "character"):
        p = route1(kind=kind)
        assert CAT.models[p.draft_model].family == CAT.models[p.model].family
        assert p.draft.cost <= p.final.cost
        assert p.draft.resolution <= p.final.resolution


def test_budget_downgrades_cheapest_loss_first():
    shots = [{"kind": "environment", "duration": 8}] * 4
    free = plan_shotlist(spec(*shots), CAT, TODAY)
    tight = plan_shotlist(spec(*shots, budget_usd=10), CAT, TODAY)
    assert free.total_cost > 10 >= tight.total_cost
    assert any("budget $10" in s.reason for s in tight.shots)
    impossible = plan_shotlist(spec(*shots, budget_usd=0.5), CAT, TODAY)
    assert impossible.over_budget and impossible.notes


def test_route_resolution_without_keys_falls_back_to_animatic():
    res = resolve_route("veo-3.1", CAT, TODAY, environ={})
    assert res.route == "animatic"
    assert res.note.startswith("intended veo-3.1, rendered animatic: no GOOGLE_API_KEY")
    res = resolve_route("kling-3.0", CAT, TODAY, environ={"FAL_KEY": "k"})
    assert (res.route, res.route_model, res.note) == ("fal", "fal-ai/kling-video/v3/pro/text-to-video", None)
    both = {"FAL_KEY": "k", "KLING_ACCESS_KEY": "a", "KLING_SECRET_KEY": "s"}
    assert resolve_route("kling-3.0", CAT, TODAY, environ=both).route == "kling"  # official first
    assert resolve_route("kling-3.0", CAT, TODAY, environ={"KLING_ACCESS_KEY": "a"}).route == "animatic"
    # the Gemini API route of Veo is retired: a Gemini key alone does not reach Veo
    gem = resolve_route("veo-3.1", CAT, TODAY, environ={"GEMINI_API_KEY": "g"})
    assert gem.route == "animatic" and "GEMINI" not in gem.note


def test_catalog_overlay_adds_a_model(tmp_path):
    overlay = tmp_path / "cat.yaml"
    overlay.write_text("""
models:
  acme-1:
    name: Acme 1
    family: acme
    tier: final
    durations: [5, 10]
    resolutions: [1080]
    fps: [24]
    aspects: ["16:9"]
    native_audio: true
    image_to_video: false
    price_per_second: {1080: 0.01}
    scores: {environment: 11}
    routes: {fal: {id: acme/v1}}
""")
    cat = load_catalog(overlay)
    p = plan_shotlist(spec({"kind": "environment"}), cat, TODAY).shots[0]
    assert p.model == "acme-1" and p.final.seconds == 5
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  x: {name: X, family: x, tier: final, draft: nope, durations: [4], "
                   "resolutions: [720], fps: [24], aspects: ['16:9'], native_audio: false, "
                   "image_to_video: false, price_per_second: {720: 1}, routes: {fal: {id: x}}}\n")
    with pytest.raises(CatalogError, match="draft 'nope' is not in the catalog"):
        load_catalog(bad)


def test_timeline_durations_in_frames():
    s = spec({"duration": 3}, {"duration": 2, "transition": {"type": "cut"}}, {"duration": 4},
             output={"fps": 24}, defaults={"transition": {"type": "crossfade", "seconds": 0.5}})
    tl = build_timeline(s)
    assert [c.frames for c in tl.clips] == [72, 48, 96]
    assert [c.start for c in tl.clips] == [0, 60, 108]  # 72-12 (crossfade), 60+48 (cut)
    assert tl.frames == 72 + 48 + 96 - 12 and tl.duration == pytest.approx(8.5)
    assert [len(tl.active(f)) for f in (0, 59, 60, 71, 72, 107, 108)] == [1, 1, 2, 2, 1, 1, 1]


def test_transition_weights():
    assert mix_weights(TransitionType.crossfade, 0.25) == (0.75, 0.25, 0.0)
    a, b, c = mix_weights(TransitionType.fade_black, 0.25)
    assert (a, b, c) == (0.5, 0.0, 0.5)
    a, b, c = mix_weights(TransitionType.dip_white, 0.75)
    assert (a, b, c) == (0.0, 0.5, 0.5)


def test_every_aggregator_route_body_matches_its_documented_fields():
    """Each fal/Replicate route renders a body with only the fields its input schema documents,
    in the types the endpoint wants (fal Veo '8s', Kling/Hailuo on fal string durations, Kling on
    Replicate with its mode, Wan's `audio`, no negative_prompt for Seedance on Replicate)."""
    from reelflow.load.catalog_file import load_catalog
    from reelflow.errors import PermanentProviderError
    from reelflow.providers.base import GenerationRequest
    from reelflow.providers.common import build_input

    cat = load_catalog()
    checked = 0
    for mid, model in cat.models.items():
        for route in ("fal", "replicate"):
            if route not in model.routes:
                continue
            extras = cat.route_extras(mid, route)
            assert extras.get("fields"), f"{mid} on {route}: no documented input fields"
            secs = model.clip_seconds(5) or model.max_duration
            req = GenerationRequest(shot_id="s", prompt="p", negative_prompt="n", kind="product", camera="static",
                                    model=mid, route_model=model.routes[route].id, route_params=extras,
                                    tier=model.tier if model.tier in ("draft", "final") else "final", seed=1,
                                    seconds=secs, width=1280, height=720, fps=24, aspect="16:9", audio=True,
                                    image_sha256="ab" * 32, image_path=str(ROOT / "assets/images/harbor-reference.png"))
            if "{image}" not in json.dumps(extras.get("input") or {}):  # a text-to-video endpoint
                with pytest.raises(PermanentProviderError, match="no field for the first frame"):
                    # a continuity frame is refused, never dropped (a reference image may be)
                    build_input(req.model_copy(update={"frames_required": True}), extras.get("input"), inline=False)
                req = req.model_copy(update={"image_path": None, "image_sha256": None})
            body = build_input(req, extras.get("input"), inline=False)
            unknown = set(body) - set(extras["fields"])
            assert not unknown, f"{mid} on {route}: {sorted(unknown)} not among {extras['fields']}"
            checked += 1
            if mid.startswith("veo") and route == "fal":
                assert body["duration"] == f"{secs}s"
            if mid.startswith(("kling", "hailuo")) and route == "fal":
                assert body["duration"] == str(secs) and "resolution" not in body
            if mid.startswith("kling") and route == "replicate":
                assert body["mode"] == ("standard" if mid.endswith("-std") else "pro")
            if mid.startswith("wan") and route == "replicate":
                # `audio` is a driving audio URL (providers.md, corrected 2026-12-05): never a switch
                assert "audio" not in body and "generate_audio" not in body
                driven = req.model_copy(update={"driving_audio_path": "/x.wav", "driving_audio_sha256": "cd" * 32})
                assert build_input(driven, extras.get("input"), inline=False)["audio"] == "sha256:" + "cd" * 32
            if mid == "sync-lipsync":
                synced = req.model_copy(update={"video_path": "/c.mp4", "video_sha256": "ef" * 32,
                                                "driving_audio_path": "/x.wav", "driving_audio_sha256": "cd" * 32})
                assert build_input(synced, extras.get("input"), inline=False) == {
                    "video_url": "sha256:" + "ef" * 32, "audio_url": "sha256:" + "cd" * 32, "sync_mode": "cut_off",
                    "model": "lipsync-1.9.0-beta"}
            if mid.startswith("seedance-2.0"):  # 480p or 720p on both routes, no negative_prompt
                assert body["resolution"] in ("480p", "720p") and "negative_prompt" not in body
                assert max(model.resolutions) == 720
            if mid.startswith("ltx-2.3") and route == "replicate":  # 1080p, 2k or 4k
                for height, name in ((1080, "1080p"), (1440, "2k"), (2160, "4k")):
                    sized = req.model_copy(update={"width": height * 16 // 9, "height": height})
                    assert build_input(sized, extras.get("input"), inline=False)["resolution"] == name
            if mid.startswith("seedance") and route == "replicate":
                assert "negative_prompt" not in body
    assert checked >= 30


def test_kling_std_draft_and_pro_final_send_different_bodies_but_wan_is_paid_once():
    from reelflow.load.catalog_file import load_catalog
    from reelflow.providers.base import GenerationRequest, clip_key
    from reelflow.providers.replicate import ReplicateProvider

    cat = load_catalog()

    def req(mid, tier):
        extras = cat.route_extras(mid, "replicate")
        return GenerationRequest(shot_id="s", prompt="p", kind="product", camera="static", model=mid,
                                 route_model=cat.models[mid].routes["replicate"].id, route_params=extras, tier=tier,
                                 seed=1, seconds=5, width=1280, height=720, fps=24, aspect="16:9", audio=True)

    rep = ReplicateProvider()
    assert clip_key(rep, req("kling-3.0-std", "draft")) != clip_key(rep, req("kling-3.0", "final"))
    assert clip_key(rep, req("wan-2.7", "draft")) == clip_key(rep, req("wan-2.7", "final"))  # the same request
