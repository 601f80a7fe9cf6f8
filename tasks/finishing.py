"""Prefect tasks: per-shot upscale and conform, then the audio mix and the export."""

from __future__ import annotations

import hashlib
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
from reelflow.store import Store, sha256_file, write_json_atomic
from reelflow.timeline import Timeline

UPSCALE_VERSION = "upscale-2"
CONFORM_VERSION = "conform-2"
MIX_VERSION = "mix-2"  # true-peak ceiling for AAC headroom
EXPORT_VERSION = "export-1"


class Media(BaseModel):
    """A shot's picture source: a file, plus the upscale filter to apply on decode (if any)."""

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


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _param_key(prefix: str):
    def fn(context, parameters) -> str:
        return f"{prefix}-{_key(parameters.get('key_parts'))}"
    return fn


# ---------------------------------------------------------------- upscale


def upscale_key_parts(src_sha: str, size: tuple[int, int], fit: str, backend: str) -> list:
    return [UPSCALE_VERSION, src_sha, list(size), fit, backend]


@task(name="upscale", cache_key_fn=_param_key("upscale"), persist_result=True)
def upscale(path: str, sha256: str, size: tuple[int, int], fit: str, backend: str, store_root: str,
            key_parts: list) -> Media:
    """Bring a shot up to what the output needs; skip when it is already large enough.

    lanczos (default) is a filter the conform applies while decoding, so it costs no extra
    encode; realesrgan writes an upscaled file (expensive, opt-in). Never upscales twice: the
    result is cached on the source's content hash."""
    info = probe(path, count_frames=False)
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

        store = Store(store_root)
        dest = store.derived(_key(key_parts))
        if not dest.is_file():
            part = store.tmp_path(".mp4")
            upscale_realesrgan(Path(path), part, plan.width, plan.height)
            part.replace(dest)
        return Media(path=str(dest), sha256=sha256_file(dest), width=plan.width, height=plan.height,
                     fps=info.fps or 0, upscaled=True, backend="realesrgan")
    if backend == "cloud":
        from reelflow.cloud_upscale import upscale_cloud

        clip = upscale_cloud(Path(path), sha256, plan.width, plan.height, Store(store_root))
        return Media(path=clip.path, sha256=clip.sha256, width=clip.width, height=clip.height,
                     fps=clip.fps, upscaled=True, backend="cloud")
    raise MediaError(f"unknown upscale backend '{backend}' (use lanczos, realesrgan, cloud or none)")


# ---------------------------------------------------------------- conform


def conform_key_parts(src_sha: str, pre: str | None, size: tuple[int, int], fps: float, frames: int,
                      fit: str, focus) -> list:
    return [CONFORM_VERSION, src_sha, pre, list(size), fps, frames, fit, focus]


@task(name="conform", cache_key_fn=_param_key("conform"), persist_result=True)
def conform_shot(shot_id: str, media: Media, size: tuple[int, int], fps: float, frames: int,
                 fit: str, focus, store_root: str, key_parts: list) -> Conformed:
    """The shot's conform recipe (size, aspect fit, frame rate, 4:2:0) and its sound as a 48 kHz
    stereo WAV of exactly the shot's length. The picture is conformed as the edit reads it."""
    store = Store(store_root)
    key = _key(key_parts)
    audio = store.derived(key, ".wav")
    info = probe(media.path, count_frames=False)
    if not info.has_video:
        raise MediaError(f"shot '{shot_id}': {Path(media.path).name} has no video stream")
    src = (media.width, media.height) if media.filter else info.display_size
    vf = conform_filter(src, size, fps, fit, focus, pre=media.filter)
    if not audio.is_file():
        part = store.tmp_path(".wav")
        conform_audio(Path(media.path), part, frames / fps_value(fps))
        part.replace(audio)
    return Conformed(shot_id=shot_id, video=media.path, vf=vf, audio=str(audio),
                     sha256=_key([media.sha256, vf]), frames=frames,
                     fit=resolve_fit(fit, src, size))


# ---------------------------------------------------------------- mix


@task(name="mix-audio", cache_key_fn=_param_key("mix"), persist_result=True)
def mix_audio(timeline: Timeline, sounds: list[ShotSound], bed: MusicBed, music: str | None,
              target_lufs: float, store_root: str, key_parts: list) -> MixResult:
    store = Store(store_root)
    key = _key(key_parts)
    out = store.derived(key, ".wav")
    report_path = store.derived(key, ".mix.json")
    if out.is_file() and report_path.is_file():
        try:
            cached = MixResult.model_validate_json(report_path.read_text())
            if sha256_file(out) == cached.sha256:
                return cached
        except ValueError:  # a half-written or foreign report: mix again rather than fail
            pass
    part = store.tmp_path(".wav")
    report: MixReport = mix_edit(timeline, sounds, bed, Path(music) if music else None,
                                 target_lufs, part, store.root / "tmp")
    part.replace(out)
    result = MixResult(wav=str(out), sha256=sha256_file(out), integrated_lufs=report.integrated_lufs,
                       true_peak_db=report.true_peak_db, sample_peak_db=report.sample_peak_db,
                       duck_regions=report.duck_regions, gain_db=report.gain_db)
    write_json_atomic(report_path, json.loads(result.model_dump_json()))  # a crash never leaves half a report
    return result


# ---------------------------------------------------------------- export


@task(name="export", cache_key_fn=_param_key("export"), persist_result=True)
def export(timeline: Timeline, shots: list[Conformed], audio_wav: str, size: tuple[int, int],
           lut: str | None, store_root: str, key_parts: list, label: str = "edit") -> Exported:
    """Assemble with transitions and encode; the result lives in the store, keyed by inputs."""
    store = Store(store_root)
    key = _key(key_parts)
    out = store.derived(key, ".edit.mp4")
    meta = store.derived(key, ".edit.json")
    if out.is_file() and meta.is_file():
        cached = Exported.model_validate_json(meta.read_text())
        if cached.sha256 == sha256_file(out):
            return cached
    part = store.tmp_path(".mp4")
    from reelflow.config import emit

    export_edit(timeline, [Source(Path(c.video), c.vf) for c in shots], Path(audio_wav), part, size,
                lut=Path(lut) if lut else None, progress=lambda i, n: emit(f"export {label}", label, i, n))
    info = probe(part)
    loud = measure_loudness(part)
    part.replace(out)
    result = Exported(path=str(out), sha256=sha256_file(out), duration=info.video_duration or info.duration,
                      frames=info.frames or 0, width=info.width or 0, height=info.height or 0,
                      fps=info.fps or 0, has_audio=info.has_audio,
                      integrated_lufs=loud.integrated_lufs, true_peak_dbtp=loud.true_peak_dbtp)
    write_json_atomic(meta, result.model_dump(mode="json"))
    return result


def publish(src: str, dest: Path) -> Path:
    """Copy a stored edit to its place in the output folder (atomic rename)."""
    import os
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    # a unique temporary name: two runs publishing one file never share a half-copied temp
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest
