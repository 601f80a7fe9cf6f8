"""Generate one clip through a provider without ever paying twice for it.

1. A clip already in the store under the request's cache key is returned as a cache hit.
2. Else a job recorded in the ledger for that key is resumed (polled), not resubmitted;
   only a job the provider reports as failed is submitted again.
3. A new job id is written to the ledger *before* polling starts.
4. The output is downloaded at once, verified (streams, duration) and re-downloaded, not
   re-generated, when truncated or corrupt; then stored with its content hash.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, ConfigDict

from .errors import (
    ContentRejectedError, MediaError, OutputGoneError, PermanentProviderError, TransientProviderError,
)
from .media.ffmpeg import probe
from .providers.base import DialogueCue, GenerationRequest, Provider, cache_key
from .routing import RenderSpec
from .shotlist import LoadedShotList, Shot
from .store import Store, sha256_file


class ClipResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    path: str
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


_SEMAPHORES: dict[str, threading.BoundedSemaphore] = {}
_SEM_LOCK = threading.Lock()


def provider_slot(route: str, limit: int) -> threading.BoundedSemaphore:
    """In-process bound on concurrent jobs per provider (threads of one flow run)."""
    with _SEM_LOCK:
        if route not in _SEMAPHORES:
            _SEMAPHORES[route] = threading.BoundedSemaphore(max(1, limit))
        return _SEMAPHORES[route]


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
                  cost_usd: float = 0.0, notes: tuple[str, ...] = (), poll_timeout: float = 3600,
                  download_attempts: int = 3, concurrency: int = 2,
                  sleep: Callable[[float], None] = time.sleep) -> ClipResult:
    key = cache_key(provider.name, provider.version, request)
    meta = store.clip_meta(key)
    if meta is not None:
        return ClipResult(**{**meta["result"], "cache_hit": True, "submissions": 0})

    with provider_slot(provider.name, concurrency):
        submissions = 0
        job = store.job(key)
        if job is None or job.get("state") == "failed":
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

        deadline = time.monotonic() + poll_timeout
        while True:
            state = provider.poll(request, job_id)
            if state.state == "succeeded":
                break
            if state.state == "failed":
                store.record_job(key, {**job, "state": "failed", "error": state.error})
                if state.rejected:
                    raise ContentRejectedError(f"{provider.name} rejected shot '{request.shot_id}': {state.error}")
                raise TransientProviderError(f"{provider.name} job {job_id} failed: {state.error}")
            if time.monotonic() > deadline:
                raise TransientProviderError(f"{provider.name} job {job_id} still running after "
                                             f"{poll_timeout:.0f}s; a retry resumes polling it")
            sleep(state.retry_after or provider.poll_interval())

        last_error: Exception | None = None
        for _ in range(max(1, download_attempts)):
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
                last_error = exc
                part.unlink(missing_ok=True)
                continue
            result = ClipResult(
                key=key, path=str(store.clip_path(key)), sha256=sha256_file(part),
                shot_id=request.shot_id, tier=request.tier, model=request.model,
                provider=provider.name, job_id=job_id, seconds=info["duration"],
                width=info["width"], height=info["height"], fps=info["fps"] or request.fps,
                has_audio=info["has_audio"],
                speech_spans=[tuple(s) for s in extra.get("speech_spans", [])],
                notes=[*notes, *extra.get("notes", [])], cost_usd=cost_usd,
                submissions=submissions,
            )
            store.put_clip(key, part, {"result": result.model_dump(mode="json"),
                                       "request": request.key_fields()})
            store.record_job(key, {**job, "state": "downloaded"})
            return result
        raise TransientProviderError(
            f"{provider.name} job {job_id}: download failed verification {download_attempts} times: {last_error}")


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, PermanentProviderError):
        return False
    if isinstance(exc, TransientProviderError):
        return True
    return isinstance(exc, (TimeoutError, ConnectionError))
