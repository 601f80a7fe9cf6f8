"""Error types shared by the pure core and the edges.

Every user-facing error renders as one line per problem, in the editor-friendly form
``path:line: shot 'id': field: message`` so it can be used from a pre-commit hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One validation problem, located in a file."""

    path: str
    line: int | None
    shot: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        parts = [where]
        if self.shot:
            parts.append(f"shot '{self.shot}'")
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


# Exit codes of the `reelflow` command (documented in README "Exit codes").
EXIT_INVALID = 1  # the shot list, an asset, an argument or a folder is not usable
EXIT_PROVIDER = 2  # a provider refused, failed or is unreachable; a key is missing or wrong
EXIT_BUDGET = 3  # the estimate or the spend would pass budget_usd
EXIT_INTERNAL = 4  # anything else: a bug, a full disk, a crashed encoder
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM; a re-run resumes


class ReelflowError(Exception):
    """Base class for errors reelflow reports to the user as one line, without a traceback."""

    exit_code = EXIT_INTERNAL


@dataclass
class ShotListError(ReelflowError):
    problems: list[Problem] = field(default_factory=list)
    exit_code = EXIT_INVALID

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class InputError(ReelflowError):
    """A command-line argument, folder or setting that cannot be used."""

    exit_code = EXIT_INVALID


class CatalogError(ReelflowError):
    exit_code = EXIT_INVALID


class RoutingError(ReelflowError):
    """Shots no model can render as asked. Problems are (location, message) pairs, the location
    a path into the shot list (``("shots", 3, "model")``) that the loader turns into file:line."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[tuple[tuple, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems

    def __reduce__(self):  # pickled across processes and Prefect results with its problems
        return (type(self), (self.problems,))


class BudgetError(ReelflowError):
    exit_code = EXIT_BUDGET


class ProviderError(ReelflowError):
    """Base class of provider failures; subclasses say whether a retry can help."""

    transient = False
    exit_code = EXIT_PROVIDER


class TransientProviderError(ProviderError):
    """Timeouts, 429, 5xx, 'busy': retrying later may succeed."""

    transient = True


class OutputGoneError(TransientProviderError):
    """A finished job's output was deleted before we fetched it; only a new job can help."""


class PermanentProviderError(ProviderError):
    """Bad input, rejected prompt, auth failure: retrying cannot help."""


class ContentRejectedError(PermanentProviderError):
    """The provider's safety filter rejected the prompt; a fallback model may accept it."""


class JobPendingError(ProviderError):
    """A paid job the provider has not reported failed, but that could not be finished now
    (still running at the poll deadline, or its output could not be fetched). Never a reason to
    submit again or to fall back: a re-run resumes the same job from the ledger."""


class MediaError(ReelflowError):
    """A media file is missing, truncated or not what it claims to be."""


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for anything a run can raise."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return getattr(exc, "exit_code", EXIT_INTERNAL) if isinstance(exc, ReelflowError) else EXIT_INTERNAL


def one_line(exc: BaseException) -> str:
    """What the user reads: the message, plus the type for errors that are not reelflow's own
    (an OSError names its file: 'No space left on device: out/x.mp4')."""
    if isinstance(exc, ReelflowError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        target = exc.filename2 or exc.filename  # a copy names its destination second
        where = f": {target}" if target else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
