"""BytePlus ModelArk adapter (official SDK `byteplus-python-sdk-v2[ark]`): Seedance 2.5.

One task API (`/contents/generations/tasks`) for every mode: the prompt, first and last frames
and reference images travel as `content` parts with a `role`; `draft: true` (the catalog's draft
tier) renders Seedance's native 480p draft, and a final whose request carries ``draft_task_id``
promotes that draft (`{"type": "draft_task"}`: same prompt, references, seed and motion) instead
of generating afresh. A draft lives 7 days (the catalog's `draft_mode.expires_days`).
"""

from __future__ import annotations

import base64
from pathlib import Path

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import missing_sdk, base_url, classify, download_url, require

ENV = "ARK_API_KEY"


def _image(path: str, role: str) -> dict:
    mime = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}, "role": role}


class BytePlusProvider(Adapter):
    STATUS = {"queued": "queued", "running": "running", "succeeded": "succeeded", "failed": "failed",
              "cancelled": "failed", "expired": "failed"}
    name = "byteplus"
    version = "1"

    def _client(self):
        try:
            from byteplussdkarkruntime import Ark
        except ImportError:  # an optional extra: say how to get it
            raise missing_sdk("byteplus", "byteplus") from None
        return Ark(api_key=require(self.name, ENV), max_retries=0, timeout=60.0,
                   base_url=base_url("BYTEPLUS_BASE_URL", "https://ark.ap-southeast.bytepluses.com/api/v3"))

    def _guard(self, fn, *args, **kw):
        from byteplussdkarkruntime._exceptions import ArkAPIConnectionError, ArkAPIStatusError

        try:
            return fn(*args, **kw)
        except ArkAPIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error", body) if isinstance(body.get("error", body), dict) else {}
            raise classify(self.name, exc.status_code, str(error.get("message") or exc.message), env=ENV) from None
        except ArkAPIConnectionError as exc:
            raise TransientProviderError(f"byteplus: {type(exc).__name__}") from None
        except ValueError as exc:  # JSON the SDK could not decode
            raise TransientProviderError(f"byteplus: malformed response ({type(exc).__name__})") from None

    @staticmethod
    def body(request: GenerationRequest) -> dict:
        """The task as sent (also the request's identity, images by hash)."""
        short = min(request.width, request.height)
        if request.draft_task_id:  # promote the approved draft: it carries prompt, refs and seed
            return {"model": request.route_model, "content": [{"type": "draft_task",
                                                               "draft_task": {"id": request.draft_task_id}}],
                    "resolution": f"{short}p", "generate_audio": request.audio}
        content: list[dict] = [{"type": "text", "text": request.prompt}]
        frames = [(request.image_path, "first_frame"), (request.last_frame_path, "last_frame")]
        content += [_image(p, role) for p, role in frames if p]
        if not request.image_path and not request.last_frame_path:  # refs cannot join frame images
            content += [_image(p, "reference_image") for p in request.reference_paths]
        body = {"model": request.route_model, "content": content, "duration": request.seconds,
                "resolution": f"{short}p", "seed": request.seed, "generate_audio": request.audio,
                "draft": bool(request.route_params.get("input", {}).get("draft")) or None}
        if not (request.image_path or request.last_frame_path):  # frame jobs reject a ratio (HTTP 400)
            body["ratio"] = request.aspect
        return {k: v for k, v in body.items() if v is not None}

    def submit(self, request: GenerationRequest) -> str:
        client = self._client()
        task = self._guard(client.content_generation.tasks.create, **self.body(request))
        if not getattr(task, "id", None):
            raise TransientProviderError("byteplus: create answered without a task id")
        return str(task.id)

    def _task(self, job_id: str):
        return self._guard(self._client().content_generation.tasks.get, task_id=job_id)

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        task = self._task(job_id)
        error = getattr(task, "error", None)
        message = getattr(error, "message", None) if error else None
        return self.state(task.status, error=f"{getattr(error, 'code', '')}: {message}" if message else None)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        task = self._task(job_id)
        url = getattr(getattr(task, "content", None), "video_url", None)
        if not url:
            raise TransientProviderError("byteplus: task has no video_url")
        download_url(self.name, url, dest)
        how = f"promoting draft {request.draft_task_id}" if request.draft_task_id else \
            ("native draft (promotable for 7 days)" if getattr(task, "draft", False) else "")
        return self.rendered(request, f"on BytePlus ModelArk{', ' + how if how else ''}")
