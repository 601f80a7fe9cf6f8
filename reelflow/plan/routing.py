"""Routing: a pure function from (shot list, catalog, date) to a plan per shot.

Explicit ``model:`` wins; otherwise shots are scored by kind (the routing evidence encoded in the
catalog's scores) and by constraints: duration, image-to-video, native audio for dialogue and cues,
resolution, fps and aspect. Retired models are never chosen: the plan names what it would have
preferred and why it took the successor. A budget downgrades the shots that lose least per dollar.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict

from reelflow.errors import RoutingError
from reelflow.plan.catalog import Catalog, ModelSpec
from reelflow.plan.routes import Reach, RouteChoice, needs, reachable, route_for
from reelflow.plan.continuity import (
    Continuity, continuity_bonus, continuity_of, long_take, needs_first_frame, reach as longest_reach, reference_images,
    references_note, segment_lengths, segments_note,
)
from reelflow.spec.shotlist import ASPECTS, RESOLUTIONS, Shot, ShotList, frame_size
from reelflow.plan.sound import sound_notes

Tier = Literal["draft", "final"]


class RenderSpec(BaseModel):
    """What to ask one model for: the clip that covers a shot at one tier."""

    model_config = ConfigDict(frozen=True)

    model: str
    tier: Tier
    seconds: int
    resolution: int
    width: int
    height: int
    fps: int
    aspect: str
    audio: bool
    price_per_second: float
    segments: tuple[int, ...] = ()
    """A long take: the clip lengths rendered one after another (``seconds`` is their sum)."""
    extends: bool = False
    """The segments after the first extend the clip so far (the model's extend API) instead of
    starting on the last frame of the one before."""

    @property
    def cost(self) -> float:
        return round(self.seconds * self.price_per_second, 4)

    def same_request(self, other: "RenderSpec") -> bool:
        """Both tiers ask the model for the same clip: the store pays it once."""
        return self.model_dump(exclude={"tier"}) == other.model_dump(exclude={"tier"})


class ShotPlan(BaseModel):
    model_config = ConfigDict(frozen=True)

    shot_id: str
    kind: str
    requested: str
    preferred: str
    model: str
    draft_model: str
    reason: str
    fallbacks: list[str]
    final: RenderSpec
    draft: RenderSpec
    continuity: Continuity | None = None
    """How the cut into this shot is continuous (None: an ordinary cut or transition)."""
    options: list["TakeOption"] = []
    """Draft takes to choose from (seeds, compared models); empty for a shot with one take."""
    group: str | None = None
    """The scene group whose one multi-shot call renders this shot (see reelflow.plan.groups)."""
    route: RouteChoice | None = None
    """Where the final renders (decided once, with the plan's Reach)."""
    draft_route: RouteChoice | None = None
    """Where the draft renders."""

    @property
    def draft_cost(self) -> float:
        if self.options:
            return round(sum(o.draft.cost for o in self.options), 4)
        return 0.0 if self.draft.same_request(self.final) else self.draft.cost  # paid once

    @property
    def cost(self) -> float:
        return round(self.final.cost + self.draft_cost, 4)

    @property
    def clip_note(self) -> str:
        """The final clip in a few words: length (segments), size, rate; takes; continuity."""
        f = self.final
        parts = f"{f.seconds}s" + (f" ({'+'.join(map(str, f.segments))}{' extended' if f.extends else ''})"
                                   if f.segments else "")
        note = f"{parts} {f.width}x{f.height}@{f.fps}"
        if self.options:
            note += f"; {len(self.options)} takes: " + ", ".join(dict.fromkeys(o.model for o in self.options))
        return note + {"last_frame": "; from the last frame", "keyframe": "; via keyframe",
                       "crossfade": "; continuity dropped"}.get(self.continuity or "", "")


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True)

    shots: list[ShotPlan]
    budget_usd: float | None
    notes: list[str] = []
    groups: list["GroupPlan"] = []
    reach: Reach = Reach()
    """What the run could reach when it was planned: every route below is read from it."""

    def route_of(self, model_id: str, catalog: Catalog, today: dt.date) -> RouteChoice:
        """Where ``model_id`` renders in this plan (the same answer for the table, run and manifest)."""
        return route_for(model_id, catalog, today, self.reach)

    @property
    def draft_cost(self) -> float:
        return round(sum(s.draft_cost for s in self.shots), 2)

    @property
    def final_cost(self) -> float:
        return round(sum(s.final.cost for s in self.shots), 2)

    @property
    def total_cost(self) -> float:
        return round(self.draft_cost + self.final_cost, 2)

    @property
    def over_budget(self) -> bool:
        return self.budget_usd is not None and self.total_cost > self.budget_usd + 1e-9

    def for_shot(self, shot_id: str) -> ShotPlan:
        return next(s for s in self.shots if s.shot_id == shot_id)


DOES = {"video": "video generation", "upscale": "video upscale", "lipsync": "lip sync"}
"""A catalog entry's kind in words (ModelSpec.does)."""

# ----------------------------------------------------------------- helpers


def _need(shot: Shot, spec: ShotList) -> float:
    return shot.duration + spec.defaults.handles


def _aspect_for(model: ModelSpec, aspect: str) -> str:
    if aspect in model.aspects:
        return aspect
    aw, ah = ASPECTS[aspect]
    want = math.log(aw / ah)

    def dist(a: str) -> float:
        w, h = (int(x) for x in a.split(":"))
        return abs(math.log(w / h) - want)

    return min(model.aspects, key=dist)


def _fps_for(model: ModelSpec, fps: int) -> int:
    if fps in model.fps:
        return fps
    return min(model.fps, key=lambda f: (abs(f - fps), -f))


def render_spec(model: ModelSpec, tier: Tier, shot: Shot, spec: ShotList) -> RenderSpec | None:
    out = spec.output
    if tier == "final":
        res = model.resolution_for(RESOLUTIONS[out.resolution])
    else:  # drafts: the cheapest resolution of at least 360 lines
        usable = [r for r in sorted(model.resolutions) if r >= 360] or sorted(model.resolutions)
        res = usable[0]
    how = long_take(model, _need(shot, spec), res)
    if how is None:
        return None
    parts, extends = how
    seconds = sum(parts)
    aspect = _aspect_for(model, out.aspect)
    w, h = frame_size(res, aspect)
    return RenderSpec(
        model=model.id, tier=tier, seconds=seconds, resolution=res, width=w, height=h,
        fps=_fps_for(model, out.fps), aspect=aspect,
        audio=model.native_audio and shot.audio.native,
        price_per_second=model.price(res), segments=tuple(parts) if len(parts) > 1 else (),
        extends=extends,
    )


def feasible(model: ModelSpec, shot: Shot, spec: ShotList, continuity: bool = True) -> str | None:
    """None when the model can render the shot, else why not. ``continuity``: a continuing
    shot needs a model that can start on a given frame."""
    need = _need(shot, spec)
    if segment_lengths(model, need) is None:
        how = (f" or {longest_reach(model)}s as a long take" if model.image_to_video else
               " and cannot continue a clip from its last frame")
        return f"{model.id} allows at most {model.max_duration}s ({model.describe_durations()}){how}; " \
               f"the shot needs {need:g}s"
    if shot.image and not model.image_to_video:
        return f"{model.id} has no image-to-video mode for the reference image"
    if continuity and shot.continues and not model.image_to_video:
        return f"{model.id} cannot start on the previous shot's last frame"
    return None


def score(model: ModelSpec, shot: Shot, spec: ShotList) -> tuple[float, list[str]]:
    """Suitability of a final model for a shot, with the facts that decided it."""
    kind = shot.kind.value
    index = next((i for i, s in enumerate(spec.shots) if s.id == shot.id), 0)
    s = model.scores.get(kind, 0.0) * 10
    why = [f"best for {kind} ({model.scores.get(kind, 0):g}/10)"]
    if shot.dialogue:
        if model.native_audio:
            s += 6
            why.append("native dialogue audio")
        else:
            s -= 15
    if shot.audio.native and shot.audio.cue:
        if model.native_audio:
            s += 4
            why.append("native ambient audio")
        else:
            s -= 8
    short = RESOLUTIONS[spec.output.resolution]
    # 4K and high frame rates weigh heavily: upscaling or doubling frames is visibly worse
    if max(model.resolutions) >= short:
        s += 4
        if short >= 2160:
            why.append("native 4K")
    else:
        s -= 30 if short >= 2160 else 6
    if spec.output.fps in model.fps:
        s += 4
        if spec.output.fps >= 50:
            why.append(f"native {spec.output.fps} fps")
    elif spec.output.fps >= 50:
        s -= 30
    if spec.output.aspect in model.aspects:
        s += 2
    wanted = len(reference_images(shot, spec))
    if wanted:  # recurring characters and places keep their look only through references
        if model.references.images:
            s += 8
            why.append(f"takes {min(wanted, model.references.images)} reference image(s)")
        else:
            s -= 8
    bonus, said = continuity_bonus(model, shot, spec, index)
    s += bonus
    why += [said] if said else []
    parts, extends = long_take(model, _need(shot, spec), model.resolution_for(short)) or ([], False)
    if len(parts) > 1:  # every join re-reads a compressed frame: one clip beats a chain, and an
        s -= (5 if extends else 10) * (len(parts) - 1)  # extension (whole clip in view) a restart
        why.append(f"long take in {len(parts)} segments" + (" by extension" if extends else ""))
    price = model.price(model.resolution_for(short))
    s -= price * 5  # tie-break toward the cheaper model
    return s, why


def draft_candidates(final: ModelSpec, catalog: Catalog, today: dt.date) -> list[ModelSpec]:
    """The final's declared draft (and its successors) plus every other live, auto-routed draft
    tier of the same family: drafts keep the family's look."""
    declared = [catalog.models[c] for c in catalog.successor_chain(final.draft or final.id, today)]
    family = [m for m in catalog.models.values()
              if m.family == final.family and m.tier == "draft" and m.auto_route and m not in declared]
    return [m for m in declared + family if not m.lifecycle.retired_on(today)]


def spec_pair(final: ModelSpec, catalog: Catalog, shot: Shot, spec: ShotList, today: dt.date,
              reach: Reach | None = None):
    """Final and draft RenderSpecs. The draft is the cheapest draft tier of the final's family
    that can render the shot (the declared draft wins a tie), else the final model itself. When
    the final is reachable, so must its draft be: a draft is never drawn offline while its final
    is real (no reachable draft tier: the final drafts itself)."""
    fin = render_spec(final, "final", shot, spec)
    best = None
    declared = catalog.models.get(final.draft or "")
    online = reach is not None and reach.online and reachable(final, catalog, today, reach)
    usable = (lambda m: reachable(m, catalog, today, reach)) if online else (lambda m: True)
    if (final.draft_mode and declared and not declared.lifecycle.retired_on(today) and usable(declared)
            and (not online or route_for(declared.id, catalog, today, reach).route
                 == route_for(final.id, catalog, today, reach).route)):
        native = render_spec(declared, "draft", shot, spec)  # a native draft the final promotes
        if native is not None and (declared.image_to_video or not needs_first_frame(shot)):
            return fin, native
    for m in draft_candidates(final, catalog, today):
        if not usable(m):
            continue
        d = render_spec(m, "draft", shot, spec)
        framed = needs_first_frame(shot) or (d is not None and d.segments)
        if framed and not m.image_to_video:
            continue
        if d is not None and (best is None or d.cost < best.cost - 1e-9):
            best = d
    return fin, best or render_spec(final, "draft", shot, spec)


def draft_reason(final: ModelSpec, draft_model: str, catalog: Catalog, today: dt.date | None = None,
                 reach: Reach | None = None) -> str:
    if draft_model == final.id and reach is not None and reach.online and today is not None \
            and reachable(final, catalog, today, reach):
        unreachable = [m for m in draft_candidates(final, catalog, today) if not reachable(m, catalog, today, reach)]
        if unreachable:
            return (f"drafts on {final.id} itself: no draft tier of its family is reachable "
                    f"({', '.join(f'{m.id}: {needs(m, catalog, today, reach)}' for m in unreachable)})")
    if final.draft_mode and draft_model == final.draft:
        return (f"draft {draft_model}: {final.id}'s native draft, promoted to the final while it lives "
                f"({final.draft_mode.expires_days} days)")
    if draft_model == final.id:
        return f"drafts on {final.id} itself (no draft tier can render it)"
    draft = catalog.models[draft_model]
    if draft.family == final.family:
        return f"draft {draft_model}: the cheapest {final.family} draft tier, keeping the family's look"
    return f"draft {draft_model}: {final.id}'s declared draft"


def route_shot(shot: Shot, index: int, spec: ShotList, catalog: Catalog, today: dt.date,
               reach: Reach | None = None) -> ShotPlan:
    requested = spec.model_for(shot)
    loc = ("shots", index, "model") if shot.model else ("defaults", "model")
    ranked: list[tuple[float, ModelSpec, list[str]]] = []
    # a continuing shot keeps its continuity when some model can start on a frame; else it is routed
    # as an ordinary shot and the cut becomes a crossfade (said in the reason)
    keep = any(not feasible(m, shot, spec) for m in catalog.models.values() if m.tier == "final" and m.auto_route)
    for m in catalog.models.values():
        if m.tier != "final" or not m.auto_route or feasible(m, shot, spec, continuity=keep):
            continue
        sc, why = score(m, shot, spec)
        ranked.append((sc, m, why))
    ranked.sort(key=lambda t: (-t[0], t[1].id))
    live = [(sc, m, why) for sc, m, why in ranked if not m.lifecycle.retired_on(today)]
    online = reach is not None and reach.online
    if online:  # the best model the user can reach comes first; the rest keep their order
        can = {m.id: reachable(m, catalog, today, reach) for _, m, _ in live}
        live = [t for t in live if can[t[1].id]] + [t for t in live if not can[t[1].id]]

    if requested != "auto":
        if requested not in catalog.models:
            videos = [m for m, s in catalog.models.items() if s.does == "video"]
            close = difflib.get_close_matches(requested, videos, n=3, cutoff=0.4)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise RoutingError([(loc, f"unknown model '{requested}'{hint}; see `reelflow models`")])
        preferred = catalog.models[requested]
        if preferred.does != "video":
            raise RoutingError([(loc, f"'{requested}' is a {DOES[preferred.does]} model, not a video generation "
                                      f"model; a shot names a draft or final model (see `reelflow models`)")])
        base_reason = f"requested {requested}"
    else:
        if not ranked:
            longest = max((longest_reach(m) for m in catalog.models.values()
                           if m.tier == "final" and m.auto_route and (m.image_to_video or not shot.image)), default=0)
            raise RoutingError([(("shots", index, "duration"),
                                 f"{shot.duration:g}s is longer than any model can reach, even as a long "
                                 f"take of segments (longest possible: {longest}s); split the shot")])
        preferred = ranked[0][1]
        base_reason = f"{shot.kind.value} shot: {preferred.id}, " + ", ".join(ranked[0][2])
        best_reachable = next((t for t in live if can[t[1].id]), None) if online else None
        if best_reachable and best_reachable[1].id != preferred.id:
            top = preferred
            preferred = best_reachable[1]
            base_reason = (f"{shot.kind.value} shot: {preferred.id}, the best model reachable, "
                           + ", ".join(best_reachable[2])
                           + f" ({top.id} ranks higher but is not reachable: {needs(top, catalog, today, reach)})")

    chosen = preferred
    reason = base_reason
    if preferred.lifecycle.retired_on(today):
        lc = preferred.lifecycle
        when = f" since {lc.date}" if lc.date else ""
        note = f" ({lc.note})" if lc.note else ""
        chosen = None
        for cand_id in catalog.successor_chain(preferred.id, today)[1:]:
            cand = catalog.models[cand_id]
            if not cand.lifecycle.retired_on(today) and not feasible(cand, shot, spec):
                chosen = cand
                reason = (f"{base_reason}; preferred {preferred.id} is retired{when}{note}, "
                          f"so its successor {cand.id}")
                break
        if chosen is None:
            if not live:
                raise RoutingError([(loc, f"{preferred.id} is retired{when} and no live model can "
                                          f"render this shot")])
            chosen = live[0][1]
            reason = (f"{base_reason}; preferred {preferred.id} is retired{when}{note}, "
                      f"next best live model {chosen.id}")
    why_not = feasible(chosen, shot, spec, continuity=False)  # a requested model may drop continuity
    if why_not:
        raise RoutingError([(("shots", index, "duration") if "allows at most" in why_not else loc,
                             why_not)])
    if chosen.lifecycle.status == "deprecated":
        reason += f" (deprecated: {chosen.lifecycle.note or 'plan a replacement'})"

    fin, draft = spec_pair(chosen, catalog, shot, spec, today, reach)
    reason += references_note(chosen, shot, spec) + segments_note(chosen, list(fin.segments), fin.extends)
    reason += voices_note(chosen, shot, spec)
    reason += f"; {chosen.evidence_note(today)}; {draft_reason(chosen, draft.model, catalog, today, reach)}"
    fallbacks = [m.id for _, m, _ in live if m.id != chosen.id][:4]
    return ShotPlan(
        shot_id=shot.id, kind=shot.kind.value, requested=requested, preferred=preferred.id,
        model=chosen.id, draft_model=draft.model, reason=reason, fallbacks=fallbacks,
        final=fin, draft=draft,
    )


def plan_shotlist(spec: ShotList, catalog: Catalog, today: dt.date, reach: Reach | None = None) -> Plan:
    """Route every shot. Raises RoutingError listing every shot that cannot be routed. ``reach``:
    the routes this run can use (default: offline, every shot drawn by the animatic)."""
    reach = reach or Reach()
    plans: list[ShotPlan] = []
    problems: list[tuple[tuple, str]] = []
    for i, shot in enumerate(spec.shots):
        try:
            plans.append(route_shot(shot, i, spec, catalog, today, reach))
        except RoutingError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RoutingError(problems)
    notes: list[str] = []
    if spec.budget_usd is not None:
        from reelflow.plan.budget_fit import fit_budget

        plans, notes = fit_budget(plans, spec, catalog, today, spec.budget_usd, reach)
    plans = _joined(plans, spec, catalog)
    plans, groups = apply_groups(spec, plans, catalog, today, score, render_spec)
    notes += proposals(spec, plans, catalog) + sound_notes(spec, today)
    for i, shot in enumerate(spec.shots):  # takes after the budget: each take is the model as routed
        try:
            plans[i] = plans[i].model_copy(update={"options": take_options(shot, i, spec, catalog, today, plans[i], reach)})
        except RoutingError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RoutingError(problems)
    plans = [p.model_copy(update={"route": route_for(p.model, catalog, today, reach),
                                  "draft_route": route_for(p.draft_model, catalog, today, reach)}) for p in plans]
    return Plan(shots=plans, budget_usd=spec.budget_usd, notes=notes, groups=groups, reach=reach)


def _joined(plans: list[ShotPlan], spec: ShotList, catalog: Catalog) -> list[ShotPlan]:
    """Continuity decided once every shot's model is known (a keyframe needs the previous model)."""
    out = list(plans)
    for i, (p, shot) in enumerate(zip(plans, spec.shots)):
        prev = catalog.models[plans[i - 1].model] if i else None
        how, note = continuity_of(shot, catalog.models[p.model], prev)
        if how:
            out[i] = p.model_copy(update={"continuity": how, "reason": p.reason + note})
    return out


from reelflow.plan.takes import TakeOption, take_options  # noqa: E402 - takes build on RenderSpec and spec_pair
from reelflow.plan.groups import GroupPlan, apply_groups, proposals  # noqa: E402 - groups re-plan ShotPlans
from reelflow.plan.speech import voices_note  # noqa: E402

ShotPlan.model_rebuild()
Plan.model_rebuild()
