"""Generate one clip through a provider without ever paying twice for it.

1. A clip already in the store under the request's cache key is returned as a cache hit.
2. Else a job recorded in the ledger for that key is resumed (polled), not resubmitted;
   only a job the provider reports as failed is submitted again.
3. A new job id is written to the ledger *before* polling starts.
4. The output is downloaded at once, verified (streams, duration) and re-downloaded, not
   re-generated, when truncated or corrupt; then stored with its content hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncContextManager, Callable

from pydantic import BaseModel, ConfigDict

from reelflow.edit.clip import ClipResult
from reelflow.errors import (
    ContentRejectedError, JobPendingError, MediaError, OutputGoneError, PermanentProviderError,
    TransientProviderError,
)
from reelflow.providers.common import verify_clip
from reelflow.providers.base import DialogueCue, GenerationRequest, Provider, cache_key, clip_key
from reelflow.plan.routing import RenderSpec
from reelflow.spec.shotlist import LoadedShotList, Shot
from reelflow.plan.speech import synthesised
from reelflow.store.local import Store, sha256_file

log = logging.getLogger("reelflow.generation.generate")


class ClipJob(BaseModel):
    """One shot at one tier as planning resolved it: the request, the route that renders it
    (resolved once, in planning), what it costs and the route's concurrency."""

    model_config = ConfigDict(frozen=True)

    request: GenerationRequest
    route: str
    cost_usd: float = 0.0
    notes: tuple[str, ...] = ()
    concurrency: int = 2  # jobs in flight (the Prefect limit's size when it is created)
    rpm: int = 0  # submissions per minute (0: no rate limit)
    qc_checks: dict = {}  # the shot's QC overrides (the shot list's `qc.checks`, its own over the list's)


def build_request(loaded: LoadedShotList, shot: Shot, spec: RenderSpec, route_model: str | None,
                  route_params: dict | None = None) -> GenerationRequest:
    image_sha = image_path = None
    if shot.image:
        full = loaded.resolve_asset(shot.image)
        image_sha, image_path = sha256_file(full), str(full)
    return GenerationRequest(
        shot_id=shot.id, prompt=shot.prompt, negative_prompt=shot.negative_prompt,
        kind=shot.kind.value, camera=shot.camera, model=spec.model, route_model=route_model,
        tier=spec.tier, seed=shot.effective_seed, seconds=spec.seconds, width=spec.width,
        height=spec.height, fps=spec.fps, aspect=spec.aspect, audio=spec.audio,
        audio_cue=shot.audio.cue if shot.audio.native else None,
        # lines with a recorded stem are mixed from the file, not generated
        dialogue=tuple(DialogueCue(speaker=d.speaker, line=d.line) for d in shot.dialogue
                       if not d.file and not synthesised(d, loaded.spec.cast)),  # a TTS line is a stem, not asked of the model
        image_sha256=image_sha, image_path=image_path, route_params=route_params or {},
    )


class ClipFacts(BaseModel):
    notes: tuple[str, ...] = ()
    cost_usd: float = 0.0
    submissions: int = 0


# Threads are borrowed, never held while a job waits: provider calls (a submission, a poll) on one
# pool, downloads and their verification on another, so a wave of finished jobs downloading never
# delays the next submissions.
_CALLS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="reelflow-provider")
_TRANSFERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="reelflow-download")


def stop_pools() -> None:
    """On Ctrl-C or SIGTERM: run no queued provider call or download (the ledger resumes them),
    so the process exits as soon as the calls already running return."""
    for pool in (_CALLS, _TRANSFERS):
        pool.shutdown(wait=False, cancel_futures=True)


async def _on(pool: ThreadPoolExecutor, fn: Callable, *args):
    ctx = contextvars.copy_context()  # Prefect's run context (logging, settings) goes along
    return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(ctx.run, fn, *args))


async def generate_clip_async(request: GenerationRequest, provider: Provider, store: Store, *,
                              facts: ClipFacts | None = None, pace: Callable[[], None] | None = None,
                              slot: Callable[[], AsyncContextManager] | None = None) -> ClipResult:
    """One clip, paid at most once. Waiting on the provider holds no thread: polls are awaited
    sleeps; only the submission (under the clip's lock), each poll request and the download
    borrow a thread while they run. ``slot()`` is held while the job occupies the provider (from
    submission until it reports done; the download does not count), ``pace`` is called right
    before a submission (the task passes Prefect's limit and rate limit for the provider)."""
    facts = facts or ClipFacts()
    found = await _on(_CALLS, stored_clip, store, request, provider)
    if found is not None:
        return found
    deadline = time.monotonic() + float(os.environ.get("REELFLOW_POLL_DEADLINE", 3600))
    async with (slot() if slot else contextlib.nullcontext()):
        job = await _on(_CALLS, submit_once, request, provider, store, facts, pace)
        if isinstance(job, ClipResult):
            return job
        await await_job(request, provider, store, job, deadline)
    return await _on(_TRANSFERS, _fetch, request, provider, store, job, deadline)


def generate_clip(request: GenerationRequest, provider: Provider, store: Store, **options) -> ClipResult:
    """Synchronous form of :func:`generate_clip_async` (scripts, the cloud upscaler, tests)."""
    return asyncio.run(generate_clip_async(request, provider, store, **options))


def clip_keys(provider: Provider, request: GenerationRequest) -> tuple[str, ...]:
    """The clip's key, then the key stores written before clip_key used (when it differs)."""
    return tuple(dict.fromkeys((clip_key(provider, request), cache_key(provider.name, provider.version, request))))


def stored_clip(store: Store, request: GenerationRequest, provider: Provider) -> ClipResult | None:
    """The clip from the store (or restored from the asset store), reported as a cache hit."""
    for k in clip_keys(provider, request):
        meta = store.clip_meta(k)
        if meta is not None:
            settle_ledger(store, k, meta)
            return as_requested(ClipResult(**meta["result"]), request)
        restored = restore_from_assets(store, k, request)
        if restored is not None:
            return as_requested(restored, request)
    return None


def settle_ledger(store: Store, key: str, meta: dict) -> None:
    """A stored clip whose job the ledger still calls submitted: the process that downloaded it
    was killed between storing the clip and recording the download. The clip is the job's output
    (its bytes match the recorded hash), so the ledger says so now, as the download would have."""
    job = store.job(key)
    if job is None or job.get("state") == "downloaded" or not isinstance(meta.get("result"), dict):
        return
    if job.get("job_id") != meta["result"].get("job_id"):
        return  # not this job's output: leave the ledger as it is
    store.record_job(key, {**job, "state": "downloaded", "sha256": meta["sha256"], "result": meta["result"]})
    log.info("ledger: job %s for shot '%s' recorded as downloaded (its clip was stored before a crash)",
             job.get("job_id"), job.get("shot_id"))


def submit_once(request: GenerationRequest, provider: Provider, store: Store, facts: ClipFacts,
                pace: Callable[[], None] | None) -> dict | ClipResult:
    """The ledger check, the submission and its ledger entry inside one SERIALIZABLE Prefect
    transaction on the clip's key: two workers racing on one clip submit it once (the second
    finds the first's job and polls it too, or its finished clip). Returns the job to poll."""
    from reelflow.runtime.locks import submission

    key, *older = clip_keys(provider, request)
    with submission(store.root, key) as shared:
        meta = store.clip_meta(key)  # another worker may have finished it while this one waited
        if meta is not None:
            settle_ledger(store, key, meta)
            return as_requested(ClipResult(**meta["result"]), request)
        job = _live_first(next((j for j in map(store.job, (key, *older)) if j), None), shared.recorded_job())
        if job is not None and job.get("state") == "failed" and job.get("rejected"):
            # the provider refused this exact request before: sending it again would be refused too
            raise ContentRejectedError(f"{provider.name} rejected shot '{request.shot_id}' (the same request was "
                                       f"refused before): {job.get('error')}")
        notes = list(facts.notes)
        if job is not None and job.get("state") == "failed" and job.get("error") == "output expired":
            log.warning("%s: shot '%s' %s: the output of paid job %s expired and its bytes are held nowhere; "
                        "generating it again costs $%.2f", provider.name, request.shot_id, request.tier,
                        job.get("job_id"), facts.cost_usd)
            notes.append(f"generated again: the output of job {job.get('job_id')} expired and was held nowhere")
        if job is not None and job.get("state") != "failed":
            return {**job, "facts": {**facts.model_dump(mode="json"), "notes": notes, "submissions": 0}}
        if pace is not None:
            pace()  # requests per minute count what providers count: generation requests, not polls
        try:
            job_id = provider.submit(request)
        except ContentRejectedError as exc:  # refused at the door: remembered, never sent again
            store.record_job(key, {"provider": provider.name, "job_id": "refused-at-submission", "state": "failed", "rejected": True,
                                   "error": str(exc), "submitted_at": time.time(), "shot_id": request.shot_id,
                                   "tier": request.tier, "model": request.model})
            raise
        except TransientProviderError as exc:
            wait = getattr(exc, "retry_after", None)
            if wait:  # honour Retry-After before Prefect's own backoff
                time.sleep(min(float(wait), 60.0))
            raise
        job = {"provider": provider.name, "job_id": job_id, "state": "submitted",
               "submitted_at": time.time(), "shot_id": request.shot_id, "tier": request.tier,
               "model": request.model}
        store.record_job(key, job)  # before polling: a crash from here on resumes this job
        shared.record_job(job)  # and for workers that share no store with this one
        return {**job, "facts": {**facts.model_dump(mode="json"), "notes": notes, "submissions": 1}}


def _live_first(local: dict | None, shared: dict | None) -> dict | None:
    """This store's ledger entry, unless it failed and another worker has since submitted anew."""
    if local is not None and local.get("state") == "failed" and shared and shared.get("job_id") != local.get("job_id"):
        return shared
    return local or shared


async def await_job(request: GenerationRequest, provider: Provider, store: Store, job: dict,
                    deadline: float) -> None:
    """Poll a paid job until it succeeds; faults while polling never resubmit it."""
    job_id, key = job["job_id"], clip_key(provider, request)
    backoff = Backoff(provider.poll_interval())
    while True:
        try:
            state = await _on(_CALLS, provider.poll, request, job_id)
        except (TransientProviderError, TimeoutError, ConnectionError) as exc:
            # the job is paid for and still pollable: keep polling it, never resubmit
            if time.monotonic() > deadline:
                raise JobPendingError(f"{provider.name} job {job_id} for shot '{request.shot_id}' could not "
                                      f"be polled ({exc}); a re-run resumes it, nothing is submitted again") from None
            await asyncio.sleep(backoff.next(getattr(exc, "retry_after", None)))
            continue
        backoff.reset()
        if state.state == "succeeded":
            return
        if state.state == "failed":
            ledger = {k: v for k, v in job.items() if k != "facts"}
            store.record_job(key, {**ledger, "state": "failed", "error": state.error, "rejected": state.rejected})
            if state.rejected:
                raise ContentRejectedError(f"{provider.name} rejected shot '{request.shot_id}': {state.error}")
            raise TransientProviderError(f"{provider.name} job {job_id} failed: {state.error}")
        if time.monotonic() > deadline:
            raise JobPendingError(f"{provider.name} job {job_id} for shot '{request.shot_id}' still running "
                                  f"past its deadline; a re-run resumes it, nothing is submitted again")
        await asyncio.sleep(state.retry_after or provider.poll_interval())


def as_requested(clip: ClipResult, request: GenerationRequest) -> ClipResult:
    """A stored clip answering this request: an identical request of another tier or shot
    (a model that is its own draft) is the same paid clip, reported for what was asked."""
    return clip.model_copy(update={"shot_id": request.shot_id, "tier": request.tier, "model": request.model,
                                   "cache_hit": True, "submissions": 0,
                                   "ends_on_frame": bool(request.last_frame_sha256)})


class Backoff:
    """Exponential backoff for faults while a paid job is polled: from the provider's poll
    interval, doubling to a minute; a Retry-After wins."""

    def __init__(self, base: float, cap: float = 60.0):
        self.base, self.cap, self.n = max(base, 0.05), cap, 0

    def next(self, retry_after: float | None = None) -> float:
        self.n += 1
        if retry_after:
            return min(float(retry_after), self.cap)
        return min(self.cap, self.base * 2 ** (self.n - 1))

    def reset(self) -> None:
        self.n = 0


def _fetch(request: GenerationRequest, provider: Provider, store: Store, job: dict, deadline: float,
           attempts: int = 3) -> ClipResult:
    """Download a finished job's output and verify it: a corrupt transfer is downloaded again,
    a transient fault is retried until the deadline, an expired output is reported as gone."""
    facts = ClipFacts(**job.pop("facts"))
    key, job_id = clip_key(provider, request), job["job_id"]
    last_error: Exception | None = None
    corrupt = 0
    backoff = Backoff(provider.poll_interval())
    while True:
        part = store.tmp_path(".mp4")
        try:
            extra = provider.download(request, job_id, str(part)) or {}
            info = verify_clip(part, request)
        except OutputGoneError:
            # the provider deleted the output (Replicate keeps it an hour): the job is lost,
            # so the next attempt submits again
            part.unlink(missing_ok=True)
            store.record_job(key, {**job, "state": "failed", "error": "output expired"})
            raise
        except MediaError as exc:
            last_error, corrupt = exc, corrupt + 1
            part.unlink(missing_ok=True)
            if corrupt >= max(1, attempts):
                raise JobPendingError(f"{provider.name} job {job_id}: download failed verification {corrupt} "
                                      f"times ({last_error}); a re-run downloads it again") from None
            continue
        except (TransientProviderError, TimeoutError, ConnectionError) as exc:
            part.unlink(missing_ok=True)
            if time.monotonic() > deadline:
                raise JobPendingError(f"{provider.name} job {job_id}: output could not be fetched ({exc}); "
                                      f"a re-run downloads it, nothing is submitted again") from None
            time.sleep(backoff.next(getattr(exc, "retry_after", None)))
            continue
        result = ClipResult(
            key=key, path=store.clip_ref(key), sha256=sha256_file(part),
            shot_id=request.shot_id, tier=request.tier, model=request.model,
            provider=provider.name, job_id=job_id, seconds=info["duration"],
            width=info["width"], height=info["height"], fps=info["fps"] or request.fps,
            has_audio=info["has_audio"],
            speech_spans=[tuple(s) for s in extra.get("speech_spans", [])],
            notes=[*facts.notes, *extra.get("notes", [])], cost_usd=facts.cost_usd,
            submissions=facts.submissions, ends_on_frame=bool(request.last_frame_sha256),
        )
        store.put_clip(key, part, {"result": result.model_dump(mode="json"), "request": request.key_fields()})
        # the ledger remembers the content: bytes kept in the asset store are never bought again
        store.record_job(key, {**job, "state": "downloaded", "sha256": result.sha256,
                               "result": result.model_dump(mode="json")})
        return result


def restore_from_assets(store: Store, key: str, request: GenerationRequest) -> ClipResult | None:
    """A clip this store downloaded once (the ledger knows its content hash) but no longer holds
    under clips/: copy it back from the asset store (local folder or S3), verified by hash."""
    from reelflow.store.assets import asset_store_from_env, content_key

    job = store.job(key)
    if not job or job.get("state") != "downloaded" or not job.get("sha256") or not job.get("result"):
        return None
    assets = asset_store_from_env(store.root / "assets")
    asset_key = content_key(job["sha256"], ".mp4", getattr(assets, "prefix", ""))
    try:
        if not assets.exists(asset_key):
            return None
        part = store.tmp_path(".mp4")
        assets.get(asset_key, part)
    except Exception as exc:  # noqa: BLE001 - unreachable store: fall back to the provider
        log.warning("could not restore %s from the asset store: %s", job["sha256"][:12], exc)
        return None
    if sha256_file(part) != job["sha256"]:
        part.unlink(missing_ok=True)
        return None
    result = ClipResult(**{**job["result"], "path": store.clip_ref(key), "cache_hit": True,
                           "submissions": 0})
    store.put_clip(key, part, {"result": result.model_dump(mode="json"), "request": request.key_fields()})
    log.info("restored shot '%s' %s from the asset store (%s)", request.shot_id, request.tier, job["sha256"][:12])
    return result


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (PermanentProviderError, JobPendingError)):
        return False
    if isinstance(exc, TransientProviderError):
        return True
    return isinstance(exc, (TimeoutError, ConnectionError))
