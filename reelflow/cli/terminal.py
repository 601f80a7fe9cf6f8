"""The terminal reelflow writes to: results on stdout, progress, warnings and errors on stderr.
User text is never read as console markup."""

from __future__ import annotations

import os
import traceback

import typer
from rich.console import Console

from reelflow.errors import ShotListError, exit_code_for, one_line

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def say(line: str) -> None:
    err.print(line, markup=False, highlight=False)


def fail(exc: BaseException, hint: str | None = None) -> typer.Exit:
    """One line (plus a hint) and the documented exit code; a traceback only with --debug."""
    if os.environ.get("REELFLOW_DEBUG") == "1":
        traceback.print_exception(exc)
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted: nothing paid for is lost; run the same command again to resume")
    elif isinstance(exc, ShotListError):  # editor-friendly file:line: lines, one per problem
        for line in str(exc).splitlines():
            say(line)
    else:
        lines = one_line(exc).splitlines() or [type(exc).__name__]
        say(f"error: {lines[0]}")
        for more in lines[1:]:
            say(more)
    if hint:
        say(f"hint: {hint}")
    return typer.Exit(exit_code_for(exc))
