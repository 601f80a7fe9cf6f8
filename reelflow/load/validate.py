"""Full check of a shot list: schema, assets, transitions and routing against the catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from reelflow.load.asset_checks import decode_problems
from reelflow.plan.catalog import Catalog
from reelflow.errors import ShotListError
from reelflow.errors import RoutingError
from reelflow.plan.routes import Reach
from reelflow.plan.routing import Plan, plan_shotlist
from reelflow.spec.shotlist import LoadedShotList
from reelflow.load.loader import load_shotlist, locate


def check_shotlist(path: str | Path, catalog: Catalog, today: dt.date | None = None,
                   reach: Reach | None = None) -> tuple[LoadedShotList, Plan]:
    """Load, decode every asset and route (``reach``: the routes the caller can use; default
    offline); every problem comes back in one ShotListError with file:line locations, before
    anything is paid for."""
    today = today or dt.date.today()
    loaded = load_shotlist(path, today=today)
    problems = decode_problems(loaded)
    plan = None
    try:
        plan = plan_shotlist(loaded.spec, catalog, today, reach)
    except RoutingError as exc:
        problems += [locate(loaded, loc, msg) for loc, msg in exc.problems]
    if problems:
        raise ShotListError(problems)
    return loaded, plan


def find_shotlists(paths: list[str | Path]) -> list[Path]:
    """Files as given; folders expand to their *.yaml / *.yml files (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out


def lifecycle_warnings(loaded: LoadedShotList, plan: Plan, catalog: Catalog, today: dt.date,
                       days: int | None = None) -> list[str]:
    """`file:line: shot 'id': model: warning: ...` for every shot pinning a model that is
    deprecated, retired or retiring within ``days`` (default 30), naming the successor."""
    from reelflow.plan.lifecycle import WARN_DAYS, findings

    return [str(locate(loaded, f.location, "warning: " + f.message()))
            for f in findings(loaded.spec, plan, catalog, today, days or WARN_DAYS, pinned_only=True)]


def lifecycle_report(paths: list[str | Path], catalog: Catalog, today: dt.date, days: int) -> list[dict]:
    """Every shot list under ``paths`` that a lifecycle event within ``days`` touches: one row per
    affected shot (routed or pinned), plus rows for lists that cannot be checked."""
    from reelflow.errors import ReelflowError
    from reelflow.plan.lifecycle import findings

    rows: list[dict] = []
    for f in find_shotlists(paths):
        try:
            loaded, plan = check_shotlist(f, catalog, today)
        except ReelflowError as exc:
            rows.append({"shotlist": str(f), "shot": None, "model": None, "pinned": None, "event": None,
                         "successor": None, "message": f"cannot check: {str(exc).splitlines()[0]}"})
            continue
        for fd in findings(loaded.spec, plan, catalog, today, days):
            rows.append({"shotlist": str(f), "shot": fd.shot_id, "model": fd.model, "pinned": fd.pinned,
                         "event": fd.event, "successor": fd.successor, "message": fd.message()})
    return rows
