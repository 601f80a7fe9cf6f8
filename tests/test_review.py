"""The review gate resumed with typed input, and the artifacts a person watches in the UI."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from .conftest import make_repo

CUT = """\
title: Review cut
output: {resolution: 720p, fps: 24, deliverables: [contact_sheet]}
shots:
  - {id: harbor, prompt: Harbor at dawn, duration: 1.5, kind: environment}
  - {id: tin, prompt: Sardine tin on a crate, duration: 1.5, kind: product}
"""


async def _paused_run(name_prefix: str):
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        runs = await client.read_flow_runs(limit=50)
        for r in runs:
            if r.name.startswith(name_prefix) and r.state and r.state.is_paused():
                return r.id
    return None


async def _artifacts(run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))


def wait_paused(prefix: str, timeout: float = 120):
    end = time.time() + timeout
    while time.time() < end:
        rid = asyncio.run(_paused_run(prefix))
        if rid:
            return rid
        time.sleep(0.5)
    raise AssertionError("the run never paused for review")


def test_review_gate_rejects_rewrites_then_approves(prefect_harness, tmp_path, counting_provider):
    from prefect.flow_runs import resume_flow_run

    from reelflow.flows.render import render_shotlist

    path = make_repo(tmp_path, CUT, name="review.yaml", music=False)
    box: dict = {}

    def run():
        try:
            box["manifest"] = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="review",
                                              store_dir=str(tmp_path / "store"), review_timeout=120)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    rid = wait_paused("review-")
    assert (tmp_path / "out" / "review.prototype.mp4").is_file()
    # round 1: rewrite the tin shot's prompt -> it alone is prototyped again
    resume_flow_run(rid, run_input={"prompts": {"tin": "Sardine tin, top-down, neon light"}, "approve": ["harbor"],
                                    "reviewer": "qa"})
    time.sleep(1.0)
    rid2 = wait_paused("review-")
    assert rid2 == rid
    drafts = [s for s in counting_provider.submits if s.startswith("draft:")]
    assert drafts.count("draft:tin") == 2 and drafts.count("draft:harbor") == 1
    # a typo in an id is refused by the form's schema: the run stays paused, nothing approved
    with pytest.raises(Exception, match="Harbor"):
        resume_flow_run(rid, run_input={"reject": ["Harbor"], "reviewer": "qa"})
    assert wait_paused("review-") == rid
    # an empty submission passes the schema but approves nothing: paused again, problem shown
    resume_flow_run(rid, run_input={"reviewer": "qa"})
    time.sleep(1.0)
    assert wait_paused("review-") == rid
    review = _latest(asyncio.run(_artifacts(rid)), "review-review")
    assert "empty submission" in review and "nothing was approved" in review
    assert len([s for s in counting_provider.submits if s.startswith("final:")]) == 0
    resume_flow_run(rid, run_input={"approve_all": True, "reviewer": "qa"})
    t.join(timeout=300)
    assert "error" not in box, box.get("error")
    m = box["manifest"]
    assert m["status"] == "final"
    tin = next(s for s in m["shots"] if s["id"] == "tin")
    assert tin["prompt"] == "Sardine tin, top-down, neon light" and tin["used_tier"] == "final"

    arts = asyncio.run(_artifacts(rid))
    by_key = {a.key: a for a in arts if a.key}
    assert {"review-plan", "review-progress", "review-summary", "review-review"} <= set(by_key)
    assert _latest(arts, "review-progress") == 100  # each shot once per tier, re-prototypes included
    summary = _latest(arts, "review-summary")
    assert "Review cut" in summary and "data:image/jpeg;base64," in summary and "file://" not in summary
    assert summary.count("<video src=\"data:video/mp4;base64,") == 1  # the edit itself, as a player
    import base64
    import re

    from reelflow.media.ffmpeg import probe

    player = tmp_path / "player.mp4"
    player.write_bytes(base64.b64decode(re.search(r'<video src="data:video/mp4;base64,([^"]+)"', summary)[1]))
    info = probe(player)
    assert abs(info.video_duration - m["output"]["duration"]) < 0.2 and info.width == 256
    plans = [str(a.data) for a in arts if a.key == "review-plan"]
    assert any("cache hit" in p and "actual $" in p for p in plans)  # the final version has actuals
    review = _latest(arts, "review-review")
    assert "file://" not in review and "review.prototype.mp4" in review
    assert review.count("data:image/jpeg;base64,") == 1  # the contact sheet, inline
    assert review.count('<video src="data:video/mp4;base64,') == 2  # a moving preview per shot
    assert "new prompt" in review and "Spent so far" in review and "Approving all" in review
    assert (tmp_path / "out" / "review.prototype.contact.png").is_file()


def _latest(arts, key: str):
    """The newest version of a keyed artifact's data."""
    return max((a for a in arts if a.key == key), key=lambda a: a.created).data


def test_review_timeout_fails_clearly(prefect_harness, tmp_path, counting_provider):
    import pytest

    from reelflow.flows.render import render_shotlist
    from reelflow.flows.review import ReviewTimeout

    path = make_repo(tmp_path, CUT, name="late.yaml", music=False)
    with pytest.raises(ReviewTimeout, match="no review within 2s"):
        render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="review",
                        store_dir=str(tmp_path / "store"), review_timeout=2)


SCENES = """\
title: Scenes
output: {resolution: 720p, fps: 24}
shots:
  - {id: quay, scene: dawn, prompt: Harbor quay at dawn, duration: 1.5, kind: environment}
  - {id: boats, scene: dawn, prompt: Boats at their moorings, duration: 1.5, kind: environment}
  - {id: waves, scene: storm, prompt: Waves over the harbor wall, duration: 1.5, kind: physics}
"""


def test_a_whole_scene_is_approved_in_one_entry(prefect_harness, tmp_path, counting_provider):
    """approve_groups: every shot of the scene renders its final, the others keep their drafts;
    the review shows one section per scene."""
    from prefect.flow_runs import resume_flow_run

    from reelflow.flows.render import render_shotlist

    path = make_repo(tmp_path, SCENES, name="scenes.yaml", music=False)
    box: dict = {}

    def run():
        try:
            box["manifest"] = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="review",
                                              store_dir=str(tmp_path / "store"), review_timeout=120)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    rid = wait_paused("scenes-")
    review = _latest(asyncio.run(_artifacts(rid)), "scenes-review")
    assert review.index("## scene dawn: 2 shots") < review.index("## scene storm: 1 shots")
    with pytest.raises(Exception, match="dusk"):  # not a scene of this list: refused by the form
        resume_flow_run(rid, run_input={"approve_groups": ["dusk"], "reviewer": "qa"})
    resume_flow_run(rid, run_input={"approve_groups": ["dawn"], "reviewer": "qa"})
    t.join(timeout=300)
    assert "error" not in box, box.get("error")
    finals = sorted(s for s in counting_provider.submits if s.startswith("final:"))
    assert finals == ["final:boats", "final:quay"]
    tiers = {s["id"]: s["used_tier"] for s in box["manifest"]["shots"]}
    assert tiers == {"quay": "final", "boats": "final", "waves": "draft"}
