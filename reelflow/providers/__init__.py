"""Provider registry and route resolution.

Adding a model is a catalog entry; adding a *route* (a new API) is one module that implements
:class:`reelflow.providers.base.Provider` and registers itself under the `reelflow.providers`
entry-point group (reelflow's own routes are declared the same way in pyproject.toml), or at
run time with :func:`register`. Adapters and their SDKs are imported only when a route is used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from typing import Callable, Iterator

from reelflow.plan.catalog import Catalog
from reelflow.runtime.secrets import credential
from reelflow.plan.routes import OFFLINE_ROUTE, Reach, RouteChoice, route_for
from reelflow.providers.base import Provider

GROUP = "reelflow.providers"


def _lazy(target: str) -> Callable[[], Provider]:
    """'module:Class' -> a factory importing it on first use."""
    def make() -> Provider:
        import importlib

        module, _, cls = target.partition(":")
        return getattr(importlib.import_module(module), cls)()
    return make


# reelflow's own routes, used when the distribution's metadata is not installed (a bare checkout)
_BUILT_IN = {
    "animatic": "reelflow.providers.animatic.provider:AnimaticProvider",
    "vertex": "reelflow.providers.vertex:VertexVeoProvider",
    "openai": "reelflow.providers.openai_sora:SoraProvider",
    "kling": "reelflow.providers.kling:KlingProvider",
    "replicate": "reelflow.providers.replicate:ReplicateProvider",
    "fal": "reelflow.providers.fal:FalProvider",
    "gemini": "reelflow.providers.gemini_omni:GeminiOmniProvider",
    "byteplus": "reelflow.providers.byteplus:BytePlusProvider",
    "dashscope": "reelflow.providers.dashscope:DashScopeProvider",
    "runway": "reelflow.providers.runway:RunwayProvider",
    "ltx": "reelflow.providers.ltx:LTXProvider",
}


def discover() -> dict[str, Callable[[], Provider]]:
    """Every route registered under the entry-point group (built-ins first, plugins may add)."""
    from importlib.metadata import entry_points

    found = {route: _lazy(target) for route, target in _BUILT_IN.items()}
    for ep in entry_points(group=GROUP):
        if ep.value != _BUILT_IN.get(ep.name):  # a plugin's route (or its own take on a built-in one)
            found[ep.name] = lambda ep=ep: ep.load()()
    return found


_FACTORIES: dict[str, Callable[[], Provider]] = discover()
_INSTANCES: dict[str, Provider] = {}
_LOCK = threading.Lock()


def register(route: str, factory: Callable[[], Provider]) -> None:
    """Make an adapter available for a catalog route (e.g. 'vertex', 'fal')."""
    with _LOCK:
        _FACTORIES[route] = factory
        _INSTANCES.pop(route, None)


def refresh() -> None:
    """Look for routes again (a plugin installed while this process runs)."""
    with _LOCK:
        for route, factory in discover().items():
            _FACTORIES.setdefault(route, factory)


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
    have = [credential(name) is not None for name in info.env]
    return any(have) if info.any_env else all(have)


def reach_of(catalog: Catalog, environ: dict[str, str] | None = None) -> Reach:
    """What this process can reach, looked at once: the catalog's routes whose credentials are
    present (the environment, else Prefect Secret blocks) and the routes with an adapter."""
    environ = dict(os.environ if environ is None else environ)
    configured = frozenset(route for route, info in catalog.routes.items()
                           if info.configured(environ) or _secret_configured(info))
    return Reach(configured=configured | {OFFLINE_ROUTE}, adapters=frozenset(_FACTORIES))


def resolve_route(model_id: str, catalog: Catalog, today: dt.date,
                  environ: dict[str, str] | None = None) -> RouteChoice:
    """The route of one model outside a run (a run reads its plan's, decided once)."""
    return route_for(model_id, catalog, today, reach_of(catalog, environ))
