"""A local Runway API speaking what the official `runwayml` SDK sends: `POST /v1/text_to_video` and
`/v1/image_to_video` (camelCase bodies, `X-Runway-Version` required), `GET /v1/tasks/{id}`
(PENDING, THROTTLED, RUNNING, SUCCEEDED with `output` URLs, FAILED with `failure`/`failureCode`),
errors as `{"error": message}`; Gen-4.5's documented limits are enforced as the API does."""

from __future__ import annotations

import json

from .fakes import Fake

GEN45_RATIOS = {"text_to_video": {"1280:720", "720:1280"},
                "image_to_video": {"1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672"}}


class FakeRunway(Fake):
    provider = "runway"

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        return {"error": message}

    def op_of(self, method, path):
        return "submit" if method == "POST" else "poll"

    def invalid(self, endpoint: str, data: dict) -> str | None:
        if data.get("model") != "gen4.5":
            return f"model {data.get('model')!r} is not available on {endpoint}"
        if not isinstance(data.get("duration"), int) or not 2 <= data["duration"] <= 10:
            return "duration must be an integer from 2 to 10"
        if data.get("ratio") not in GEN45_RATIOS[endpoint]:
            return f"ratio {data.get('ratio')!r} is not allowed"
        if not data.get("promptText") or len(data["promptText"]) > 1000:
            return "promptText must be 1 to 1000 characters"
        if endpoint == "image_to_video":
            images = data.get("promptImage")
            if not images or any(i.get("position") != "first" or not str(i.get("uri", "")).startswith("data:image/")
                                 for i in (images if isinstance(images, list) else [{"uri": images, "position": "first"}])):
                return "promptImage must be a first-frame image"
        return None

    def route(self, h, method, path, query, body):
        if not h.headers.get("X-Runway-Version"):
            return h.send_json(400, self.error_body(400, "X-Runway-Version header is required"))
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 2 and parts[0] == "v1" and parts[1] in GEN45_RATIOS:
            data = json.loads(body)
            problem = self.invalid(parts[1], data)
            if problem:
                return h.send_json(400, self.error_body(400, problem))
            job = self.new_job(data)
            self.jobs[job]["endpoint"] = parts[1]
            return h.send_json(200, {"id": job})
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "tasks"]:
            job = parts[2]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "Task not found"))
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            task = {"id": job, "createdAt": "2026-12-07T10:00:00.000Z",
                    "status": {"queued": "PENDING", "running": "RUNNING", "done": "SUCCEEDED", "failed": "FAILED",
                               "rejected": "FAILED"}[state]}
            if state == "running":
                task["progress"] = 0.5
            if state == "done":
                task["output"] = [f"{self.url}/files/{job}.mp4"]
            if state == "failed":
                task.update(failure="An unexpected error occurred.", failureCode="INTERNAL")
            if state == "rejected":
                task.update(failure="The prompt did not pass moderation.", failureCode="SAFETY.INPUT.TEXT")
            return h.send_json(200, task)
        return h.send_json(404, self.error_body(404, f"no route {method} {path}"))
