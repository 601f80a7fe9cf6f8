"""Veo 3.1 (standard, Fast, Lite) on Vertex AI through the official google-genai SDK.

Credentials: GOOGLE_API_KEY (Vertex express mode) or GOOGLE_CLOUD_PROJECT (+ GOOGLE_CLOUD_LOCATION,
application default credentials). VERTEX_BASE_URL points the SDK elsewhere (gateways, tests).
The Gemini-API route is retired (google-genai 3.4 refuses generate_videos outside Vertex).
The SDK retries neither a 429 on create nor a 503 on poll: both are classified here and
retried by Prefect.
"""

from __future__ import annotations

import os
from pathlib import Path

from reelflow.errors import TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import (
    AuthError, classify, credential, download_url,
)

ENV = "GOOGLE_API_KEY or GOOGLE_CLOUD_PROJECT"
RESOLUTIONS = {720: "720p", 1080: "1080p", 2160: "4k"}


class VertexVeoProvider(Adapter):
    STATUS = {"running": "running", "done": "succeeded"}  # a long-running operation: done or not
    name = "vertex"
    version = "1"

    def _client(self):
        from google import genai
        from google.genai import types

        key = credential("GOOGLE_API_KEY")
        project = os.environ.get("GOOGLE_CLOUD_PROJECT")
        opts = {}
        if os.environ.get("VERTEX_BASE_URL"):
            opts["http_options"] = types.HttpOptions(base_url=os.environ["VERTEX_BASE_URL"])
        if key:
            return genai.Client(vertexai=True, api_key=key, **opts)
        if project:
            return genai.Client(vertexai=True, project=project,
                                location=os.environ.get("GOOGLE_CLOUD_LOCATION", "us-central1"), **opts)
        raise AuthError(f"vertex: no credentials; set {ENV}")

    def _guard(self, fn, *args, **kw):
        from google.genai import errors

        try:
            return fn(*args, **kw)
        except errors.APIError as exc:
            raise classify(self.name, exc.code, f"{exc.status or ''} {exc.message or ''}".strip(),
                           env=ENV) from None
        except ValueError as exc:
            raise TransientProviderError(f"vertex: malformed response ({type(exc).__name__})") from None
        except Exception as exc:  # noqa: BLE001 - httpx/network errors surface with many types
            if "httpx" in type(exc).__module__ or isinstance(exc, (ConnectionError, TimeoutError)):
                raise TransientProviderError(f"vertex: {type(exc).__name__}") from None
            raise

    def submit(self, request: GenerationRequest) -> str:
        from google.genai import types

        short = min(request.width, request.height)
        # the extend API: the clip so far goes in (720p), the same clip 7 s longer comes back
        video = (types.Video(video_bytes=Path(request.video_path).read_bytes(), mime_type="video/mp4")
                 if request.video_path else None)
        image = _image(request.image_path) if request.image_path and not video else None
        # Veo takes up to 3 ASSET references, never together with a first frame (the frame wins)
        refs = [types.VideoGenerationReferenceImage(image=_image(p), reference_type=types.VideoGenerationReferenceType.ASSET)
                for p in request.reference_paths[:3]] if not (image or video) else []
        config = types.GenerateVideosConfig(
            number_of_videos=1, duration_seconds=request.seconds,
            aspect_ratio=request.aspect if request.aspect in ("16:9", "9:16") else "16:9",
            resolution=RESOLUTIONS.get(short, "1080p"), seed=request.seed,
            negative_prompt=request.negative_prompt, generate_audio=request.audio,
            reference_images=refs or None,
            # first+last frame (interpolation): ends on a keyframe the next shot starts on
            last_frame=_image(request.last_frame_path) if request.last_frame_path and image else None,
        )
        client = self._client()  # keep a reference: the SDK closes its HTTP client on GC
        op = self._guard(client.models.generate_videos, model=request.route_model,
                         source=types.GenerateVideosSource(prompt=request.prompt, image=image, video=video),
                         config=config)
        if not op.name:
            raise TransientProviderError("vertex: operation has no name")
        return op.name

    def _operation(self, job_id: str):
        from google.genai import types

        client = self._client()
        return self._guard(client.operations.get, types.GenerateVideosOperation(name=job_id))

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        op = self._operation(job_id)
        if not op.done:
            return self.state("running")
        if op.error:
            msg = str(op.error.get("message") if isinstance(op.error, dict) else op.error)
            code = op.error.get("code") if isinstance(op.error, dict) else None
            return self.failed(f"{code}: {msg}", rejected=code == 3 and "safety" in msg.lower())
        resp = op.response
        if not ((resp.generated_videos or []) if resp else []):
            reasons = "; ".join(resp.rai_media_filtered_reasons or []) if resp else ""
            return self.failed(f"filtered by Vertex safety ({reasons or 'no samples returned'})", rejected=True)
        return self.state("done")

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        op = self._operation(job_id)
        video = op.response.generated_videos[0].video if op.response and op.response.generated_videos else None
        if video is None:
            raise TransientProviderError("vertex: finished operation without a video")
        if video.video_bytes:
            Path(dest).write_bytes(video.video_bytes)
        elif video.uri and video.uri.startswith("http"):
            key = credential("GOOGLE_API_KEY")
            download_url(self.name, video.uri, dest, headers={"x-goog-api-key": key} if key else None)
        else:
            raise TransientProviderError(
                f"vertex: video stored at {video.uri!r}; configure inline delivery (no output_gcs_uri)")
        return self.rendered(request, f"on Vertex AI ({request.route_model})")


def _image(path: str):
    from google.genai import types

    mime = "image/png" if path.lower().endswith(".png") else "image/jpeg"
    return types.Image(image_bytes=Path(path).read_bytes(), mime_type=mime)
