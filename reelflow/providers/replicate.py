"""Replicate adapter (official `replicate` client): any catalog model with a Replicate slug.

The client retries 429/503/504 on GET only, never a POST and never a 500: every other fault is
classified here and retried by Prefect. `aborted` (Cancel-After) is terminal, unlike in the
client's own wait loop. Outputs are deleted after an hour: the flow downloads at once.
"""

from __future__ import annotations

import httpx

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import (
    base_url, build_input, classify, download_url, require,
)

ENV = "REPLICATE_API_TOKEN"


class ReplicateProvider(Adapter):
    STATUS = {"starting": "queued", "processing": "running", "succeeded": "succeeded", "failed": "failed",
              "canceled": "failed", "aborted": "failed"}
    name = "replicate"
    version = "1"

    @property
    def base(self) -> str:
        return base_url("REPLICATE_BASE_URL", "https://api.replicate.com")

    def _client(self):
        from replicate.client import Client

        return Client(api_token=require(self.name, ENV), base_url=self.base,
                      timeout=httpx.Timeout(60.0, connect=10.0))

    def _guard(self, fn, *args, **kw):
        from replicate.exceptions import ReplicateError

        try:
            return fn(*args, **kw)
        except ReplicateError as exc:
            raise classify(self.name, exc.status, exc.detail or exc.title or "", env=ENV) from None
        except httpx.HTTPError as exc:
            raise TransientProviderError(f"replicate: {type(exc).__name__}") from None
        except ValueError as exc:  # JSON the client could not decode
            raise TransientProviderError(f"replicate: malformed response ({type(exc).__name__})") from None

    def identity(self, request: GenerationRequest) -> dict:
        """What this request sends: the model and its input (media by content hash)."""
        return {"model": model_for(request),
                "input": build_input(request, request.route_params.get("input"), inline=False)}

    def submit(self, request: GenerationRequest) -> str:
        body = build_input(request, request.route_params.get("input"))
        client = self._client()
        pred = self._guard(client.models.predictions.create, model=model_for(request), input=body)
        return str(pred.id)

    def _get(self, job_id: str):
        client = self._client()
        return self._guard(client.predictions.get, job_id)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        pred = self._get(job_id)
        return self.state(pred.status, error=pred.error)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        pred = self._get(job_id)
        out = pred.output
        url = out[0] if isinstance(out, list) and out else out
        if not isinstance(url, str) or not url:
            raise TransientProviderError("replicate: prediction has no output URL")
        download_url(self.name, url, dest)
        return self.rendered(request, f"on Replicate ({model_for(request)})")


def model_for(request: GenerationRequest) -> str | None:
    """The route's model, or its reference-taking sibling (``with_references``, e.g. Kling 3.0
    Omni) when the request carries the cast's images and no first frame."""
    sibling = request.route_params.get("with_references")
    return sibling if sibling and request.reference_paths and not request.image_path else request.route_model
