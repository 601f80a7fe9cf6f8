"""Alibaba Cloud Model Studio (DashScope) adapter, official SDK `dashscope`: Wan 3.0 and HappyHorse.

One asynchronous task API for every mode (`VideoSynthesis.async_call` sends
`POST /services/aigc/video-generation/video-synthesis` with `X-DashScope-Async: enable`;
`VideoSynthesis.fetch` reads `GET /tasks/{task_id}`). Wan 3.0 is "all in one": the mode follows
`input.media` (`first_frame`/`last_frame`, or `reference_image`s; the two kinds cannot be mixed).
Local frames go up through the SDK's own temporary OSS upload (`oss://` URLs). Alibaba keeps the
task and its video URL for 24 h: a task read back as `UNKNOWN` is gone and is submitted again.
Base URL: DASHSCOPE_HTTP_BASE_URL (the SDK's variable), default the Singapore endpoint.
"""

from __future__ import annotations

import os
from http import HTTPStatus

from reelflow.errors import OutputGoneError, TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import missing_sdk, build_input, classify, download_url, require

ENV = "DASHSCOPE_API_KEY"
DEFAULT_BASE = "https://dashscope-intl.aliyuncs.com/api/v1"
# parameters of wan3.0-video as documented (Model Studio API reference, 2026-09/10): integer
# duration, upper-case resolution tier; the catalog route's `parameters` replaces this template
PARAMETERS = {"resolution": "{resolution}P", "ratio": "{aspect}", "duration": "{seconds}", "seed": "{seed}",
              "watermark": False}


def _sdk():
    try:
        import dashscope
        from dashscope import VideoSynthesis
    except ImportError:  # an optional extra: say how to get it
        raise missing_sdk("dashscope", "dashscope") from None

    # read per call, not at import: a process may point the SDK elsewhere after importing it
    dashscope.base_http_api_url = os.environ.get("DASHSCOPE_HTTP_BASE_URL", DEFAULT_BASE).rstrip("/")
    return VideoSynthesis


class DashScopeProvider(Adapter):
    STATUS = {"PENDING": "queued", "RUNNING": "running", "SUCCEEDED": "succeeded", "FAILED": "failed",
              "CANCELED": "failed"}
    name = "dashscope"
    version = "1"

    @staticmethod
    def media(request: GenerationRequest, inline: bool = True) -> list[dict]:
        """`input.media`: the shot's frames, else the cast's references (never both: the API
        refuses the mix). ``inline=False`` names each file by its hash (the request's identity)."""
        def item(kind: str, path: str | None, sha: str | None) -> dict:
            return {"type": kind, "url": path if inline else f"sha256:{sha}"}

        frames = [item("first_frame", request.image_path, request.image_sha256)] if request.image_path else []
        if request.last_frame_path:
            frames.append(item("last_frame", request.last_frame_path, request.last_frame_sha256))
        if frames:
            return frames
        return [item("reference_image", p, sha) for p, sha in zip(request.reference_paths, request.reference_sha256s)]

    @classmethod
    def call(cls, request: GenerationRequest, inline: bool = True) -> dict:
        """The SDK call's arguments (also what the task is made of, files by hash)."""
        params = build_input(request, request.route_params.get("parameters") or PARAMETERS, inline=False)
        media = cls.media(request, inline)
        return {"model": request.route_model, "prompt": request.prompt, **({"media": media} if media else {}),
                **params}

    def identity(self, request: GenerationRequest) -> dict:
        return self.call(request, inline=False)

    def _check(self, response, what: str):
        """DashScope answers errors as a response (status_code, code, message), not as exceptions."""
        status = getattr(response, "status_code", None)
        if status == HTTPStatus.OK:
            return response
        message = f"{getattr(response, 'code', '') or ''} {getattr(response, 'message', '') or ''}".strip()
        if status is None or status < 100:
            raise TransientProviderError(f"dashscope: {what}: no answer ({message or 'connection failed'})")
        raise classify(self.name, int(status), f"{what}: {message}", env=ENV)

    def _guard(self, fn, *args, what: str, **kw):
        import requests

        try:
            return self._check(fn(*args, **kw), what)
        except (requests.RequestException, ConnectionError) as exc:
            raise TransientProviderError(f"dashscope: {what}: {type(exc).__name__}") from None
        except ValueError as exc:  # a body the SDK could not decode
            raise TransientProviderError(f"dashscope: {what}: malformed response ({type(exc).__name__})") from None
        except Exception as exc:  # noqa: BLE001 - the SDK's upload errors: the OSS upload is retried
            if type(exc).__name__ in ("UploadFileException", "InvalidInput"):
                if "InvalidApiKey" in str(exc) or "401" in str(exc):  # the upload's policy is keyed too
                    raise classify(self.name, 401, "upload refused", env=ENV) from None
                raise TransientProviderError(f"dashscope: {what}: upload failed ({type(exc).__name__})") from None
            raise

    def submit(self, request: GenerationRequest) -> str:
        sdk = _sdk()
        response = self._guard(sdk.async_call, api_key=require(self.name, ENV), what="create task",
                               **self.call(request))
        task = getattr(getattr(response, "output", None), "task_id", None)
        if not task:
            raise TransientProviderError("dashscope: create answered without output.task_id")
        return str(task)

    def _task(self, job_id: str):
        output = self._guard(_sdk().fetch, job_id, api_key=require(self.name, ENV), what="task").output
        if output is None:
            raise TransientProviderError("dashscope: task answered without output")
        return output

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        output = self._task(job_id)
        status = getattr(output, "task_status", None)
        if status == "UNKNOWN":  # past the 24 h window: the paid task is gone, the next attempt submits
            return self.failed("output expired", rejected=False)
        error = getattr(output, "message", None)
        code = getattr(output, "code", None)
        return self.state(status, error=f"{code}: {error}" if code else error)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        output = self._task(job_id)
        if getattr(output, "task_status", None) == "UNKNOWN":
            raise OutputGoneError(f"dashscope: task {job_id} is no longer known (kept 24 h)")
        url = getattr(output, "video_url", None)
        if not url:
            raise TransientProviderError("dashscope: task has no video_url")
        download_url(self.name, url, dest)
        return self.rendered(request, "on Alibaba Cloud Model Studio (DashScope)")
