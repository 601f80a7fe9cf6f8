"""Render one tier (drafts or finals): every shot's job at once, each awaited without a thread,
bounded by its provider's Prefect limit; a shot whose model refuses or keeps failing falls back
along its ranked list."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

from prefect import get_run_logger
from prefect.utilities.asyncutils import run_coro_as_sync

from reelflow.store.assets import Links
from reelflow.plan.budget import Budget
from reelflow.generation.cast import cast_fields
from reelflow.plan.catalog import Catalog
from reelflow.runtime.config import emit
from reelflow.plan.continuity import segment_lengths
from reelflow.edit.edit import Edit, Take
from reelflow.errors import ContentRejectedError, JobPendingError, MediaError, ProviderError
from reelflow.flows.artifacts import Progress
from reelflow.flows.runtime import results_storage
from reelflow.generation.generate import ClipJob, build_request
from reelflow.edit.clip import ClipResult
from reelflow.runtime.limits import rpm_of
from reelflow.media.mix import audio_seconds
from reelflow.providers.common import AuthError
from reelflow.plan.routing import Plan, RenderSpec
from reelflow.plan.speech import follows_audio
from reelflow.spec.shotlist import LoadedShotList
from reelflow.store.local import Store, sha256_file
from reelflow.tasks.continuity import Frame, extended_take, join_take, last_frame
from reelflow.generation.qc_pipeline import failed as failed_qc, summary as qc_summary
from reelflow.tasks.generation import generate, stored_clip_exists


@dataclass(frozen=True)
class Ends:
    """The frames a shot's clip must start and end on, where continuity asks for them."""

    first: Frame | None = None
    last: Frame | None = None


@dataclass(frozen=True)
class Variant:
    """How one clip departs from its shot's plan: a take's own seed, one segment's length, the
    native draft it promotes, the clip it extends (the model's extend API)."""

    seed: int | None = None
    seconds: int | None = None
    promote: str | None = None
    extend: ClipResult | None = None
    prompt: str | None = None  # the shot's alternate_prompt, after a safety refusal


@dataclass(frozen=True)
class RenderRun:
    """What every stage of one render reads: the shot list, its plan, where things go."""

    loaded: LoadedShotList
    plan: Plan
    cat: Catalog
    store: Store
    out: Path
    today: dt.date
    budget: Budget
    progress: Progress
    links: Links
    catalog_path: str | None = None
    speech: dict = field(default_factory=dict)  # (shot id, line index) -> a synthesised line's store path
    paid: dict = field(default_factory=dict)  # what this run paid outside the clips (the music bed), by key

    def task(self, task, name: str | None = None, **options):
        """``task`` as this run uses it: results persisted once, in the run's store (the task
        cache every worker sharing the store reads)."""
        named = {"task_run_name": name} if name else {}
        return task.with_options(result_storage=results_storage(self.store), **named, **options)

    def extends_on_route(self, spec: RenderSpec) -> bool:
        """The route this model resolves to sends its extend API (the animatic, standing in for
        any model offline, extends too)."""
        ext = self.cat.models[spec.model].extension
        route = self.plan.route_of(spec.model, self.cat, self.today).route
        return route == "animatic" or bool(ext and route in ext.routes)

    def stem_seconds(self, file: str) -> float:
        """Length of a stem: recorded (named in the shot list) or synthesised (store:...)."""
        from reelflow.flows.speech import resolve_stem

        return audio_seconds(resolve_stem(self, file))

    def frame_file(self, frame: Frame) -> str:
        """A keyframe asset is named absolutely (in the checkout); a clip's frame is in the store."""
        return frame.path if Path(frame.path).is_absolute() else str(self.store.file(frame.path))

    def keyframe(self, rel: str) -> Frame:
        path = self.loaded.resolve_asset(rel)
        return Frame(path=str(path), sha256=sha256_file(path))

    def draft_expiry(self, spec: RenderSpec, draft: Take | None) -> dt.datetime | None:
        """When a native draft this final could promote (Seedance 2.5 on ModelArk) expires: the
        draft was rendered by the model's own draft mode on the route the final takes."""
        model = self.cat.models[spec.model]
        if not (model.draft_mode and draft and model.draft == draft.clip.model):
            return None
        if draft.clip.provider != self.plan.route_of(spec.model, self.cat, self.today).route:
            return None
        from reelflow.generation.drafts import expires_at

        return expires_at(model, (self.store.clip_meta(draft.clip.key) or {}).get("stored_at", 0))

    def promotable(self, spec: RenderSpec, draft: Take | None) -> str | None:
        """The vendor's id of the draft to promote while it lives (an hour's margin); an expired
        one is rendered afresh, with a warning."""
        expires = self.draft_expiry(spec, draft)
        if expires is None:
            return None
        if expires - dt.timedelta(hours=1) < dt.datetime.now():
            get_run_logger().warning("draft %s of %s expired on %s: the final is generated afresh",
                                     draft.clip.job_id, draft.clip.shot_id, expires.isoformat(timespec="minutes"))
            return None
        return draft.clip.job_id

    def job(self, shot_id: str, spec: RenderSpec, notes: tuple[str, ...] = (), ends: Ends = Ends(),
            variant: Variant = Variant()) -> ClipJob:
        """Planning resolves the route (real provider or the animatic standing in) once, here."""
        res = self.plan.route_of(spec.model, self.cat, self.today)
        shot = next(s for s in self.loaded.spec.shots if s.id == shot_id)
        request = build_request(self.loaded, shot, spec, res.route_model, res.params)
        update = cast_fields(self.loaded, shot, self.cat.models.get(spec.model))
        if ends.first:
            update.update(image_path=self.frame_file(ends.first), image_sha256=ends.first.sha256)
        if ends.last:
            update.update(last_frame_path=self.frame_file(ends.last), last_frame_sha256=ends.last.sha256)
        update["frames_required"] = bool(ends.first or ends.last)
        if res.route == "animatic" and request.dialogue:  # each character's own offline voice
            from reelflow.spec.voices import voice_for

            update["dialogue"] = tuple(c.model_copy(update={"voice": voice_for(c.speaker, self.loaded.spec.cast)[1]})
                                       for c in request.dialogue)
        model = self.cat.models.get(spec.model)
        if follows_audio(model, res.route):  # lines mixed from stems: the clip's lips follow the track
            from reelflow.flows.speech import dialogue_track
            from reelflow.plan.speech import stem_transcript

            track = dialogue_track(self, shot, variant.seconds or request.seconds)
            if track:
                update.update(driving_audio_path=track[0], driving_audio_sha256=track[1])
                if res.route != "animatic":  # the words the track speaks, for the model that follows it
                    update["prompt"] = request.prompt + stem_transcript(shot, self.loaded.spec.cast)
        if variant.extend:  # the clip so far goes in (no frame, no references: the clip carries them)
            update.update(video_path=str(self.store.file(variant.extend.path)), video_sha256=variant.extend.sha256,
                          extend_from=variant.extend.job_id, reference_paths=(), reference_sha256s=(),
                          image_path=None, image_sha256=None)
        if variant.seconds:
            update["seconds"] = variant.seconds
        if variant.seed is not None:
            update["seed"] = variant.seed
        if variant.promote:
            update["draft_task_id"] = variant.promote
        if variant.prompt:
            update["prompt"] = variant.prompt
        request = request.model_copy(update=update)
        cost = round(request.seconds * spec.price_per_second, 4)
        return ClipJob(request=request,
                       route=res.route, cost_usd=0.0 if res.route == "animatic" else cost,
                       notes=(*notes, *([res.note] if res.note else [])),
                       concurrency=self.cat.routes[res.route].concurrency, rpm=rpm_of(res.route, self.cat),
                       qc_checks=self.qc(shot_id)[2])

    def qc(self, shot_id: str) -> tuple[int, tuple[str, ...], dict]:
        """(rerolls, on_flag, check overrides) for the shot: its own `qc:` over the list's."""
        from reelflow.spec.qc import effective

        shot = next((s for s in self.loaded.spec.shots if s.id == shot_id), None)  # None: a group's call
        return effective(self.loaded.spec.qc, shot.qc if shot else None)


def render_tier(run: RenderRun, edit: Edit, tier: str, shot_ids: list[str]) -> Edit:
    """The edit with a take of ``tier`` for each listed shot (every take, for shots with several)."""
    from reelflow.flows.speech import speak

    for problem in edit.split_cuts() if tier == "final" else ():
        get_run_logger().warning(problem)
    edit = speak(run, edit)  # dialogue before pictures: a lip-syncing route follows the stems
    takes = run_coro_as_sync(_render_all(run, edit, tier, [i for i in edit.ids if i in set(shot_ids)]))
    options = {i: t for i, t in takes.items() if isinstance(t, tuple)}
    edit = edit.with_takes(tier, {i: t for i, t in takes.items() if i not in options}).with_options(options)
    if tier == "final":  # finals whose model did not follow the dialogue track: synced to it
        from reelflow.flows.lipsync import lipsync_finals

        edit = lipsync_finals(run, edit, shot_ids)
    return edit


async def _render_all(run: RenderRun, edit: Edit, tier: str, shot_ids: list[str]) -> dict[str, Take | tuple]:
    """Every shot at once; a shot continuing another's last frame waits for that take."""
    done: dict[str, Take | tuple] = {}
    ready = {i: asyncio.get_running_loop().create_future() for i in shot_ids}
    calls: dict[str, asyncio.Future] = {}  # a scene group's one call, shared by its shots

    async def alone(shot_id: str, spec: RenderSpec, note: str) -> Take:
        return await _take(run, shot_id, tier, spec, Ends(), Variant(), notes=(note,))

    async def one(shot_id: str) -> None:
        here = edit.shot(shot_id)
        ends = await _ends(run, edit, tier, shot_id, ready)
        if here.plan.group:
            from reelflow.flows.groups import group_takes

            if here.plan.group not in calls:
                calls[here.plan.group] = asyncio.ensure_future(group_takes(run, edit, tier, here.plan.group, alone))
            take = done[shot_id] = (await calls[here.plan.group])[shot_id]
        elif tier == "draft" and here.plan.options:  # every take, side by side
            done[shot_id] = tuple(await asyncio.gather(*(
                _take(run, shot_id, tier, o.draft, ends, Variant(seed=o.seed)) for o in here.plan.options)))
            take = done[shot_id][min(here.chosen, len(done[shot_id]) - 1)]
        else:
            spec, seed = (here.plan.draft, None) if tier == "draft" else here.final_from
            promote = run.promotable(spec, here.takes.get("draft")) if tier == "final" else None
            take = done[shot_id] = await _take(run, shot_id, tier, spec, ends, Variant(seed=seed, promote=promote))
        ready[shot_id].set_result(take)
        emit(f"{tier} renders", shot_id, len(done), len(shot_ids))
        run.progress.step(tier, shot_id)

    try:
        async with asyncio.TaskGroup() as group:  # the first fatal error cancels the rest
            for shot_id in shot_ids:
                group.create_task(one(shot_id))
    except BaseExceptionGroup as failed:  # the run stops on the first error, reported as itself
        raise failed.exceptions[0] from None
    return {i: done[i] for i in shot_ids}


def keyframe_holds(run: RenderRun, edit: Edit, tier: str, index: int) -> bool:
    """Shot ``index`` continues through a shared keyframe at this tier: the shot before it is
    rendered by a model that can end on a given frame (else it continues from the last frame)."""
    nxt = edit.shots[index]
    if nxt.plan.continuity != "keyframe":
        return False
    before = edit.shots[index - 1].plan
    return run.cat.models[(before.draft if tier == "draft" else before.final).model].first_last_frame


async def _ends(run: RenderRun, edit: Edit, tier: str, shot_id: str, ready: dict) -> Ends:
    """The frames this shot starts and ends on: the keyframe it shares, or the last frame of the
    take it continues (this tier's, once rendered; else the take the edit shows)."""
    i = edit.ids.index(shot_id)
    here, first, last = edit.shots[i], None, None
    if here.plan.continuity in ("last_frame", "keyframe"):
        if keyframe_holds(run, edit, tier, i):
            first = run.keyframe(here.shot.keyframe)
        else:
            prev = edit.shots[i - 1]
            take = await ready[prev.id] if prev.id in ready else (prev.takes.get(tier) or prev.take)
            first = await asyncio.to_thread(run.task(last_frame, f"last-frame-{prev.id}"), clip=take.clip,
                                            store_root=str(run.store.root),
                                            shown=(prev.place.frames, edit.timeline.fps))
    if i + 1 < len(edit.shots) and keyframe_holds(run, edit, tier, i + 1):
        last = run.keyframe(edit.shots[i + 1].shot.keyframe)
    return Ends(first, last)


async def _take(run: RenderRun, shot_id: str, tier: str, spec: RenderSpec, ends: Ends,
                variant: Variant = Variant(), notes: tuple = ()) -> Take:
    try:
        return await _render_shot(run, shot_id, spec, ends, notes, variant=variant)
    except (AuthError, JobPendingError):
        # a missing or refused key stops the run (the message names the variable); a paid
        # job still pending is resumed by the next run, never replaced by another model
        raise
    except ContentRejectedError as exc:
        from reelflow.flows.recover import after_refusal

        return await after_refusal(run, shot_id, tier, spec, ends, variant, exc)
    except (ProviderError, MediaError) as exc:
        from reelflow.flows.recover import fallback

        return await fallback(run, shot_id, tier, exc, ends)


async def _render_shot(run: RenderRun, shot_id: str, spec: RenderSpec, ends: Ends, notes: tuple = (),
                       variant: Variant = Variant()) -> Take:
    """One clip, or a long take: extensions of the clip so far where the route sends the model's
    extend API, else segments each starting on the last frame of the one before, joined."""
    if not spec.segments:
        seed = variant.seed
        return await _generate(run, run.job(shot_id, spec, notes, ends, variant),
                               f"{spec.tier}-{shot_id}" + (f"-seed{seed}" if seed is not None else ""))
    if spec.extends and not ends.last and run.extends_on_route(spec):
        return await _extend_shot(run, shot_id, spec, ends, notes, variant)
    if spec.extends:  # ending on a keyframe, or a route without the extend API: restart from frames
        parts = segment_lengths(run.cat.models[spec.model], spec.seconds)
        if parts is None:
            raise ProviderError(f"{spec.model}: a {spec.seconds}s take needs its extend API, "
                                f"which this route does not offer")
        spec = spec.model_copy(update={"segments": tuple(parts), "seconds": sum(parts), "extends": False})
        notes = (*notes, "long take by last-frame continuation: " + (
            "it ends on a keyframe" if ends.last else "this route has no extend API"))
    takes, clips, first = [], [], ends.first
    for k, seconds in enumerate(spec.segments):
        final_part = k == len(spec.segments) - 1
        job = run.job(shot_id, spec, notes, Ends(first, ends.last if final_part else None),
                      replace(variant, seconds=seconds, promote=None, extend=None))
        takes.append(await _generate(run, job, f"{spec.tier}-{shot_id}-{k + 1}"))
        clips.append(takes[-1].clip)
        if not final_part:
            first = await asyncio.to_thread(run.task(last_frame, f"last-frame-{shot_id}-{k + 1}"),
                                            clip=clips[-1], store_root=str(run.store.root))
    joined = await asyncio.to_thread(run.task(join_take, f"join-{spec.tier}-{shot_id}"),
                                     clips=clips, store_root=str(run.store.root))
    return Take(joined, cache_hit=all(t.cache_hit for t in takes))


async def _extend_shot(run: RenderRun, shot_id: str, spec: RenderSpec, ends: Ends, notes: tuple,
                       base: Variant) -> Take:
    """A long take by the extend API: the first clip, then each call extends the clip so far
    (its hash keys the next request: an edit re-renders the chain from there on)."""
    takes: list[Take] = []
    for k, seconds in enumerate(spec.segments):
        variant = Variant(seed=base.seed, seconds=seconds, extend=takes[-1].clip if takes else None,
                          prompt=base.prompt)
        job = run.job(shot_id, spec, notes, Ends(ends.first) if k == 0 else Ends(), variant)
        takes.append(await _generate(run, job, f"{spec.tier}-{shot_id}-{k + 1}"))
    return Take(extended_take([t.clip for t in takes]), cache_hit=all(t.cache_hit for t in takes))


async def _generate(run: RenderRun, job: ClipJob, name: str | None = None) -> Take:
    """One clip, checked; a clip failing QC is re-rolled with a new seed up to the shot's
    `qc.rerolls`, each within the budget (see reelflow.generation.qc_policy)."""
    from reelflow.generation.qc_policy import QCFailedError, rejected_entry, rerolled

    name = name or f"{job.request.tier}-{job.request.shot_id}"
    take, tried = await _generate_once(run, job, name), job
    rejected: list[dict] = []
    for k in range(1, run.qc(job.request.shot_id)[0] + 1):
        if not failed_qc(take.clip):
            break
        rejected.append(rejected_entry(take, tried.request.seed))
        again = rerolled(job, k)
        if not stored_clip_exists(again, str(run.store.root)) and not run.budget.affords(again.cost_usd):
            rejected[-1]["stopped"] = f"re-roll {k} not paid: ${again.cost_usd:.2f} would cross the budget"
            break
        get_run_logger().warning("QC: %s %s failed (%s); re-roll %d with seed %d", job.request.tier,
                                 job.request.shot_id, qc_summary(take.clip), k, again.request.seed)
        take, tried = await _generate_once(run, again, f"{name}-reroll{k}"), again
    if failed_qc(take.clip):
        raise QCFailedError(take, rejected, tried.request.seed)
    if rejected:
        take = Take(take.clip.model_copy(update={"qc_rejected": rejected}), cache_hit=take.cache_hit)
    return take


async def _generate_once(run: RenderRun, job: ClipJob, name: str) -> Take:
    req = job.request
    if not stored_clip_exists(job, str(run.store.root)):
        run.budget.reserve(req.shot_id, job.cost_usd)
    state = await run.task(generate, name,
                           tags=[f"model:{req.model}", f"tier:{req.tier}", f"provider:{job.route}"],
                           )(job=job, store_root=str(run.store.root), return_state=True)
    clip = await state.aresult()
    return Take(clip, cache_hit=clip.cache_hit or state.name == "Cached")
