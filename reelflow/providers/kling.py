"""Kling's own API: HS256 JWT from access key + secret key, {code, message, data} envelopes,
task status `succeed`, millisecond timestamps. Base URL: KLING_BASE_URL."""

from __future__ import annotations

import base64
import time
import warnings
from pathlib import Path

import jwt

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import (
    base_url, classify, download_url, http_call, parse_json, require,
)

ACCESS, SECRET = "KLING_ACCESS_KEY", "KLING_SECRET_KEY"


def kling_token(access: str, secret: str, now: float | None = None) -> str:
    now = time.time() if now is None else now
    with warnings.catch_warnings():  # the secret's length is Kling's to choose, not the user's
        warnings.simplefilter("ignore")
        return jwt.encode({"iss": access, "exp": int(now) + 1800, "nbf": int(now) - 5}, secret,
                          algorithm="HS256", headers={"alg": "HS256", "typ": "JWT"})


class KlingProvider(Adapter):
    STATUS = {"submitted": "queued", "processing": "running", "succeed": "succeeded", "failed": "failed"}
    name = "kling"
    version = "1"

    @property
    def base(self) -> str:
        return base_url("KLING_BASE_URL", "https://api-singapore.klingai.com")

    def _headers(self) -> dict:
        token = kling_token(require(self.name, ACCESS), require(self.name, SECRET))
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def _envelope(self, method: str, path: str, **kw) -> dict:
        r = http_call(self.name, f"{ACCESS} and {SECRET}", method, f"{self.base}{path}", self._headers(), **kw)
        body = parse_json(self.name, r)
        if not isinstance(body, dict) or body.get("code") not in (0, None):
            code = body.get("code") if isinstance(body, dict) else None
            msg = body.get("message", "") if isinstance(body, dict) else ""
            # Kling pairs an HTTP status with a body code; a 200 with a non-zero code is an error too
            status = 401 if code in (1000, 1001, 1002, 1003, 1004) else 429 if code in (1302, 1303) \
                else 500 if code in (5000, 5001, 5002) else 400
            raise classify(self.name, status, f"code {code}: {msg}", env=f"{ACCESS} and {SECRET}")
        return body.get("data") or {}

    @staticmethod
    def _kind(request: GenerationRequest) -> str:
        return "image2video" if request.image_path or request.last_frame_path else "text2video"

    def submit(self, request: GenerationRequest) -> str:
        body = {
            "model_name": request.route_model or "kling-v3",
            "prompt": request.prompt[:2500],
            "mode": request.route_params.get("mode") or ("pro" if request.tier == "final" else "std"),
            "aspect_ratio": request.aspect if request.aspect in ("16:9", "9:16", "1:1") else "16:9",
            "duration": str(request.seconds),
            "sound": "on" if request.audio else "off",
        }
        if request.negative_prompt:
            body["negative_prompt"] = request.negative_prompt[:2500]
        if request.group:  # a scene group: one call, a prompt and a length per shot (kling-v3)
            body.update(multi_shot=True, shot_type="customize", multi_prompt=[
                {"index": k + 1, "prompt": p.prompt[:2500], "duration": str(p.seconds)}
                for k, p in enumerate(request.group)])
        if request.image_path:
            body["image"] = base64.b64encode(Path(request.image_path).read_bytes()).decode()
        if request.last_frame_path:  # image_tail: the clip ends on this frame (raw base64, no data: prefix)
            body["image_tail"] = base64.b64encode(Path(request.last_frame_path).read_bytes()).decode()
        data = self._envelope("POST", f"/v1/videos/{self._kind(request)}", json=body)
        task = data.get("task_id")
        if not task:
            raise TransientProviderError("kling: create answered without data.task_id")
        return str(task)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        data = self._envelope("GET", f"/v1/videos/{self._kind(request)}/{job_id}")
        return self.state(data.get("task_status"), error=data.get("task_status_msg"))

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        data = self._envelope("GET", f"/v1/videos/{self._kind(request)}/{job_id}")
        videos = (data.get("task_result") or {}).get("videos") or []
        if not videos or not videos[0].get("url"):
            raise TransientProviderError("kling: task has no video url")
        download_url(self.name, videos[0]["url"], dest)
        return self.rendered(request, f"on Kling ({body_mode(request)})")


def body_mode(request: GenerationRequest) -> str:
    return str(request.route_params.get("mode") or ("pro" if request.tier == "final" else "std"))
