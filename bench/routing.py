"""Routing at scale: `plan_shotlist` on N shots with and without a budget (#13).

The reference is the same list routed without `budget_usd`, measured in the same run; the
figure is the ratio (budget fitting cost) and the absolute seconds for N shots.

    python bench/routing.py --shots 500
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time

from reelflow.load.catalog_file import load_catalog
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList

KINDS = ["environment", "physics", "character", "dialogue", "product", "stylized", "action", "social"]


def shot_list(n: int, budget: float | None, seed: int = 7) -> ShotList:
    rng = random.Random(seed)
    shots = [{"id": f"s{i}", "prompt": f"shot {i} of a long film", "duration": rng.choice([2, 4, 5, 8]),
              "kind": rng.choice(KINDS)} for i in range(n)]
    return ShotList.model_validate({"title": "bench", "budget_usd": budget, "shots": shots})


def timed(spec: ShotList, repeats: int) -> float:
    catalog, today = load_catalog(), dt.date(2026, 11, 23)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        plan_shotlist(spec, catalog, today)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", type=int, default=500)
    ap.add_argument("--budget", type=float, default=40.0, help="tight enough to force downgrades")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    free = timed(shot_list(args.shots, None), args.repeats)
    fitted = timed(shot_list(args.shots, args.budget), args.repeats)
    print(json.dumps({"shots": args.shots, "route_s": round(free, 3), "route_with_budget_s": round(fitted, 3),
                      "ratio": round(fitted / free, 2)}, indent=2))


if __name__ == "__main__":
    main()
