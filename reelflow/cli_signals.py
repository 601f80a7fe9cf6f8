"""How the CLI ends when interrupted: SIGTERM unwinds like Ctrl-C, queued provider calls are
dropped, and a watchdog makes sure the process (and Prefect's temporary server) goes."""

from __future__ import annotations

import sys
import time

from .errors import EXIT_INTERRUPTED


def _stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so Prefect's temporary API server (stopped at exit) and
    every partial file are cleaned up instead of left behind."""
    import signal

    def handler(signum, frame):
        _exit_within(30.0)  # wherever the unwinding gets stuck, the process still ends
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def _stop_provider_calls() -> None:
    if "reelflow.generate" in sys.modules:
        sys.modules["reelflow.generate"].stop_pools()
    _exit_within(25.0)


_WATCHDOG = False


def _exit_within(seconds: float) -> None:
    """An interrupted render exits: if the clean unwinding (Prefect's temporary server, queued
    log flushes) has not finished after ``seconds``, stop this process's children (the server)
    and leave with the interrupted code. Paid jobs are in the ledger; the next run resumes them."""
    import os
    import signal
    import threading
    from pathlib import Path

    global _WATCHDOG
    if _WATCHDOG:  # SIGTERM starts it, the KeyboardInterrupt it raises must not start another
        return
    _WATCHDOG = True

    def watchdog() -> None:
        time.sleep(seconds)
        me = str(os.getpid())
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if stat.read_text().rsplit(")", 1)[1].split()[1] == me:
                    os.kill(int(stat.parent.name), signal.SIGTERM)
            except (OSError, IndexError, ValueError):
                pass
        time.sleep(2)
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watchdog, name="reelflow-exit", daemon=True).start()
