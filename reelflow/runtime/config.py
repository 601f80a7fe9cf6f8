"""Explicit run configuration (from flow parameters and environment), and a tiny progress hook."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from reelflow.errors import ReelflowError


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    base_delay: float = 2.0  # seconds; doubles per attempt (Prefect exponential_backoff)
    jitter: float = 0.5

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        return cls(
            retries=int(_float("REELFLOW_RETRIES", 3)),
            base_delay=_float("REELFLOW_RETRY_BASE_DELAY", 2.0),
            jitter=_float("REELFLOW_RETRY_JITTER", 0.5),
        )


# Progress events for the CLI's progress bars; flows emit, the CLI listens. No-op by default.
_listeners: list[Callable[[str, str, int, int], None]] = []
_lock = threading.Lock()


def on_progress(fn: Callable[[str, str, int, int], None]) -> Callable[[], None]:
    with _lock:
        _listeners.append(fn)

    def remove() -> None:
        with _lock:
            if fn in _listeners:
                _listeners.remove(fn)

    return remove


def emit(stage: str, item: str, done: int, total: int) -> None:
    with _lock:
        listeners = list(_listeners)
    for fn in listeners:
        try:
            fn(stage, item, done, total)
        except Exception:  # noqa: BLE001 - a broken progress bar must not break a render
            pass


# ---------------------------------------------------------------- where outputs and the store live
# A deployed run executes in a worker's temporary clone that is deleted when the run ends, so
# anything written inside it is lost: the edit, the clips, the job ledger, the task cache.
OUT_ENV, STORE_ENV = "REELFLOW_OUT", "REELFLOW_STORE"


def output_dir(param: str | None) -> Path:
    """The flow parameter, else REELFLOW_OUT, else ./out."""
    return Path(param or os.environ.get(OUT_ENV) or "out").expanduser().resolve()


def store_dir(param: str | None, repo_root: Path) -> Path:
    """The flow parameter, else REELFLOW_STORE, else <repo>/.reelflow."""
    return Path(param or os.environ.get(STORE_ENV) or repo_root / ".reelflow").expanduser().resolve()


class EphemeralPathError(ReelflowError):
    """A deployed run would write where the next run cannot find it."""

    exit_code = 1  # invalid input (reelflow.errors.EXIT_INVALID)


def refuse_ephemeral(checkout: Path, out: Path, store: Path) -> None:
    """Raise, before anything is paid for, when a deployed run's output or store is inside the
    checkout the worker pulled for it."""
    checkout = checkout.resolve()
    for what, path, env in (("output folder", out, OUT_ENV), ("store", store, STORE_ENV)):
        if path == checkout or checkout in path.parents:
            raise EphemeralPathError(
                f"the {what} {path} is inside this run's checkout {checkout}, which the worker deletes "
                f"when the run ends; set {env} to a durable folder in the worker's environment or the "
                f"work pool's `env` job variable (`reelflow deploy --{'out' if env == OUT_ENV else 'store'} DIR`)")


def writable_dir(path: Path, what: str) -> Path:
    """Create ``path`` if needed and prove a file can be written there, before anything is paid
    for (a file in its place, a read-only folder or a full disk fails here, not after the drafts)."""
    import tempfile

    from reelflow.errors import InputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".reelflow-probe-"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {path} is not writable ({exc.strerror or exc})") from None
    return path
