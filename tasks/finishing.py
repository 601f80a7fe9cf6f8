"""Prefect tasks: per-shot upscale and conform, then the audio mix and the export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from prefect import task
from pydantic import BaseModel, ConfigDict

from reelflow.errors import MediaError
from reelflow.media.edit import Encode, Source
from reelflow.media.segments import SegmentDamage, export_segmented
from reelflow.media.ffmpeg import measure_loudness, probe
from reelflow.media.finishing import (
    conform_audio, conform_filter, lanczos_filter, plan_upscale, resolve_fit,
)
from reelflow.edit.clip import ClipResult
from reelflow.media.mix import STEMS, MixReport, ShotSound, mix_edit
from reelflow.spec.shotlist import MusicBed, fps_value
from reelflow.store.local import Store, sha256_file, temp_prefix, write_json_atomic
from reelflow.tasks.caching import StoredArtifacts, content_key
from reelflow.edit.timeline import Timeline

UPSCALE_VERSION = "upscale-2"
CONFORM_VERSION = "conform-2"
MIX_VERSION = "mix-5"  # 3: no DC, faded head and tail (AAC rang on a step: +1.7 dBTP); 4: with stems;
# 5: the dialogue-to-music ratio
EXPORT_VERSION = "export-2"  # by segments: a closed GOP at every shot boundary


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
    stems: dict[str, str] = {}  # dialogue, effects, production, music -> WAV in the store (same gain)
    dialogue_to_music_db: float | None = None  # speech over the ducked music bed while someone speaks


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
    segments_encoded: int = 0  # segments this export encoded (the rest came from earlier exports)
    segments_reused: int = 0
    frames_encoded: int = 0


class ConformSpec(BaseModel):
    """How one shot is conformed into the edit: output size and rate, its frames on the
    timeline, the aspect fit and the crop's focus."""

    model_config = ConfigDict(frozen=True)
    size: tuple[int, int]
    fps: int | float  # as written: 24 and 24.0 key alike only if typed alike
    frames: int
    fit: str
    focus: Any = None
    skip: float = 0.0  # seconds of the clip left out at its start (a shot ending on a keyframe shows the tail)


class MixJob(BaseModel):
    """The edit's sound: the timeline, each shot's sounds, the music bed and the loudness target."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    timeline: Timeline
    sounds: list[ShotSound]
    bed: MusicBed
    music: str | None
    target_lufs: float


class ExportJob(BaseModel):
    """The edit's picture: conformed shots on the timeline, the mix, the size and the grade."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    timeline: Timeline
    shots: list[Conformed]
    mix: MixResult
    size: tuple[int, int]
    lut: str | None = None


def _joins(tl: Timeline) -> list:
    return [(c.start, c.frames, c.join_out.type if c.join_out else None) for c in tl.clips]


def _upscale_parts(i: dict) -> list:
    return [UPSCALE_VERSION, i["clip"].sha256, list(i["size"]), i["fit"], i["backend"]]


def _conform_parts(i: dict) -> list:
    m, c = i["media"], i["spec"]
    return [CONFORM_VERSION, m.sha256, m.filter, list(c.size), c.fps, c.frames, c.fit, c.focus,
            *([round(c.skip, 6)] if c.skip else [])]


def _mix_parts(i: dict) -> list:
    job: MixJob = i["job"]
    return [MIX_VERSION, [sha256_file(s.wav) for s in job.sounds], _joins(job.timeline), job.timeline.fps,
            [(s.gain_db, s.enabled, s.speech, [(sha256_file(t.path), t.at, t.gain_db, t.speech) for t in s.stems])
             for s in job.sounds],
            job.bed.model_dump(mode="json"), sha256_file(job.music) if job.music else None, job.target_lufs]


def _export_parts(i: dict) -> list:
    job: ExportJob = i["job"]
    return [EXPORT_VERSION, [c.sha256 for c in job.shots], job.mix.sha256, _joins(job.timeline), job.timeline.fps,
            list(job.size), sha256_file(job.lut) if job.lut else None]


def _upscaled(inputs: dict, key: str) -> list | None:
    if inputs["backend"] == "cloud":
        return None  # keyed by its provider request in the store: generate_clip never pays twice
    found = [(inputs["clip"].path, inputs["clip"].sha256)]
    return found + [(f"derived/{key}.mp4", None)] if inputs["backend"] == "realesrgan" else found


UPSCALE_CACHE = StoredArtifacts(prefix="upscale", parts=_upscale_parts, artifacts=_upscaled)
CONFORM_CACHE = StoredArtifacts(prefix="conform", parts=_conform_parts, artifacts=lambda i, k: [
    (i["media"].path, i["media"].sha256), (f"derived/{k}.wav", None)])
MIX_CACHE = StoredArtifacts(prefix="mix", parts=_mix_parts, artifacts=lambda i, k: [
    (f"derived/{k}.wav", None), *((f"derived/{k}-{name}.wav", None) for name in STEMS)])
EXPORT_CACHE = StoredArtifacts(prefix="export", parts=_export_parts,
                               artifacts=lambda i, k: [(f"derived/{k}.edit.mp4", None)])


# ---------------------------------------------------------------- upscale


@task(name="upscale", cache_policy=UPSCALE_CACHE, persist_result=True)
def upscale(clip: ClipResult, size: tuple[int, int], fit: str, backend: str, store_root: str) -> Media:
    """Bring a shot up to what the output needs; skip when it is already large enough.

    lanczos (default) is a filter the conform applies while decoding, so it costs no extra
    encode; realesrgan writes an upscaled file (expensive, opt-in). Never upscales twice: the
    result is cached on the source's content hash."""
    store = Store(store_root)
    path, sha256 = clip.path, clip.sha256
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

        ref = store.derived_ref(UPSCALE_CACHE.key_of(clip=clip, size=size, fit=fit, backend=backend))
        if not store.verified(ref):
            part = store.tmp_path(".mp4")
            upscale_realesrgan(store.file(path), part, plan.width, plan.height)
            store.commit(part, ref)
        return Media(path=ref, sha256=store._recorded_hash(store.file(ref)), width=plan.width, height=plan.height,
                     fps=info.fps or 0, upscaled=True, backend="realesrgan")
    if backend == "cloud":
        from reelflow.generation.cloud_upscale import upscale_cloud

        up = upscale_cloud(store.file(path), sha256, (plan.width, plan.height), store)
        return Media(path=up.path, sha256=up.sha256, width=up.width, height=up.height,
                     fps=up.fps, upscaled=True, backend="cloud")
    raise MediaError(f"unknown upscale backend '{backend}' (use lanczos, realesrgan, cloud or none)")


# ---------------------------------------------------------------- conform


@task(name="conform", cache_policy=CONFORM_CACHE, persist_result=True)
def conform_shot(shot_id: str, media: Media, spec: ConformSpec, store_root: str) -> Conformed:
    """The shot's conform recipe (size, aspect fit, frame rate, 4:2:0) and its sound as a 48 kHz
    stereo WAV of exactly the shot's length. The picture is conformed as the edit reads it."""
    store = Store(store_root)
    audio = store.derived_ref(CONFORM_CACHE.key_of(media=media, spec=spec), ".wav")
    source = store.file(media.path)
    if not store.verified(media.path, media.sha256):
        raise MediaError(f"shot '{shot_id}': {media.path} is missing or changed in the store; run again to fetch it")
    info = probe(source, count_frames=False)
    if not info.has_video:
        raise MediaError(f"shot '{shot_id}': {source.name} has no video stream")
    src = (media.width, media.height) if media.filter else info.display_size
    skip = f"trim=start={spec.skip:.6f},setpts=PTS-STARTPTS" if spec.skip else None
    pre = ",".join(f for f in (skip, media.filter) if f) or None
    vf = conform_filter(src, spec.size, spec.fps, spec.fit, spec.focus, pre=pre)
    if not store.verified(audio):
        part = store.tmp_path(".wav")
        conform_audio(source, part, spec.frames / fps_value(spec.fps), skip=spec.skip)
        store.commit(part, audio)
    return Conformed(shot_id=shot_id, video=media.path, vf=vf, audio=audio,
                     sha256=content_key([media.sha256, vf]), frames=spec.frames,
                     fit=resolve_fit(spec.fit, src, spec.size))


# ---------------------------------------------------------------- mix


@task(name="mix-audio", cache_policy=MIX_CACHE, persist_result=True)
def mix_audio(job: MixJob, store_root: str) -> MixResult:
    store = Store(store_root)
    key = MIX_CACHE.key_of(job=job)
    out = store.derived_ref(key, ".wav")
    report_path = store.derived(key, ".mix.json")
    stem_refs = {name: store.derived_ref(f"{key}-{name}", ".wav") for name in STEMS}
    cached = _read_report(MixResult, report_path)
    if cached is not None and store.verified(out, cached.sha256) and all(map(store.verified, stem_refs.values())):
        return cached.model_copy(update={"wav": out, "stems": stem_refs})
    part = store.tmp_path(".wav")
    stem_parts = {name: store.tmp_path(f".{name}.wav") for name in STEMS}
    try:
        report: MixReport = mix_edit(job.timeline, job.sounds, job.bed, Path(job.music) if job.music else None,
                                     job.target_lufs, part, stems=stem_parts)
    except BaseException:
        for p in (part, *stem_parts.values()):
            p.unlink(missing_ok=True)
        raise
    for name, stem_part in stem_parts.items():
        store.commit(stem_part, stem_refs[name])
    sha = store.commit(part, out)
    result = MixResult(wav=out, sha256=sha, integrated_lufs=report.integrated_lufs,
                       true_peak_db=report.true_peak_db, sample_peak_db=report.sample_peak_db,
                       duck_regions=report.duck_regions, gain_db=report.gain_db, stems=stem_refs,
                       dialogue_to_music_db=report.dialogue_to_music_db)
    write_json_atomic(report_path, json.loads(result.model_dump_json()))  # a crash never leaves half a report
    return result


# ---------------------------------------------------------------- export


@task(name="export", cache_policy=EXPORT_CACHE, persist_result=True)
def export(job: ExportJob, store_root: str, label: str = "edit") -> Exported:
    """Assemble with transitions and encode; the result lives in the store, keyed by inputs."""
    store = Store(store_root)
    key = EXPORT_CACHE.key_of(job=job)
    timeline, size = job.timeline, job.size
    out = store.derived_ref(key, ".edit.mp4")
    meta = store.derived(key, ".edit.json")
    cached = _read_report(Exported, meta)
    if cached is not None and store.verified(out, cached.sha256):
        return cached.model_copy(update={"path": out})
    part = store.tmp_path(".mp4")
    from reelflow.runtime.config import emit
    from reelflow.runtime.memory import release

    release()  # what the renders before it freed, before its encoders and decoders start

    sources = [Source(store.file(c.video), c.vf) for c in job.shots]
    identities = [c.sha256 for c in job.shots]  # content and conform recipe of each shot
    settings = Encode(lut=Path(job.lut) if job.lut else None, progress=lambda i, n: emit(f"export {label}", label, i, n))
    try:
        try:
            done = export_segmented(timeline, sources, identities, store.file(job.mix.wav), part, size,
                                    lambda k: store.derived(f"segment-{k}"), settings)
        except SegmentDamage:  # a stored segment was damaged: encode every segment afresh
            done = export_segmented(timeline, sources, identities, store.file(job.mix.wav), part, size,
                                    lambda k: store.derived(f"segment-{k}"), settings, reuse=False)
        info = probe(part)
        loud = measure_loudness(part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    sha = store.commit(part, out)
    result = Exported(path=out, sha256=sha, duration=info.video_duration or info.duration,
                      frames=info.frames or 0, width=info.width or 0, height=info.height or 0,
                      fps=info.fps or 0, has_audio=info.has_audio,
                      integrated_lufs=loud.integrated_lufs, true_peak_dbtp=loud.true_peak_dbtp,
                      segments_encoded=done.encoded, segments_reused=done.reused, frames_encoded=done.frames_encoded)
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
