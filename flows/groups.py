"""A scene group at one tier: one multi-shot call for its shots, cut into a take per shot.

The call's shots, prompts and lengths come from the plan (reelflow.plan.groups); its request holds
them all, so editing any shot of the group is a new request and the group renders again, once.
Where the route the model resolves to cannot send a multi-shot request, or the call fails, the
group's shots render one by one (the reason is in each clip's notes)."""

from __future__ import annotations

import asyncio
import hashlib

from prefect import get_run_logger

from reelflow.edit.edit import Edit, Take
from reelflow.errors import ContentRejectedError, JobPendingError, MediaError, ProviderError
from reelflow.providers.base import GroupShot
from reelflow.providers.common import AuthError
from reelflow.plan.routing import RenderSpec
from reelflow.tasks.groups import split_group


def group_ids(edit: Edit, name: str) -> list[str]:
    return [s.id for s in edit.shots if s.plan.group == name]


def sends_groups(run, spec: RenderSpec) -> str | None:
    """None when the route this model resolves to sends multi-shot calls, else why not."""
    model = run.cat.models[spec.model]
    route = run.plan.route_of(spec.model, run.cat, run.today).route
    if route == "animatic" or (model.multi_shot and route in model.multi_shot.routes):
        return None
    return f"{spec.model} on {route} takes one shot per call"


def alone(run, spec: RenderSpec, seconds_of: float) -> RenderSpec:
    """A grouped shot's spec for a call of its own: a length the model allows on its own."""
    return spec.model_copy(update={"seconds": run.cat.models[spec.model].clip_seconds(seconds_of) or spec.seconds})


async def group_takes(run, edit: Edit, tier: str, name: str, one_by_one) -> dict[str, Take]:
    """Every take of the group at this tier; ``one_by_one(shot_id, spec, note)`` renders a shot
    on its own (the tier's usual path, fallbacks included)."""
    ids = group_ids(edit, name)
    specs = [edit.shot(i).plan.draft if tier == "draft" else edit.shot(i).plan.final for i in ids]
    why_not = sends_groups(run, specs[0])
    if why_not is None:
        try:
            return await _one_call(run, tier, name, ids, specs)
        except (AuthError, JobPendingError):
            raise  # a missing key stops the run; a paid job pending is resumed, never replaced
        except (ContentRejectedError, ProviderError, MediaError) as exc:
            why_not = f"the group's call failed ({exc})"
    get_run_logger().warning("group %s (%s): shot by shot: %s", name, tier, why_not)
    note = f"group '{name}' rendered shot by shot: {why_not}"
    takes = await asyncio.gather(*(one_by_one(i, alone(run, s, edit.shot(i).shot.duration), note)
                                   for i, s in zip(ids, specs)))
    return dict(zip(ids, takes))


async def _one_call(run, tier: str, name: str, ids: list[str], specs: list[RenderSpec]) -> dict[str, Take]:
    from reelflow.flows.tiers import Variant, _generate

    total = sum(s.seconds for s in specs)
    requests = [run.job(i, s).request for i, s in zip(ids, specs)]
    parts = tuple(GroupShot(shot_id=i, prompt=r.prompt, seconds=s.seconds) for i, r, s in zip(ids, requests, specs))
    # one seed for the call from every shot's: a shot re-rolled in review re-rolls its group
    seed = int(hashlib.sha256(",".join(str(r.seed) for r in requests).encode()).hexdigest()[:7], 16)
    job = run.job(ids[0], specs[0].model_copy(update={"seconds": total}), variant=Variant(seed=seed))
    prompt = " ".join(f"Shot {k + 1} ({p.seconds}s): {p.prompt}" for k, p in enumerate(parts))
    request = job.request.model_copy(update={"shot_id": f"group-{name}", "prompt": prompt, "group": parts})
    job = job.model_copy(update={
        "request": request, "cost_usd": 0.0 if job.route == "animatic" else round(total * specs[0].price_per_second, 4),
        "qc_checks": {**job.qc_checks, "cut": "off"},  # its hard cuts are the point
        "notes": (*job.notes, f"group '{name}': {len(ids)} shots in one {specs[0].model} call")})
    take = await _generate(run, job, f"{tier}-group-{name}")
    clips = await asyncio.to_thread(run.task(split_group, f"split-{tier}-group-{name}"), clip=take.clip,
                                    parts=[(p.shot_id, p.seconds) for p in parts], store_root=str(run.store.root))
    return {c.shot_id: Take(c.model_copy(update={"tier": tier}), cache_hit=take.cache_hit) for c in clips}
