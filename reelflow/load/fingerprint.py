"""What determines a shot list's output, as content hashes: the shot list's bytes, the bytes of
every asset it uses, and the routing decision (model, tier specs and the route that will serve
each). Recorded in the manifest; the nightly flow re-renders a list only when this changes, so it
works on shallow clones and never depends on git history."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

from reelflow.plan.routing import Plan
from reelflow.spec.shotlist import LoadedShotList, ShotList
from reelflow.store.local import sha256_file


def referenced_assets(spec: ShotList) -> list[str]:
    """Every repository-relative asset path the shot list uses, in a stable order."""
    return sorted({rel for _, rel, _ in spec.assets()})


def _sha(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def routing_digest(plan: Plan, route_of: Callable[[str], str]) -> str:
    """Hash of every shot's routed final and draft (what is asked for) and the route serving it
    (a key added or removed changes who renders, hence the output)."""
    rows = [[sp.shot_id, sp.final.model_dump(mode="json"), sp.draft.model_dump(mode="json"),
             route_of(sp.model), route_of(sp.draft_model)] for sp in plan.shots]
    return _sha(rows)


def render_inputs(loaded: LoadedShotList, plan: Plan, route_of: Callable[[str], str]) -> dict[str, Any]:
    """{shotlist, assets: {path: sha256}, routing, sha256} for the manifest."""
    parts = {
        "shotlist": sha256_file(loaded.path),
        "assets": {rel: sha256_file(loaded.resolve_asset(rel)) for rel in referenced_assets(loaded.spec)},
        "routing": routing_digest(plan, route_of),
    }
    return {**parts, "sha256": _sha(parts)}


def what_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two render_inputs (empty: nothing changed)."""
    if not old or "sha256" not in old:
        return ["no recorded inputs (rendered by an older reelflow or never)"]
    if old.get("sha256") == new["sha256"]:
        return []
    changes = []
    if old.get("shotlist") != new["shotlist"]:
        changes.append("shot list edited")
    old_assets, new_assets = old.get("assets") or {}, new["assets"]
    for rel in sorted(set(old_assets) | set(new_assets)):
        if rel not in new_assets:
            changes.append(f"asset no longer used: {rel}")
        elif rel not in old_assets:
            changes.append(f"new asset: {rel}")
        elif old_assets[rel] != new_assets[rel]:
            changes.append(f"asset changed: {rel}")
    if old.get("routing") != new["routing"]:
        changes.append("routing changed (catalog, lifecycle or provider credentials)")
    return changes or ["inputs changed"]


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
