"""Scene groups: consecutive shots rendered by one multi-shot call (pure core, no I/O).

Several models render up to six shots in one call with a prompt and a length per shot (Kling 3.0
`multi_prompt`); one call is cheaper per shot than several and keeps a scene's look. A group is
named in the shot list (`group: dock` on consecutive shots) and planned here: the best model that
renders every shot of the group in one call (`multi_shot` in the catalog), its cost against the
shots' own calls, and why. Each shot keeps its own place in the edit: the call's shot lengths come
from the list and the returned clip is cut at those frames (reelflow.tasks.groups). Editing any
shot of a group changes the group's request, so the group is rendered again, once.
"""

from __future__ import annotations

import datetime as dt
import math

from pydantic import BaseModel, ConfigDict

from reelflow.plan.catalog import Catalog, ModelSpec
from reelflow.spec.shotlist import Shot, ShotList


class GroupPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    shot_ids: list[str]
    model: str  # the final model; "" when no model can render the group in one call
    draft_model: str = ""
    seconds: int = 0  # one call's length (the parts' sum, padded to a length the model allows)
    group_cost: float = 0.0  # draft + final, one call each
    per_shot_cost: float = 0.0  # draft + final, the shots' own calls as routed
    reason: str = ""

    @property
    def in_one_call(self) -> bool:
        return bool(self.model)


def groups_of(spec: ShotList) -> dict[str, list[int]]:
    """Group name -> the indices of its shots, in order."""
    found: dict[str, list[int]] = {}
    for i, shot in enumerate(spec.shots):
        if shot.group:
            found.setdefault(shot.group, []).append(i)
    return found


def parts_of(shots: list[Shot], call_seconds: int) -> list[int]:
    """Each shot's whole seconds in the call (its duration rounded up); the last takes any padding."""
    parts = [max(1, math.ceil(s.duration - 1e-9)) for s in shots]
    parts[-1] += call_seconds - sum(parts)
    return parts


def _call_seconds(model: ModelSpec, shots: list[Shot]) -> int | None:
    need = sum(max(1, math.ceil(s.duration - 1e-9)) for s in shots)
    return model.clip_seconds(need)


def multi_shot_models(catalog: Catalog, shots: list[Shot], today: dt.date) -> list[tuple[ModelSpec, int]]:
    """Final models that render these shots in one call: multi-shot, live, enough shots and length."""
    found = []
    for m in catalog.models.values():
        if m.tier != "final" or not m.multi_shot or m.lifecycle.retired_on(today) or m.family == "animatic":
            continue
        seconds = _call_seconds(m, shots)
        if seconds is None or len(shots) > m.multi_shot.max_shots:
            continue
        if any(s.image for s in shots) and not m.image_to_video:
            continue
        found.append((m, seconds))
    return found


def plan_group(name: str, indices: list[int], spec: ShotList, plans: list, catalog: Catalog,
               today: dt.date, score) -> GroupPlan:
    """The group's model (best mean score over its shots among the multi-shot models), its cost
    in one call against the shots' own calls, and the reason."""
    shots = [spec.shots[i] for i in indices]
    per_shot = round(sum(plans[i].final.cost + plans[i].draft_cost for i in indices), 4)
    ids = [s.id for s in shots]
    candidates = multi_shot_models(catalog, shots, today)
    if not candidates:
        return GroupPlan(name=name, shot_ids=ids, model="", per_shot_cost=per_shot,
                         reason=f"group '{name}' rendered shot by shot: no live model renders "
                                f"{len(shots)} shots ({sum(s.duration for s in shots):g}s) in one call")
    ranked = sorted(candidates, key=lambda c: (-sum(score(c[0], s, spec)[0] for s in shots) / len(shots), c[0].id))
    model, seconds = ranked[0]
    draft = catalog.models.get(model.draft or "") if model.draft else None
    draft = draft if draft is not None and draft.multi_shot and draft.clip_seconds(seconds) == seconds else model
    res_final = plans[indices[0]].final.resolution
    res_draft = plans[indices[0]].draft.resolution
    cost = round(seconds * model.price(model.resolution_for(res_final))
                 + seconds * draft.price(draft.resolution_for(res_draft)), 4)
    cheaper = "cheaper than" if cost < per_shot - 1e-9 else "against"
    reason = (f"group '{name}': {len(shots)} shots in one {model.id} multi-shot call of {seconds}s "
              f"(draft {draft.id}), ${cost:.2f} {cheaper} ${per_shot:.2f} as {len(shots)} separate calls "
              f"on their own models; one call keeps the scene's look; editing any of its shots renders "
              f"the group again")
    return GroupPlan(name=name, shot_ids=ids, model=model.id, draft_model=draft.id, seconds=seconds,
                     group_cost=cost, per_shot_cost=per_shot, reason=reason)


def apply_groups(spec: ShotList, plans: list, catalog: Catalog, today: dt.date, score,
                 render_spec) -> tuple[list, list[GroupPlan]]:
    """Every group planned; its shots re-planned onto the group's model (each shot's seconds are
    its part of the call, so the plan's costs add up to the call's)."""
    out, groups = list(plans), []
    for name, indices in groups_of(spec).items():
        g = plan_group(name, indices, spec, plans, catalog, today, score)
        groups.append(g)
        if not g.in_one_call:
            for i in indices:
                out[i] = out[i].model_copy(update={"reason": out[i].reason + f"; {g.reason}"})
            continue
        parts = parts_of([spec.shots[i] for i in indices], g.seconds)
        for i, seconds in zip(indices, parts):
            shot = spec.shots[i]
            fin = render_spec(catalog.models[g.model], "final", shot, spec)
            draft = render_spec(catalog.models[g.draft_model], "draft", shot, spec)
            out[i] = out[i].model_copy(update={
                "model": g.model, "draft_model": g.draft_model, "group": name, "fallbacks": [],
                "final": fin.model_copy(update={"seconds": seconds, "segments": (), "extends": False}),
                "draft": draft.model_copy(update={"seconds": seconds, "segments": (), "extends": False}),
                "reason": f"{out[i].reason}; {g.reason}"})
    return out, groups


def proposals(spec: ShotList, plans: list, catalog: Catalog) -> list[str]:
    """Consecutive ungrouped shots with the same scene and cast on a multi-shot model: a note
    suggesting `group:` (never applied silently: a group changes what a re-render repays)."""
    notes, run = [], []

    def close() -> None:
        if len(run) >= 2:
            ids = ", ".join(spec.shots[i].id for i in run)
            notes.append(f"shots {ids} share scene and cast on {plans[run[0]].model}, which renders several "
                         f"shots in one call: `group:` them to render them together")

    for i, shot in enumerate(spec.shots):
        model = catalog.models[plans[i].model]
        same = (run and not shot.group and shot.scene and shot.scene == spec.shots[run[-1]].scene
                and shot.refs == spec.shots[run[-1]].refs and plans[i].model == plans[run[-1]].model)
        if same:
            run.append(i)
            continue
        close()
        run = [i] if (not shot.group and shot.scene and model.multi_shot) else []
    close()
    return notes
