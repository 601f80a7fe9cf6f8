"""Prefect tasks: per-shot upscale and conform, then the audio mix and the export."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict

from reelflow.errors import MediaError
from reelflow.media.edit import export_edit
from reelflow.media.ffmpeg import measure_loudness, probe
from reelflow.media.finishing import conform, plan_upscale, upscale_lanczos
from reelflow.media.mix import MixReport, ShotSound, mix_edit
from reelflow.shotlist import MusicBed
from reelflow.store import Store, sha256_file, write_json_atomic
from reelflow.timeline import Timeline

UPSCALE_VERSION = "lanczos-1"
CONFORM_VERSION = "conform-1"
MIX_VERSION = "mix-1"
EXPORT_VERSION = "export-1"


class Media(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    sha256: str
    width: int
    height: int
    fps: float
    upscaled: bool = False


class Conformed(BaseModel):
    model_config = ConfigDict(frozen=True)
    shot_id: str
    video: str
    audio: str
    sha256: str
    frames: int


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


def upscale_key_parts(src_sha: str, size: tuple[int, int], fit: str) -> list:
    return [UPSCALE_VERSION, src_sha, list(size), fit]


@task(name="upscale", cache_key_fn=_param_key("upscale"), persist_result=True)
def upscale(path: str, sha256: str, size: tuple[int, int], fit: str, store_root: str,
            key_parts: list) -> Media:
    """Lanczos upscale when the source is smaller than the output needs; skip otherwise."""
    info = probe(path, count_frames=False)
    plan = plan_upscale((info.width, info.height), size, fit)  # type: ignore[arg-type]
    if not plan.needed:
        return Media(path=path, sha256=sha256, width=info.width, height=info.height, fps=info.fps or 0)
    store = Store(store_root)
    dest = store.derived(_key(key_parts))
    if not dest.is_file():
        part = store.tmp_path(".mp4")
        upscale_lanczos(Path(path), part, plan.width, plan.height)
        part.replace(dest)
    return Media(path=str(dest), sha256=sha256_file(dest), width=plan.width, height=plan.height,
                 fps=info.fps or 0, upscaled=True)


# ---------------------------------------------------------------- conform


def conform_key_parts(src_sha: str, size: tuple[int, int], fps: int, frames: int, fit: str) -> list:
    return [CONFORM_VERSION, src_sha, list(size), fps, frames, fit]


@task(name="conform", cache_key_fn=_param_key("conform"), persist_result=True)
def conform_shot(shot_id: str, path: str, size: tuple[int, int], fps: int, frames: int, fit: str,
                 store_root: str, key_parts: list) -> Conformed:
    """Exactly the shot's frames at the output size and fps, plus its sound as 48 kHz WAV."""
    store = Store(store_root)
    key = _key(key_parts)
    video, audio = store.derived(key), store.derived(key, ".wav")
    if not (video.is_file() and audio.is_file()):
        vpart, apart = store.tmp_path(".mp4"), store.tmp_path(".wav")
        conform(Path(path), vpart, apart, size=size, fps=fps, frames=frames, fit=fit)  # type: ignore[arg-type]
        got = probe(vpart)
        if got.frames != frames:
            raise MediaError(f"conform {shot_id}: {got.frames} frames, expected {frames}")
        vpart.replace(video)
        apart.replace(audio)
    return Conformed(shot_id=shot_id, video=str(video), audio=str(audio),
                     sha256=sha256_file(video), frames=frames)


# ---------------------------------------------------------------- mix


@task(name="mix-audio", cache_key_fn=_param_key("mix"), persist_result=True)
def mix_audio(timeline: Timeline, sounds: list[ShotSound], bed: MusicBed, music: str | None,
              target_lufs: float, store_root: str, key_parts: list) -> MixResult:
    store = Store(store_root)
    key = _key(key_parts)
    out = store.derived(key, ".wav")
    report_path = store.derived(key, ".mix.json")
    if out.is_file() and report_path.is_file():
        return MixResult.model_validate_json(report_path.read_text())
    part = store.tmp_path(".wav")
    report: MixReport = mix_edit(timeline, sounds, bed, Path(music) if music else None,
                                 target_lufs, part, store.root / "tmp")
    part.replace(out)
    result = MixResult(wav=str(out), sha256=sha256_file(out), integrated_lufs=report.integrated_lufs,
                       true_peak_db=report.true_peak_db, sample_peak_db=report.sample_peak_db,
                       duck_regions=report.duck_regions, gain_db=report.gain_db)
    report_path.write_text(result.model_dump_json())
    return result


# ---------------------------------------------------------------- export


@task(name="export", cache_key_fn=_param_key("export"), persist_result=True)
def export(timeline: Timeline, videos: list[str], audio_wav: str, size: tuple[int, int],
           store_root: str, key_parts: list) -> Exported:
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

    export_edit(timeline, [Path(v) for v in videos], Path(audio_wav), part, size,
                progress=lambda i, n: emit("export", "edit", i, n))
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
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(src, tmp)
    tmp.replace(dest)
    return dest
