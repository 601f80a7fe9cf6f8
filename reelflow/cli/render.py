"""Running a render from the terminal: Prefect's settings, progress bars, the approval prompt
and the hint shown with a failure (the `render` command itself is in cli.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from reelflow.errors import exit_code_for
from reelflow.cli.terminal import err, say as _say


def _prefect_env() -> None:
    """Before Prefect is imported (its settings are read once). A loaded 2-core machine can take
    well over Prefect's default 20 s to start the temporary API server; PREFECT_API_URL reuses a
    running server instead."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "240")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if os.environ.get("REELFLOW_DEBUG") != "1":
        # the terminal shows reelflow's one-line errors and warnings, not Prefect's tracebacks
        # (the run's logs still reach the Prefect API); REELFLOW_DEBUG=1 shows everything
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


def _run_flow(parameters: dict) -> dict:
    """The render flow with ``parameters`` (as a deployment would pass them), progress bars on
    the terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from reelflow.runtime.config import on_progress

    _prefect_env()
    from reelflow.flows.render import render_shotlist

    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        def listener(stage: str, item: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done, total=total)

        remove = on_progress(listener)
        try:
            return render_shotlist(**parameters)
        finally:
            remove()


def _hint(exc: BaseException) -> str | None:
    if "ephemeral Prefect API server" in str(exc):
        home = os.environ.get("PREFECT_HOME", "~/.prefect")
        return (f"Prefect's temporary API server did not start within "
                f"{os.environ.get('PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS')} s. If {home}/prefect.db was made "
                f"by a newer Prefect, set PREFECT_HOME to a fresh folder (or upgrade prefect); or point "
                f"PREFECT_API_URL at a running server")
    if isinstance(exc, OSError) and exc.errno == 28:
        return "free some space (or point --out / --store elsewhere) and run again; finished clips are kept"
    if exit_code_for(exc) == 4 and os.environ.get("REELFLOW_DEBUG") != "1":
        return "run again with --debug for the traceback, and report it if it persists"
    return None


def _ask_for_approval(manifest: dict, out_dir: Path, params: dict) -> dict:
    proto = out_dir / manifest["prototype"]["path"]
    _say(f"prototype edit: {proto}")
    if not sys.stdin.isatty():
        _say("no terminal to review in: stopped after the prototype; re-run with --approve-all or --approve SHOT_ID")
        return manifest
    ids = {s["id"] for s in manifest["shots"]}
    while True:  # a wrong entry asks again; it never approves nothing silently
        ans = typer.prompt("Approve shots for final render? (all / comma-separated ids / none)", default="none").strip()
        if ans.lower() in ("all", "a", "y", "yes"):
            return _run_flow({**params, "approval": "all", "approve": None})
        if ans.lower() in ("", "none", "n", "no"):
            return manifest
        chosen = [s.strip() for s in ans.split(",") if s.strip()]
        unknown = [c for c in chosen if c not in ids]
        if not unknown:
            return _run_flow({**params, "approval": "listed", "approve": chosen})
        _say(f"no such shot: {', '.join(unknown)} (shots: {', '.join(sorted(ids))})")
