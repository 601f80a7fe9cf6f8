"""Prefect in production, as README's "Running on Prefect" says, for real: PostgreSQL, `prefect
server`, the README's block run line by line (deploy, a process worker, serve-assets, a deployment
run) against a studio's shot-list repository in a bare git repo; the review in headless Chromium;
durable outputs after the worker's clone is gone; re-run and nightly counted at the job ledger;
then workers killed mid-run, and the edit fetched from s3rver by its presigned link.

Every server here is started by this module on 127.0.0.1 and stopped at the end. Step timings are
printed (`pytest -s`) and written to the test's tmp folder as timings.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reelflow.media.ffmpeg import probe

from .conftest import ROOT
from .integration_support import (
    PG_BIN, call, free_port, git, kill_flow_runs, latest_artifact, start_background, stop, wait_http, wait_state,
)

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
TIMINGS: dict[str, float] = {}

TEASER = """\
title: Teaser
output: {resolution: 720p, fps: 24, deliverables: [contact_sheet]}
shots:
  - {id: tide, prompt: Tide pool at dawn, duration: 1.5, kind: environment}
"""
LONG = """\
title: Long
output: {resolution: 720p, fps: 24, deliverables: []}
shots:
  - {id: a1, prompt: Harbor at dawn, duration: 3, kind: environment}
  - {id: a2, prompt: Market at night, duration: 3, kind: environment}
  - {id: a3, prompt: Desert at noon, duration: 3, kind: environment}
  - {id: a4, prompt: Forest in fog, duration: 3, kind: environment}
"""


def readme_block() -> tuple[dict[str, str], list[str]]:
    """The exports and commands of the first bash block under "## Running on Prefect"."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Running on Prefect"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    exports, commands = {}, []
    for raw in block.splitlines():
        line = raw.split("  #")[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"export (\w+)=(\S+)", line)
        if m:
            exports[m.group(1)] = m.group(2)
        else:
            commands.append(line)
    return exports, commands


@pytest.fixture(scope="module")
def postgres():
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries missing: .ci/run installs postgresql")
    from .integration_support import postgres_cluster

    with postgres_cluster() as url:
        yield url


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_DATABASE_CONNECTION_URL": postgres,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    t0 = time.time()
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    wait_http(f"{api}/health", 180)
    TIMINGS["server start"] = round(time.time() - t0, 1)
    yield api, home
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """A studio's shot-list repository (no Python in it), published as a bare repo."""
    tmp = tmp_path_factory.mktemp("studio")
    work = tmp / "films"
    (work / "shotlists").mkdir(parents=True)
    (work / "assets" / "music").mkdir(parents=True)
    shutil.copy(ROOT / "shotlists" / "night-market-social.yaml", work / "shotlists")
    shutil.copy(ROOT / "assets" / "music" / "bed.wav", work / "assets" / "music")
    (work / "shotlists" / "teaser.yaml").write_text(TEASER)
    (work / "long").mkdir()
    (work / "long" / "long.yaml").write_text(LONG)
    git(tmp, "init", "-q", "-b", "main", str(work))
    git(work, "add", ".")
    git(work, "commit", "-qm", "shot lists")
    bare = tmp / "films.git"
    git(tmp, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    return work, bare


@pytest.fixture(scope="module")
def readme(server, studio, tmp_path_factory):
    """README's block, line by line: its exports (with this test's server, repository and
    folders) and its commands exactly as written."""
    api, home = server
    work, bare = studio
    tmp = tmp_path_factory.mktemp("readme")
    exports, commands = readme_block()
    ours = {"PREFECT_API_URL": api, "REELFLOW_GIT_REPOSITORY": bare.as_uri(),
            "REELFLOW_OUT": str(tmp / "durable" / "out"), "REELFLOW_STORE": str(tmp / "durable" / "store"),
            "REELFLOW_ASSET_BASE_URL": exports.get("REELFLOW_ASSET_BASE_URL", "")}
    assert set(exports) == set(ours), f"README exports {sorted(exports)}; this test sets {sorted(ours)}"
    env = {**os.environ, **ours, "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "INFO",
           "PATH": f"{BIN}:{os.environ['PATH']}"}
    background, ran = [], {}
    for cmd in commands:
        t0 = time.time()
        if cmd.endswith("&"):
            background.append(start_background(shlex.split(cmd[:-1]), env, tmp, f"bg{len(background)}"))
            continue
        done = subprocess.run(shlex.split(cmd), cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
        TIMINGS[cmd.split(" -p ")[0]] = round(time.time() - t0, 1)
        ran[cmd] = done
    wait_http(exports["REELFLOW_ASSET_BASE_URL"] + "/", 30, ok_below=600)
    yield {"api": api, "env": env, "tmp": tmp, "work": work, "ran": ran, "commands": commands,
           "out": Path(ours["REELFLOW_OUT"]), "store": Path(ours["REELFLOW_STORE"]), "background": background}
    for proc in background:
        stop(proc)


def ledger(store: Path) -> dict[str, dict]:
    jobs = {}
    for p in (store / "jobs").glob("*.json") if (store / "jobs").is_dir() else []:
        try:
            jobs[p.stem] = json.loads(p.read_text())
        except ValueError:
            continue
    return jobs


def run_deployment(r: dict, name: str, *params: str) -> str:
    done = subprocess.run([str(BIN / "prefect"), "deployment", "run", name, *sum((["-p", p] for p in params), [])],
                          env=r["env"], capture_output=True, text=True, timeout=120, check=True)
    return re.search(r"UUID: ([0-9a-f-]{36})", done.stdout).group(1)


def test_readme_path_review_durable_rerun_nightly(readme, tmp_path):
    api, out, store = readme["api"], readme["out"], readme["store"]
    deploy = next(v for k, v in readme["ran"].items() if k.startswith("reelflow deploy"))
    assert readme["env"]["REELFLOW_GIT_REPOSITORY"] in deploy.stderr  # it says what it used
    assert TIMINGS["reelflow deploy"] < 20
    run_cmd = next(k for k in readme["ran"] if k.startswith("prefect deployment run"))
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", readme["ran"][run_cmd].stdout).group(1)

    t0 = time.time()
    wait_state(api, run_id, {"PAUSED"}, 300)
    TIMINGS["drafts + prototype until the review pause"] = round(time.time() - t0, 1)
    review = latest_artifact(api, run_id, "night-market-social-review")
    assert "file://" not in review
    seen = _open_in_chromium(api, run_id, "night-market-social-review", tmp_path / "review.png")
    assert seen["images"] and all(w > 0 for w in seen["images"]), seen  # the contact sheet loads
    assert len(seen["videos"]) == 4 and all(state >= 1 for state in seen["videos"]), seen  # players load

    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        with pytest.raises(RuntimeError, match="Bowl"):  # a typo: refused, still paused
            resume_flow_run(run_id, run_input={"reject": ["Bowl"], "reviewer": "ci"})
        assert wait_state(api, run_id, {"PAUSED"}, 30)
        resume_flow_run(run_id, run_input={"reviewer": "ci"})  # empty: paused again, problem shown
        time.sleep(2)
        wait_state(api, run_id, {"PAUSED"}, 120)
        assert "empty submission" in latest_artifact(api, run_id, "night-market-social-review")
        t0 = time.time()
        resume_flow_run(run_id, run_input={"approve_all": True, "reviewer": "ci"})
    wait_state(api, run_id, {"COMPLETED"}, 400)
    TIMINGS["finals + finishing after approval"] = round(time.time() - t0, 1)

    manifest = json.loads((out / "night-market-social.manifest.json").read_text())
    end = time.time() + 60  # the worker removes its clone once the run's process has exited
    while Path(manifest["checkout"]).exists() and time.time() < end:
        time.sleep(0.5)
    assert not Path(manifest["checkout"]).exists()  # the worker's clone is gone ...
    edit = out / "night-market-social.mp4"  # ... and the edit is where the README says
    info = probe(edit)
    assert (info.width, info.height) == (1080, 1920) and info.has_audio and manifest["status"] == "final"
    summary = latest_artifact(api, run_id, "night-market-social-summary")
    link = re.search(r"\[night-market-social\.mp4\]\((http[^)]+)\)", summary).group(1)
    with urllib.request.urlopen(link) as resp:  # the edit's link opens
        assert hashlib.sha256(resp.read()).hexdigest() == manifest["output"]["sha256"]
    paid = ledger(store)
    assert len(paid) == 8  # four shots, draft + final

    t0 = time.time()
    again = run_deployment(readme, "render-shotlist/render-shotlist",
                           "shotlist=shotlists/night-market-social.yaml", "approval=all")
    wait_state(api, again, {"COMPLETED"}, 300)
    TIMINGS["unchanged re-run"] = round(time.time() - t0, 1)
    assert ledger(store) == paid  # zero generation calls
    rerun = json.loads((out / "night-market-social.manifest.json").read_text())
    assert all(s["cache_hit"] for s in rerun["shots"])

    t0 = time.time()
    base = run_deployment(readme, "nightly/nightly")  # the teaser was never rendered: baseline
    wait_state(api, base, {"COMPLETED"}, 400)
    TIMINGS["nightly (baseline)"] = round(time.time() - t0, 1)
    assert _nightly_rows(api, base) == {"shotlists/night-market-social.yaml": (False, 0),
                                        "shotlists/teaser.yaml": (True, 2)}
    lifecycle = latest_artifact(api, base, "lifecycle-check")  # #12: published on every nightly run
    lifecycle = json.loads(lifecycle) if isinstance(lifecycle, str) else lifecycle
    assert lifecycle and all("shot list" in row and "what to do" in row for row in lifecycle)
    work = readme["work"]
    path = work / "shotlists" / "night-market-social.yaml"
    path.write_text(path.read_text().replace("Product shot of a steaming noodle bowl", "Macro of a noodle bowl"))
    git(work, "commit", "-qam", "bowl: macro")
    git(work, "push", "-q", "origin", "main")
    before = ledger(store)
    t0 = time.time()
    nightly = run_deployment(readme, "nightly/nightly")
    wait_state(api, nightly, {"COMPLETED"}, 400)
    TIMINGS["nightly after one changed shot"] = round(time.time() - t0, 1)
    assert _nightly_rows(api, nightly) == {"shotlists/night-market-social.yaml": (True, 2),
                                           "shotlists/teaser.yaml": (False, 0)}
    new = {k: v for k, v in ledger(store).items() if k not in before}
    assert sorted((j["shot_id"], j["tier"]) for j in new.values()) == [("bowl", "draft"), ("bowl", "final")]
    named = call(api, lambda c: c.read_flow_run(nightly)).name
    assert "night-market-social" in named and "teaser" not in named.split("(")[0]
    # an output folder inside the worker's clone would be lost: the run refuses before any work
    t0 = time.time()
    lost = run_deployment(readme, "render-shotlist/render-shotlist", "shotlist=shotlists/teaser.yaml",
                          "approval=all", "out_dir=out")
    failed = wait_state(api, lost, {"FAILED"}, 300)
    TIMINGS["refused run (output inside the clone)"] = round(time.time() - t0, 1)
    assert "inside this run's checkout" in failed.state.message and "REELFLOW_OUT" in failed.state.message
    assert ledger(store) == {**before, **new}  # nothing generated
    print("\nTIMINGS", json.dumps(TIMINGS, indent=1))
    (tmp_path / "timings.json").write_text(json.dumps(TIMINGS, indent=1))


def _nightly_rows(api: str, run_id) -> dict[str, tuple[bool, int]]:
    rows = latest_artifact(api, run_id, "nightly-summary")
    rows = json.loads(rows) if isinstance(rows, str) else rows
    return {r["shot list"]: (r["rendered"], r["clips generated"]) for r in rows}


def _open_in_chromium(api: str, run_id, key: str, shot: Path) -> dict:
    """Open the artifact's page in the Prefect UI in headless Chromium; report each image's
    naturalWidth and each player's readyState."""
    from playwright.sync_api import sync_playwright

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    arts = call(api, lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))))
    art = max((a for a in arts if a.key == key), key=lambda a: a.created)
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium missing: .ci/run installs it")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.goto(api.removesuffix("/api") + f"/artifacts/artifact/{art.id}")
        page.wait_for_function("document.images.length > 0 && Array.from(document.images).every(i => i.complete)",
                               timeout=60_000)
        page.wait_for_timeout(1500)
        seen = {"images": page.evaluate("Array.from(document.images).map(i => i.naturalWidth)"),
                "videos": page.evaluate("Array.from(document.querySelectorAll('video')).map(v => v.readyState)")}
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return seen


def test_killing_workers_mid_run_loses_nothing_and_repays_nothing(readme, s3rver):
    api, env, tmp, store = readme["api"], readme["env"], readme["tmp"], readme["store"]
    s3 = {"REELFLOW_S3_BUCKET": "reelflow", "REELFLOW_S3_ENDPOINT": s3rver, "REELFLOW_S3_CHECKSUMS": "0",
          "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER"}
    workers = [start_background([str(BIN / "prefect"), "worker", "start", "--pool", "reelflow-process"],
                                {**env, **s3}, tmp, "w-extra")]
    deps = call(api, lambda c: c.read_deployments())
    dep = next(d for d in deps if d.name == "render-shotlist")
    params = {"shotlist": "long/long.yaml", "approval": "all"}
    jv = {"env": s3}
    call(api, lambda c: c.create_flow_run_from_deployment(dep.id, parameters=params, job_variables=jv))
    end = time.time() + 300

    def done_jobs() -> dict[str, dict]:
        return {k: v for k, v in ledger(store).items()
                if v.get("state") == "downloaded" and v.get("shot_id", "").startswith("a")}

    while len(done_jobs()) < 3 and time.time() < end:
        time.sleep(0.3)
    before = done_jobs()
    assert len(before) >= 3, "the run never got going"
    # crash: kill every worker and every flow-run process they started, mid-run
    for proc in [*workers, readme["background"][0]]:
        stop(proc, signal.SIGKILL)
    kill_flow_runs(api)
    workers.append(start_background([str(BIN / "prefect"), "worker", "start", "--pool", "reelflow-process"],
                                    {**env, **s3}, tmp, "w-new"))
    try:
        rerun = call(api, lambda c: c.create_flow_run_from_deployment(dep.id, parameters=params, job_variables=jv))
        wait_state(api, rerun.id, {"COMPLETED"}, 400)
    finally:
        for proc in workers:
            stop(proc)
    after = done_jobs()
    for key, job in before.items():  # every clip finished before the crash: never submitted again
        assert after[key]["submitted_at"] == job["submitted_at"] and after[key]["job_id"] == job["job_id"]
    assert len(after) == 8  # four shots, draft + final: one paid job each, nothing lost
    summary = latest_artifact(api, rerun.id, "long-summary")
    link = re.search(r"\[long\.mp4\]\((http[^)]+)\)", summary).group(1)  # presigned on S3
    with urllib.request.urlopen(link) as resp:
        data = resp.read()
    edit = tmp / "long-from-s3.mp4"
    edit.write_bytes(data)
    info = probe(edit)
    assert (info.width, info.height, info.frames) == (1280, 720, 4 * 72 - 3 * 12) and info.has_audio


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    base = tmp_path_factory.mktemp("s3rver")
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(base), "s3rver@3.7.1"],
                   check=True, capture_output=True, timeout=300)
    port = free_port()
    (base / "data").mkdir()
    proc = subprocess.Popen(["node", str(base / "node_modules/.bin/s3rver"), "--address", "127.0.0.1",
                             "--port", str(port), "--directory", str(base / "data"), "--silent"])
    url = f"http://127.0.0.1:{port}"
    wait_http(url, 60)
    import boto3
    from botocore.config import Config

    boto3.client("s3", endpoint_url=url, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                 region_name="us-east-1", config=Config(signature_version="s3v4")).create_bucket(Bucket="reelflow")
    yield url
    proc.terminate()
    proc.wait(30)
