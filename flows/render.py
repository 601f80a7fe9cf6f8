"""The render flow: shot list -> routed -> prototyped -> reviewed -> final -> finished edit.

    load + validate -> route -> draft every shot -> prototype edit -> review gate
    -> final renders -> upscale -> conform -> mix -> export -> manifest
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from reelflow import providers
from reelflow.catalog import Catalog
from reelflow.config import RetryPolicy, emit
from reelflow.errors import BudgetError
from reelflow.generate import ClipResult
from reelflow.manifest import build_manifest
from reelflow.media.finishing import plan_upscale
from reelflow.media.mix import ShotSound
from reelflow.routing import Plan
from reelflow.shotlist import LoadedShotList
from reelflow.store import Store, sha256_file, write_json_atomic
from reelflow.timeline import Timeline, build_timeline
from tasks.finishing import (
    EXPORT_VERSION, MIX_VERSION, _key, conform_key_parts, conform_shot, export, mix_audio, publish,
    upscale, upscale_key_parts,
)
from tasks.generation import generate, generation_request, load, route, stored_clip_exists

Approval = Literal["all", "prototype-only", "listed"]


def default_store(loaded: LoadedShotList) -> Path:
    return Path(os.environ.get("REELFLOW_STORE") or loaded.repo_root / ".reelflow")


def _run_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters or {}
    return f"{Path(str(p.get('shotlist', 'shotlist'))).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"


def render_tier(loaded: LoadedShotList, plan: Plan, catalog: Catalog, tier: str, shot_ids: list[str],
                store: Store, today: dt.date) -> dict[str, tuple[ClipResult, bool]]:
    """Generate every listed shot at one tier, concurrently (bounded per provider)."""
    policy = RetryPolicy.from_env()
    futures = {}
    for sp in plan.shots:
        if sp.shot_id not in shot_ids:
            continue
        spec = sp.draft if tier == "draft" else sp.final
        res = providers.resolve_route(spec.model, catalog, today)
        request = generation_request(loaded, sp.shot_id, spec, res.route_model)
        notes = [res.note] if res.note else []
        billable = 0.0 if res.route == "animatic" else spec.cost
        task = generate.with_options(
            task_run_name=f"{tier}-{sp.shot_id}",
            tags=[f"model:{spec.model}", f"tier:{tier}", f"provider:{res.route}"],
            retries=policy.retries,
            retry_delay_seconds=exponential_backoff(policy.base_delay),
            retry_jitter_factor=policy.jitter,
            result_storage=store.results_dir,
            refresh_cache=not stored_clip_exists(request, res.route, str(store.root)),
        )
        fut = task.submit(request=request, route=res.route, store_root=str(store.root),
                          cost_usd=billable, notes=notes,
                          concurrency=catalog.routes[res.route].concurrency)
        futures[fut] = sp.shot_id
    out: dict[str, tuple[ClipResult, bool]] = {}
    for i, fut in enumerate(as_completed(list(futures)), 1):
        clip = fut.result()
        hit = clip.cache_hit or (fut.state.name == "Cached")
        out[futures[fut]] = (clip, hit)
        emit(f"{tier} renders", futures[fut], i, len(futures))
    return out


def finish_edit(loaded: LoadedShotList, timeline: Timeline, clips: list[ClipResult], store: Store,
                label: str) -> tuple[dict, dict]:
    """Upscale -> conform -> mix -> export one edit from one clip per shot."""
    spec = loaded.spec
    size, fps = spec.output.size, spec.output.fps
    root = str(store.root)
    fit = "crop"
    ups = []
    for clip in clips:
        parts = upscale_key_parts(clip.sha256, size, fit)
        needed = plan_upscale((clip.width, clip.height), size, fit).needed
        fresh = not needed or store.derived(_key(parts)).is_file()
        ups.append(upscale.with_options(task_run_name=f"upscale-{label}-{clip.shot_id}",
                                        result_storage=store.results_dir,
                                        refresh_cache=not fresh)
                   .submit(path=clip.path, sha256=clip.sha256, size=size, fit=fit, store_root=root,
                           key_parts=parts))
    conf_futs = []
    for clip, up_f, tclip in zip(clips, ups, timeline.clips):
        media = up_f.result()
        parts = conform_key_parts(media.sha256 if media.upscaled else clip.sha256, size, fps,
                                  tclip.frames, fit)
        k = _key(parts)
        fresh = store.derived(k).is_file() and store.derived(k, ".wav").is_file()
        conf_futs.append(conform_shot.with_options(task_run_name=f"conform-{label}-{clip.shot_id}",
                                                   result_storage=store.results_dir,
                                                   refresh_cache=not fresh)
                         .submit(shot_id=clip.shot_id, path=media.path, size=size, fps=fps,
                                 frames=tclip.frames, fit=fit, store_root=root, key_parts=parts))
    conformed = [f.result() for f in conf_futs]
    emit(f"{label} conform", "all", len(conformed), len(conformed))

    sounds = [ShotSound(wav=Path(c.audio), gain_db=shot.audio.gain_db, enabled=shot.audio.native,
                        speech=list(clip.speech_spans))
              for c, shot, clip in zip(conformed, spec.shots, clips)]
    music = str(loaded.resolve_asset(spec.audio.music)) if spec.audio.music else None
    music_sha = sha256_file(music) if music else None
    tl_desc = [(c.start, c.frames, c.join_out.type.value if c.join_out else None) for c in timeline.clips]
    mix_parts = [MIX_VERSION, [c.sha256 for c in conformed], tl_desc, fps,
                 [(s.gain_db, s.enabled, s.speech) for s in sounds],
                 spec.audio.model_dump(mode="json"), music_sha, spec.output.loudness_lufs]
    mk = _key(mix_parts)
    mix = mix_audio.with_options(task_run_name=f"mix-{label}", result_storage=store.results_dir,
                                 refresh_cache=not (store.derived(mk, ".wav").is_file()
                                                    and store.derived(mk, ".mix.json").is_file())
                                 )(timeline=timeline, sounds=sounds, bed=spec.audio, music=music,
                                   target_lufs=spec.output.loudness_lufs, store_root=root,
                                   key_parts=mix_parts)
    exp_parts = [EXPORT_VERSION, [c.sha256 for c in conformed], mix.sha256, tl_desc, fps, list(size)]
    ek = _key(exp_parts)
    exported = export.with_options(task_run_name=f"export-{label}", result_storage=store.results_dir,
                                   refresh_cache=not store.derived(ek, ".edit.mp4").is_file()
                                   )(timeline=timeline, videos=[c.video for c in conformed],
                                     audio_wav=mix.wav, size=size, store_root=root, key_parts=exp_parts)
    return exported.model_dump(mode="json"), mix.model_dump(mode="json")


@flow(name="render-shotlist", flow_run_name=_run_name,
      task_runner=ThreadPoolTaskRunner(max_workers=4), log_prints=True)
def render_shotlist(shotlist: str, out_dir: str = "out", approval: Approval = "all",
                    approve: list[str] | None = None, store_dir: str | None = None,
                    catalog: str | None = None, today: dt.date | None = None) -> dict:
    """Render a shot list into ``out_dir/<stem>.mp4`` plus ``<stem>.manifest.json``.

    approval: ``all`` renders every final; ``prototype-only`` stops after the prototype edit;
    ``listed`` renders finals only for the shot ids in ``approve`` (others stay drafts).
    """
    logger = get_run_logger()
    today = today or dt.date.today()
    loaded = load(shotlist)
    store = Store(store_dir or default_store(loaded))
    out = Path(out_dir).resolve()
    plan, cat = route.with_options(result_storage=store.results_dir)(loaded, catalog, today)
    for sp in plan.shots:
        logger.info("route %s: %s (draft %s) - %s", sp.shot_id, sp.model, sp.draft_model, sp.reason)
    ids = [s.id for s in loaded.spec.shots]
    timeline = build_timeline(loaded.spec)

    drafts = render_tier(loaded, plan, cat, "draft", ids, store, today)
    proto, proto_mix = finish_edit(loaded, timeline, [drafts[i][0] for i in ids], store, "prototype")
    proto["published"] = str(publish(proto["path"], out / f"{loaded.stem}.prototype.mp4"))

    approved = ids if approval == "all" else [i for i in (approve or []) if i in ids]
    if approval == "listed":
        unknown = sorted(set(approve or []) - set(ids))
        if unknown:
            raise ValueError(f"--approve names unknown shots: {', '.join(unknown)}")
    if approval == "prototype-only":
        approved = []
    finals: dict = {}
    edit = None
    mix = proto_mix
    if approval != "prototype-only":
        billable = sum(sp.final.cost for sp in plan.shots if sp.shot_id in approved and
                       providers.resolve_route(sp.model, cat, today).route != "animatic")
        if plan.budget_usd is not None and billable > plan.budget_usd:
            raise BudgetError(f"final renders would cost ${billable:.2f}, over the budget of ${plan.budget_usd:g}")
        finals = render_tier(loaded, plan, cat, "final", approved, store, today)
        clips = [finals[i][0] if i in finals else drafts[i][0] for i in ids]
        edit, mix = finish_edit(loaded, timeline, clips, store, "final")
        edit["published"] = str(publish(edit["path"], out / f"{loaded.stem}.mp4"))
    manifest = build_manifest(loaded=loaded, plan=plan, timeline=timeline,
                              status="prototype" if edit is None else "final",
                              drafts=drafts, finals=finals, approved=approved, edit=edit,
                              prototype=proto, out_dir=out, mix=mix)
    write_json_atomic(out / f"{loaded.stem}.manifest.json", manifest)
    logger.info("wrote %s", out / f"{loaded.stem}.manifest.json")
    return manifest


if __name__ == "__main__":
    import sys

    render_shotlist(sys.argv[1], *(sys.argv[2:3]))
