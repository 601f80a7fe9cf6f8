"""The catalog is data (#12): every fact sourced and dated, every route id well-formed, every
price and duration consistent with the capability fields; lifecycle events reach the user."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml

from reelflow.plan.catalog import DurationRange
from reelflow.load.catalog_file import load_catalog
from reelflow.load.fingerprint import routing_digest
from reelflow.plan.lifecycle import findings
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList

from .conftest import make_repo

ROUTE_ID = {
    "animatic": r"animatic",
    "vertex": r"veo-\d+\.\d+-(fast-|lite-)?generate-\d{3}",
    "gemini": r"gemini-omni-\d+\.\d+-flash|veo-\d+\.\d+-(fast-|lite-)?generate-preview",
    "openai": r"sora-2(-pro)?",
    "kling": r"kling-v\d+(-\d+)?(-[a-z]+)*",
    "fal": r"[a-z0-9-]+(/[a-z0-9.\-]+)+",
    "replicate": r"[a-z0-9-]+/[a-z0-9.\-]+",
    "byteplus": r"doubao-seedance-\d+-\d+-\d{6}",
    "dashscope": r"[a-z0-9][a-z0-9.\-]+",
    "ltx": r"ltx-\d+-\d+-(pro|fast)",
    "runway": r"gen\d+(\.\d+)?(_turbo)?",
}
CAT = load_catalog()


@pytest.mark.parametrize("model_id", sorted(CAT.models))
def test_every_entry_is_sourced_dated_and_consistent(model_id):
    m = CAT.models[model_id]
    assert m.source and len(m.source) > 10, f"{model_id}: no source"
    assert m.checked and m.checked <= dt.date.today()  # a date it was checked on, not a future one
    for route, mr in m.routes.items():
        assert re.fullmatch(ROUTE_ID[route], mr.id), f"{model_id}: {route} id {mr.id!r} is not a {route} id"
    assert set(m.price_per_second) <= set(m.resolutions), f"{model_id}: a price for a resolution it lacks"
    assert set(m.price_per_second_silent) <= set(m.price_per_second)
    assert all(0 <= p < 5 for p in [*m.price_per_second.values(), *m.price_per_second_silent.values()])
    assert all(m.price_per_second_silent[r] <= m.price_per_second[r] for r in m.price_per_second_silent)
    if isinstance(m.durations, DurationRange):
        assert m.durations.min <= m.durations.max
    if m.extension:
        assert m.extension.total >= m.max_duration and m.extension.step <= m.extension.total
    if m.draft_mode:
        assert m.draft and m.draft_mode.resolution in CAT.models[m.draft].resolutions
    if m.draft:
        assert CAT.models[m.draft].tier == "draft" or m.draft == m.id
    if m.lifecycle.status == "retired":
        assert m.lifecycle.date and (m.lifecycle.successor or m.lifecycle.note)
    for e in m.evidence:
        assert e.source and e.as_of <= m.checked


def test_the_late_2026_models_and_retirements_are_there():
    today = dt.date(2026, 11, 23)
    for new in ("gemini-omni-1.2-flash", "gemini-omni-1.1-flash", "seedance-2.5", "wan-3.0", "ltx-2.5-pro",
                "minimax-h3", "happyhorse-1.1"):
        assert not CAT.models[new].lifecycle.retired_on(today)
    for old, successor in (("veo-3.0", "veo-3.1"), ("wan-2.6", "wan-2.7"), ("sora-2-pro", "veo-3.1")):
        assert CAT.models[old].lifecycle.retired_on(today) and CAT.models[old].lifecycle.successor == successor
    assert CAT.models["seedance-2.5"].draft_mode.expires_days == 7
    assert CAT.routes["replicate"].retention_hours == 1 and CAT.routes["dashscope"].retention_hours == 24


def _spec(model: str) -> ShotList:
    return ShotList.model_validate({"title": "t", "shots": [
        {"id": "a", "prompt": "harbour at dawn", "duration": 4, "model": model},
        {"id": "b", "prompt": "a product on a table", "duration": 4, "kind": "product"}]})


def test_a_retirement_between_two_nightly_runs_reroutes_and_says_why(tmp_path):
    """An overlay retires kling-3.0 on 2026-12-10: before, a warning names the successor; after,
    the shot is routed to it, the reason says why and the routing digest (nightly) changes."""
    overlay = tmp_path / "overlay.yaml"
    from importlib import resources

    built_in = yaml.safe_load(resources.files("reelflow").joinpath("catalog.yaml").read_text())
    kling = built_in["models"]["kling-3.0"]
    kling["lifecycle"] = {"status": "retired", "date": "2026-12-10", "successor": "veo-3.1"}
    overlay.write_text(yaml.safe_dump({"models": {"kling-3.0": kling}}))
    cat = load_catalog(overlay)
    spec = _spec("kling-3.0")
    before, after = dt.date(2026, 12, 1), dt.date(2026, 12, 11)
    plan1 = plan_shotlist(spec, cat, before)
    (pinned,) = [f for f in findings(spec, plan1, cat, before, 30) if f.pinned]
    assert pinned.shot_id == "a" and pinned.successor == "veo-3.1" and "in 9 days" in pinned.event
    plan2 = plan_shotlist(spec, cat, after)
    assert plan1.shots[0].model == "kling-3.0" and plan2.shots[0].model == "veo-3.1"
    assert "retired since 2026-12-10" in plan2.shots[0].reason and "successor veo-3.1" in plan2.shots[0].reason
    assert routing_digest(plan1, lambda m: "animatic") != routing_digest(plan2, lambda m: "animatic")


def test_reasons_cite_evidence_and_mark_it_stale():
    plan = plan_shotlist(_spec("auto"), CAT, dt.date(2026, 11, 23))
    reason = plan.shots[0].reason
    assert "evidence:" in reason and "as of 2026-" in reason and "stale" in reason
    assert "draft veo-3.1-lite: the cheapest veo draft tier" in reason
    fresh = plan_shotlist(_spec("auto"), CAT, dt.date(2026, 6, 1)).shots[0].reason
    assert "evidence:" in fresh and "stale" not in fresh


def test_validate_and_models_check_warn_about_pinned_models(tmp_path):
    from .test_cli import run

    path = make_repo(tmp_path, "title: t\nshots:\n  - id: a\n    prompt: harbour\n    duration: 4\n"
                               "    model: sora-2-pro\n", music=False)
    r = run("validate", str(path), "--date", "2026-09-10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "cut.yaml:6: shot 'a': model: warning: pinned sora-2-pro, which retires on 2026-09-24 (in 14 days)" in r.stderr
    assert "successor is veo-3.1" in r.stderr
    r = run("models", "--check", str(tmp_path / "shotlists"), "--date", "2026-09-10", "--days", "30", cwd=tmp_path)
    assert r.returncode == 0 and "cut.yaml: shot 'a': pinned sora-2-pro" in r.stdout, r.stdout + r.stderr
    r = run("models", "--check", str(tmp_path / "shotlists"), "--date", "2026-06-01", "--days", "30", cwd=tmp_path)
    assert "cut.yaml" not in r.stdout and "0 shot list(s) affected" in r.stderr


def test_every_scored_final_says_where_its_scores_come_from():
    unexplained = [m.id for m in CAT.models.values() if m.tier == "final" and m.scores and not m.score_basis]
    assert unexplained == []
    with_elo = [m for m in CAT.models.values() if any(e.elo for e in m.evidence)]
    assert with_elo and all(0 <= e.prior <= 10 for m in with_elo for e in m.evidence if e.elo)
