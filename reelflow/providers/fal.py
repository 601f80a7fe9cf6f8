"""fal queue API adapter: submit, status (queue position, logs), result, cancel.

fal-client 1.0.3 always builds https://{host} URLs, so this adapter speaks the queue protocol
with httpx against a configurable base URL (FAL_QUEUE_URL; proxies, gateways, tests).
Request URLs use only the endpoint's owner/alias: fal-ai/kling-video/v3/pro/text-to-video is
polled at {base}/fal-ai/kling-video/requests/{id}.
"""

from __future__ import annotations

import httpx

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import (
    build_input, download_url, http_call, looks_rejected, parse_json, require,
)
from reelflow.providers.common import base_url as configured_url

ENV = "FAL_KEY"

FAL_INPUT = {"prompt": "{prompt}", "negative_prompt": "{negative_prompt}", "duration": "{seconds}",
             "aspect_ratio": "{aspect}", "resolution": "{resolution}p", "seed": "{seed}",
             "generate_audio": "{audio}", "image_url": "{image}"}


def request_root(endpoint: str) -> str:
    """owner/alias of an endpoint id (workflows/ and comfy/ keep one more segment)."""
    parts = endpoint.strip("/").split("/")
    keep = 3 if parts[0] in ("workflows", "comfy") else 2
    return "/".join(parts[:keep])


class FalProvider(Adapter):
    name = "fal"
    version = "1"
    STATUS = {"IN_QUEUE": "queued", "IN_PROGRESS": "running", "COMPLETED": "succeeded"}

    @property
    def base(self) -> str:
        return configured_url("FAL_QUEUE_URL", "https://queue.fal.run")

    def _headers(self) -> dict:
        return {"Authorization": f"Key {require(self.name, ENV)}", "Content-Type": "application/json"}

    def _call(self, method: str, url: str, **kw) -> httpx.Response:
        return http_call(self.name, ENV, method, url, self._headers(), **kw)

    def _job_url(self, request: GenerationRequest, job_id: str) -> str:
        return f"{self.base}/{request_root(request.route_model or '')}/requests/{job_id}"

    def identity(self, request: GenerationRequest) -> dict:
        """What this request sends: the endpoint and its body (media by content hash)."""
        return {"endpoint": request.route_model,
                "input": build_input(request, request.route_params.get("input") or FAL_INPUT, inline=False)}

    def submit(self, request: GenerationRequest) -> str:
        body = build_input(request, request.route_params.get("input") or FAL_INPUT)
        r = self._call("POST", f"{self.base}/{request.route_model}", json=body)
        data = parse_json(self.name, r)
        job = data.get("request_id") if isinstance(data, dict) else None
        if not job:
            raise TransientProviderError("fal: submit answered without a request_id")
        return str(job)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        r = self._call("GET", f"{self._job_url(request, job_id)}/status", params={"logs": "1"})
        data = parse_json(self.name, r)
        if data.get("status") == "COMPLETED" and data.get("error"):  # fal completes failed jobs too
            err, kind = str(data.get("error")), str(data.get("error_type") or "")
            return self.failed(err, rejected=looks_rejected(f"{err} {kind}"))
        return self.state(data.get("status"), progress=0.0 if data.get("status") == "IN_QUEUE" else None)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        r = self._call("GET", self._job_url(request, job_id))
        data = parse_json(self.name, r)
        video = data.get("video") if isinstance(data, dict) else None
        url = video.get("url") if isinstance(video, dict) else None
        if not url:
            raise TransientProviderError("fal: result has no video.url")
        download_url(self.name, url, dest)
        return self.rendered(request, f"on fal ({request.route_model})")

    def cancel(self, request: GenerationRequest, job_id: str) -> None:
        self._call("PUT", f"{self._job_url(request, job_id)}/cancel")
