"""The LTX API (Lightricks, docs.ltx.video): LTX-2.5 Fast and Pro over plain HTTP (no official SDK).

The API is synchronous: `POST /v1/text-to-video` or `/v1/image-to-video` answers with the MP4
itself (`Content-Type: video/mp4`, an `x-request-id` header). There is no job to poll, so
`submit` receives the clip into a spool folder under its request id, and `poll`/`download`
read it from there. A worker that crashes after the answer arrived leaves the bytes in the spool
(REELFLOW_LTX_SPOOL, default a folder in the system's temp directory) for the re-run on that
machine; bytes that never arrived, or a spool on another machine, cannot be fetched again and the
clip is generated again (said in the clip's notes). Key: LTX_API_KEY; base URL: LTX_BASE_URL.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import httpx

from reelflow.errors import MediaError, OutputGoneError, TransientProviderError
from reelflow.providers.adapter import Adapter
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import _data_url, classify, error_message, require, retry_after_seconds, verify_clip

ENV = "LTX_API_KEY"
SIZES = {("16:9", 720): "1280x720", ("16:9", 1080): "1920x1080", ("16:9", 1440): "2560x1440",
         ("16:9", 2160): "3840x2160", ("9:16", 720): "720x1280", ("9:16", 1080): "1080x1920",
         ("9:16", 1440): "1440x2560", ("9:16", 2160): "2160x3840"}


SPOOL_DAYS = 2  # answers not collected by then are removed


def spool() -> Path:
    folder = Path(os.environ.get("REELFLOW_LTX_SPOOL") or Path(tempfile.gettempdir()) / "reelflow-ltx-spool")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def sweep_spool(now: float | None = None) -> int:
    """Remove answers older than SPOOL_DAYS (their clips are in a store by then, or abandoned)."""
    import time

    now, removed = time.time() if now is None else now, 0
    for path in spool().iterdir():
        try:
            if now - path.stat().st_mtime > SPOOL_DAYS * 86400:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


class LTXProvider(Adapter):
    name = "ltx"
    version = "1"

    @staticmethod
    def body(request: GenerationRequest, inline: bool = True) -> dict:
        """The request as sent (``inline=False``: frames by hash, the request's identity)."""
        short = min(request.width, request.height)
        body = {"prompt": request.prompt, "model": request.route_model, "duration": request.seconds,
                "resolution": SIZES.get((request.aspect, short), f"{request.width}x{request.height}"),
                "fps": request.fps, "generate_audio": request.audio}
        if request.image_path:
            body["image_uri"] = _data_url(request.image_path) if inline else f"sha256:{request.image_sha256}"
        if request.last_frame_path:  # the field models-2026-11.md 3.2 names for LTX's last frame [M]
            body["last_frame_image"] = (_data_url(request.last_frame_path) if inline
                                      else f"sha256:{request.last_frame_sha256}")
        return body

    def identity(self, request: GenerationRequest) -> dict:
        return self.body(request, inline=False)

    def submit(self, request: GenerationRequest) -> str:
        body = self.body(request)
        endpoint = "image-to-video" if "image_uri" in body else "text-to-video"
        url = f"{os.environ.get('LTX_BASE_URL', 'https://api.ltx.video').rstrip('/')}/v1/{endpoint}"
        headers = {"Authorization": f"Bearer {require(self.name, ENV)}", "Content-Type": "application/json"}
        job = f"ltx-{uuid.uuid4().hex[:16]}"
        sweep_spool()
        part = spool() / f".{job}.part"
        try:  # the generation takes minutes: the read timeout covers it
            with httpx.stream("POST", url, json=body, headers=headers,
                              timeout=httpx.Timeout(900.0, connect=10.0)) as r:
                if r.status_code >= 400:
                    r.read()
                    raise classify(self.name, r.status_code, error_message(r.content), env=ENV,
                                   retry_after=retry_after_seconds(r.headers))
                if not r.headers.get("content-type", "").startswith("video/"):
                    r.read()
                    raise TransientProviderError(f"ltx: answered {r.headers.get('content-type')!r}, not a video")
                with open(part, "wb") as fh:
                    for chunk in r.iter_bytes(1 << 16):
                        fh.write(chunk)
                request_id = r.headers.get("x-request-id")
        except httpx.HTTPError as exc:
            part.unlink(missing_ok=True)
            raise TransientProviderError(f"ltx: {type(exc).__name__} on POST /v1/{endpoint}") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        # the answer is the only copy there will be: a clip that does not hold up is a failed
        # generation (sent again), never a spooled file that each re-run would read again
        try:
            verify_clip(part, request)
        except MediaError as exc:
            part.unlink(missing_ok=True)
            raise TransientProviderError(f"ltx: the answer was not a whole clip ({exc})") from None
        part.replace(spool() / f"{job}.mp4")
        return f"{job}:{request_id}" if request_id else job

    @staticmethod
    def _spooled(job_id: str) -> Path:
        return spool() / f"{job_id.split(':', 1)[0]}.mp4"

    def poll(self, request: GenerationRequest, job_id: str) -> JobState:
        if self._spooled(job_id).is_file():
            return JobState(state="succeeded", progress=1.0)
        # the answer was received on another machine, or its spool was cleared: nothing to fetch
        return self.failed("output expired", rejected=False)

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        path = self._spooled(job_id)
        if not path.is_file():
            raise OutputGoneError(f"ltx: the answer to request {job_id} is not in this machine's spool")
        # a copy, so a download that fails verification can be read again; the spool keeps it
        # until the clip is stored (the store's copy is then the one that counts)
        import shutil

        shutil.copyfile(path, dest)
        return self.rendered(request, "on the LTX API")

    def poll_interval(self) -> float:
        return 0.0  # nothing to wait for: the answer is already here
