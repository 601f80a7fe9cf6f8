"""Nothing a render starts outlives it, even when it is killed with SIGKILL.

SIGTERM and Ctrl-C unwind the CLI and stop Prefect's temporary API server (cli/signals.py); SIGKILL
(the OOM killer, a container stopped after its grace period) gives the process no chance to, and
its children (uvicorn with its port and SQLite database) are re-parented and live on. So the CLI
marks its environment with a token every process it starts inherits, and starts this watchdog
beside itself, in a session of its own and without the token: it waits for the CLI to end, then
terminates every process still carrying the token (SIGKILL after a grace period). Marking by
inheritance needs no look at the process tree while the CLI lives, so nothing started a moment
before the kill can slip through.

    python -m reelflow.runtime.orphans <pid> <token>

Linux only (it reads /proc); elsewhere it is not started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

TOKEN_VAR = "REELFLOW_RUN_TOKEN"
POLL_S = 0.25
GRACE_S = 3.0


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2] != "Z"  # the state, after the command name (which may hold spaces)


def marked(token: str) -> list[int]:
    """Every live process whose environment carries the token (other users' are unreadable)."""
    mark = f"{TOKEN_VAR}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def watch(parent: int, token: str) -> int:
    """Wait for ``parent`` to end; then end whatever still carries its token."""
    while _alive(parent):
        time.sleep(POLL_S)
    left = marked(token)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and any(map(_alive, left)):
            time.sleep(0.1)
        left = [pid for pid in left if _alive(pid)]
    return 0


def start_for() -> subprocess.Popen | None:
    """Mark this process's environment (inherited by all it starts from now on) and start the
    watchdog for it, in a session of its own so a signal to the CLI's group leaves it standing."""
    if not Path("/proc/self/environ").is_file():
        return None
    token = os.environ[TOKEN_VAR] = secrets.token_hex(8)  # a run inside a run marks its own
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    return subprocess.Popen([sys.executable, "-m", "reelflow.runtime.orphans", str(os.getpid()), token],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)


if __name__ == "__main__":
    sys.exit(watch(int(sys.argv[1]), sys.argv[2]) if len(sys.argv) == 3 else 2)
