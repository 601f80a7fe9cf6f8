"""Per-provider concurrency shared by every worker: Prefect global concurrency limits named
`reelflow-<route>`, sized from the catalog. Created when missing (by `reelflow deploy` and by each
render for the routes it uses) and always enforced, so no worker runs unlimited by accident."""

from __future__ import annotations

from .catalog import Catalog


def limit_name(route: str) -> str:
    return f"reelflow-{route}"


def ensure_provider_limits(catalog: Catalog, routes: set[str] | None = None, client=None) -> dict[str, str]:
    """Create the missing limits (existing ones keep the size an operator gave them).
    Returns {limit name: "created" | "exists"}."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    wanted = {r: info for r, info in catalog.routes.items()
              if r != "animatic" and (routes is None or r in routes)}
    if not wanted:
        return {}
    done: dict[str, str] = {}
    owned = client is None
    client = client or get_client(sync_client=True)
    try:
        if owned:
            client.__enter__()
        for route, info in wanted.items():
            name = limit_name(route)
            try:
                client.read_global_concurrency_limit_by_name(name)
                done[name] = "exists"
                continue
            except ObjectNotFound:
                pass
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=info.concurrency))
                done[name] = "created"
            except ObjectAlreadyExists:  # another worker was quicker
                done[name] = "exists"
    finally:
        if owned:
            client.__exit__(None, None, None)
    return done
