"""Prefect task for scene groups: the one clip a multi-shot call returned, cut into its shots at
the frames the shot list gave the call (frame-exact), each a clip of its own in the store."""

from __future__ import annotations

from prefect import task

from reelflow.edit.clip import ClipResult
from reelflow.media.ffmpeg import probe
from reelflow.media.frames import cut_frames
from reelflow.store.local import Store
from reelflow.tasks.caching import StoredArtifacts

SPLIT_VERSION = "group-split-1"

SPLIT_CACHE = StoredArtifacts(
    # the clip's key (its request) as well as its bytes: two calls that returned the same bytes
    # (a fake, a model that is its own draft) are still two clips with their own cost and tier
    prefix="group-split", parts=lambda i: [SPLIT_VERSION, i["clip"].key, i["clip"].sha256, list(i["parts"])],
    artifacts=lambda i, k: [(f"derived/{k}-{n}.mp4", None) for n in range(len(i["parts"]))])


@task(name="split-group", cache_policy=SPLIT_CACHE, persist_result=True)
def split_group(clip: ClipResult, parts: list[tuple[str, int]], store_root: str) -> list[ClipResult]:
    """``parts``: (shot id, whole seconds) in call order. The call is paid once: its cost and
    submissions stay on the first shot's clip, every clip says which call it came from."""
    store = Store(store_root)
    key = SPLIT_CACHE.key_of(clip=clip, parts=parts)
    fps = clip.fps
    out, start = [], 0
    for n, (shot_id, seconds) in enumerate(parts):
        frames = int(round(seconds * fps))
        ref = f"derived/{key}-{n}.mp4"
        if not store.verified(ref):
            part = store.tmp_path(".mp4")
            cut_frames(store.file(clip.path), part, start, frames, fps)
            store.commit(part, ref)
        info = probe(store.file(ref), count_frames=False)
        t0 = start / fps
        out.append(clip.model_copy(update={
            "key": f"{key}-{n}", "path": ref, "sha256": store._recorded_hash(store.file(ref)), "shot_id": shot_id,
            "seconds": info.video_duration or info.duration, "has_audio": info.has_audio,
            "speech_spans": [(max(0.0, a - t0), min(seconds, b - t0)) for a, b in clip.speech_spans
                             if b > t0 and a < t0 + seconds],
            "notes": [*clip.notes, f"shot {n + 1} of {len(parts)} in one multi-shot call "
                                   f"(frames {start}-{start + frames - 1} of job {clip.job_id})"],
            "cost_usd": clip.cost_usd if n == 0 else 0.0, "submissions": clip.submissions if n == 0 else 0}))
        start += frames
    return out
