"""Where a model renders (pure): the route decided once, in the plan, from the catalog, the day
and what this run can reach.

The edge (reelflow.providers.reach_of) looks at the credentials and adapters once and hands in a
`Reach`; everything after that (the plan table, the run, the manifest) asks `route_for` with the
same Reach and gets the same answer. A model with no reachable route is drawn by the offline
animatic, and the answer says why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict

from reelflow.plan.catalog import Catalog, ModelSpec

OFFLINE_ROUTE = "animatic"


class Reach(BaseModel):
    """The routes this run can use: configured (credentials present) and served by an adapter."""

    model_config = ConfigDict(frozen=True)

    configured: frozenset[str] = frozenset({OFFLINE_ROUTE})
    """Routes whose credentials are present (the environment or a Prefect Secret block)."""
    adapters: frozenset[str] | None = None
    """Routes this version has an adapter for (None: every route the catalog names)."""

    @property
    def usable(self) -> frozenset[str]:
        return self.configured if self.adapters is None else self.configured & self.adapters

    @property
    def online(self) -> bool:
        """Some cloud route is usable: routing then prefers what the user can reach."""
        return any(r != OFFLINE_ROUTE for r in self.usable)

    def can_use(self, route: str, catalog: Catalog) -> bool:
        """Configured (a route that needs no key always is) and served by an adapter."""
        configured = route in self.configured or not catalog.routes[route].env
        return configured and (self.adapters is None or route in self.adapters)

    def key(self) -> str:
        """What the route task's cache is keyed on (a key added or removed re-plans)."""
        return ",".join(sorted(self.configured)) + "|" + ",".join(sorted(self.adapters or ()))


class RouteChoice(BaseModel):
    """The route that renders one model, the id at that route and its extra catalog fields."""

    model_config = ConfigDict(frozen=True)

    route: str
    route_model: str
    missing: str | None = None
    """What would make the intended model reachable ("no FAL_KEY"), when the animatic stands in."""
    intended: str | None = None
    """The model the animatic stands in for."""
    params: dict[str, Any] | None = None

    @property
    def note(self) -> str | None:
        """Why it is not the intended model's own route, in the words the plan and manifest show."""
        return f"intended {self.intended}, rendered animatic: {self.missing}" if self.missing else None


def _ordered_routes(model: ModelSpec, catalog: Catalog) -> list[str]:
    return [r for r in catalog.route_preference if r in model.routes] + \
           [r for r in model.routes if r not in catalog.route_preference]


def route_for(model_id: str, catalog: Catalog, today: dt.date, reach: Reach) -> RouteChoice:
    """The first route of route_preference that serves the model, is live and reachable; else the
    offline animatic, saying what is missing."""
    model = catalog.get(model_id)
    if model.family == "animatic":
        return RouteChoice(route=OFFLINE_ROUTE, route_model="animatic")
    missing: list[str] = []
    no_adapter: list[str] = []
    for route in _ordered_routes(model, catalog):
        mroute = model.routes[route]
        if mroute.retired_on(today):
            continue
        info = catalog.routes[route]
        if route not in reach.configured and info.env:
            missing.append(" or ".join(info.env) if info.any_env else " + ".join(info.env))
            continue
        if reach.adapters is not None and route not in reach.adapters:
            no_adapter.append(route)
            continue
        return RouteChoice(route=route, route_model=mroute.id, params=catalog.route_extras(model.id, route))
    if no_adapter:
        why = f"no adapter for {', '.join(no_adapter)} in this version"
    elif missing:
        why = "no " + " / ".join(dict.fromkeys(missing))
    else:
        why = "no live route"
    return RouteChoice(route=OFFLINE_ROUTE, route_model="animatic", missing=why, intended=model_id)


def reachable(model: ModelSpec, catalog: Catalog, today: dt.date, reach: Reach) -> bool:
    """A live route of the model is usable (routing asks this per candidate: no route's extras
    are built; the animatic itself is not a cloud model)."""
    return model.family != "animatic" and any(
        not mroute.retired_on(today) and reach.can_use(route, catalog) for route, mroute in model.routes.items())


def needs(model: ModelSpec, catalog: Catalog, today: dt.date, reach: Reach) -> str:
    """What would make the model reachable, in a few words (for the routing reason)."""
    return route_for(model.id, catalog, today, reach).missing or "reachable"
