"""Prefect tasks for the music bed: made once per prompt, route and length (compose-music), and
its beats tracked once per bed (track-beats). Both keep what they made in the store under
content keys, so a re-run, another worker or a moved store reads it instead of paying again."""

from __future__ import annotations

import json

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import BaseModel, ConfigDict

from reelflow.runtime.config import RetryPolicy
from reelflow.spec.music import MusicRequest
from reelflow.store.local import Store
from reelflow.tasks.caching import StoredArtifacts
from reelflow.tasks.generation import retry_if_transient


class ComposedMusic(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str  # store-relative
    sha256: str
    seconds: float
    cost_usd: float  # what this call paid (0 when the store had it, and offline)
    cache_hit: bool
    beats: list[float] | None = None  # known exactly when composed offline
    tempo: float | None = None


def music_ref(request: MusicRequest) -> str:
    return f"clips/music-{request.key()}.{'mp3' if request.route == 'lyria' else 'wav'}"


RETRY = RetryPolicy.from_env()


@task(name="compose-music", persist_result=True, retries=RETRY.retries,
      retry_delay_seconds=exponential_backoff(RETRY.base_delay), retry_jitter_factor=RETRY.jitter,
      retry_condition_fn=retry_if_transient,
      cache_policy=StoredArtifacts(prefix="music", parts=lambda i: ["music-1", i["request"].key()],
                                   artifacts=lambda i, key: [(music_ref(i["request"]), None)]))
def compose_music(request: MusicRequest, store_root: str) -> ComposedMusic:
    store = Store(store_root)
    ref = music_ref(request)
    meta = store.answer_meta(ref)
    if meta is not None:
        return ComposedMusic(path=ref, sha256=meta["sha256"], seconds=meta["seconds"], cost_usd=0.0, cache_hit=True,
                             beats=meta.get("beats"), tempo=meta.get("tempo"))
    beats = tempo = None
    if request.route == "lyria":
        from reelflow.providers.lyria import LyriaMusic

        data, seconds = LyriaMusic().compose_checked(request)  # decoded once: a damaged song is asked again
    else:
        from reelflow.media.musicbed import compose, wav_bytes

        samples, beats, tempo = compose(request.prompt, request.seconds, request.seed)
        seconds, data = len(samples) / 48000, wav_bytes(samples)
    cost = request.cost_usd
    sha = store.put_answer(ref, data, {
        "seconds": round(seconds, 4), "route": request.route, "model": request.model, "cost_usd": cost,
        **({"beats": [round(b, 4) for b in beats], "tempo": tempo} if beats else {})})
    return ComposedMusic(path=ref, sha256=sha, seconds=round(seconds, 4), cost_usd=cost, cache_hit=False,
                         beats=[round(b, 4) for b in beats] if beats else None, tempo=tempo)


@task(name="track-beats", cache_policy=NO_CACHE)  # the store is its cache (made once per bed)
def track_beats(path: str, sha256: str, store_root: str) -> dict:
    """The bed's beats and tempo, tracked by librosa once per bed (kept in the store). librosa's
    numba code compiles on a machine's first use (30-60 s on 2 cores) and is cached after."""
    from pathlib import Path

    from reelflow.media.beats import track_beats as tracked

    def make(tmp) -> None:
        beats, tempo = tracked(Path(path))
        tmp.write_text(json.dumps({"beats": beats, "tempo": tempo, "tracker": "librosa.beat.beat_track"}),
                       encoding="utf-8")

    return json.loads(Store(store_root).made_once(f"beats-{sha256}", ".json", make).read_text(encoding="utf-8"))
