"""A local BytePlus ModelArk speaking the content-generation task protocol the official SDK uses
(`POST /api/v3/contents/generations/tasks`, `GET .../tasks/{id}`), with Seedance 2.5's native
drafts: `draft: true` tasks can be promoted by a later task whose content is a `draft_task`
part; an unknown or expired draft id is a 400, as the service answers."""

from __future__ import annotations

import json
import time

from .fakes import Fake


class FakeBytePlus(Fake):
    provider = "byteplus"
    draft_lifetime_s = 7 * 24 * 3600

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        return {"error": {"code": "InvalidParameter" if status == 400 else str(status), "message": message,
                          "type": "BadRequest"}}

    def op_of(self, method, path):
        return "submit" if method == "POST" else "poll"

    def task(self, job: str, status: str) -> dict:
        j = self.jobs[job]
        body = j["body"]
        out = {"id": job, "model": body.get("model"), "status": status, "created_at": int(j["created"]),
               "updated_at": int(time.time()), "draft": bool(body.get("draft")), "seed": body.get("seed", 0),
               "resolution": body.get("resolution"), "duration": body.get("duration"),
               "draft_task_id": j.get("promoted_from") or (job if body.get("draft") else None)}
        if status == "succeeded":
            out["content"] = {"video_url": f"{self.url}/files/{job}.mp4"}
        if status == "failed":
            out["error"] = {"code": j.get("code", "InternalServiceError"), "message": j.get("error", "failed")}
        return out

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["api", "v3", "contents", "generations", "tasks"]:
            data = json.loads(body)
            draft = next((c["draft_task"]["id"] for c in data.get("content", []) if c.get("type") == "draft_task"), None)
            if draft is not None:
                source = self.jobs.get(draft)
                if not source or not source["body"].get("draft"):
                    return h.send_json(400, self.error_body(400, f"draft task {draft} not found"))
                if time.time() - source["created"] > self.draft_lifetime_s:
                    return h.send_json(400, self.error_body(400, f"draft task {draft} has expired"))
            job = self.new_job(data)
            self.jobs[job]["promoted_from"] = draft
            return h.send_json(200, {"id": job})
        if method == "GET" and parts[:5] == ["api", "v3", "contents", "generations", "tasks"] and len(parts) == 6:
            job = parts[5]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "task not found"))
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            if state == "rejected":
                self.jobs[job].update(code="OutputVideoSensitiveContentDetected", error="sensitive content detected")
            status = {"queued": "queued", "running": "running", "done": "succeeded", "failed": "failed",
                      "rejected": "failed"}[state]
            return h.send_json(200, self.task(job, status))
        return h.send_json(404, self.error_body(404, "no route"))
