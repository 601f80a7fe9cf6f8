"""The terminal reelflow writes to: results on stdout, progress, warnings and errors on stderr.
User text is never read as console markup."""

from __future__ import annotations

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def say(line: str) -> None:
    err.print(line, markup=False, highlight=False)
