"""QC where the pipeline meets the store: what a request expects of its clip, and the clip's
report, measured once per clip and settings and kept with the clip (clips/<key>.json) and its
paid job (jobs/<key>.json), so a re-run or another worker reads it instead of measuring again."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Mapping

from reelflow.edit.clip import ClipResult
from reelflow.providers.base import GenerationRequest
from reelflow.store.local import Store, write_json_atomic
from reelflow.qc.report import Expectation, QCReport

log = logging.getLogger("reelflow.qc")

SEED_STEP = 7919  # a re-roll's seed: far from the shot's own, the same on every run


def reroll_seed(seed: int, k: int) -> int:
    return (seed + SEED_STEP * k) % (2 ** 31)


def expectation(request: GenerationRequest, provider) -> Expectation:
    """What the clip must be: the request, at the size and rate the provider says it delivers
    for it (the animatic renders drafts small; a real draft tier may too)."""
    from reelflow.providers.animatic.provider import parse_camera

    delivers = getattr(provider, "delivers", None)
    w, h, fps = delivers(request) if delivers else (request.width, request.height, request.fps)
    extending = bool(request.video_path and request.extend_from)
    return Expectation(
        seconds=None if extending else float(request.seconds),  # an extension returns the whole clip so far
        width=w, height=h, fps=fps, audio=request.audio,
        moving_camera=parse_camera(request.camera).label != "static",
        first_frame=request.image_path if (request.frames_required and request.image_path and not extending) else None,
        cast_images=tuple(request.reference_paths),
        mouth=provider.mouth_box(request) if hasattr(provider, "mouth_box") else None,
        speech_audio=request.driving_audio_path,
    )


def digest(expect: Expectation, overrides: Mapping[str, Any]) -> str:
    """What a report depends on besides the clip's bytes (image paths by content would be
    better; they are named by content hash in the request already)."""
    from reelflow.qc.runner import VERSION, settings

    payload = json.dumps([VERSION, expect.model_dump(mode="json"), settings(overrides)], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def checked(clip: ClipResult, request: GenerationRequest, provider, store: Store,
            overrides: Mapping[str, Any]) -> ClipResult:
    """The clip with its QC report: read back when this clip was checked with these settings
    before, else measured now and recorded with the clip and its job."""
    from reelflow.qc.runner import check_clip

    expect = expectation(request, provider)
    key = digest(expect, overrides)
    meta = store.clip_meta(clip.key) or {}
    known = (meta.get("qc") or {}).get(key)
    if known:
        report = QCReport(**known)
    else:
        report = check_clip(store.file(clip.path), expect, overrides, sha256=clip.sha256)
        _record(store, clip.key, key, report)
        if report.findings:
            log.warning("QC %s %s (%s): %s", clip.shot_id, clip.tier, clip.model,
                        "; ".join(f.line() for f in report.findings))
    return clip.model_copy(update={"qc": report.model_dump(mode="json")})


def _record(store: Store, clip_key: str, key: str, report: QCReport) -> None:
    """Beside the clip (its json) and in the ledger: a failed clip stays a paid clip, never good."""
    meta_path = store.clip_path(clip_key).with_suffix(".json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    meta.setdefault("qc", {})[key] = report.model_dump(mode="json")
    write_json_atomic(meta_path, meta)
    job = store.job(clip_key)
    if job is not None:
        store.record_job(clip_key, {**job, "qc": {"failed": report.failed, "summary": report.summary(),
                                                  "findings": [f.line() for f in report.findings]}})


def failed(clip: ClipResult) -> bool:
    return bool(clip.qc) and any(f.get("severity") == "fail" for f in clip.qc.get("findings", ()))


def summary(clip: ClipResult) -> str:
    if not clip.qc:
        return "not checked"
    return QCReport(**clip.qc).summary()
