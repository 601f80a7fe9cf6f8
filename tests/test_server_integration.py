"""Prefect in production, for real: PostgreSQL, `prefect server`, two process workers, an
S3-compatible server (s3rver), deployments from prefect.yaml cloned from git, the review gate
resumed with input, artifacts read through the client, the edit fetched from S3, a UI screenshot.

Every server here is started by this module on 127.0.0.1 and stopped at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from reelflow.media.ffmpeg import probe

from .conftest import ROOT

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")

TINY = """\
title: Integration
output: {resolution: 720p, fps: 24, deliverables: [contact_sheet]}
shots:
  - {id: one, prompt: Lighthouse at night, duration: 1.5, kind: environment}
  - {id: two, prompt: Product shot of a tin, duration: 1.5, kind: product}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {timeout}s")


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 server binaries missing: .ci/run installs postgresql")
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="reelflow-pg-"))  # pytest's tmp is root-only; postgres needs in
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sock, "postgres")
    port = free_port()
    pw = base / "pw"
    pw.write_text("pgpass\n")
    shutil.chown(pw, "postgres")

    def su(cmd: str) -> None:
        subprocess.run(["su", "postgres", "-c", cmd], check=True, capture_output=True, timeout=60)

    su(f"{PG_BIN}/initdb -D {data} -U postgres --auth-host=scram-sha-256 --auth-local=trust --pwfile={pw}")
    su(f"{PG_BIN}/pg_ctl -D {data} -l {base}/pg.log -o '-c listen_addresses=127.0.0.1 -p {port} -k {sock}' -w start")
    su(f"psql -h {sock} -p {port} -c 'create database prefect'")
    yield f"postgresql+asyncpg://postgres:pgpass@127.0.0.1:{port}/prefect"
    su(f"{PG_BIN}/pg_ctl -D {data} -m fast stop")
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def server(postgres, tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_DATABASE_CONNECTION_URL": postgres,
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=open(home / "server.log", "w"), stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    wait_http(f"{api}/health", 120)
    yield api, home
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    base = tmp_path_factory.mktemp("s3rver")
    subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(base), "s3rver@3.7.1"],
                   check=True, capture_output=True, timeout=300)
    port = free_port()
    (base / "data").mkdir()
    proc = subprocess.Popen(["node", str(base / "node_modules/.bin/s3rver"), "--address", "127.0.0.1", "--port", str(port),
                             "--directory", str(base / "data"), "--silent"])
    url = f"http://127.0.0.1:{port}"
    wait_http(url, 60)
    import boto3
    from botocore.config import Config

    boto3.client("s3", endpoint_url=url, aws_access_key_id="S3RVER", aws_secret_access_key="S3RVER",
                 region_name="us-east-1", config=Config(signature_version="s3v4")).create_bucket(Bucket="reelflow")
    yield url
    proc.terminate()
    proc.wait(30)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.email=ci@reelflow", "-c", "user.name=ci", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


async def _client_call(api: str, fn):
    from prefect.client.orchestration import PrefectClient

    async with PrefectClient(api) as client:
        return await fn(client)


def call(api: str, fn):
    return asyncio.run(_client_call(api, fn))


def wait_state(api: str, run_id, want: set[str], timeout: float = 300):
    end = time.time() + timeout
    state = None
    while time.time() < end:
        run = call(api, lambda c: c.read_flow_run(run_id))
        state = run.state
        if state and state.type.value in want or (state and state.name in want):
            return run
        if state and state.is_final() and state.type.value not in want:
            raise AssertionError(f"run ended {state.type.value}: {state.message}")
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {state.name if state else None} after {timeout}s")


LONG = """\
title: Long
output: {resolution: 720p, fps: 24, deliverables: []}
shots:
  - {id: a1, prompt: Harbor at dawn, duration: 3, kind: environment}
  - {id: a2, prompt: Market at night, duration: 3, kind: environment}
  - {id: a3, prompt: Desert at noon, duration: 3, kind: environment}
  - {id: a4, prompt: Forest in fog, duration: 3, kind: environment}
"""


def start_worker(name: str, env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "prefect"), "worker", "start", "--pool", "itest", "--name", name],
                            cwd=cwd, env=env, stdout=open(cwd / f"{name}.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    proc.wait(30)


@pytest.fixture(scope="module")
def cluster(server, s3rver, tmp_path_factory):
    """This project at HEAD (+ test shot lists) in a bare git repo, deployed from prefect.yaml
    onto a process pool served by two workers sharing one store."""
    api, home = server
    tmp = tmp_path_factory.mktemp("cluster")
    work = tmp / "work"
    git(tmp, "clone", "-q", str(ROOT), str(work))
    (work / "shotlists" / "tiny").mkdir(parents=True)
    (work / "shotlists" / "tiny" / "tiny.yaml").write_text(TINY)
    (work / "shotlists" / "long").mkdir(parents=True)
    (work / "shotlists" / "long" / "long.yaml").write_text(LONG)
    git(work, "add", ".")
    git(work, "commit", "-qm", "test shot lists")
    bare = tmp / "bare.git"
    git(tmp, "clone", "-q", "--bare", str(work), str(bare))
    env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(home), "PREFECT_LOGGING_LEVEL": "INFO",
           "REELFLOW_GIT_REPOSITORY": bare.as_uri(), "REELFLOW_GIT_BRANCH": "main", "REELFLOW_WORK_POOL": "itest",
           "REELFLOW_S3_BUCKET": "reelflow", "REELFLOW_S3_ENDPOINT": s3rver, "REELFLOW_S3_CHECKSUMS": "0",
           "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER",
           "REELFLOW_STORE": str(tmp / "shared-store"), "PATH": f"{BIN}:{os.environ['PATH']}"}
    subprocess.run([str(BIN / "reelflow"), "deploy", "--pool", "itest", "--repository", bare.as_uri()],
                   cwd=work, env=env, check=True, capture_output=True, timeout=180)
    workers = {f"w{i}": start_worker(f"w{i}", env, tmp) for i in (1, 2)}
    yield {"api": api, "env": env, "work": work, "tmp": tmp, "workers": workers}
    for w in workers.values():
        stop(w)


def test_deployments_on_workers_with_review_s3_and_ui(cluster, tmp_path):
    api, work = cluster["api"], cluster["work"]
    deps = call(api, lambda c: c.read_deployments())
    assert {d.name for d in deps} >= {"render-shotlist", "nightly"}
    nightly_dep = next(d for d in deps if d.name == "nightly")
    assert nightly_dep.schedules and "0 2 * * *" in str(nightly_dep.schedules[0].schedule)

    # the review gate, resumed with typed input
    render_dep = next(d for d in deps if d.name == "render-shotlist")
    run = call(api, lambda c: c.create_flow_run_from_deployment(
        render_dep.id, parameters={"shotlist": "shotlists/tiny/tiny.yaml", "approval": "review",
                                   "review_timeout": 600}))
    wait_state(api, run.id, {"PAUSED", "Paused"}, 300)
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        resume_flow_run(run.id, run_input={"approve_all": True, "reviewer": "ci"})
    wait_state(api, run.id, {"COMPLETED"}, 300)

    # artifacts through the client, and the edit fetched from S3 by its presigned link
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    arts = call(api, lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))))
    keys = {a.key: a for a in arts if a.key}
    assert {"tiny-plan", "tiny-progress", "tiny-review", "tiny-summary"} <= set(keys)
    link = re.search(r"\[edit \(download\)\]\((http[^)]+)\)", keys["tiny-summary"].data).group(1)
    edit = tmp_path / "edit.mp4"
    with urllib.request.urlopen(link) as r:
        edit.write_bytes(r.read())
    info = probe(edit)
    assert (info.width, info.height, info.frames) == (1280, 720, 72 - 12) and info.has_audio

    # the nightly deployment: the tiny list was rendered from this commit, so nothing to do;
    # then the same list is new to the nightly's own out folder
    nrun = call(api, lambda c: c.create_flow_run_from_deployment(
        nightly_dep.id, parameters={"shotlists": "shotlists/tiny", "out_dir": "out-nightly"}))
    wait_state(api, nrun.id, {"COMPLETED"}, 300)
    logs = call(api, lambda c: c.read_logs(limit=200))
    assert any("rendering shotlists/tiny/tiny.yaml (never rendered)" in log.message for log in logs)

    shot = tmp_path / "ui.png"
    page = api.removesuffix("/api") + f"/runs/flow-run/{run.id}"
    _screenshot(page, shot, tmp_path)
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one (a few KB)
    commit = git(work, "rev-parse", "--short=8", "HEAD")
    named = call(api, lambda c: c.read_flow_run(run.id)).name
    assert named.startswith(f"tiny@{commit}-")  # runs are named after the shot list and commit


def _screenshot(url: str, dest: Path, tmp: Path) -> None:
    """A PNG of the run's page in the Prefect UI, rendered by headless Chromium."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("chromium missing: .ci/run installs it")
    common = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
              "--window-size=1440,900", "--virtual-time-budget=15000"]
    subprocess.run([*common, f"--user-data-dir={tmp / 'chrome1'}", f"--screenshot={dest}", url],
                   check=True, capture_output=True, timeout=120)


def test_killing_a_worker_mid_run_loses_nothing_and_repays_nothing(cluster):
    api, tmp, env = cluster["api"], cluster["tmp"], cluster["env"]
    jobs = tmp / "shared-store" / "jobs"
    deps = call(api, lambda c: c.read_deployments())
    dep = next(d for d in deps if d.name == "render-shotlist")
    params = {"shotlist": "shotlists/long/long.yaml", "approval": "all"}
    run = call(api, lambda c: c.create_flow_run_from_deployment(dep.id, parameters=params))
    end = time.time() + 300

    def done_jobs() -> dict[str, dict]:
        out = {}
        for p in jobs.glob("*.json") if jobs.is_dir() else []:
            try:
                data = json.loads(p.read_text())
            except ValueError:
                continue
            if data.get("state") == "downloaded" and data.get("shot_id", "").startswith("a"):
                out[p.stem] = data
        return out

    while len(done_jobs()) < 3 and time.time() < end:
        time.sleep(0.3)
    before = done_jobs()
    assert len(before) >= 3, "the run never got going"
    # crash: kill both workers and every flow-run process they started, mid-run
    for w in cluster["workers"].values():
        stop(w, signal.SIGKILL)
    subprocess.run(["pkill", "-9", "-f", "prefect.engine"], capture_output=True)
    cluster["workers"]["w3"] = start_worker("w3", env, tmp)
    rerun = call(api, lambda c: c.create_flow_run_from_deployment(dep.id, parameters=params))
    wait_state(api, rerun.id, {"COMPLETED"}, 400)
    after = {k: v for k, v in done_jobs().items()}
    for key, job in before.items():  # every clip finished before the crash: never submitted again
        assert after[key]["submitted_at"] == job["submitted_at"] and after[key]["job_id"] == job["job_id"]
    assert len(after) == 8  # four shots, draft + final: one paid job each, nothing lost
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    arts = call(api, lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[rerun.id]))))
    summary = next(a for a in arts if a.key == "long-summary").data
    assert "# Long" in summary and "long.mp4" in summary
