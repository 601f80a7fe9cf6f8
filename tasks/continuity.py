"""Prefect tasks for continuity: a clip's last frame (what the next shot or segment starts on)
and a long take's segments joined into one clip. Both are cached on content while their files
verify in the store, like every derived artifact."""

from __future__ import annotations

from prefect import task
from pydantic import BaseModel, ConfigDict

from reelflow.edit.clip import ClipResult
from reelflow.media.ffmpeg import probe
from reelflow.media.frames import extract_last_frame, extract_shown_frame, join_segments
from reelflow.store.local import Store
from reelflow.tasks.caching import StoredArtifacts

FRAME_VERSION = "last-frame-1"
JOIN_VERSION = "join-1"


class Frame(BaseModel):
    """A still the next clip starts (or ends) on: where it is and its content hash (the hash is
    what enters the next clip's cache key, so a changed upstream clip re-renders its followers)."""

    model_config = ConfigDict(frozen=True)
    path: str  # store-relative for frames taken from clips; absolute for a keyframe asset
    sha256: str


LAST_FRAME_CACHE = StoredArtifacts(prefix="last-frame", parts=lambda i: [FRAME_VERSION, i["clip"].sha256,
                                                                         i.get("shown")],
                                   artifacts=lambda i, k: [(i["clip"].path, i["clip"].sha256),
                                                           (f"derived/{k}.png", None)])
JOIN_CACHE = StoredArtifacts(prefix="join", parts=lambda i: [JOIN_VERSION, [c.sha256 for c in i["clips"]]],
                             artifacts=lambda i, k: [(f"derived/{k}.mp4", None)])


@task(name="last-frame", cache_policy=LAST_FRAME_CACHE, persist_result=True)
def last_frame(clip: ClipResult, store_root: str, shown: tuple[int, float] | None = None) -> Frame:
    """The clip's last frame, or with ``shown`` = (frames, fps) the last one the edit shows of
    it (a shot's clip is often longer than the shot: the next shot continues what was seen)."""
    store = Store(store_root)
    ref = store.derived_ref(LAST_FRAME_CACHE.key_of(clip=clip, shown=shown), ".png")
    if not store.verified(ref):
        part = store.tmp_path(".png")
        if shown:
            extract_shown_frame(store.file(clip.path), part, shown[0] - 1, shown[1])
        else:
            extract_last_frame(store.file(clip.path), part)
        store.commit(part, ref)
    return Frame(path=ref, sha256=store._recorded_hash(store.file(ref)))


@task(name="join-take", cache_policy=JOIN_CACHE, persist_result=True)
def join_take(clips: list[ClipResult], store_root: str) -> ClipResult:
    """A long take's segments as one clip of the shot; cost, submissions and notes add up."""
    store = Store(store_root)
    key = JOIN_CACHE.key_of(clips=clips)
    ref = store.derived_ref(key)
    if not store.verified(ref):
        part = store.tmp_path(".mp4")
        join_segments([store.file(c.path) for c in clips], part, clips[0].fps)
        store.commit(part, ref)
    info = probe(store.file(ref), count_frames=False)
    first = clips[0]
    notes = [*first.notes, f"long take: {len(clips)} segments joined "
                           f"({' + '.join(f'{c.seconds:.2f}s' for c in clips)}, each later one from the last frame)"]
    return first.model_copy(update={
        "key": key, "path": ref, "sha256": store._recorded_hash(store.file(ref)),
        "seconds": info.video_duration or info.duration, "has_audio": info.has_audio, "notes": notes,
        "speech_spans": [], "ends_on_frame": clips[-1].ends_on_frame, **_paid_for(clips)})


def extended_take(clips: list[ClipResult]) -> ClipResult:
    """A long take by the extend API is the last call's clip (it holds every earlier one);
    cost, submissions and notes add up over the calls."""
    last = clips[-1]
    notes = [*clips[0].notes, f"long take: {len(clips)} calls of the extend API "
                              f"({clips[0].seconds:.2f}s, then extended to {last.seconds:.2f}s)"]
    return last.model_copy(update={"notes": notes, **_paid_for(clips)})


def _paid_for(clips: list[ClipResult]) -> dict:
    """What a take of several provider calls adds up to: cost, submissions, cache, job ids."""
    return {"cost_usd": round(sum(c.cost_usd for c in clips), 4), "cache_hit": all(c.cache_hit for c in clips),
            "submissions": sum(c.submissions for c in clips), "job_id": ",".join(c.job_id for c in clips)}
