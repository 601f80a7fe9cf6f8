"""Provider registry and route resolution.

Adding a model is a catalog entry; adding a *route* (a new API) is one module here that
implements :class:`reelflow.providers.base.Provider` and registers itself by route name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

from ..catalog import Catalog
from .animatic import AnimaticProvider
from .base import Provider

def _lazy(module: str, cls: str) -> Callable[[], Provider]:
    """Import an adapter (and its SDK) only when a route actually uses it."""
    def make() -> Provider:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
    return make


_FACTORIES: dict[str, Callable[[], Provider]] = {
    "animatic": AnimaticProvider,
    "vertex": _lazy("vertex", "VertexVeoProvider"),
    "openai": _lazy("openai_sora", "SoraProvider"),
    "kling": _lazy("kling", "KlingProvider"),
    "replicate": _lazy("replicate", "ReplicateProvider"),
    "fal": _lazy("fal", "FalProvider"),
    "gemini": _lazy("gemini_omni", "GeminiOmniProvider"),
}
_INSTANCES: dict[str, Provider] = {}
_LOCK = threading.Lock()


def register(route: str, factory: Callable[[], Provider]) -> None:
    """Make an adapter available for a catalog route (e.g. 'vertex', 'fal')."""
    with _LOCK:
        _FACTORIES[route] = factory
        _INSTANCES.pop(route, None)


def available_routes() -> set[str]:
    return set(_FACTORIES)


def get(route: str) -> Provider:
    with _LOCK:
        if route not in _INSTANCES:
            _INSTANCES[route] = _FACTORIES[route]()
        return _INSTANCES[route]


@contextlib.contextmanager
def override(route: str, provider: Provider) -> Iterator[Provider]:
    """Use ``provider`` for ``route`` inside the block (tests, custom in-process adapters)."""
    with _LOCK:
        old_f, old_i = _FACTORIES.get(route), _INSTANCES.get(route)
        _FACTORIES[route] = lambda: provider
        _INSTANCES[route] = provider
    try:
        yield provider
    finally:
        with _LOCK:
            if old_f is None:
                _FACTORIES.pop(route, None)
            else:
                _FACTORIES[route] = old_f
            if old_i is None:
                _INSTANCES.pop(route, None)
            else:
                _INSTANCES[route] = old_i


def _secret_configured(info) -> bool:
    """Credentials may live in Prefect Secret blocks instead of the environment."""
    if not info.env or os.environ.get("REELFLOW_SECRET_BLOCKS", "1") == "0":
        return False
    from .common import credential

    have = [credential(name) is not None for name in info.env]
    return any(have) if info.any_env else all(have)


@dataclass(frozen=True)
class Resolution:
    route: str  # provider that will render
    route_model: str | None  # the model id at that route
    note: str | None  # why it is not the intended model's own route
    params: dict | None = None  # the route's extra catalog fields (mode, input template)


def resolve_route(model_id: str, catalog: Catalog, today: dt.date,
                  environ: dict[str, str] | None = None) -> Resolution:
    """Pick the route for a model: first of route_preference that serves it, has an adapter, is
    configured (credentials present) and is not retired; else the offline animatic, saying why."""
    environ = dict(os.environ if environ is None else environ)
    model = catalog.get(model_id)
    if model.family == "animatic":
        return Resolution("animatic", "animatic", None)
    order = [r for r in catalog.route_preference if r in model.routes] + \
            [r for r in model.routes if r not in catalog.route_preference]
    missing: list[str] = []
    no_adapter: list[str] = []
    for route in order:
        mroute = model.routes[route]
        if mroute.retired_on(today):
            continue
        info = catalog.routes[route]
        if not info.configured(environ) and not _secret_configured(info):
            missing.append(" or ".join(info.env) if info.any_env else " + ".join(info.env))
            continue
        if route not in _FACTORIES:
            no_adapter.append(route)
            continue
        extras = catalog.route_extras(model.id, route)
        return Resolution(route, mroute.id, None, extras)
    if no_adapter:
        why = f"no adapter for {', '.join(no_adapter)} in this version"
    elif missing:
        why = "no " + " / ".join(dict.fromkeys(missing))
    else:
        why = "no live route"
    return Resolution("animatic", "animatic", f"intended {model_id}, rendered animatic: {why}")
