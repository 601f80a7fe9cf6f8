"""A local Alibaba Cloud Model Studio (DashScope) speaking what the official `dashscope` SDK sends:
`POST /api/v1/services/aigc/video-generation/video-synthesis` (only with `X-DashScope-Async:
enable`), `GET /api/v1/tasks/{id}` (PENDING, RUNNING, SUCCEEDED, FAILED; UNKNOWN once a task is
past its 24 h), errors as `{request_id, code, message}`, and the SDK's temporary OSS upload
(`GET /api/v1/uploads?action=getPolicy`, then a form POST to the upload host) for local files."""

from __future__ import annotations

import json
import time
import uuid

from .fakes import Fake

RETENTION_S = 24 * 3600


class FakeDashScope(Fake):
    provider = "dashscope"

    def __init__(self, video, key, **kw):
        super().__init__(video, key, **kw)
        self.uploads: dict[str, bytes] = {}  # oss key -> bytes received
        self.expire_after_s = RETENTION_S
        self.expired: set[str] = set()  # tasks aged past the window (a test's clock jump)

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        code = {400: "InvalidParameter", 401: "InvalidApiKey", 429: "Throttling.RateQuota",
                500: "InternalError", 502: "InternalError", 503: "ServiceUnavailable"}.get(status, "InternalError")
        return {"request_id": uuid.uuid4().hex, "code": code, "message": message}

    def op_of(self, method, path):
        if path.endswith("/video-synthesis"):
            return "submit"
        return "upload" if "uploads" in path else "poll"

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["api", "v1", "uploads"] and query.get("action") == ["getPolicy"]:
            return h.send_json(200, {"request_id": uuid.uuid4().hex, "output": {
                "policy": "cG9saWN5", "signature": "c2ln", "upload_dir": f"dashscope-instant/{uuid.uuid4().hex[:8]}",
                "upload_host": f"{self.url}/oss", "expire_in_seconds": 300, "max_file_size_mb": 100,
                "capacity_limit_mb": 999, "oss_access_key_id": "LTAI-fake", "x_oss_object_acl": "private",
                "x_oss_forbid_overwrite": "true"}})
        if method == "POST" and parts == ["api", "v1", "services", "aigc", "video-generation", "video-synthesis"]:
            if h.headers.get("X-DashScope-Async") != "enable":
                return h.send_json(403, self.error_body(403, "current user api does not support synchronous calls"))
            data = json.loads(body)
            problem = self.invalid(data, h.headers)
            if problem:
                return h.send_json(400, self.error_body(400, problem))
            job = self.new_job(data)
            return h.send_json(200, {"request_id": uuid.uuid4().hex,
                                     "output": {"task_id": job, "task_status": "PENDING"}})
        if method == "GET" and parts[:3] == ["api", "v1", "tasks"] and len(parts) == 4:
            return h.send_json(200, self.task(parts[3]))
        return h.send_json(404, self.error_body(404, f"no route {method} {path}"))

    def invalid(self, data: dict, headers) -> str | None:
        """What the service refuses, as documented for wan3.0-video."""
        params, media = data.get("parameters", {}), data.get("input", {}).get("media") or []
        if not isinstance(params.get("duration", 5), int):
            return "duration must be an integer"
        if params.get("resolution") not in (None, "480P", "720P", "1080P"):
            return f"resolution {params.get('resolution')!r} is not one of 480P, 720P, 1080P"
        kinds = {m.get("type") for m in media}
        if kinds & {"first_frame", "last_frame"} and kinds & {"reference_image", "reference_video", "reference_audio"}:
            return "first_frame/last_frame cannot be combined with reference media"
        for m in media:
            url = m.get("url", "")
            if url.startswith("oss://"):
                if headers.get("X-DashScope-OssResourceResolve") != "enable" or url[6:] not in self.uploads:
                    return f"media url {url} cannot be resolved"
            elif not url.startswith(("http://", "https://")):
                return f"media url must be a public URL or an oss:// upload, got {url[:20]!r}"
        return None

    def task(self, job: str) -> dict:
        j = self.jobs.get(job)
        if j is None or job in self.expired or time.time() - j["created"] > self.expire_after_s:
            return {"request_id": uuid.uuid4().hex, "output": {"task_id": job, "task_status": "UNKNOWN"}}
        state = j.get("final") or self.advance(job)
        if state in ("done", "failed", "rejected"):
            j["final"] = state
        status = {"queued": "PENDING", "running": "RUNNING", "done": "SUCCEEDED", "failed": "FAILED",
                  "rejected": "FAILED"}[state]
        out = {"task_id": job, "task_status": status, "submit_time": "2026-12-07 10:00:00.000"}
        if status == "SUCCEEDED":
            out["video_url"] = f"{self.url}/files/{job}.mp4"
            return {"request_id": uuid.uuid4().hex, "output": out,
                    "usage": {"duration": j["body"].get("parameters", {}).get("duration", 5), "video_count": 1}}
        if state == "failed":
            out.update(code="InternalError", message="internal error, please retry")
        if state == "rejected":
            out.update(code="DataInspectionFailed", message="Output data may contain inappropriate content.")
        return {"request_id": uuid.uuid4().hex, "output": out}

    def public(self, h, method, path, body) -> bool:
        if method == "POST" and path == "/oss":
            if self.take("upload") == 503:
                h.send_raw(503, b"<Error><Code>ServiceUnavailable</Code></Error>", "application/xml")
            else:
                self.oss_upload(h, body)
            return True
        return False

    def oss_upload(self, h, body: bytes) -> None:
        """The SDK's form POST (signed by the policy, not by the API key): the object key and the file."""
        ctype = h.headers.get("Content-Type", "")
        boundary = ctype.split("boundary=")[-1].encode()
        fields: dict[str, bytes] = {}
        for part in body.split(b"--" + boundary):
            head, _, value = part.partition(b"\r\n\r\n")
            if b'name="' in head:
                name = head.split(b'name="')[1].split(b'"')[0].decode()
                fields[name] = value[:-2] if value.endswith(b"\r\n") else value
        key = fields.get("key", b"").decode()
        if not key or "file" not in fields or fields.get("OSSAccessKeyId") != b"LTAI-fake":
            return h.send_raw(400, b"<Error><Code>InvalidArgument</Code></Error>", "application/xml")
        self.uploads[key] = fields["file"]
        return h.send_raw(200, b"", "application/xml")
