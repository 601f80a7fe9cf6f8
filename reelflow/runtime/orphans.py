"""Nothing a render starts outlives it, even when it is killed with SIGKILL.

SIGTERM and Ctrl-C unwind the CLI and stop Prefect's temporary API server (cli/signals.py); SIGKILL
(the OOM killer, a container stopped after its grace period) gives the process no chance to, and
its children (uvicorn with its port and SQLite database) are re-parented and live on. So the CLI
starts this watchdog beside itself: a small process of its own session that keeps the list of the
CLI's descendants while the CLI lives, and once it is gone terminates them (SIGKILL after a grace
period). Each pid is remembered with its start time, so a pid reused by the system is never hit.

    python -m reelflow.runtime.orphans <pid>

Linux only (it reads /proc); elsewhere it exits at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_S = 0.25
GRACE_S = 3.0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process, None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after the command name, which may hold spaces
    return fields[0], int(fields[19])


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += map(int, (task / "children").read_text().split())
        except OSError:
            continue
    return kids


def descendants(pid: int) -> dict[int, int]:
    """pid -> start time of every live process below ``pid``."""
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for kid in _children(todo.pop()):
            st = _stat(kid)
            if st and st[0] != "Z" and kid not in found:
                found[kid] = st[1]
                todo.append(kid)
    return found


def _alive(pid: int, started: int | None = None) -> bool:
    st = _stat(pid)
    return bool(st) and st[0] != "Z" and (started is None or st[1] == started)


def watch(parent: int) -> int:
    """Follow ``parent``'s descendants until it ends; then end whatever of them is left."""
    known: dict[int, int] = {}
    parent_start = (_stat(parent) or ("", None))[1]
    while _alive(parent, parent_start):
        known.update(descendants(parent))
        known = {p: s for p, s in known.items() if _alive(p, s)}
        time.sleep(POLL_S)
    left = {p: s for p, s in known.items() if p != os.getpid() and _alive(p, s)}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, started in left.items():
            if _alive(pid, started):
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and any(_alive(p, s) for p, s in left.items()):
            time.sleep(0.1)
    return 0


def start_for(pid: int | None = None) -> subprocess.Popen | None:
    """Start the watchdog for ``pid`` (default: this process) in a session of its own, so a
    signal to the CLI's process group does not take it along before it has done its work."""
    if not Path("/proc/self/task").is_dir():
        return None
    return subprocess.Popen([sys.executable, "-m", "reelflow.runtime.orphans", str(pid or os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


if __name__ == "__main__":
    sys.exit(watch(int(sys.argv[1])) if len(sys.argv) == 2 and Path("/proc").is_dir() else 0)
