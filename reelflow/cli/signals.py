"""How the CLI ends when interrupted: SIGTERM unwinds like Ctrl-C, queued provider calls are
dropped, and a watchdog makes sure the process (and Prefect's temporary server) goes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from reelflow.errors import EXIT_INTERRUPTED


def _stop_on_signals() -> None:
    """SIGTERM unwinds like Ctrl-C, so Prefect's temporary API server (stopped at exit) and
    every partial file are cleaned up instead of left behind. Either signal also silences the
    logging module's own error reports: while the run unwinds, Prefect's API log handler fails
    (its server is going) and each report would be a traceback on the user's terminal."""
    import logging
    import signal

    def handler(signum, frame):
        logging.raiseExceptions = False
        _exit_within(30.0)  # wherever the unwinding gets stuck, the process still ends
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not when ignored (nohup, &)
            signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def _stop_provider_calls() -> None:
    if "reelflow.generation.generate" in sys.modules:
        sys.modules["reelflow.generation.generate"].stop_pools()
    _exit_within(25.0)


_WATCHDOG = False


def _exit_within(seconds: float) -> None:
    """An interrupted render exits: if the clean unwinding (Prefect's temporary server, queued
    log flushes) has not finished after ``seconds``, stop this process's children (the server)
    and leave with the interrupted code. Paid jobs are in the ledger; the next run resumes them."""
    import threading

    global _WATCHDOG
    if _WATCHDOG:  # SIGTERM starts it, the KeyboardInterrupt it raises must not start another
        return
    _WATCHDOG = True

    def watchdog() -> None:
        time.sleep(seconds)
        end_interrupted()

    threading.Thread(target=watchdog, name="reelflow-exit", daemon=True).start()


def end_interrupted() -> None:
    """Leave with the interrupted code once the children are gone, without the interpreter's
    finalization: Prefect's daemon threads still log while it runs, and CPython aborts (SIGABRT)
    when one of them holds stderr's lock at shutdown. Every descendant is stopped, not only the
    children: one that outlives us (Prefect's temporary server, an ffmpeg) keeps our stdout and
    stderr open, and whoever reads them waits."""
    import signal

    family = _descendants(os.getpid())
    _signal_all(family, signal.SIGTERM)
    stop = time.monotonic() + 5
    while time.monotonic() < stop and any(_running(pid) for pid in family):
        time.sleep(0.1)
    _signal_all([pid for pid in family if _running(pid)], signal.SIGKILL)
    # threads still running may have started a process since the first look (an encoder for
    # the next clip): look again until two looks in a row find none alive
    calm = 0
    while calm < 2 and time.monotonic() < stop + 5:
        late = [pid for pid in _descendants(os.getpid()) if _running(pid)]
        _signal_all(late, signal.SIGKILL)
        calm = 0 if late else calm + 1
        time.sleep(0.05)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


def _descendants(root: int) -> list[int]:
    """Every live process below ``root`` (from /proc; parents first)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass
