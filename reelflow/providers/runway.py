"""Runway's API through its official SDK (`runwayml`): Gen-4.5.

`POST /v1/text_to_video` or `/v1/image_to_video` (the first frame as a data URI at
`position: first`) return a task id; `GET /v1/tasks/{id}` walks PENDING/THROTTLED/RUNNING to
SUCCEEDED (`output`: URLs) or FAILED (`failure`, `failureCode`). Every request carries
`X-Runway-Version` (the SDK's). Gen-4.5 is silent and takes 2-10 s at 1280:720 or 720:1280.
Key: RUNWAYML_API_SECRET; base URL: RUNWAYML_BASE_URL (both the SDK's own variables).
"""

from __future__ import annotations

import os

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import missing_sdk, _data_url, classify, download_url, require

ENV = "RUNWAYML_API_SECRET"
RATIOS = {"16:9": "1280:720", "9:16": "720:1280"}


class RunwayProvider(Adapter):
    STATUS = {"PENDING": "queued", "THROTTLED": "queued", "RUNNING": "running", "SUCCEEDED": "succeeded",
              "FAILED": "failed", "CANCELLED": "failed"}
    name = "runway"
    version = "1"

    def _client(self):
        try:
            from runwayml import RunwayML
        except ImportError:  # an optional extra: say how to get it
            raise missing_sdk("runway", "runway") from None
        # reelflow's own retries and ledger decide what is sent again, never the SDK
        return RunwayML(api_key=require(self.name, ENV), max_retries=0, timeout=60.0,
                        base_url=os.environ.get("RUNWAYML_BASE_URL") or None)

    def _guard(self, fn, *args, **kw):
        import runwayml

        try:
            return fn(*args, **kw)
        except runwayml.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            message = str(body.get("error") or body.get("message") or exc.message)
            raise classify(self.name, exc.status_code, message, env=ENV,
                           retry_after=_retry_after(exc)) from None
        except runwayml.APIConnectionError as exc:
            raise TransientProviderError(f"runway: {type(exc).__name__}") from None
        except ValueError as exc:  # JSON the SDK could not decode
            raise TransientProviderError(f"runway: malformed response ({type(exc).__name__})") from None

    @staticmethod
    def body(request: GenerationRequest, inline: bool = True) -> dict:
        """The task as sent (``inline=False``: the first frame by hash, the request's identity)."""
        body = {"model": request.route_model or "gen4.5", "prompt_text": request.prompt[:1000],
                "ratio": RATIOS.get(request.aspect, "1280:720"), "duration": request.seconds, "seed": request.seed}
        if request.image_path:
            uri = _data_url(request.image_path) if inline else f"sha256:{request.image_sha256}"
            body["prompt_image"] = [{"uri": uri, "position": "first"}]
        return body

    def identity(self, request: GenerationRequest) -> dict:
        return self.body(request, inline=False)

    def submit(self, request: GenerationRequest) -> str:
        client = self._client()
        body = self.body(request)
        create = client.image_to_video.create if "prompt_image" in body else client.text_to_video.create
        task = self._guard(create, **body)
        if not getattr(task, "id", None):
            raise TransientProviderError("runway: create answered without a task id")
        return str(task.id)

    def _task(self, job_id: str):
        return self._guard(self._client().tasks.retrieve, job_id)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        task = self._task(job_id)
        failure = getattr(task, "failure", None)
        code = getattr(task, "failure_code", None)
        error = f"{code}: {failure}" if code else failure
        # Runway's failure codes name moderation (SAFETY.*): a refusal, never retried
        rejected = bool(code and str(code).upper().startswith("SAFETY"))
        if task.status == "FAILED":
            return self.failed(str(error or "failed"), rejected=rejected or None)
        return self.state(task.status, progress=getattr(task, "progress", None))

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        task = self._task(job_id)
        urls = getattr(task, "output", None) or []
        if not urls:
            raise TransientProviderError("runway: task has no output")
        download_url(self.name, urls[0], dest)
        return self.rendered(request, "on Runway")


def _retry_after(exc) -> float | None:
    from reelflow.providers.common import retry_after_seconds

    return retry_after_seconds(getattr(getattr(exc, "response", None), "headers", None))
