"""Prefect task: a final clip lip-synced to its shot's dialogue track by a lip-sync model (the
catalog's `sync-lipsync` on fal), through the provider layer like generation: the job id in
the ledger before polling, the download verified, the result QC'd, keyed by content (the
clip's and the track's hashes), never paid twice."""

from __future__ import annotations

import math

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from reelflow import providers
from reelflow.runtime.config import RetryPolicy
from reelflow.generation.generate import ClipFacts, generate_clip
from reelflow.edit.clip import ClipResult
from reelflow.providers.base import GenerationRequest
from reelflow.store.local import Store
from reelflow.tasks.generation import retry_if_transient

MODEL = "sync-lipsync"
RETRY = RetryPolicy.from_env()


def lipsync_request(clip: ClipResult, clip_path: str, track: tuple[str, str], route_model: str | None,
                    params: dict) -> GenerationRequest:
    return GenerationRequest(
        shot_id=clip.shot_id, prompt="lip sync", kind="lipsync", camera="static", model=MODEL,
        route_model=route_model, route_params=params, tier="final", seed=0,
        seconds=max(1, math.ceil(clip.seconds - 1e-6)), width=clip.width, height=clip.height,
        fps=int(round(clip.fps)), aspect=f"{clip.width}:{clip.height}", audio=True,
        video_path=clip_path, video_sha256=clip.sha256, driving_audio_path=track[0], driving_audio_sha256=track[1])


# the store and its ledger are the cache (a stored sync is read back, a submitted one resumed)
@task(name="lipsync", cache_policy=NO_CACHE, retries=RETRY.retries,
      retry_delay_seconds=exponential_backoff(RETRY.base_delay), retry_jitter_factor=RETRY.jitter,
      retry_condition_fn=retry_if_transient)
def lipsync_clip(clip: ClipResult, track_path: str, track_sha256: str, route: str, route_model: str | None,
                 params: dict, price_per_second: float, store_root: str) -> ClipResult:
    """The clip with its lips on the track: its own identity (model, route, seed) kept, its
    file, hash and QC the lip-sync model's, its cost this run's (the clip's and the sync's)."""
    from reelflow.generation.qc_pipeline import checked

    store = Store(store_root)
    provider = providers.get(route)
    request = lipsync_request(clip, str(store.file(clip.path)), (track_path, track_sha256), route_model, params)
    cost = round(request.seconds * price_per_second, 4)
    synced = generate_clip(request, provider, store, facts=ClipFacts(
        cost_usd=cost, notes=(f"lip-synced to the dialogue track by {MODEL} on {route}",)))
    synced = checked(synced, request, provider, store, {})
    paid = (0.0 if clip.cache_hit else clip.cost_usd) + (0.0 if synced.cache_hit else cost)
    return clip.model_copy(update={
        "key": synced.key, "path": synced.path, "sha256": synced.sha256, "qc": synced.qc,
        "seconds": synced.seconds, "has_audio": synced.has_audio,
        "notes": [*clip.notes, f"lip-synced to the dialogue track by {MODEL} on {route} (${cost:.2f})"],
        "cost_usd": paid, "cache_hit": clip.cache_hit and synced.cache_hit})
