"""The render flow: shot list -> routed -> prototyped -> reviewed -> final -> finished edit.

    load + validate -> route -> draft every shot -> prototype edit -> review gate
    -> final renders -> upscale -> conform -> mix -> export -> manifest
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger
from prefect.futures import as_completed
from prefect.tasks import exponential_backoff

from reelflow import providers
from reelflow.assets import Links
from reelflow.budget import Budget
from reelflow.catalog import Catalog
from reelflow.config import RetryPolicy, emit, output_dir, refuse_ephemeral, store_dir as resolve_store, writable_dir
from reelflow.deliver.nle import ShotRef
from reelflow.errors import InputError, JobPendingError, MediaError, ProviderError, ReelflowError
from reelflow.fingerprint import render_inputs
from reelflow.flows.artifacts import Progress, artifact_key, plan_table, summary
from reelflow.flows.outputs import links_for, publish_outputs, review_page, summary_sheet
from reelflow.flows.review import ReviewTimeout, problems_in, review_form, wait_for_review
from reelflow.flows.runtime import results_storage, run_name, task_runner
from reelflow.generate import ClipResult
from reelflow.limits import ensure_provider_limits
from reelflow.manifest import build_manifest
from reelflow.media.mix import ShotSound, Stem, audio_seconds
from reelflow.providers.common import AuthError
from reelflow.routing import Plan, RenderSpec, spec_pair
from reelflow.shotlist import LoadedShotList
from reelflow.store import Store, sha256_file, sweep_partials, write_json_atomic
from reelflow.tasks.deliver import deliver_companions
from reelflow.tasks.finishing import (
    EXPORT_VERSION, MIX_VERSION, Conformed, Exported, MixResult, conform_key_parts, conform_shot,
    export, mix_audio, publish, upscale, upscale_key_parts,
)
from reelflow.tasks.generation import generate, generation_request, load, route, stored_clip_exists
from reelflow.timeline import Timeline, build_timeline

Approval = Literal["all", "prototype-only", "listed", "review"]


@dataclass(frozen=True)
class RenderRun:
    """What every stage of one render reads: the shot list, its plan, where things go."""

    loaded: LoadedShotList
    plan: Plan
    cat: Catalog
    catalog_path: str | None
    store: Store
    out: Path
    today: dt.date
    budget: Budget
    progress: Progress
    links: Links


def _submit(run: RenderRun, spec: RenderSpec, shot_id: str, tier: str, extra_notes: list[str] | None = None):
    policy = RetryPolicy.from_env()
    res = providers.resolve_route(spec.model, run.cat, run.today)
    request = generation_request(run.loaded, shot_id, spec, res.route_model, res.params)
    notes = [*(extra_notes or []), *([res.note] if res.note else [])]
    billable = 0.0 if res.route == "animatic" else spec.cost
    if not stored_clip_exists(request, res.route, str(run.store.root)):
        run.budget.reserve(shot_id, billable)
    task = generate.with_options(
        task_run_name=f"{tier}-{shot_id}",
        tags=[f"model:{spec.model}", f"tier:{tier}", f"provider:{res.route}"],
        retries=policy.retries,
        retry_delay_seconds=exponential_backoff(policy.base_delay),
        retry_jitter_factor=policy.jitter,
        result_storage=results_storage(run.store),
    )
    return task.submit(request=request, route=res.route, store_root=str(run.store.root), cost_usd=billable,
                       notes=notes, concurrency=run.cat.routes[res.route].concurrency)


def _fallback(run: RenderRun, shot_id: str, tier: str, error: BaseException) -> ClipResult:
    """A rejected prompt, a retired model or exhausted retries: next model in the ranked list."""
    logger = get_run_logger()
    sp = run.plan.for_shot(shot_id)
    shot = next(s for s in run.loaded.spec.shots if s.id == shot_id)
    first = sp.draft_model if tier == "draft" else sp.model
    failed, reason = first, f"{type(error).__name__}: {error}"
    # models a configured route can render come first (in rank order); the animatic comes last
    live = lambda m: providers.resolve_route(m, run.cat, run.today).route != "animatic"  # noqa: E731
    tried = {first}
    for model_id in sorted(sp.fallbacks, key=lambda m: not live(m)):
        fin, draft = spec_pair(run.cat.models[model_id], run.cat, shot, run.loaded.spec, run.today)
        spec = draft if tier == "draft" else fin
        if spec.model in tried:  # two finals may share one draft model: it failed already
            continue
        tried.add(spec.model)
        logger.warning("%s %s: %s failed (%s); falling back to %s", tier, shot_id, failed, reason, model_id)
        note = f"fallback from {failed} to {model_id}: {reason}"
        try:
            clip = _submit(run, spec, shot_id, tier, [note]).result()
        except (AuthError, JobPendingError):
            raise
        except (ProviderError, MediaError) as exc:
            failed, reason = model_id, f"{type(exc).__name__}: {exc}"
            continue
        return clip.model_copy(update={"fallback_from": first, "fallback_reason": note})
    raise ProviderError(f"shot '{shot_id}' ({tier}): every model failed; last: {reason}")


def render_tier(run: RenderRun, tier: str, shot_ids: list[str]) -> dict[str, tuple[ClipResult, bool]]:
    """Generate every listed shot at one tier, concurrently (bounded per provider), falling back
    along each shot's ranked list when its model refuses or keeps failing."""
    futures = {}
    for sp in run.plan.shots:
        if sp.shot_id in shot_ids:
            spec = sp.draft if tier == "draft" else sp.final
            futures[_submit(run, spec, sp.shot_id, tier)] = sp.shot_id
    out: dict[str, tuple[ClipResult, bool]] = {}
    for i, fut in enumerate(as_completed(list(futures)), 1):
        shot_id = futures[fut]
        try:
            clip = fut.result()
            hit = clip.cache_hit or (fut.state.name == "Cached")
        except (AuthError, JobPendingError):
            # a missing or refused key stops the run (the message names the variable); a paid
            # job still pending is resumed by the next run, never replaced by another model
            raise
        except (ProviderError, MediaError) as exc:
            clip, hit = _fallback(run, shot_id, tier, exc), False
        out[shot_id] = (clip, hit)
        emit(f"{tier} renders", shot_id, i, len(futures))
        run.progress.step(tier, shot_id)
    return out


def sounds_for(loaded: LoadedShotList, conformed: list[Conformed], clips: list[ClipResult],
               store: Store) -> list[ShotSound]:
    """Each shot's sound: native clip audio (if on), recorded dialogue stems and effects."""
    sounds = []
    for c, shot, clip in zip(conformed, loaded.spec.shots, clips):
        stems, cursor = [], 0.4
        for line in shot.dialogue:
            if line.file:
                path = loaded.resolve_asset(line.file)
                at = line.at if line.at is not None else cursor
                stems.append(Stem(path, at, line.gain_db, speech=True))
                cursor = at + audio_seconds(path) + 0.35
        stems += [Stem(loaded.resolve_asset(fx.file), fx.at, fx.gain_db) for fx in shot.sfx]
        sounds.append(ShotSound(wav=store.file(c.audio), gain_db=shot.audio.gain_db, enabled=shot.audio.native,
                                speech=list(clip.speech_spans), stems=stems))
    return sounds


def conform_all(loaded: LoadedShotList, timeline: Timeline, clips: list[ClipResult], store: Store,
                label: str, size: tuple[int, int]) -> list[Conformed]:
    """Upscale (when needed) then conform every shot to ``size`` at the output rate."""
    spec = loaded.spec
    fps = spec.output.fps
    root = str(store.root)
    ups = []
    for clip, shot in zip(clips, spec.shots):
        fit, backend = spec.fit_for(shot), spec.upscaler_for(shot)
        parts = upscale_key_parts(clip.sha256, size, fit, backend)
        ups.append(upscale.with_options(task_run_name=f"upscale-{label}-{clip.shot_id}",
                                        result_storage=results_storage(store))
                   .submit(path=clip.path, sha256=clip.sha256, size=size, fit=fit, backend=backend,
                           store_root=root, key_parts=parts))
    futs = []
    for clip, up_f, tclip, shot in zip(clips, ups, timeline.clips, spec.shots):
        media = up_f.result()
        fit = spec.fit_for(shot)
        focus = list(shot.focus) if isinstance(shot.focus, tuple) else shot.focus
        parts = conform_key_parts(media.sha256, media.filter, size, fps, tclip.frames, fit, focus)
        futs.append(conform_shot.with_options(task_run_name=f"conform-{label}-{clip.shot_id}",
                                              result_storage=results_storage(store))
                    .submit(shot_id=clip.shot_id, media=media, size=size, fps=fps, frames=tclip.frames,
                            fit=fit, focus=focus, store_root=root, key_parts=parts))
    conformed = [f.result() for f in futs]
    emit(f"{label} conform", "all", len(conformed), len(conformed))
    return conformed


def mix_for(loaded: LoadedShotList, timeline: Timeline, conformed: list[Conformed],
            clips: list[ClipResult], store: Store, label: str) -> MixResult:
    spec = loaded.spec
    sounds = sounds_for(loaded, conformed, clips, store)
    music = str(loaded.resolve_asset(spec.audio.music)) if spec.audio.music else None
    tl_desc = [(c.start, c.frames, c.join_out.type.value if c.join_out else None) for c in timeline.clips]
    parts = [MIX_VERSION, [sha256_file(store.file(c.audio)) for c in conformed], tl_desc, timeline.fps,
             [(s.gain_db, s.enabled, s.speech, [(sha256_file(t.path), t.at, t.gain_db, t.speech)
                                                for t in s.stems]) for s in sounds],
             spec.audio.model_dump(mode="json"), sha256_file(music) if music else None,
             spec.output.loudness_lufs]
    return mix_audio.with_options(task_run_name=f"mix-{label}", result_storage=results_storage(store))(
        timeline=timeline, sounds=sounds, bed=spec.audio, music=music,
        target_lufs=spec.output.loudness_lufs, store_root=str(store.root), key_parts=parts)


def export_for(loaded: LoadedShotList, timeline: Timeline, conformed: list[Conformed], mix: MixResult,
               store: Store, label: str, size: tuple[int, int]) -> Exported:
    lut = str(loaded.resolve_asset(loaded.spec.output.lut)) if loaded.spec.output.lut else None
    tl_desc = [(c.start, c.frames, c.join_out.type.value if c.join_out else None) for c in timeline.clips]
    parts = [EXPORT_VERSION, [c.sha256 for c in conformed], mix.sha256, tl_desc, timeline.fps, list(size),
             sha256_file(lut) if lut else None]
    return export.with_options(task_run_name=f"export-{label}", result_storage=results_storage(store))(
        timeline=timeline, shots=conformed, audio_wav=mix.wav, size=size, lut=lut,
        store_root=str(store.root), key_parts=parts, label=label)


def finish_edit(loaded: LoadedShotList, timeline: Timeline, clips: list[ClipResult], store: Store,
                label: str) -> tuple[Exported, MixResult, list[Conformed]]:
    """Upscale -> conform -> mix -> export one edit from one clip per shot."""
    size = loaded.spec.output.size
    conformed = conform_all(loaded, timeline, clips, store, label, size)
    mix = mix_for(loaded, timeline, conformed, clips, store, label)
    return export_for(loaded, timeline, conformed, mix, store, label, size), mix, conformed


def dialogue_timing(loaded: LoadedShotList, clips: list[ClipResult]) -> tuple[list, list]:
    """Per shot: [(speaker, line)] and the matching [(start, end)] seconds inside the shot, from
    stems (their offset and length) or the provider's speech spans; [] where unknown."""
    lines, spans = [], []
    for shot, clip in zip(loaded.spec.shots, clips):
        generated = iter(clip.speech_spans)
        shot_lines, shot_spans, cursor, known = [], [], 0.4, True
        for line in shot.dialogue:
            shot_lines.append((line.speaker, line.line))
            if line.file:
                at = line.at if line.at is not None else cursor
                dur = audio_seconds(loaded.resolve_asset(line.file))
                shot_spans.append((at, at + dur))
                cursor = at + dur + 0.35
            else:
                span = next(generated, None)
                if span is None:
                    known = False
                else:
                    shot_spans.append(tuple(span))
        lines.append(shot_lines)
        spans.append(shot_spans if known else [])
    return lines, spans


def deliver(loaded: LoadedShotList, plan: Plan, timeline: Timeline, clips: list[ClipResult],
            conformed: list[Conformed], edit: Exported, mix: MixResult, store: Store, out: Path) -> dict:
    """Aspect versions and companions (OTIO, FCP XML, EDL, SRT, VTT, contact sheet)."""
    spec = loaded.spec
    files: dict[str, str] = {}
    versions = {}
    for aspect in spec.output.versions:
        size = spec.output.size_for(aspect)
        tag = aspect.replace(":", "x")
        conf_v = conform_all(loaded, timeline, clips, store, f"version-{tag}", size)
        exp_v = export_for(loaded, timeline, conf_v, mix, store, f"version-{tag}", size)
        dest = publish(store.file(exp_v.path), out / f"{loaded.stem}.{tag}.mp4")
        versions[aspect] = {"path": dest.name, "width": exp_v.width, "height": exp_v.height,
                            "frames": exp_v.frames, "fit": sorted({c.fit for c in conf_v})}
        files[aspect] = str(dest)
    companions = [d for d in spec.output.deliverables if d not in ("mp4",) and ":" not in d]
    lines, spans = dialogue_timing(loaded, clips)
    refs = [ShotRef(shot_id=c.shot_id, media=str(store.file(c.path)), media_frames=int(round(c.seconds * timeline.fps)),
                    prompt=shot.prompt, model=sp.model, provider=c.provider, tier=c.tier, reason=sp.reason)
            for c, shot, sp in zip(clips, spec.shots, plan.shots)]
    labels = [(c.shot_id, f"{sp.model} ({c.tier}, {c.provider})") for c, sp in zip(clips, plan.shots)]
    comp = deliver_companions(timeline=timeline, title=spec.title, stem=loaded.stem, out_dir=str(out),
                              edit_path=str(store.file(edit.path)), mix_wav=str(store.file(mix.wav)), shots=refs, dialogue=lines,
                              spans=spans, labels=labels, wanted=companions)
    files.update(comp.files)
    return {"files": {k: Path(v).name for k, v in files.items()}, "versions": versions,
            "captions": comp.captions, "notes": comp.notes}


def prototype(run: RenderRun, drafts: dict) -> tuple[dict, MixResult]:
    """Assemble the drafts into the prototype edit, published to the output folder; returns
    the edit's facts (with "published", its path there) and its mix."""
    ids = [s.id for s in run.loaded.spec.shots]
    exp, mix, _ = finish_edit(run.loaded, build_timeline(run.loaded.spec), [drafts[i][0] for i in ids],
                              run.store, "prototype")
    published = publish(run.store.file(exp.path), run.out / f"{run.loaded.stem}.prototype.mp4")
    return {**exp.model_dump(mode="json"), "published": str(published)}, mix


def revise(run: RenderRun, answer, round_no: int) -> tuple[RenderRun, dict[str, str]]:
    """Apply a review's rewrites and rejections to the shot list and re-route it; returns the
    new run and, per shot prototyped again, what changed. Raises ReelflowError if unroutable."""
    redo = set(answer.reject) | set(answer.prompts) | set(answer.models)
    shots, changed = [], {}
    for shot in run.loaded.spec.shots:
        if shot.id in redo:
            update, why = {}, []
            if shot.id in answer.prompts:
                update["prompt"], why = answer.prompts[shot.id], [*why, "new prompt"]
            if shot.id in answer.models:
                update["model"], why = answer.models[shot.id], [*why, f"model {answer.models[shot.id]}"]
            if not update:
                update["seed"], why = shot.effective_seed + round_no, ["rejected: new take"]
            shot, changed[shot.id] = shot.model_copy(update=update), ", ".join(why)
        shots.append(shot)
    loaded = run.loaded.model_copy(update={"spec": run.loaded.spec.model_copy(update={"shots": shots})})
    plan, cat = route.with_options(result_storage=results_storage(run.store))(loaded, run.catalog_path, run.today)
    return replace(run, loaded=loaded, plan=plan, cat=cat), changed


def review_loop(run: RenderRun, drafts: dict, proto: tuple[dict, MixResult], *, timeout: int, mode: str):
    """Pause for review until a usable decision: rejected or rewritten shots are prototyped again
    and reviewed again; a form entry that cannot be used pauses again with the problem shown."""
    logger = get_run_logger()
    from prefect.runtime import flow_run

    ids = [s.id for s in run.loaded.spec.shots]
    models = sorted(m for m, spec in run.cat.models.items() if not spec.lifecycle.retired_on(run.today))
    form = review_form(ids, models)
    changed, problems = {i: "first round" for i in ids}, []
    for round_no in range(1, 21):
        page = review_page(run, drafts, Path(proto[0]["published"]), round_no, changed, problems)
        page.publish(artifact_key(run.loaded.stem, "review"))
        logger.info("review ready (round %d): artifact '%s' on %s; spent $%.2f so far; approving all costs "
                    "$%.2f (%s)", round_no, artifact_key(run.loaded.stem, "review"), flow_run.ui_url or "this run",
                    page.spent, page.approve_all_cost,
                    ", ".join(f"{s.shot_id} ${s.final_cost:.2f}" for s in page.shots))
        answer = wait_for_review(form, timeout, mode)
        logger.info("review round %d by %s: %s", round_no, answer.reviewer or "someone",
                    answer.model_dump(exclude={"reviewer"}))
        problems = problems_in(answer, ids, models)
        if problems:
            logger.warning("review round %d not used: %s", round_no, "; ".join(problems))
            continue
        if answer.approve_all:
            return run, drafts, proto, ids
        redo = [i for i in ids if i in set(answer.reject) | set(answer.prompts) | set(answer.models)]
        if not redo:
            return run, drafts, proto, [i for i in ids if i in answer.approve]
        try:
            run, changed = revise(run, answer, round_no)
        except ReelflowError as exc:
            problems = [str(exc)]
            continue
        drafts = {**drafts, **render_tier(run, "draft", redo)}
        proto = prototype(run, drafts)
    raise ReviewTimeout("twenty review rounds without a decision")


@flow(name="render-shotlist", flow_run_name=run_name, task_runner=task_runner(), log_prints=True)
def render_shotlist(shotlist: str, out_dir: str | None = None, approval: Approval = "all",
                    approve: list[str] | None = None, store_dir: str | None = None,
                    catalog: str | None = None, today: dt.date | None = None,
                    review_timeout: int = 3600, review_mode: Literal["pause", "suspend"] = "pause") -> dict:
    """Render a shot list into ``<out>/<stem>.mp4`` plus ``<stem>.manifest.json``.

    out_dir / store_dir default to REELFLOW_OUT / REELFLOW_STORE (then ./out and <repo>/.reelflow);
    a deployed run refuses to write inside the checkout its worker deletes.
    approval: ``all`` renders every final; ``prototype-only`` stops after the prototype edit;
    ``listed`` renders finals only for the shot ids in ``approve`` (others stay drafts);
    ``review`` pauses for a person's decision in the Prefect UI (see flows/review.py).
    """
    from prefect.runtime import deployment

    logger = get_run_logger()
    today = today or dt.date.today()
    loaded = load(shotlist)
    ids = [s.id for s in loaded.spec.shots]
    out, store_root = output_dir(out_dir), resolve_store(store_dir, loaded.repo_root)
    if deployment.id:
        refuse_ephemeral(loaded.repo_root, out, store_root)
    if approval == "listed" and set(approve or []) - set(ids):
        raise InputError(f"--approve names unknown shots: {', '.join(sorted(set(approve or []) - set(ids)))}")
    writable_dir(out, "output folder")
    store = Store(store_root)
    swept = store.sweep() + sweep_partials(out)
    if swept:
        logger.info("removed %d partial file(s) left by an interrupted run", swept)
    plan, cat = route.with_options(result_storage=results_storage(store))(loaded, catalog, today)
    for sp in plan.shots:
        logger.info("route %s: %s (draft %s) - %s", sp.shot_id, sp.model, sp.draft_model, sp.reason)
    route_of = lambda m: providers.resolve_route(m, cat, today).route  # noqa: E731
    inputs = render_inputs(loaded, plan, route_of)
    ensure_provider_limits(cat, {route_of(m) for sp in plan.shots for m in (sp.model, sp.draft_model, *sp.fallbacks)})
    plan_table(loaded.stem, plan)
    run = RenderRun(loaded, plan, cat, catalog, store, out, today, Budget(plan.budget_usd),
                    Progress(loaded.stem, len(ids), 1 if approval == "prototype-only" else 2), links_for(store))

    drafts = render_tier(run, "draft", ids)
    proto = prototype(run, drafts)
    approved = {"all": ids, "listed": [i for i in (approve or []) if i in ids]}.get(approval, [])
    if approval == "review":
        run, drafts, proto, approved = review_loop(run, drafts, proto, timeout=review_timeout, mode=review_mode)
    timeline = build_timeline(run.loaded.spec)
    finals: dict = {}
    edit, mix, delivered = None, proto[1], None
    if approval != "prototype-only":
        finals = render_tier(run, "final", approved)
        clips = [finals[i][0] if i in finals else drafts[i][0] for i in ids]
        edit_exp, mix, conformed = finish_edit(run.loaded, timeline, clips, store, "final")
        edit = edit_exp.model_dump(mode="json")
        edit["published"] = str(publish(store.file(edit_exp.path), out / f"{loaded.stem}.mp4"))
        delivered = deliver(run.loaded, run.plan, timeline, clips, conformed, edit_exp, mix, store, out)
    manifest = build_manifest(loaded=run.loaded, plan=run.plan, timeline=timeline,
                              status="prototype" if edit is None else "final",
                              drafts=drafts, finals=finals, approved=approved, edit=edit,
                              prototype=proto[0], out_dir=out, mix=mix.model_dump(mode="json"),
                              delivered=delivered)
    manifest.update(inputs=inputs, out_dir=str(out), store=str(store.root), checkout=str(loaded.repo_root))
    manifest["published"] = publish_outputs(run, manifest, drafts, finals)
    write_json_atomic(out / f"{loaded.stem}.manifest.json", manifest)
    summary(loaded.stem, manifest, manifest["published"]["hrefs"], summary_sheet(run, manifest))
    plan_table(loaded.stem, run.plan, manifest)  # the plan again, now with actual cost and cache hits
    logger.info("wrote %s", out / f"{loaded.stem}.manifest.json")
    return manifest


if __name__ == "__main__":
    import sys

    render_shotlist(sys.argv[1], *(sys.argv[2:3]))
