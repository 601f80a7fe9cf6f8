"""Full check of a shot list: schema, assets, transitions and routing against the catalog."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .asset_checks import decode_problems
from .catalog import Catalog
from .errors import ShotListError
from .routing import Plan, RoutingError, plan_shotlist
from .shotlist import LoadedShotList, load_shotlist, locate


def check_shotlist(path: str | Path, catalog: Catalog, today: dt.date | None = None
                   ) -> tuple[LoadedShotList, Plan]:
    """Load, decode every asset and route; every problem comes back in one ShotListError with
    file:line locations, before anything is paid for."""
    loaded = load_shotlist(path)
    problems = decode_problems(loaded)
    plan = None
    try:
        plan = plan_shotlist(loaded.spec, catalog, today)
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
