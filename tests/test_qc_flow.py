"""QC in the flow (#19): a frozen final is re-rolled once with a new seed and the edit uses the
clip that passes; a re-run pays nothing; when every clip fails, the shot falls back within the
budget, then keeps its clip with the failure shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reelflow.qc.faults import spoil
from reelflow.generation.qc_pipeline import reroll_seed

from .conftest import make_repo
from .test_cloud_flow import fakes, render  # noqa: F401 - the provider fakes' fixture
from .test_providers import video_bytes  # noqa: F401 - shared session fixture

pytestmark = pytest.mark.slow

CUT = """\
title: QC
output: {resolution: 720p, aspect: "16:9", fps: 24, deliverables: []}
shots:
  - {id: pier, prompt: The pier at dawn, duration: 2, camera: slow dolly forward, seed: 7, model: veo-3.1}
  - {id: gulls, prompt: Gulls over the harbor, duration: 2, camera: pan left}
"""


def test_a_frozen_final_is_rerolled_once_and_a_rerun_pays_nothing(prefect_harness, tmp_path, counting_provider,
                                                                    monkeypatch):
    from reelflow.flows.render import render_shotlist

    monkeypatch.setenv("REELFLOW_ANIMATIC_FAULTS", json.dumps(
        [{"fault": "frozen", "shot": "pier", "tier": "final", "seed": 7}]))
    path = make_repo(tmp_path / "repo", CUT, music=False)
    m = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="all", store_dir=str(tmp_path / "store"))
    assert sorted(counting_provider.submits) == sorted(
        ["draft:pier", "draft:gulls", "final:pier", "final:pier", "final:gulls"])  # one re-roll paid
    seeds = [r.seed for r in counting_provider.requests if r.shot_id == "pier" and r.tier == "final"]
    assert seeds == [7, reroll_seed(7, 1)]
    pier = next(s for s in m["shots"] if s["id"] == "pier")["final"]
    assert pier["qc"]["findings"] == []  # the clip in the edit passed
    [rejected] = pier["qc_rejected"]
    assert rejected["seed"] == 7 and [f["check"] for f in rejected["findings"]] == ["frozen"]
    assert rejected["clip_sha256"] != pier["clip_sha256"]
    store = tmp_path / "store"
    job = json.loads((store / "jobs" / f"{_key_of(store, rejected['clip_sha256'])}.json").read_text())
    assert job["qc"]["failed"] and job["state"] == "downloaded"  # the ledger keeps the bad clip, marked
    assert m["qc"]["rerolls"] == 1 and m["qc"]["failed_kept"] == 0

    # a re-run: the stored bad clip is judged again (same report), its re-roll is a store hit
    again = render_shotlist(str(path), out_dir=str(tmp_path / "out2"), approval="all",
                            store_dir=str(tmp_path / "store"))
    assert len(counting_provider.submits) == 5
    assert next(s for s in again["shots"] if s["id"] == "pier")["final"]["clip_sha256"] == pier["clip_sha256"]


def _key_of(store: Path, sha: str) -> str:
    for meta in (store / "clips").glob("*.json"):
        if json.loads(meta.read_text()).get("sha256") == sha:
            return meta.stem
    raise AssertionError(f"no stored clip {sha[:12]}")


ONE = """\
version: 1
title: QC budget
output: {resolution: 720p, aspect: "16:9", fps: 24, deliverables: []}
budget_usd: BUDGET
qc: {rerolls: 1}
shots:
  - id: deckhand
    prompt: A deckhand coils a rope on deck
    duration: 3
    kind: character
    camera: slow dolly forward
    model: seedance-2.0
"""


def test_when_every_clip_fails_the_shot_falls_back_within_budget_then_keeps_its_clip(
        prefect_harness, fakes, tmp_path, video_bytes):  # noqa: F811
    import subprocess
    import sys

    good = tmp_path / "good.mp4"
    good.write_bytes(video_bytes)
    frozen = tmp_path / "frozen.mp4"
    spoil(good, frozen, "frozen")
    path = make_repo(tmp_path, ONE.replace("BUDGET", "100"), music=False)
    plan = json.loads(subprocess.run([str(Path(sys.executable).parent / "reelflow"), "plan", str(path), "--json",
                                      "--date", "2026-11-22"], capture_output=True, text=True, check=True).stdout)
    row = plan["shots"][0]
    assert row["route"] == "fal"
    # worst case shown: every clip paid twice (one re-roll each)
    assert plan["worst_case_usd"] == pytest.approx(2 * plan["total_cost_usd"])
    # enough for the draft, the final and one re-roll: never for a fallback's final
    budget = round(row["prototype_cost_usd"] + 2 * row["final_cost_usd"], 2)
    path.write_text(ONE.replace("BUDGET", str(budget)))
    fal = fakes["fal"]
    fal.videos.extend([video_bytes, frozen.read_bytes(), frozen.read_bytes()])  # draft ok, final and re-roll frozen
    m = render(path, tmp_path)
    assert fal.submissions == 3 and sum(f.submissions for f in fakes.values()) == 3
    final = m["shots"][0]["final"]
    assert [f["check"] for f in final["qc"]["findings"] if f["severity"] == "fail"] == ["frozen"]
    assert any("kept though it failed QC" in n and "would cross the budget" in n for n in final["notes"])
    assert len(final["qc_rejected"]) == 1 and final["qc_rejected"][0]["billed_usd"] > 0
    assert m["cost"]["actual_usd"] == pytest.approx(budget)  # draft, final and its re-roll: all paid
    assert m["cost"]["actual_usd"] <= budget + 1e-9
    assert m["qc"]["failed_kept"] == 1


FLAGGED = """\
title: Flags
output: {resolution: 720p, aspect: "16:9", fps: 24, deliverables: []}
qc: {on_flag: [reseed, alternate_prompt, fallback]}
shots:
  - id: storm
    prompt: A ship breaks apart in the storm
    alternate_prompt: A ship rides out the storm
    duration: 2
    camera: slow push in
  - {id: calm, prompt: The harbor at dawn, duration: 2}
"""


def test_a_flagged_output_is_reseeded_then_the_alternate_prompt_is_used(prefect_harness, tmp_path, counting_provider):
    from reelflow.flows.render import render_shotlist

    counting_provider.refuse = lambda r: ("Content policy: the output video was flagged (nsfw)"
                                          if r.prompt == "A ship breaks apart in the storm" else None)
    path = make_repo(tmp_path / "repo", FLAGGED, music=False)
    m = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="all", store_dir=str(tmp_path / "store"))
    refused = [s for s in counting_provider.submits if s.startswith("REFUSED")]
    assert refused == ["REFUSED:draft:storm"] * 2 + ["REFUSED:final:storm"] * 2  # as asked, then reseeded
    storm = next(s for s in m["shots"] if s["id"] == "storm")
    used = [r.prompt for r in counting_provider.requests if r.shot_id == "storm"]
    assert used == ["A ship rides out the storm"] * 2  # the user's own alternate, draft and final
    note = next(n for n in storm["final"]["notes"] if n.startswith("safety refusal"))
    assert "output flagged" in note and "reseeded" in note and "alternate_prompt" in note
    assert m["qc"]["refusals"] == 2
    # a re-run sends no refused request again, and pays for nothing
    before = len(counting_provider.submits)
    render_shotlist(str(path), out_dir=str(tmp_path / "out2"), approval="all", store_dir=str(tmp_path / "store"))
    assert len(counting_provider.submits) == before


def test_a_flagged_prompt_is_not_reseeded(prefect_harness, tmp_path, counting_provider):
    from reelflow.flows.render import render_shotlist

    counting_provider.refuse = lambda r: ("Content policy violation: prompt flagged"
                                          if r.prompt == "A ship breaks apart in the storm" else None)
    path = make_repo(tmp_path / "repo", FLAGGED, music=False)
    m = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="all", store_dir=str(tmp_path / "store"))
    assert [s for s in counting_provider.submits if s.startswith("REFUSED")] == [
        "REFUSED:draft:storm", "REFUSED:final:storm"]  # a new seed would send the same prompt
    note = next(n for n in next(s for s in m["shots"] if s["id"] == "storm")["final"]["notes"]
                if n.startswith("safety refusal"))
    assert "prompt flagged" in note and "reseed skipped: the prompt was flagged" in note


SHOWN = """\
title: Shown
output: {resolution: 720p, aspect: "16:9", fps: 24, deliverables: []}
shots:
  - {id: pier, prompt: The pier at dawn, duration: 2, camera: slow dolly forward, seed: 7, model: veo-3.1}
  - {id: storm, prompt: Lightning over the harbor, duration: 2, qc: {checks: {flash: warn}}}
"""


def test_the_review_and_the_summary_show_each_shots_findings(prefect_harness, tmp_path, counting_provider,
                                                             monkeypatch):
    import asyncio
    import threading

    from prefect.flow_runs import resume_flow_run

    from reelflow.flows.render import render_shotlist

    from .test_review import _artifacts, _latest, wait_paused

    monkeypatch.setenv("REELFLOW_ANIMATIC_FAULTS", json.dumps(
        [{"fault": "frozen", "shot": "pier", "tier": "draft", "seed": 7}, {"fault": "flash", "shot": "storm"}]))
    path = make_repo(tmp_path / "repo", SHOWN, name="shown.yaml", music=False)
    box: dict = {}

    def run():
        box["manifest"] = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="review",
                                          store_dir=str(tmp_path / "store"), review_timeout=120)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    rid = wait_paused("shown-")
    review = _latest(asyncio.run(_artifacts(rid)), "shown-review")
    rows = {line.split("|")[1].strip(): line for line in review.splitlines() if line.startswith("| ")}
    assert "| QC |" in review and "**QC** 2 clips checked" in review and "1 re-rolled" in review
    assert "1 clip(s) rejected (frozen), re-rolled for $0.00" in rows["pier"]
    assert "warn flash 8 (limit 0)" in rows["storm"]  # 2 a second: under the strobing limit of 3, a warning
    resume_flow_run(rid, run_input={"approve_all": True, "reviewer": "qa"})
    t.join(timeout=300)
    summary = _latest(asyncio.run(_artifacts(rid)), "shown-summary")
    assert "**QC** 4 clips checked: 0 kept failing, 2 with warnings, 1 re-rolled" in summary
    assert box["manifest"]["qc"]["clips_checked"] == 4
