"""Sora 2 / Sora 2 Pro through the official `openai` SDK videos resource.

OpenAI shut this API down on 2026-09-24; the catalog marks the models retired and routing never
picks them on its own. The adapter stays for gateways that still speak the protocol
(OPENAI_BASE_URL) and for archives: a 404/410 "model retired" answer is a permanent error, so the
shot falls back to the next model.
"""

from __future__ import annotations

import base64
from pathlib import Path

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import base_url, classify, require, retry_after_seconds

ENV = "OPENAI_API_KEY"
SIZES = {("16:9", 720): "1280x720", ("9:16", 720): "720x1280",
         ("16:9", 1024): "1792x1024", ("9:16", 1024): "1024x1792"}


class SoraProvider(Adapter):
    STATUS = {"queued": "queued", "in_progress": "running", "completed": "succeeded", "failed": "failed"}
    name = "openai"
    version = "1"

    @property
    def base(self) -> str:
        return base_url("OPENAI_BASE_URL", "https://api.openai.com/v1")

    def _client(self):
        from openai import OpenAI

        return OpenAI(api_key=require(self.name, ENV), base_url=self.base, max_retries=0, timeout=60.0)

    def _guard(self, fn, *args, **kw):
        import openai

        try:
            return fn(*args, **kw)
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            msg = (body.get("message") if isinstance(body, dict) else None) or str(exc.message)
            raise classify(self.name, exc.status_code, msg, env=ENV,
                           retry_after=retry_after_seconds(exc.response.headers)) from None
        except openai.APIConnectionError as exc:
            raise TransientProviderError(f"openai: {type(exc).__name__}") from None
        except ValueError as exc:
            raise TransientProviderError(f"openai: malformed response ({type(exc).__name__})") from None

    def submit(self, request: GenerationRequest) -> str:
        short = min(request.width, request.height)
        size = SIZES.get((request.aspect if request.aspect in ("16:9", "9:16") else "16:9",
                          1024 if short >= 1024 else 720), "1280x720")
        kw = {}
        if request.image_path:
            data = base64.b64encode(Path(request.image_path).read_bytes()).decode()
            mime = "image/png" if request.image_path.lower().endswith(".png") else "image/jpeg"
            kw["input_reference"] = {"image_url": f"data:{mime};base64,{data}"}
        client = self._client()
        video = self._guard(client.videos.create, prompt=request.prompt,
                            model=request.route_model or "sora-2", seconds=str(request.seconds),
                            size=size, **kw)
        return str(video.id)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        client = self._client()
        video = self._guard(client.videos.retrieve, job_id)
        err = video.error
        msg = f"{getattr(err, 'code', '')}: {getattr(err, 'message', '')}" if err else None
        return self.state(video.status, error=msg, progress=float(video.progress or 0) / 100)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        client = self._client()
        content = self._guard(client.videos.download_content, job_id, variant="video")
        Path(dest).write_bytes(content.read())
        return self.rendered(request, "via the OpenAI videos API")
