"""Model lifecycle events and who they affect (pure: catalog + shot lists in, findings out).

`validate` and `plan` warn when a shot pins a model that is deprecated or retires soon;
`reelflow models --check` and the nightly flow list every committed shot list a lifecycle event
in the next N days touches, routed or pinned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reelflow.plan.catalog import Catalog, ModelSpec
from reelflow.plan.routing import Plan
from reelflow.spec.shotlist import ShotList

WARN_DAYS = 30


@dataclass(frozen=True)
class Finding:
    shot_id: str
    model: str
    pinned: bool  # named by the shot (or defaults), not chosen by the router
    event: str  # "deprecated", "retires 2026-12-01 (in 8 days)", "retired 2026-09-24", "preview"
    successor: str | None
    location: tuple  # where the model is named (for file:line)

    def message(self) -> str:
        then = f"; its successor is {self.successor}" if self.successor else "; no successor is named"
        if self.pinned:
            how = "pinned"
            act = f" (replace `model: {self.model}`{' with ' + self.successor if self.successor else ''})"
        else:
            how = "routed to"
            act = " (auto-routing moves it to the successor when the date passes)"
        return f"{how} {self.model}, which {self.event}{then}{act}"


def event_of(model: ModelSpec, today: dt.date, days: int) -> str | None:
    """What happens to ``model`` within ``days`` of ``today`` (None: nothing)."""
    lc = model.lifecycle
    if lc.status == "retired":
        if lc.date is None or lc.date <= today:
            return f"retired on {lc.date}" if lc.date else "is retired"
        left = (lc.date - today).days
        return f"retires on {lc.date} (in {left} day{'s' if left != 1 else ''})" if left <= days else None
    if lc.status == "deprecated":
        return "is deprecated" + (f" ({lc.note})" if lc.note else "")
    return None


def findings(spec: ShotList, plan: Plan | None, catalog: Catalog, today: dt.date,
             days: int = WARN_DAYS, pinned_only: bool = False) -> list[Finding]:
    """Every shot whose pinned (or, unless ``pinned_only``, routed) model meets an event."""
    out: list[Finding] = []
    routed = {sp.shot_id: sp.model for sp in plan.shots} if plan else {}
    for i, shot in enumerate(spec.shots):
        pinned = spec.model_for(shot)
        if pinned != "auto" and pinned in catalog.models:
            ev = event_of(catalog.models[pinned], today, days)
            if ev:
                loc = ("shots", i, "model") if shot.model else ("defaults", "model")
                out.append(Finding(shot.id, pinned, True, ev, catalog.models[pinned].lifecycle.successor, loc))
                continue
        model = routed.get(shot.id)
        if not pinned_only and model and model in catalog.models:
            ev = event_of(catalog.models[model], today, days)
            if ev:
                out.append(Finding(shot.id, model, False, ev, catalog.models[model].lifecycle.successor,
                                   ("shots", i)))
    return out


def upcoming(catalog: Catalog, today: dt.date, days: int) -> list[tuple[str, str]]:
    """(model, event) for every catalog model with an event in the window (for `models --check`)."""
    return [(m.id, ev) for m in catalog.models.values()
            if (ev := event_of(m, today, days)) and not (m.lifecycle.date and m.lifecycle.date < today - dt.timedelta(days=days))]
