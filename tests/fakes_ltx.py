"""A local LTX API (docs.ltx.video): `POST /v1/text-to-video` and `/v1/image-to-video` with a Bearer
key answer with the MP4 itself (`Content-Type: video/mp4`, `x-request-id`); errors are JSON. The
documented limits of LTX-2.5 are enforced (model ids, integer durations, WxH resolutions, fps)."""

from __future__ import annotations

import json
import time
import uuid

from .fakes import Fake

MODELS = {"ltx-2-5-fast", "ltx-2-5-pro"}
FPS = {24, 25, 48, 50}


class FakeLTX(Fake):
    provider = "ltx"

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        return {"type": "error", "error": {"type": "invalid_request_error" if status == 400 else "api_error",
                                           "message": message}}

    def op_of(self, method, path):
        return "submit"

    def invalid(self, endpoint: str, data: dict) -> str | None:
        if data.get("model") not in MODELS:
            return f"model {data.get('model')!r} is not one of {sorted(MODELS)}"
        if not isinstance(data.get("duration"), int) or not 2 <= data["duration"] <= 20:
            return "duration must be an integer number of seconds"
        w, _, h = str(data.get("resolution", "")).partition("x")
        if not (w.isdigit() and h.isdigit()):
            return "resolution must be WIDTHxHEIGHT"
        if data.get("fps", 25) not in FPS or not isinstance(data.get("generate_audio", True), bool):
            return "fps must be 24, 25, 48 or 50 and generate_audio a boolean"
        if endpoint == "image-to-video" and not str(data.get("image_uri", "")).startswith(("https://", "data:image/")):
            return "image_uri must be an https URL or a data URI"
        return None

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method != "POST" or len(parts) != 2 or parts[0] != "v1" or parts[1] not in ("text-to-video", "image-to-video"):
            return h.send_json(404, self.error_body(404, f"no route {method} {path}"))
        data = json.loads(body)
        problem = self.invalid(parts[1], data)
        if problem:
            return h.send_json(400, self.error_body(400, problem))
        job = self.new_job(data)
        self.jobs[job]["endpoint"] = parts[1]
        state = self.advance(job)
        while state in ("queued", "running"):  # the answer comes when the generation is done
            time.sleep(0.01)
            state = self.advance(job)
        if state == "failed":
            return h.send_json(500, self.error_body(500, "generation failed"))
        if state == "rejected":
            return h.send_json(400, self.error_body(400, "the prompt violates the content policy"))
        return h.send_raw(200, self.payload(job), "video/mp4", {"x-request-id": uuid.uuid4().hex})
