"""Prefect tasks: per-shot upscale and conform, then the audio mix and the export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict

from reelflow.errors import MediaError
from reelflow.media.edit import Source, export_edit
from reelflow.media.ffmpeg import measure_loudness, probe
from reelflow.media.finishing import (
    conform_audio, conform_filter, lanczos_filter, plan_upscale, resolve_fit,
)
from reelflow.shotlist import fps_value
from reelflow.media.mix import MixReport, ShotSound, mix_edit
from reelflow.shotlist import MusicBed
from reelflow.store import Store, temp_prefix, write_json_atomic
from reelflow.tasks.caching import StoredArtifacts, content_key
from reelflow.timeline import Timeline

UPSCALE_VERSION = "upscale-2"
CONFORM_VERSION = "conform-2"
MIX_VERSION = "mix-2"  # true-peak ceiling for AAC headroom
EXPORT_VERSION = "export-1"


class Media(BaseModel):
    """A shot's picture source: a file, plus the upscale filter to apply on decode (if any).
    Every path in these results is store-relative (resolve with Store.file)."""

    model_config = ConfigDict(frozen=True)
    path: str
    sha256: str
    width: int  # picture size after the upscale
    height: int
    fps: float
    upscaled: bool = False
    backend: str | None = None
    filter: str | None = None


class Conformed(BaseModel):
    model_config = ConfigDict(frozen=True)
    shot_id: str
    video: str  # source file
    vf: str  # conform filter applied when the edit reads it
    audio: str  # conformed sound (WAV)
    sha256: str  # identity of (source content, recipe)
    frames: int
    fit: str


class MixResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    wav: str
    sha256: str
    integrated_lufs: float
    true_peak_db: float
    sample_peak_db: float
    duck_regions: list[tuple[float, float]]
    gain_db: float


class Exported(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    sha256: str
    duration: float
    frames: int
    width: int
    height: int
    fps: float
    has_audio: bool
    integrated_lufs: float
    true_peak_dbtp: float


def _key(parts) -> str:
    return content_key(parts)


def _upscaled(inputs: dict, key: str) -> list | None:
    if inputs["backend"] == "cloud":
        return None  # keyed by its provider request in the store: generate_clip never pays twice
    found = [(inputs["path"], inputs["sha256"])]
    return found + [(f"derived/{key}.mp4", None)] if inputs["backend"] == "realesrgan" else found


UPSCALE_CACHE = StoredArtifacts(prefix="upscale", artifacts=_upscaled)
CONFORM_CACHE = StoredArtifacts(prefix="conform", artifacts=lambda i, k: [
    (i["media"].path, i["media"].sha256), (f"derived/{k}.wav", None)])
MIX_CACHE = StoredArtifacts(prefix="mix", artifacts=lambda i, k: [(f"derived/{k}.wav", None)])
EXPORT_CACHE = StoredArtifacts(prefix="export", artifacts=lambda i, k: [(f"derived/{k}.edit.mp4", None)])


# ---------------------------------------------------------------- upscale


def upscale_key_parts(src_sha: str, size: tuple[int, int], fit: str, backend: str) -> list:
    return [UPSCALE_VERSION, src_sha, list(size), fit, backend]


@task(name="upscale", cache_policy=UPSCALE_CACHE, persist_result=True)
def upscale(path: str, sha256: str, size: tuple[int, int], fit: str, backend: str, store_root: str,
            key_parts: list) -> Media:
    """Bring a shot up to what the output needs; skip when it is already large enough.

    lanczos (default) is a filter the conform applies while decoding, so it costs no extra
    encode; realesrgan writes an upscaled file (expensive, opt-in). Never upscales twice: the
    result is cached on the source's content hash."""
    store = Store(store_root)
    info = probe(store.file(path), count_frames=False)
    src = info.display_size
    plan = plan_upscale(src, size, fit)
    if not plan.needed or backend == "none":
        return Media(path=path, sha256=sha256, width=src[0], height=src[1], fps=info.fps or 0)
    if backend == "lanczos":
        return Media(path=path, sha256=sha256, width=plan.width, height=plan.height,
                     fps=info.fps or 0, upscaled=True, backend="lanczos",
                     filter=lanczos_filter(plan.width, plan.height))
    if backend == "realesrgan":
        from reelflow.media.superres import upscale_realesrgan

        ref = store.derived_ref(_key(key_parts))
        if not store.verified(ref):
            part = store.tmp_path(".mp4")
            upscale_realesrgan(store.file(path), part, plan.width, plan.height)
            store.commit(part, ref)
        return Media(path=ref, sha256=store._recorded_hash(store.file(ref)), width=plan.width, height=plan.height,
                     fps=info.fps or 0, upscaled=True, backend="realesrgan")
    if backend == "cloud":
        from reelflow.cloud_upscale import upscale_cloud

        clip = upscale_cloud(store.file(path), sha256, plan.width, plan.height, store)
        return Media(path=clip.path, sha256=clip.sha256, width=clip.width, height=clip.height,
                     fps=clip.fps, upscaled=True, backend="cloud")
    raise MediaError(f"unknown upscale backend '{backend}' (use lanczos, realesrgan, cloud or none)")


# ---------------------------------------------------------------- conform


def conform_key_parts(src_sha: str, pre: str | None, size: tuple[int, int], fps: float, frames: int,
                      fit: str, focus) -> list:
    return [CONFORM_VERSION, src_sha, pre, list(size), fps, frames, fit, focus]


@task(name="conform", cache_policy=CONFORM_CACHE, persist_result=True)
def conform_shot(shot_id: str, media: Media, size: tuple[int, int], fps: float, frames: int,
                 fit: str, focus, store_root: str, key_parts: list) -> Conformed:
    """The shot's conform recipe (size, aspect fit, frame rate, 4:2:0) and its sound as a 48 kHz
    stereo WAV of exactly the shot's length. The picture is conformed as the edit reads it."""
    store = Store(store_root)
    audio = store.derived_ref(_key(key_parts), ".wav")
    source = store.file(media.path)
    if not store.verified(media.path, media.sha256):
        raise MediaError(f"shot '{shot_id}': {media.path} is missing or changed in the store; run again to fetch it")
    info = probe(source, count_frames=False)
    if not info.has_video:
        raise MediaError(f"shot '{shot_id}': {source.name} has no video stream")
    src = (media.width, media.height) if media.filter else info.display_size
    vf = conform_filter(src, size, fps, fit, focus, pre=media.filter)
    if not store.verified(audio):
        part = store.tmp_path(".wav")
        conform_audio(source, part, frames / fps_value(fps))
        store.commit(part, audio)
    return Conformed(shot_id=shot_id, video=media.path, vf=vf, audio=audio,
                     sha256=_key([media.sha256, vf]), frames=frames,
                     fit=resolve_fit(fit, src, size))


# ---------------------------------------------------------------- mix


@task(name="mix-audio", cache_policy=MIX_CACHE, persist_result=True)
def mix_audio(timeline: Timeline, sounds: list[ShotSound], bed: MusicBed, music: str | None,
              target_lufs: float, store_root: str, key_parts: list) -> MixResult:
    store = Store(store_root)
    key = _key(key_parts)
    out = store.derived_ref(key, ".wav")
    report_path = store.derived(key, ".mix.json")
    cached = _read_report(MixResult, report_path)
    if cached is not None and store.verified(out, cached.sha256):
        return cached.model_copy(update={"wav": out})
    part = store.tmp_path(".wav")
    try:
        report: MixReport = mix_edit(timeline, sounds, bed, Path(music) if music else None,
                                     target_lufs, part, store.root / "tmp")
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    sha = store.commit(part, out)
    result = MixResult(wav=out, sha256=sha, integrated_lufs=report.integrated_lufs,
                       true_peak_db=report.true_peak_db, sample_peak_db=report.sample_peak_db,
                       duck_regions=report.duck_regions, gain_db=report.gain_db)
    write_json_atomic(report_path, json.loads(result.model_dump_json()))  # a crash never leaves half a report
    return result


# ---------------------------------------------------------------- export


@task(name="export", cache_policy=EXPORT_CACHE, persist_result=True)
def export(timeline: Timeline, shots: list[Conformed], audio_wav: str, size: tuple[int, int],
           lut: str | None, store_root: str, key_parts: list, label: str = "edit") -> Exported:
    """Assemble with transitions and encode; the result lives in the store, keyed by inputs."""
    store = Store(store_root)
    key = _key(key_parts)
    out = store.derived_ref(key, ".edit.mp4")
    meta = store.derived(key, ".edit.json")
    cached = _read_report(Exported, meta)
    if cached is not None and store.verified(out, cached.sha256):
        return cached.model_copy(update={"path": out})
    part = store.tmp_path(".mp4")
    from reelflow.config import emit

    try:
        export_edit(timeline, [Source(store.file(c.video), c.vf) for c in shots], store.file(audio_wav), part,
                    size, lut=Path(lut) if lut else None, progress=lambda i, n: emit(f"export {label}", label, i, n))
        info = probe(part)
        loud = measure_loudness(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    sha = store.commit(part, out)
    result = Exported(path=out, sha256=sha, duration=info.video_duration or info.duration,
                      frames=info.frames or 0, width=info.width or 0, height=info.height or 0,
                      fps=info.fps or 0, has_audio=info.has_audio,
                      integrated_lufs=loud.integrated_lufs, true_peak_dbtp=loud.true_peak_dbtp)
    write_json_atomic(meta, result.model_dump(mode="json"))
    return result


def _read_report(model, path: Path):
    """A report written by an earlier run, or None when missing, empty or not ours."""
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def publish(src: str | Path, dest: Path) -> Path:
    """Copy a stored edit to its place in the output folder (atomic rename)."""
    import os
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    # a unique temporary name: two runs publishing one file never share a half-copied temp
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=temp_prefix(dest.name), suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest
