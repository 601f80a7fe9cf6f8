"""Shared adapter plumbing: credentials, fault classification, rate limits, downloads, inputs.

Keys come from the environment or Prefect Secret blocks and are only ever placed in request
headers: never in messages, results, logs or the cache key.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import httpx

from reelflow.runtime.secrets import credential, secret_block_name
from reelflow.errors import (
    ContentRejectedError, MediaError, OutputGoneError, PermanentProviderError, ProviderError,
    TransientProviderError,
)
from reelflow.media.ffmpeg import probe
from reelflow.providers.base import GenerationRequest

SAFETY_WORDS = ("safety", "content policy", "content_policy", "moderation", "blocked", "violat",
                "sensitive", "raimedia", "rai_media", "filtered", "not allowed", "risk control",
                "inappropriate", "nsfw", "policy")


class AuthError(PermanentProviderError):
    """Credentials missing or refused: stops the run; the message names the variable to set."""


def missing_sdk(provider: str, extra: str) -> PermanentProviderError:
    """An optional SDK that is not installed: the error says how to get it."""
    return PermanentProviderError(f"{provider}: the SDK is not installed; pip install 'reelflow[{extra}]'")


def require(provider: str, env: str) -> str:
    value = credential(env)
    if not value:
        raise AuthError(f"{provider}: no credentials; set {env} (or a Prefect Secret block "
                        f"'{secret_block_name(env)}')")
    return value


def looks_rejected(message: str) -> bool:
    text = message.lower()
    return any(w in text for w in SAFETY_WORDS)


def retry_after_seconds(headers) -> float | None:
    if headers is None:
        return None
    for name in ("retry-after", "Retry-After"):
        raw = headers.get(name) if hasattr(headers, "get") else None
        if raw:
            try:
                return max(0.0, float(raw))
            except ValueError:
                return None
    ms = headers.get("openai-poll-after-ms") if hasattr(headers, "get") else None
    return float(ms) / 1000 if ms else None


def classify(provider: str, status: int | None, message: str, *, env: str = "",
             retry_after: float | None = None) -> ProviderError:
    """One rule for every adapter: what may be retried and what may not."""
    msg = f"{provider}: {status or 'error'} {message}".strip()
    if status in (401, 403):
        return AuthError(f"{provider}: authentication refused ({status}); check {env or 'the API key'}")
    if status in (408, 409, 425, 429) or (status is not None and status >= 500):
        err = TransientProviderError(msg)
        err.retry_after = retry_after  # type: ignore[attr-defined]
        return err
    if status in (404, 410):
        return PermanentProviderError(f"{msg} (model retired or not found)")
    if looks_rejected(message):
        return ContentRejectedError(msg)
    return PermanentProviderError(msg)


def error_message(body: bytes | str | None) -> str:
    """The human part of a provider's JSON error body, whatever its shape; never the body raw."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:200]
    for path in (("error", "message"), ("message",), ("detail",), ("error",), ("title",)):
        cur: Any = data
        for key in path:
            cur = cur.get(key) if isinstance(cur, dict) else None
        if isinstance(cur, str) and cur:
            return cur[:300]
        if isinstance(cur, list) and cur:
            return json.dumps(cur)[:300]
    return text.strip()[:200]


def parse_json(provider: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise TransientProviderError(
            f"{provider}: malformed JSON from {response.request.method} {response.request.url.path} "
            f"(HTTP {response.status_code}, {len(response.content)} bytes)") from None


def base_url(env: str, default: str) -> str:
    return os.environ.get(env, default).rstrip("/")


def download_url(provider: str, url: str, dest: str, headers: dict | None = None,
                 timeout: float = 600) -> None:
    """Stream a result URL to ``dest``; network trouble and 5xx are transient."""
    try:
        with httpx.stream("GET", url, headers=headers or {}, timeout=timeout, follow_redirects=True) as r:
            if r.status_code >= 400:
                r.read()
                if r.status_code in (404, 410):
                    raise OutputGoneError(f"{provider}: output no longer available ({r.status_code})")
                raise classify(provider, r.status_code, f"download: {error_message(r.content)}")
            with open(dest, "wb") as fh:
                for chunk in r.iter_bytes(1 << 16):
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        raise TransientProviderError(f"{provider}: download interrupted: {type(exc).__name__}") from None


def _data_url(path: str) -> str:
    mime = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode()}"


def image_data_url(req: GenerationRequest) -> str | None:
    return _data_url(req.image_path) if req.image_path else None


def video_data_url(req: GenerationRequest) -> str | None:
    if not req.video_path:
        return None
    return f"data:video/mp4;base64,{base64.b64encode(Path(req.video_path).read_bytes()).decode()}"


RESOLUTION_NAMES = {1440: "2k", 2160: "4k"}  # LTX on Replicate names them so (providers.md 3.3)


def template_vars(req: GenerationRequest, inline: bool = True) -> dict[str, Any]:
    """Values a route's input template may use. ``inline=False`` stands content hashes in for
    the media (the identity of a request, without reading or embedding the files)."""
    image = image_data_url(req) if inline else (f"sha256:{req.image_sha256}" if req.image_path else None)
    video = video_data_url(req) if inline else (f"sha256:{req.video_sha256}" if req.video_path else None)
    # the cast's reference images; Veo and Seedance refuse them together with a first frame
    references = None
    if req.reference_paths and not req.image_path:
        references = ([_data_url(p) for p in req.reference_paths] if inline
                      else [f"sha256:{sha}" for sha in req.reference_sha256s])
    last = (_data_url(req.last_frame_path) if inline else f"sha256:{req.last_frame_sha256}") \
        if req.last_frame_path else None
    # the shot's dialogue track, for a model that follows driving audio (lip sync)
    driving = (f"data:audio/wav;base64,{base64.b64encode(Path(req.driving_audio_path).read_bytes()).decode()}"
               if inline else f"sha256:{req.driving_audio_sha256}") if req.driving_audio_path else None
    return {
        "references": references, "last_frame": last,
        "video": video, "upscale_factor": req.route_params.get("upscale_factor"),
        "target_height": req.height, "seconds_text": str(req.seconds),
        "prompt": req.prompt, "negative_prompt": req.negative_prompt, "seconds": req.seconds,
        "aspect": req.aspect, "resolution": min(req.width, req.height), "width": req.width,
        "resolution_name": RESOLUTION_NAMES.get(min(req.width, req.height), f"{min(req.width, req.height)}p"),
        "height": req.height, "fps": req.fps, "audio": req.audio, "seed": req.seed,
        "image": image, "model": req.route_model, "driving_audio": driving,
        "driving_audio_with_visual": driving if (image or references) else None,
    }


DEFAULT_INPUT = {"prompt": "{prompt}", "negative_prompt": "{negative_prompt}", "duration": "{seconds}",
                 "aspect_ratio": "{aspect}", "resolution": "{resolution}p", "seed": "{seed}",
                 "generate_audio": "{audio}", "image": "{image}"}


def build_input(req: GenerationRequest, template: dict[str, Any] | None, inline: bool = True) -> dict[str, Any]:
    """Map a request onto a model's input schema. Template values: "{var}" keeps the value's
    type, other strings are formatted ("{seconds}s" -> "8s"), anything else is a literal. Fields
    whose value is None (no image, no negative prompt) are left out."""
    env = template_vars(req, inline)
    out: dict[str, Any] = {}
    for key, tpl in (template or DEFAULT_INPUT).items():
        if isinstance(tpl, str) and tpl.startswith("{") and tpl.endswith("}") and tpl.count("{") == 1:
            value = env.get(tpl[1:-1])
        elif isinstance(tpl, str) and "{" in tpl:
            needed = [k for k in env if "{" + k + "}" in tpl]
            value = None if any(env[k] is None for k in needed) else tpl.format(**env)
        else:
            value = tpl
        if value is not None:
            out[key] = value
    # a frame the shot must start or end on (continuity) is never dropped silently: a route
    # whose input has no field for it refuses, and the shot falls back to a model that can
    used = json.dumps(template or DEFAULT_INPUT)
    missing = [what for name, what in (("image", "first frame"), ("last_frame", "last frame"))
               if req.frames_required and env.get(name) is not None and "{" + name + "}" not in used]
    if missing:
        raise PermanentProviderError(f"{req.route_model}: its input has no field for the {' or the '.join(missing)} "
                                     f"the shot must start or end on")
    return out


def poll_interval() -> float:
    """Seconds between status polls (REELFLOW_POLL_INTERVAL; providers' own hints win)."""
    return float(os.environ.get("REELFLOW_POLL_INTERVAL", "5"))


def http_call(provider: str, env: str, method: str, url: str, headers: dict,
              timeout: float = 60.0, **kw) -> httpx.Response:
    """One HTTP request with faults classified (the submission is paced by the task)."""
    try:
        r = httpx.request(method, url, headers=headers, timeout=httpx.Timeout(timeout, connect=10.0), **kw)
    except httpx.HTTPError as exc:
        raise TransientProviderError(
            f"{provider}: {type(exc).__name__} on {method} {httpx.URL(url).path}") from None
    if r.status_code >= 400:
        raise classify(provider, r.status_code, error_message(r.content), env=env,
                       retry_after=retry_after_seconds(r.headers))
    return r


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
