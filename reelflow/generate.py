"""Generate one clip through a provider without ever paying twice for it.

1. A clip already in the store under the request's cache key is returned as a cache hit.
2. Else a job recorded in the ledger for that key is resumed (polled), not resubmitted;
   only a job the provider reports as failed is submitted again.
3. A new job id is written to the ledger *before* polling starts.
4. The output is downloaded at once, verified (streams, duration) and re-downloaded, not
   re-generated, when truncated or corrupt; then stored with its content hash.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict

from .errors import (
    ContentRejectedError, JobPendingError, MediaError, OutputGoneError, PermanentProviderError,
    TransientProviderError,
)
from .media.ffmpeg import probe
from .providers.base import DialogueCue, GenerationRequest, Provider, cache_key, clip_key
from .providers.common import RateLimiter, rpm_for
from .routing import RenderSpec
from .shotlist import LoadedShotList, Shot
from .store import Store, sha256_file

log = logging.getLogger("reelflow.generate")


class ClipResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    path: str  # store-relative ("clips/<key>.mp4"): resolve with Store.file()
    sha256: str
    shot_id: str
    tier: str
    model: str  # the catalog model the request was for
    provider: str  # the route that rendered it
    job_id: str
    seconds: float
    width: int
    height: int
    fps: float
    has_audio: bool
    speech_spans: list[tuple[float, float]] = []
    notes: list[str] = []
    cost_usd: float = 0.0
    cache_hit: bool = False
    submissions: int = 0
    fallback_from: str | None = None  # the model that refused or failed
    fallback_reason: str | None = None


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
        dialogue=tuple(DialogueCue(speaker=d.speaker, line=d.line) for d in shot.dialogue if not d.file),
        image_sha256=image_sha, image_path=image_path, route_params=route_params or {},
    )


_SEMAPHORES: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_SEM_LOCK = threading.Lock()


def provider_slot(route: str, limit: int) -> threading.BoundedSemaphore:
    """In-process bound on concurrent jobs per provider and limit (threads of one process; the
    Prefect global limit bounds every worker together). Keyed on the limit too, so a process that
    once ran with another size (a catalog overlay, a test) is not held to it."""
    with _SEM_LOCK:
        key = (route, max(1, limit))
        if key not in _SEMAPHORES:
            _SEMAPHORES[key] = threading.BoundedSemaphore(key[1])
        return _SEMAPHORES[key]


@contextlib.contextmanager
def submission_lock(store: Store, key: str, wait: float = 600.0, hold: float = 300.0):
    """One worker at a time per clip, across processes and machines sharing the store: the check
    of the ledger, the submission and its ledger entry happen under Prefect's file-system lock
    for the clip's key, so two workers racing on one clip submit it once (the second resumes the
    first's job, or finds its clip). Held for a submission only (seconds); a lock left by a
    killed process on this machine is broken at once, one from another machine expires after
    ``hold``."""
    from prefect.locking.filesystem import FileSystemLockManager

    locks = FileSystemLockManager(store.root / "locks")
    holder = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    _break_if_dead(locks, key)
    deadline = time.monotonic() + wait
    while True:
        try:
            if locks.acquire_lock(key, holder, acquire_timeout=max(0.1, deadline - time.monotonic()),
                                  hold_timeout=hold):
                break
        except ValueError:  # read the lock file between its creation and its first write
            pass
        if time.monotonic() > deadline:
            raise JobPendingError(f"clip {key[:12]} is being submitted by another worker for over {wait:.0f}s; "
                                  f"a re-run resumes whatever it started") from None
        time.sleep(0.05)
    try:
        yield
    finally:
        try:
            locks.release_lock(key, holder)
        except (ValueError, OSError):  # expired and taken over, or already gone
            pass


def _break_if_dead(locks, key: str) -> None:
    """A lock whose holder was a process of this machine that no longer exists (kill -9, power
    loss) protects nothing: remove it so the re-run goes on at once."""
    import json

    path = locks._lock_path_for_key(key)
    try:
        host, pid, _ = json.loads(Path(path).read_text())["holder"].split(":")
        os.kill(int(pid), 0) if host == socket.gethostname() else None
    except ProcessLookupError:
        Path(path).unlink(missing_ok=True)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass  # no lock, another machine's, half-written or not ours: the normal wait applies


def verify_clip(path: Path, request: GenerationRequest) -> dict:
    """Readable, has a video stream, and long enough for the request (within a frame or so)."""
    info = probe(path)
    if not info.has_video:
        raise MediaError(f"{path.name}: no video stream")
    got = info.video_duration or info.duration
    if got + 0.25 < request.seconds:
        raise MediaError(f"{path.name}: {got:.2f}s, expected {request.seconds}s (truncated?)")
    return {"duration": got, "width": info.width, "height": info.height, "fps": info.fps,
            "has_audio": info.has_audio}


def generate_clip(request: GenerationRequest, provider: Provider, store: Store, *,
                  cost_usd: float = 0.0, notes: tuple[str, ...] = (), poll_timeout: float | None = None,
                  download_attempts: int = 3, concurrency: int = 2,
                  sleep: Callable[[float], None] = time.sleep) -> ClipResult:
    key = clip_key(provider, request)
    legacy = cache_key(provider.name, provider.version, request)  # stores written before clip_key
    for k in dict.fromkeys((key, legacy)):
        meta = store.clip_meta(k)
        if meta is not None:
            return as_requested(ClipResult(**meta["result"]), request)
        restored = restore_from_assets(store, k, request)
        if restored is not None:
            return as_requested(restored, request)

    with provider_slot(provider.name, concurrency):
        # the ledger check, the submission and its ledger entry under the clip's lock: two
        # workers racing on one clip submit it once (the second finds the job and polls it too)
        with submission_lock(store, key):
            # another worker may have finished this clip while this one waited for the lock
            meta = store.clip_meta(key)
            if meta is not None:
                return as_requested(ClipResult(**meta["result"]), request)
            submissions = 0
            job = store.job(key) or store.job(legacy)
            if job is not None and job.get("state") == "failed" and job.get("rejected"):
                # the provider refused this exact request before: sending it again would be refused too
                raise ContentRejectedError(f"{provider.name} rejected shot '{request.shot_id}' (the same request was "
                                           f"refused before): {job.get('error')}")
            if job is not None and job.get("state") == "failed" and job.get("error") == "output expired":
                log.warning("%s: shot '%s' %s: the output of paid job %s expired and its bytes are held nowhere; "
                            "generating it again costs $%.2f", provider.name, request.shot_id, request.tier,
                            job.get("job_id"), cost_usd)
                notes = (*notes, f"generated again: the output of job {job.get('job_id')} expired and was held nowhere")
            if job is None or job.get("state") == "failed":
                # requests per minute count what providers count: generation requests, not polls
                RateLimiter.wait(provider.name, rpm_for(provider.name))
                try:
                    job_id = provider.submit(request)
                except TransientProviderError as exc:
                    wait = getattr(exc, "retry_after", None)
                    if wait:  # honour Retry-After before Prefect's own backoff
                        sleep(min(float(wait), 60.0))
                    raise
                submissions += 1
                job = {"provider": provider.name, "job_id": job_id, "state": "submitted",
                       "submitted_at": time.time(), "shot_id": request.shot_id, "tier": request.tier,
                       "model": request.model}
                store.record_job(key, job)  # before polling: a crash from here on resumes this job
            job_id = job["job_id"]

        poll_timeout = poll_timeout or float(os.environ.get("REELFLOW_POLL_DEADLINE", 3600))
        deadline = time.monotonic() + poll_timeout
        backoff = Backoff(provider.poll_interval())
        while True:
            try:
                state = provider.poll(request, job_id)
            except (TransientProviderError, TimeoutError, ConnectionError) as exc:
                # the job is paid for and still pollable: keep polling it, never resubmit
                if time.monotonic() > deadline:
                    raise JobPendingError(f"{provider.name} job {job_id} for shot '{request.shot_id}' could not "
                                          f"be polled for {poll_timeout:.0f}s ({exc}); a re-run resumes it, "
                                          f"nothing is submitted again") from None
                sleep(backoff.next(getattr(exc, "retry_after", None)))
                continue
            backoff.reset()
            if state.state == "succeeded":
                break
            if state.state == "failed":
                store.record_job(key, {**job, "state": "failed", "error": state.error, "rejected": state.rejected})
                if state.rejected:
                    raise ContentRejectedError(f"{provider.name} rejected shot '{request.shot_id}': {state.error}")
                raise TransientProviderError(f"{provider.name} job {job_id} failed: {state.error}")
            if time.monotonic() > deadline:
                raise JobPendingError(f"{provider.name} job {job_id} for shot '{request.shot_id}' still running "
                                      f"after {poll_timeout:.0f}s; a re-run resumes it, nothing is submitted again")
            sleep(state.retry_after or provider.poll_interval())
        return _fetch(request, provider, store, job, key, ClipFacts(notes=notes, cost_usd=cost_usd, submissions=submissions),
                      download_attempts, deadline, sleep)


def as_requested(clip: ClipResult, request: GenerationRequest) -> ClipResult:
    """A stored clip answering this request: an identical request of another tier or shot
    (a model that is its own draft) is the same paid clip, reported for what was asked."""
    return clip.model_copy(update={"shot_id": request.shot_id, "tier": request.tier, "model": request.model,
                                   "cache_hit": True, "submissions": 0})


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


class ClipFacts(BaseModel):
    notes: tuple[str, ...] = ()
    cost_usd: float = 0.0
    submissions: int = 0


def _fetch(request: GenerationRequest, provider: Provider, store: Store, job: dict, key: str, facts: ClipFacts,
           attempts: int, deadline: float, sleep: Callable[[float], None]) -> ClipResult:
    """Download a finished job's output and verify it: a corrupt transfer is downloaded again,
    a transient fault is retried until the deadline, an expired output is reported as gone."""
    job_id = job["job_id"]
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
            sleep(backoff.next(getattr(exc, "retry_after", None)))
            continue
        result = ClipResult(
            key=key, path=store.clip_ref(key), sha256=sha256_file(part),
            shot_id=request.shot_id, tier=request.tier, model=request.model,
            provider=provider.name, job_id=job_id, seconds=info["duration"],
            width=info["width"], height=info["height"], fps=info["fps"] or request.fps,
            has_audio=info["has_audio"],
            speech_spans=[tuple(s) for s in extra.get("speech_spans", [])],
            notes=[*facts.notes, *extra.get("notes", [])], cost_usd=facts.cost_usd,
            submissions=facts.submissions,
        )
        store.put_clip(key, part, {"result": result.model_dump(mode="json"), "request": request.key_fields()})
        # the ledger remembers the content: bytes kept in the asset store are never bought again
        store.record_job(key, {**job, "state": "downloaded", "sha256": result.sha256,
                               "result": result.model_dump(mode="json")})
        return result


def restore_from_assets(store: Store, key: str, request: GenerationRequest) -> ClipResult | None:
    """A clip this store downloaded once (the ledger knows its content hash) but no longer holds
    under clips/: copy it back from the asset store (local folder or S3), verified by hash."""
    from .assets import asset_store_from_env, content_key

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
