"""Helpers for the tests that start real servers: ports, waiting, processes, git, PostgreSQL and
reading flow runs and artifacts through Prefect's client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90, ok_below: int = 500) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < ok_below:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < ok_below:
                return
            time.sleep(0.5)
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up in {timeout}s")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.email=ci@reelflow", "-c", "user.name=ci", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def start_background(cmd: list[str], env: dict, cwd: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=open(cwd / f"{name}.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    """Stop a background process group; one that outlives ``sig`` by 30 s is killed (a Prefect
    worker told SIGTERM may wait on a flow-run process it started: once CI waited past 30 s)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(30)


def kill_flow_runs(api: str) -> int:
    """SIGKILL every flow-run process (``prefect.engine``) talking to this test's server, and
    none of another test's running beside it (pytest-xdist): ``pkill -f`` would kill those too."""
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"prefect.engine" in cmdline and f"PREFECT_API_URL={api}".encode() in environ:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


@contextlib.contextmanager
def postgres_cluster():
    """A throwaway PostgreSQL 15 cluster on a free port; yields Prefect's connection URL."""
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
    try:
        yield f"postgresql+asyncpg://postgres:pgpass@127.0.0.1:{port}/prefect"
    finally:
        su(f"{PG_BIN}/pg_ctl -D {data} -m fast stop")
        shutil.rmtree(base, ignore_errors=True)


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
        if state and (state.type.value in want or state.name.upper() in want):
            return run
        if state and state.is_final() and state.type.value not in want:
            raise AssertionError(f"run ended {state.type.value}: {state.message}")
        time.sleep(1)
    raise AssertionError(f"run {run_id} still {state.name if state else None} after {timeout}s")


def latest_artifact(api: str, run_id, key: str):
    """The newest version of a run's keyed artifact's data."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    arts = call(api, lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))))
    mine = [a for a in arts if a.key == key]
    assert mine, f"no artifact {key!r} on run {run_id}: {sorted({a.key for a in arts if a.key})}"
    return max(mine, key=lambda a: a.created).data
