"""Budget downgrades (pure): when a plan costs more than the shot list's budget, swap the
auto-routed shots whose downgrade loses least suitability per dollar saved."""

from __future__ import annotations

import datetime as dt
import heapq

from reelflow.plan.catalog import Catalog
from reelflow.plan.routes import Reach, reachable
from reelflow.plan.routing import RenderSpec, ShotPlan, feasible, score, spec_pair
from reelflow.spec.shotlist import ShotList


def fit_budget(plans: list[ShotPlan], spec: ShotList, catalog: Catalog, today: dt.date,
               budget: float, reach: Reach | None = None) -> tuple[list[ShotPlan], list[str]]:
    """Greedy: swap the auto-routed shot whose downgrade costs least suitability per dollar saved.

    Each shot's options (spec pair and score per feasible final model) are computed once, and
    only the swapped shot's best option is recomputed, kept in a heap: 500 shots stay well
    under a second."""
    notes: list[str] = []
    plans = list(plans)
    finals = [c for c in catalog.models.values()
              if c.tier == "final" and c.auto_route and not c.lifecycle.retired_on(today)]
    if reach is not None and reach.online:  # a downgrade the user cannot reach saves nothing real
        finals = [c for c in finals if reachable(c, catalog, today, reach)] or finals
    options: dict[int, list[tuple[float, object, RenderSpec, RenderSpec]]] = {}

    def options_for(i: int):
        if i not in options:
            shot = spec.shots[i]
            found = []
            for cand in finals:
                if feasible(cand, shot, spec):
                    continue
                fin, draft = spec_pair(cand, catalog, shot, spec, today, reach)
                found.append((score(cand, shot, spec)[0], cand, fin, draft))
            options[i] = found
        return options[i]

    def best_swap(i: int):
        p = plans[i]
        cur_score = next((sc for sc, c, _, _ in options_for(i) if c.id == p.model),
                         score(catalog.models[p.model], spec.shots[i], spec)[0])
        best = None
        for sc, cand, fin, draft in options_for(i):
            saving = p.cost - (fin.cost + draft.cost)
            if cand.id == p.model or saving <= 1e-9:
                continue
            loss = (cur_score - sc) / saving
            if best is None or loss < best[0]:
                best = (loss, cand, fin, draft, saving)
        return best

    total = sum(p.cost for p in plans)
    heap, version = [], [0] * len(plans)
    for i, p in enumerate(plans):
        if p.requested == "auto" and total > budget + 1e-9:
            b = best_swap(i)
            if b:
                heapq.heappush(heap, (b[0], i, 0))
    while total > budget + 1e-9 and heap:
        _, i, ver = heapq.heappop(heap)
        if ver != version[i]:
            continue  # stale: this shot changed since
        b = best_swap(i)
        if b is None:
            continue
        _, cand, fin, draft, saving = b
        p, cur = plans[i], plans[i].model
        plans[i] = p.model_copy(update={
            "model": cand.id, "draft_model": draft.model, "final": fin, "draft": draft,
            "reason": f"{p.reason}; budget ${budget:g}: {cand.id} instead of {cur} saves ${saving:.2f}",
            "fallbacks": [f for f in [cur, *p.fallbacks] if f != cand.id][:4],
        })
        total -= saving
        version[i] += 1
        nxt = best_swap(i)
        if nxt:
            heapq.heappush(heap, (nxt[0], i, version[i]))
    total = sum(p.cost for p in plans)
    if total > budget + 1e-9:
        notes.append(f"estimated ${total:.2f} exceeds the budget of ${budget:g} even with the "
                     f"cheapest suitable models")
    return plans, notes
