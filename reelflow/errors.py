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


class ReelflowError(Exception):
    """Base class for errors reelflow reports to the user without a traceback."""


@dataclass
class ShotListError(ReelflowError):
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class CatalogError(ReelflowError):
    pass


class BudgetError(ReelflowError):
    pass


class ProviderError(ReelflowError):
    """Base class of provider failures; subclasses say whether a retry can help."""

    transient = False


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
