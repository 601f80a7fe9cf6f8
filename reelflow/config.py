"""Explicit run configuration (from flow parameters and environment), and a tiny progress hook."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Callable


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
