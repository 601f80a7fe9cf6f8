"""When a clip cannot be used as rendered: a safety refusal (the shot list's `qc.on_flag` steps),
a model that failed or failed QC (the next model in the ranked list, within the budget), and a
shot no clip of which passed QC (kept, its failure shown)."""

from __future__ import annotations

from dataclasses import replace

from prefect import get_run_logger

from reelflow.edit.edit import Take
from reelflow.errors import ContentRejectedError, JobPendingError, MediaError, ProviderError
from reelflow.flows.tiers import Ends, RenderRun, Variant, _render_shot
from reelflow.providers.common import AuthError
from reelflow.plan.routing import RenderSpec, spec_pair


async def after_refusal(run: RenderRun, shot_id: str, tier: str, spec: RenderSpec, ends: Ends, variant: Variant,
                         refusal: ContentRejectedError) -> Take:
    """A safety filter refused the shot: the shot list's `qc.on_flag` steps in order (a new
    seed, the user's alternate_prompt, the next model); each note says what was flagged and what
    was tried. The prompt is never rewritten by reelflow."""
    from reelflow.qc.flags import flagged_part, next_steps
    from reelflow.generation.qc_pipeline import reroll_seed

    shot = next(s for s in run.loaded.spec.shots if s.id == shot_id)
    part = flagged_part(str(refusal))
    tried: list[str] = [f"{spec.model} refused it ({part or 'the API did not say what was'} flagged: {refusal})"]
    base_seed = variant.seed if variant.seed is not None else run.job(shot_id, spec).request.seed
    for step, skipped in next_steps(run.qc(shot_id)[1], bool(shot.alternate_prompt), part):
        if skipped:
            tried.append(f"{step} skipped: {skipped}")
            continue
        if step == "fallback":
            return await fallback(run, shot_id, tier, refusal, ends, after=tuple(tried))
        again = replace(variant, seed=reroll_seed(base_seed, 1)) if step == "reseed" else \
            replace(variant, prompt=shot.alternate_prompt)
        what = f"reseeded ({again.seed})" if step == "reseed" else "the alternate_prompt"
        try:
            take = await _render_shot(run, shot_id, spec, ends, (f"safety refusal: {'; '.join([*tried, what])}",),
                                      variant=again)
        except ContentRejectedError as exc:
            refusal = exc
            tried.append(f"{what}: refused too ({flagged_part(str(exc)) or 'unsaid'} flagged)")
            continue
        return take
    raise ProviderError(f"shot '{shot_id}' ({tier}): refused by a safety filter; tried: {'; '.join(tried)}")


async def fallback(run: RenderRun, shot_id: str, tier: str, error: BaseException, ends: Ends,
                    after: tuple[str, ...] = ()) -> Take:
    """A rejected prompt, a retired model, exhausted retries or failed QC: next model in the
    ranked list; models a configured route can render first (in rank order), the animatic last.
    After failed QC the clip is kept (its failure shown) when no fallback passes or the budget
    stops them: every clip QC rejected is recorded with what it cost."""
    from reelflow.errors import BudgetError
    from reelflow.generation.qc_policy import QCFailedError

    logger = get_run_logger()
    sp = run.plan.for_shot(shot_id)
    shot = next(s for s in run.loaded.spec.shots if s.id == shot_id)
    first = sp.draft_model if tier == "draft" else sp.model
    failed, reason = first, "; ".join(after) or f"{type(error).__name__}: {error}"
    kept = error if isinstance(error, QCFailedError) else None
    paid: list[dict] = error.paid() if kept else []
    live = lambda m: run.plan.route_of(m, run.cat, run.today).route != "animatic"  # noqa: E731
    tried = {first}
    for model_id in sorted(sp.fallbacks, key=lambda m: not live(m)):
        fin, draft = spec_pair(run.cat.models[model_id], run.cat, shot, run.loaded.spec, run.today)
        spec = draft if tier == "draft" else fin
        if spec.model in tried:  # two finals may share one draft model: it failed already
            continue
        tried.add(spec.model)
        cost = spec.cost if live(spec.model) else 0.0  # the animatic standing in costs nothing
        if kept and not run.budget.affords(cost):
            reason += f"; no fallback to {model_id}: ${cost:.2f} would cross the budget"
            break
        logger.warning("%s %s: %s failed (%s); falling back to %s", tier, shot_id, failed, reason, model_id)
        note = f"fallback from {failed} to {model_id}: {reason}"
        try:
            take = await _render_shot(run, shot_id, spec, ends, (note,))
        except (AuthError, JobPendingError):
            raise
        except BudgetError:
            if not kept:
                raise
            break
        except QCFailedError as exc:
            paid += exc.paid()
            failed, reason = model_id, f"{type(exc).__name__}: {exc}"
            continue
        except (ProviderError, MediaError) as exc:
            failed, reason = model_id, f"{type(exc).__name__}: {exc}"
            continue
        clip = take.clip.model_copy(update={"fallback_from": first, "fallback_reason": note,
                                            "qc_rejected": [*paid, *take.clip.qc_rejected]})
        return Take(clip, cache_hit=False)
    if kept is not None:
        return _kept_after_qc(kept, paid, reason)
    raise ProviderError(f"shot '{shot_id}' ({tier}): every model failed; last: {reason}")


def _kept_after_qc(error, paid: list[dict], reason: str) -> Take:
    """No clip passed QC: the first model's last clip stays in the edit with its failure shown."""
    take = error.take
    note = f"kept though it failed QC: every re-roll and fallback failed or was not affordable ({reason})"
    get_run_logger().warning("QC: %s %s: %s", take.clip.tier, take.clip.shot_id, note)
    others = [p for p in paid if p["job_id"] != take.clip.job_id]
    clip = take.clip.model_copy(update={"qc_rejected": others, "notes": [*take.clip.notes, note]})
    return Take(clip, cache_hit=take.cache_hit)
