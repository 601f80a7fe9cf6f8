"""Native drafts in the store (Seedance 2.5 on ModelArk): which shots have one their final can
promote, and how long it lives. `reelflow plan` warns before one expires: after that, approving
the shot renders its final afresh (billed again, motion not kept)."""

from __future__ import annotations

import datetime as dt
import json

from reelflow.plan.catalog import Catalog
from reelflow.plan.routing import Plan
from reelflow.store.local import Store

WARN_HOURS = 48


def expires_at(model, stored_at: float) -> dt.datetime:
    """When a native draft stored at ``stored_at`` (epoch seconds) can no longer be promoted."""
    return dt.datetime.fromtimestamp(stored_at) + dt.timedelta(days=model.draft_mode.expires_days)


def draft_warnings(plan: Plan, catalog: Catalog, store: Store, now: dt.datetime | None = None) -> list[str]:
    """One line per shot whose newest promotable draft expires within WARN_HOURS or has expired."""
    now = now or dt.datetime.now()
    native = {sp.shot_id: catalog.models[sp.model] for sp in plan.shots
              if catalog.models[sp.model].draft_mode and sp.draft_model == catalog.models[sp.model].draft}
    newest: dict[str, tuple[float, str]] = {}
    for meta in (store.root / "clips").glob("*.json") if native else ():
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            clip, stored = data["result"], float(data["stored_at"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        model = native.get(clip.get("shot_id"))
        if model and clip.get("model") == model.draft and clip.get("provider") != "animatic" \
                and stored > newest.get(clip["shot_id"], (0.0, ""))[0]:
            newest[clip["shot_id"]] = (stored, str(clip.get("job_id")))
    lines = []
    for shot_id, (stored, job) in sorted(newest.items()):
        expires = expires_at(native[shot_id], stored)
        when = expires.isoformat(timespec="minutes")
        if expires <= now:
            lines.append(f"shot '{shot_id}': draft {job} expired on {when}: approving it renders the final afresh")
        elif expires - now <= dt.timedelta(hours=WARN_HOURS):
            hours = (expires - now).total_seconds() / 3600
            lines.append(f"shot '{shot_id}': draft {job} expires on {when} (in {hours:.0f} h): approve it before "
                         f"then to promote it instead of rendering the final afresh")
    return lines
