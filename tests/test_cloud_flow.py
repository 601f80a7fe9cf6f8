"""The whole flow against the provider fakes: intended models render, rejected prompts fall back,
the budget stops spending, and no key appears in any log, artifact, result or export."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from reelflow.errors import BudgetError

from .conftest import make_repo
from .fakes import FakeFal, FakeKling, FakeVertex
from .test_providers import KEYS

CUT = """\
version: 1
title: Cloud cut
output: {resolution: 720p, aspect: "16:9", fps: 24, deliverables: [otio, srt]}
budget_usd: BUDGET
shots:
  - id: harbor
    prompt: Wide aerial of a fishing harbor at dawn
    duration: 3
    kind: environment
    audio: {native: true, cue: gulls}
  - id: tin
    prompt: Product shot of a sardine tin on a crate
    duration: 3
    kind: product
  - id: deckhand
    prompt: A deckhand laughs on deck, harbor behind her
    duration: 3
    kind: character
    model: seedance-2.0
    image: assets/images/ref.png
"""


@pytest.fixture
def fakes(monkeypatch, video_bytes):
    vertex = FakeVertex(video_bytes, KEYS["vertex"]).start()
    kling = FakeKling(video_bytes, KEYS["kling"], KEYS["kling_secret"]).start()
    fal = FakeFal(video_bytes, KEYS["fal"]).start()
    env = {"GOOGLE_API_KEY": KEYS["vertex"], "VERTEX_BASE_URL": vertex.url,
           "KLING_ACCESS_KEY": KEYS["kling"], "KLING_SECRET_KEY": KEYS["kling_secret"], "KLING_BASE_URL": kling.url,
           "FAL_KEY": KEYS["fal"], "FAL_QUEUE_URL": fal.url,
           "REELFLOW_POLL_INTERVAL": "0.01", "REELFLOW_SECRET_BLOCKS": "0",
           "REELFLOW_RPM_VERTEX": "0", "REELFLOW_RPM_KLING": "0", "REELFLOW_RPM_FAL": "0"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    yield {"vertex": vertex, "kling": kling, "fal": fal}
    for f in (vertex, kling, fal):
        f.stop()


from .test_providers import video_bytes  # noqa: E402,F401 - shared session fixture


def render(path: Path, tmp: Path, **kw) -> dict:
    from reelflow.flows.render import render_shotlist

    return render_shotlist(str(path), out_dir=str(tmp / "out"), approval="all", store_dir=str(tmp / "store"),
                           today=__import__("datetime").date(2026, 11, 22), **kw)


def grep_secrets(root: Path) -> list[str]:
    hits = []
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for s in KEYS.values():
                if s.encode() in data:
                    hits.append(f"{p}: {s}")
    return hits


def all_logs() -> str:
    from prefect.client.orchestration import get_client

    async def read():
        out, offset = [], 0
        async with get_client() as client:
            while True:
                page = await client.read_logs(limit=200, offset=offset)
                out += [log.message for log in page]
                if len(page) < 200:
                    return "\n".join(out)
                offset += 200

    import time

    time.sleep(2)  # run loggers ship records to the server in the background
    return asyncio.run(read())


def test_cloud_render_uses_intended_models_and_leaks_no_key(prefect_harness, fakes, tmp_path):
    path = make_repo(tmp_path, CUT.replace("BUDGET", "40"), music=False)
    m = render(path, tmp_path)
    used = {s["id"]: (s["used_model"], s["used_provider"]) for s in m["shots"]}
    assert used == {"harbor": ("veo-3.1", "vertex"), "tin": ("kling-3.0", "kling"),
                    "deckhand": ("seedance-2.0", "fal")}
    drafts = {s["id"]: s["draft"]["model"] for s in m["shots"]}
    # drafts on the cheapest draft tier of each family (Veo 3.1 Lite "for rapid prototyping")
    assert drafts == {"harbor": "veo-3.1-lite", "tin": "kling-3.0-std", "deckhand": "seedance-2.0-fast"}
    # each fake was paid exactly once per clip it rendered (draft + final per shot)
    assert (fakes["vertex"].submissions, fakes["kling"].submissions, fakes["fal"].submissions) == (2, 2, 2)
    assert m["cost"]["actual_usd"] == pytest.approx(sum(
        s["draft"]["cost_usd"] + s["final"]["cost_usd"] for s in m["shots"]))
    assert m["cost"]["actual_usd"] > 0
    assert m["output"]["frames"] == 3 * 72 - 2 * 12

    # a re-run pays nothing
    again = render(path, tmp_path)
    assert (fakes["vertex"].submissions, fakes["kling"].submissions, fakes["fal"].submissions) == (2, 2, 2)
    assert again["cost"]["actual_usd"] == 0

    # no key in the manifest, exports, store (results, ledger, clips) or any logged line
    assert grep_secrets(tmp_path / "out") == []
    assert grep_secrets(tmp_path / "store") == []
    logs = all_logs()
    assert "route harbor: veo-3.1" in logs
    assert not [s for s in KEYS.values() if s in logs]


def test_rejected_prompt_falls_back_to_next_model(prefect_harness, fakes, tmp_path):
    path = make_repo(tmp_path, CUT.replace("BUDGET", "40"), music=False)
    fakes["fal"].outcomes.extend(["ok", "reject"])  # the seedance draft passes, its final is refused
    m = render(path, tmp_path)
    deck = next(s for s in m["shots"] if s["id"] == "deckhand")
    assert deck["final"]["fallback_from"] == "seedance-2.0"
    # what the filter flagged (fal's message names the prompt), and why no new seed was tried
    assert "refused it (prompt flagged" in deck["final"]["fallback_reason"]
    assert "reseed skipped: the prompt was flagged" in deck["final"]["fallback_reason"]
    # the next ranked model that a configured route can render (not the offline animatic)
    assert deck["used_model"] in deck["fallbacks"] and deck["used_model"] != "seedance-2.0"
    assert deck["used_provider"] != "animatic"
    endpoints = [j["endpoint"] for j in fakes["fal"].jobs.values()]
    # the refused prompt was not retried on seedance: one draft, one final, then the fallback
    assert sum("seedance-2.0/text-to-video" in e for e in endpoints) == 1
    assert sum("seedance-2.0/fast" in e for e in endpoints) == 1
    # never silent: the manifest (and so the CLI and the summary) carries a warning
    assert any("shot 'deckhand' final: seedance-2.0 failed" in w for w in m["warnings"])


LONG = """\
title: Long take
output: {resolution: 720p, aspect: "16:9", fps: 24}
qc: {checks: {first_frame: off}}  # the fakes serve one fixed clip, whatever frame it should open on
shots:
  - {id: pier, prompt: The long empty pier at dawn, duration: 12, kind: environment, model: veo-3.1}
"""


def test_a_long_take_extends_the_clip_so_far_on_vertex_and_continues_from_frames_elsewhere(
        prefect_harness, fakes, tmp_path, monkeypatch):
    import base64
    import hashlib

    path = make_repo(tmp_path, LONG, music=False)
    m = render(path, tmp_path)
    pier = m["shots"][0]
    assert pier["used_provider"] == "vertex" and pier["segments"] == [6, 7]
    sent_video = [j["body"] for j in fakes["vertex"].jobs.values() if "video" in j["body"]["instances"][0]]
    assert len(sent_video) == 1 and sent_video[0]["parameters"]["durationSeconds"] == 7
    extension = sent_video[0]["instances"][0]
    # the clip so far (the first call's download) went back byte for byte
    first = next(c for c in (tmp_path / "store" / "clips").glob("*.json")
                 if json.loads(c.read_text())["result"]["job_id"] == pier["final"]["job_id"].split(",")[0])
    sent = hashlib.sha256(base64.b64decode(extension["video"]["bytesBase64Encoded"])).hexdigest()
    assert sent == json.loads(first.read_text())["result"]["sha256"]
    assert any("2 calls of the extend API" in n for n in pier["final"]["notes"])
    assert m["output"]["frames"] == 12 * 24

    # without Vertex (Veo 3.1 on Replicate): no extend API there, so segments from last frames
    monkeypatch.delenv("GOOGLE_API_KEY")
    monkeypatch.delenv("FAL_KEY")  # (fal's Veo endpoint takes no first frame: it would refuse, and fall back)
    monkeypatch.setenv("REPLICATE_API_TOKEN", KEYS["replicate"])
    from .fakes import FakeReplicate

    replicate = FakeReplicate(fakes["vertex"].video, KEYS["replicate"]).start()
    monkeypatch.setenv("REPLICATE_BASE_URL", replicate.url)
    try:
        m = render(path, tmp_path / "elsewhere")
    finally:
        replicate.stop()
    pier = m["shots"][0]
    assert pier["used_provider"] == "replicate"
    assert any("last-frame continuation: this route has no extend API" in n for n in pier["final"]["notes"])
    assert any("long take: 2 segments joined" in n for n in pier["final"]["notes"])
    second = [j for j in replicate.jobs.values() if j["body"]["input"].get("image")]
    assert second, "the second segment starts on the first one's last frame"


def explicit(text: str) -> str:
    """Every shot pinned to its model: the planner may not downgrade them to fit a budget."""
    return text.replace("kind: environment\n", "kind: environment\n    model: veo-3.1\n").replace(
        "kind: product\n", "kind: product\n    model: kling-3.0\n")


def test_budget_stops_submitting(prefect_harness, fakes, tmp_path):
    path = make_repo(tmp_path, explicit(CUT.replace("BUDGET", "3")), music=False)
    with pytest.raises(BudgetError, match="would cross the budget of \\$3"):
        render(path, tmp_path)
    spent = sum(f.submissions for f in fakes.values())
    assert 0 < spent < 6


def test_cli_refuses_over_budget_before_starting(fakes, tmp_path):
    import subprocess
    import sys

    path = make_repo(tmp_path, explicit(CUT.replace("BUDGET", "1")), music=False)
    r = subprocess.run([str(Path(sys.executable).parent / "reelflow"), "render", str(path), "--out",
                        str(tmp_path / "out"), "--approve-all", "--date", "2026-11-22"],
                       capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert r.returncode == 3
    assert "exceeds budget_usd $1" in r.stderr
    assert sum(f.submissions for f in fakes.values()) == 0
    plan = subprocess.run([str(Path(sys.executable).parent / "reelflow"), "plan", str(path), "--json",
                           "--date", "2026-11-22"], capture_output=True, text=True, env={**os.environ})
    rows = json.loads(plan.stdout)["shots"]
    assert {r["route"] for r in rows} == {"vertex", "kling", "fal"}


@pytest.mark.slow  # starts Prefect's temporary server in a subprocess
def test_cli_auth_failure_is_one_line_naming_the_variable(fakes, tmp_path):
    """A refused key: one line naming the provider and the variable, no traceback, exit 2,
    nothing paid; the key itself is never printed."""
    import subprocess
    import sys

    path = make_repo(tmp_path, CUT.replace("BUDGET", "40"), music=False)
    env = {**os.environ, "KLING_ACCESS_KEY": "wrong-kling-key", "PREFECT_HOME": str(tmp_path / "ph")}
    r = subprocess.run([str(Path(sys.executable).parent / "reelflow"), "render", str(path), "--out",
                        str(tmp_path / "out"), "--approve-all", "--store", str(tmp_path / "store"),
                        "--date", "2026-11-22"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.strip() and "━" not in ln]
    assert "Traceback" not in r.stderr and len(lines) <= 2, lines
    assert "kling" in lines[-1] and "KLING_ACCESS_KEY" in lines[-1] and "wrong-kling-key" not in r.stderr
    assert fakes["kling"].submissions == 0
