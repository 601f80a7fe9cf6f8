"""Gemini Omni (Veo's successor on the Gemini API) through the Interactions protocol, with the
official google-genai SDK (`client.interactions`).

    POST /v1/interactions            {model, input, background: true, response_format: {type: video, ...},
                                      generation_config: {seed, video_config: {task}}}
    GET  /v1/interactions/{id}       status: queued | in_progress | completed | failed | cancelled | ...
                                      completed -> output_video {data (base64) | uri, mime_type}

Credentials: GEMINI_API_KEY (or the Prefect Secret block reelflow-gemini-api-key), sent as
x-goog-api-key. GEMINI_BASE_URL points the SDK elsewhere (gateways, tests). The SDK's own retries
are switched off: faults are classified here and retried by Prefect, like every adapter.

Details the reference leaves uncertain are configuration (README "Gemini Omni"):
REELFLOW_GEMINI_DELIVERY (inline | uri, default inline), REELFLOW_GEMINI_DURATION (a format for
the duration string, default "{seconds}s"); a catalog route may set `resolution: 360p` (the
draft tier of the same model).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import AuthError, classify, download_url, retry_after_seconds
from reelflow.runtime.secrets import credential

ENV = "GEMINI_API_KEY"
RESOLUTIONS = {360: "360p", 720: "720p", 1080: "1080p", 2160: "4k"}
RUNNING = {"queued": "queued", "in_progress": "running", "requires_continuation": "running"}
FAILED = ("failed", "cancelled", "incomplete", "budget_exceeded", "requires_action")


class GeminiOmniProvider(Adapter):
    STATUS = {**RUNNING, "completed": "succeeded", **{word: "failed" for word in FAILED}}
    name = "gemini"
    version = "1"

    def _client(self):
        from google import genai
        from google.genai import types

        key = credential(ENV)
        if not key:
            raise AuthError(f"{self.name}: no credentials; set {ENV}")
        opts = {"retry_options": types.HttpRetryOptions(attempts=1)}
        if os.environ.get("GEMINI_BASE_URL"):
            opts["base_url"] = os.environ["GEMINI_BASE_URL"]
        return genai.Client(api_key=key, http_options=types.HttpOptions(**opts))

    def _guard(self, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except Exception as exc:  # noqa: BLE001 - the SDK's errors, pydantic and httpx, by kind
            status = getattr(exc, "status_code", None)
            if isinstance(status, int) and 200 <= status < 300:  # a 200 whose body did not parse
                raise TransientProviderError(f"{self.name}: malformed response ({type(exc).__name__})") from None
            if isinstance(status, int):
                headers = getattr(exc, "headers", None) or {}
                raise classify(self.name, status, _message(exc), env=ENV,
                               retry_after=retry_after_seconds(headers)) from None
            kinds = {c.__name__ for c in type(exc).__mro__}
            module = type(exc).__module__
            # network faults: the SDK's APIConnectionError/APITimeoutError, or its vendored httpx's
            if kinds & {"APIConnectionError", "NoResponseError", "ConnectionError", "TimeoutError"} \
                    or "httpx" in module or "httpcore" in module:
                raise TransientProviderError(f"{self.name}: {type(exc).__name__}") from None
            if kinds & {"APIResponseValidationError", "ResponseValidationError", "ValueError"} or "pydantic" in module:
                raise TransientProviderError(f"{self.name}: malformed response ({type(exc).__name__})") from None
            raise

    def body(self, request: GenerationRequest) -> dict:
        """The interaction a request becomes (also what tests assert on)."""
        short = min(request.width, request.height)
        resolution = request.route_params.get("resolution") or RESOLUTIONS.get(short, "720p")
        duration = os.environ.get("REELFLOW_GEMINI_DURATION", "{seconds}s").format(seconds=request.seconds)
        delivery = os.environ.get("REELFLOW_GEMINI_DELIVERY", "inline")
        content: list[dict] = [{"type": "text", "text": _prompt(request)}]
        content += [_image(p) for p in (request.image_path, request.last_frame_path) if p]
        content += [_image(p) for p in request.reference_paths]
        body = {
            "model": request.route_model,
            "input": content if len(content) > 1 else content[0]["text"],
            "background": True,
            "response_format": {"type": "video", "aspect_ratio": request.aspect if request.aspect in ("16:9", "9:16")
                                else "16:9", "duration": duration, "resolution": resolution, "delivery": delivery},
            "generation_config": {"seed": request.seed, "video_config": {"task": _task(request)}},
        }
        if request.extend_from:  # continue the clip of an earlier interaction
            body["previous_interaction_id"] = request.extend_from
        return body

    def submit(self, request: GenerationRequest) -> str:
        client = self._client()  # keep a reference while the call runs
        interaction = self._guard(client.interactions.create, **self.body(request))
        if not getattr(interaction, "id", None):
            raise TransientProviderError("gemini: interaction without an id")
        return interaction.id

    def _get(self, job_id: str):
        client = self._client()
        return self._guard(client.interactions.get, job_id)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        it = self._get(job_id)
        status = str(it.status or "")
        error = "; ".join(f"{getattr(e, 'code', '')} {getattr(e, 'message', '')}".strip() for e in (it.errors or []))
        # a status word this API adds later reads as still running: the job is paid for
        return self.state(status if status in self.STATUS else "in_progress", error=error or None)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        video = getattr(self._get(job_id), "output_video", None)
        if video is not None and video.data:
            data = video.data if isinstance(video.data, (bytes, bytearray)) else base64.b64decode(video.data)
            Path(dest).write_bytes(data)
        elif video is not None and video.uri and video.uri.startswith("http"):
            download_url(self.name, video.uri, dest, headers={"x-goog-api-key": credential(ENV) or ""})
        else:
            raise TransientProviderError("gemini: completed interaction without a video")
        return self.rendered(request, f"on the Gemini API (Interactions, {request.route_model})")


def _task(request: GenerationRequest) -> str:
    """The Interactions video task: extend an earlier clip, follow references, start from a
    first (and optional last) frame, or text alone."""
    if request.extend_from:
        return "extend"
    if request.reference_paths:
        return "reference_to_video"
    return "image_to_video" if request.image_path or request.last_frame_path else "text_to_video"


def _image(path: str) -> dict:
    """An image content block, in the order first frame, last frame, references (the order the
    reference documents no field name for; see README)."""
    mime = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    return {"type": "image", "mime_type": mime, "data": base64.b64encode(Path(path).read_bytes()).decode()}


def _prompt(request: GenerationRequest) -> str:
    """Omni takes no negative prompt field (none is documented): say it in words."""
    if request.negative_prompt:
        return f"{request.prompt}\n\nAvoid: {request.negative_prompt}"
    return request.prompt


def _message(exc: Exception) -> str:
    """The error body's message (the SDK's compat errors carry the body parsed, others as text)."""
    import json

    from reelflow.providers.common import error_message

    body = getattr(exc, "body", "") or ""
    if not isinstance(body, (str, bytes)):
        body = json.dumps(body, default=str)
    return error_message(body) or str(exc)
