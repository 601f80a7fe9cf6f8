"""SIGTERM / Ctrl-C on `reelflow render` (#13): one line, exit 130, Prefect's temporary API
server stopped with the command, and the next run resumes and sweeps what was left."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import make_repo
from .test_cli import EXE

pytestmark = pytest.mark.slow

LIST = """\
title: Signals
output: {resolution: 720p}
shots:
""" + "".join(f"  - {{id: s{i}, prompt: harbour shot {i}, duration: 3}}\n" for i in range(6))


def _ctrl_c_as_in_a_terminal() -> None:
    """The child's SIGINT at its default, as under a terminal: a shell starts background jobs
    (`make test &`) with SIGINT ignored, and the CLI rightly leaves an ignored SIGINT alone."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid`` with its command line (from /proc)."""
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                try:
                    found[kid] = Path(f"/proc/{kid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                todo.append(kid)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_run_and_its_server(tmp_path, sig):
    path = make_repo(tmp_path, LIST, music=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.Popen([EXE, "render", str(path), "--approve-all", "--out", str(tmp_path / "out"),
                             "--store", str(tmp_path / "store")], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    server = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        server = {p: c for p, c in descendants(proc.pid).items() if "uvicorn" in c}
        drafts = list((tmp_path / "store" / "clips").glob("*.mp4")) if (tmp_path / "store" / "clips").is_dir() else []
        if server and drafts:
            break  # mid-run: the server is up and the first drafts are in
        time.sleep(0.2)
    if not server:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the temporary API server never started; exit {proc.returncode}; stderr: {err[-3000:]}")
    proc.send_signal(sig)
    try:
        _, stderr = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired as late:  # say who kept it (or its pipes) alive
        left = descendants(proc.pid)
        proc.kill()
        pytest.fail(f"not ended 120 s after the signal; exited: {proc.poll()}; left: {left}; "
                    f"stderr: {(late.stderr or b'')[-1500:]!r}")
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "Logging error" not in stderr and "interrupted" in stderr
    stop = time.monotonic() + 30
    while time.monotonic() < stop and any(alive(p) for p in server):
        time.sleep(0.5)
    assert not any(alive(p) for p in server), f"left running: {server}"


def test_sigkill_leaves_no_server_behind(tmp_path):
    """SIGKILL (the OOM killer, a container past its grace period) gives the CLI no chance to stop
    Prefect's temporary API server: the watchdog started beside it ends the server within seconds."""
    path = make_repo(tmp_path, LIST, music=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    proc = subprocess.Popen([EXE, "render", str(path), "--approve-all", "--out", str(tmp_path / "out"),
                             "--store", str(tmp_path / "store")], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server: dict[int, str] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and not server:
        server = {p: c for p, c in descendants(proc.pid).items() if "uvicorn" in c}
        time.sleep(0.2)
    assert server, "the temporary API server never started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(p) for p in server):
        time.sleep(0.2)
    assert not any(alive(p) for p in server), f"left running after SIGKILL: {server}"
