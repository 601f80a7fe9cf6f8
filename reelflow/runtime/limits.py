"""Per-provider limits shared by every worker, as Prefect global concurrency limits sized from
the catalog: `reelflow-<route>` bounds jobs in flight, `reelflow-<route>-rpm` (slot decay, used
through ``rate_limit()``) bounds submissions per minute. Created when missing (by `reelflow
deploy` and by each render for the routes it uses) and always enforced (strict), so no worker
runs unlimited by accident. An operator's later change to a limit's size is kept."""

from __future__ import annotations

import math
import os

from reelflow.plan.catalog import Catalog


def limit_name(route: str) -> str:
    return f"reelflow-{route}"


def rate_limit_name(route: str) -> str:
    return f"reelflow-{route}-rpm"


def rpm_of(route: str, catalog: Catalog) -> int:
    """REELFLOW_RPM_<ROUTE> overrides the catalog's requests per minute (0: none)."""
    env = os.environ.get(f"REELFLOW_RPM_{route.upper()}")
    if env:
        return int(env)
    info = catalog.routes.get(route)
    return info.rpm if info else 0


def wanted_limits(catalog: Catalog, routes: set[str] | None = None) -> dict[str, dict]:
    """{limit name: GlobalConcurrencyLimitCreate fields} for the routes (pure)."""
    out: dict[str, dict] = {}
    for route, info in catalog.routes.items():
        if route == "animatic" or (routes is not None and route not in routes):
            continue
        out[limit_name(route)] = {"limit": info.concurrency}
        rpm = rpm_of(route, catalog)
        if rpm > 0:  # a burst of one second's worth, then rpm/60 a second
            out[rate_limit_name(route)] = {"limit": max(1, math.ceil(rpm / 60)), "slot_decay_per_second": rpm / 60}
    return out


def ensure_provider_limits(catalog: Catalog, routes: set[str] | None = None, client=None) -> dict[str, str]:
    """Create the missing limits (existing ones keep the size an operator gave them).
    Returns {limit name: "created" | "exists"}."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    wanted = wanted_limits(catalog, routes)
    if not wanted:
        return {}
    done: dict[str, str] = {}
    owned = client is None
    client = client or get_client(sync_client=True)
    try:
        if owned:
            client.__enter__()
        for name, fields in wanted.items():
            try:
                client.read_global_concurrency_limit_by_name(name)
                done[name] = "exists"
                continue
            except ObjectNotFound:
                pass
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, **fields))
                done[name] = "created"
            except ObjectAlreadyExists:  # another worker was quicker
                done[name] = "exists"
    finally:
        if owned:
            client.__exit__(None, None, None)
    return done
