"""Local fakes of OpenAI's video API (Sora), Vertex AI's Veo long-running operations and the Gemini
Interactions API (Omni): see tests/fakes.py for the shared machinery and the fault vocabulary."""

from __future__ import annotations

import base64
import json

from .fakes import Fake


# ====================================================================== OpenAI (Sora)


class FakeOpenAI(Fake):
    provider = "openai"
    retired = False

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}

    def op_of(self, method, path):
        if method == "POST":
            return "submit"
        return "result" if path.endswith("/content") else "poll"

    def video_obj(self, job, status, progress, error=None):
        j = self.jobs[job]
        return {"id": job, "object": "video", "model": j["body"].get("model", "sora-2"), "status": status,
                "progress": progress, "created_at": int(j["created"]), "completed_at": None, "expires_at": None,
                "prompt": j["body"].get("prompt"), "size": j["body"].get("size", "1280x720"),
                "seconds": j["body"].get("seconds", "4"), "remixed_from_video_id": None, "error": error,
                "quality": "standard"}

    def route(self, h, method, path, query, body):
        if self.retired:
            return h.send_json(404, {"error": {"message": "The model `sora-2` has been deprecated and is no "
                                                          "longer available.", "type": "invalid_request_error",
                                               "param": "model", "code": "model_not_found"}})
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "videos"]:
            ctype = h.headers.get("Content-Type", "")
            fields = {}
            if ctype.startswith("multipart/form-data"):
                from email.parser import BytesParser
                from email.policy import default

                msg = BytesParser(policy=default).parsebytes(
                    f"Content-Type: {ctype}\r\n\r\n".encode() + body)
                for part in msg.iter_parts():
                    fields[part.get_param("name", header="content-disposition")] = part.get_content()
            else:
                fields = json.loads(body or b"{}")
            job = self.new_job(fields)
            return h.send_json(200, self.video_obj(job, "queued", 0))
        if method == "GET" and len(parts) >= 3 and parts[:2] == ["v1", "videos"]:
            job = parts[2]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "video not found"))
            if len(parts) == 4 and parts[3] == "content":
                data = self.payload()
                return h.send_raw(200, data, "video/mp4")
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            status = {"queued": "queued", "running": "in_progress", "done": "completed",
                      "failed": "failed", "rejected": "failed"}[state]
            err = {"failed": {"code": "internal_error", "message": "generation failed"},
                   "rejected": {"code": "moderation_blocked", "message": "Your request was blocked by our "
                                                                          "moderation system."}}.get(state)
            return h.send_json(200, self.video_obj(job, status, 100 if state == "done" else 40, err),
                               {"openai-poll-after-ms": "10"})
        return h.send_json(404, self.error_body(404, "no route"))


# ====================================================================== Vertex (google-genai)


class FakeVertex(Fake):
    provider = "vertex"

    def authorized(self, headers) -> bool:
        return headers.get("x-goog-api-key") == self.key

    def error_body(self, status, message):
        names = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 400: "INVALID_ARGUMENT",
                 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
        # the Interactions error schema: code is a string naming the error type
        return {"error": {"code": names.get(status, "UNKNOWN"), "message": message}}

    def op_of(self, method, path):
        return "submit" if path.endswith(":predictLongRunning") else "poll"

    def route(self, h, method, path, query, body):
        if method != "POST":
            return h.send_json(404, self.error_body(404, "no route"))
        model_path, _, verb = path.rpartition(":")
        if verb == "predictLongRunning":
            job = self.new_job(json.loads(body))
            name = f"{model_path.split('/v1beta1/')[-1]}/operations/{job}"
            self.jobs[job]["name"] = name
            return h.send_json(200, {"name": name})
        if verb == "fetchPredictOperation":
            name = json.loads(body)["operationName"]
            job = name.rsplit("/", 1)[-1]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "operation not found"))
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            if state in ("queued", "running"):
                return h.send_json(200, {"name": name})
            if state == "failed":
                return h.send_json(200, {"name": name, "done": True,
                                         "error": {"code": 13, "message": "internal error"}})
            if state == "rejected":
                return h.send_json(200, {"name": name, "done": True, "response": {
                    "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                    "raiMediaFilteredCount": 1,
                    "raiMediaFilteredReasons": ["The prompt could not be submitted: safety filter"]}})
            data = self.payload()
            return h.send_json(200, {"name": name, "done": True, "response": {
                "@type": "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
                "videos": [{"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": "video/mp4"}],
                "raiMediaFilteredCount": 0}})
        return h.send_json(404, self.error_body(404, "no route"))


# ====================================================================== Gemini API (Interactions)


class FakeGeminiOmni(Fake):
    """The Gemini API's Interactions protocol for Omni video: POST /v1/interactions (background),
    GET /v1/interactions/{id}; x-goog-api-key; the video inline (base64) or as a URI."""

    provider = "gemini"

    def authorized(self, headers) -> bool:
        return headers.get("x-goog-api-key") == self.key

    def error_body(self, status, message):
        names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
                 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE"}
        # the Interactions error schema: code is a string naming the error type
        return {"error": {"code": names.get(status, "UNKNOWN"), "message": message}}

    def op_of(self, method, path):
        return "submit" if method == "POST" else "poll"

    def interaction(self, job: str, status: str) -> dict:
        j = self.jobs[job]
        out = {"id": job, "status": status, "model": j["body"].get("model"), "created": "2026-11-23T00:00:00Z"}
        if status == "completed":
            if j["body"]["response_format"].get("delivery") == "uri":
                out["output_video"] = {"type": "video", "uri": f"{self.url}/files/{job}.mp4", "mime_type": "video/mp4"}
            else:
                out["output_video"] = {"type": "video", "mime_type": "video/mp4",
                                       "data": base64.b64encode(self.payload()).decode()}
        elif status == "failed":
            out["errors"] = [{"code": "SAFETY" if j.get("rejected") else "INTERNAL",
                              "message": "The prompt was blocked by safety filters" if j.get("rejected")
                              else "internal error while generating"}]
        return out

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "interactions"]:
            data = json.loads(body)
            fmt = data.get("response_format") or {}
            if fmt.get("type") != "video" or not data.get("model") or not data.get("input"):
                return h.send_json(400, self.error_body(400, "a video interaction needs model, input and "
                                                              "response_format.type=video"))
            if not data.get("background"):
                return h.send_json(400, self.error_body(400, "video generation runs in the background"))
            job = self.new_job(data)
            return h.send_json(200, {"id": job, "status": "in_progress", "model": data["model"]})
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "interactions"]:
            job = parts[2]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "interaction not found"))
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            self.jobs[job]["rejected"] = state == "rejected"
            status = {"queued": "queued", "running": "in_progress", "done": "completed",
                      "failed": "failed", "rejected": "failed"}[state]
            return h.send_json(200, self.interaction(job, status))
        return h.send_json(404, self.error_body(404, f"no route {method} {path}"))
