"""Local fake servers that speak each provider's real protocol, with injectable faults.

Every fake listens on 127.0.0.1 (port 0), checks the provider's auth scheme, counts accepted
submissions, walks jobs through the provider's status progression and serves a real MP4.

Faults are queued per operation ("submit", "poll", "result", "download"): an int answers with
that HTTP status (and the provider's error body; 429 carries Retry-After), "badjson" answers
200 with a broken body, "drop" closes the connection, "truncate" sends a third of the file.
A job's fate is set by ``outcomes`` (queue, consumed per submission): "ok", "fail", "reject".
"""

from __future__ import annotations

import abc
import json
import threading
import time
import uuid
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt


class Fake(abc.ABC):
    provider = "fake"

    def __init__(self, video: bytes, key: str, polls_until_done: int = 1, latency: float = 0.0):
        self.video = video
        self.key = key
        self.polls_until_done = polls_until_done
        self.latency = latency  # > 0: a job finishes this many seconds after its submission
        self.submit_delay = 0.0  # > 0: a submission is answered this many seconds late (uploads)
        # > 0: jobs keep running until this many were in flight at once (or hold_s passed), so a
        # peak measured under a slow machine's staggered starts does not depend on timing
        self.hold_until_in_flight = 0
        self.hold_s = 30.0
        self.in_flight = self.peak_in_flight = 0
        self.submit_times: list[float] = []
        self.poll_times: list[float] = []
        self.faults: dict[str, deque] = defaultdict(deque)
        self.outcomes: deque = deque()
        self.videos: deque = deque()  # a job's video, in submission order (then ``video``): bad clips for QC
        self.jobs: dict[str, dict] = {}
        self.submissions = 0
        self.downloads = 0
        self.polls = 0
        self.auth_failures = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "Fake":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, op: str, *actions) -> None:
        self.faults[op].extend(actions)

    # ------------------------------------------------------------------ jobs
    def new_job(self, body) -> str:
        with self.lock:
            self.submissions += 1
            self.submit_times.append(time.monotonic())
            outcome = self.outcomes.popleft() if self.outcomes else "ok"
            job = uuid.uuid4().hex[:12]
            video = self.videos.popleft() if self.videos else self.video
            self.jobs[job] = {"polls": 0, "outcome": outcome, "body": body, "created": time.time(), "video": video}
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return job

    def advance(self, job: str) -> str:
        """queued -> running -> done|failed|rejected, one step per poll."""
        with self.lock:
            self.polls += 1
            self.poll_times.append(time.monotonic())
            j = self.jobs[job]
            j["polls"] += 1
            held = self.peak_in_flight < self.hold_until_in_flight
            if held and time.time() - j["created"] < self.hold_s:
                return "running"
            if self.latency:
                if time.time() - j["created"] < self.latency:
                    return "running"
            elif j["polls"] == 1 and self.polls_until_done > 1:
                return "queued"
            elif j["polls"] < self.polls_until_done:
                return "running"
            if not j.get("finished"):
                j["finished"], j["finished_at"] = True, time.time()
                self.in_flight -= 1
            return {"ok": "done", "fail": "failed", "reject": "rejected"}[j["outcome"]]

    # ------------------------------------------------------------------ protocol hooks
    @abc.abstractmethod
    def authorized(self, headers) -> bool:
        """Does the request carry this provider's credentials in its own scheme?"""

    def error_body(self, status: int, message: str) -> dict:
        return {"error": {"code": status, "message": message}}

    def public(self, h, method: str, path: str, body: bytes) -> bool:
        """Answer a request that carries no API credentials (an upload host); True if answered."""
        return False

    @abc.abstractmethod
    def route(self, h, method: str, path: str, query: dict, body: bytes):
        """Answer one authorised request the way the provider does."""

    @abc.abstractmethod
    def op_of(self, method: str, path: str) -> str:
        """Which fault queue ("submit", "poll", "result") a request draws from."""

    # ------------------------------------------------------------------ http
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def _serve(self, method: str):
                u = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if u.path.startswith("/files/"):
                    return self.send_video(u.path.rsplit("/", 1)[-1].split(".")[0])
                if fake.public(self, method, u.path, body):  # a route without the API's credentials
                    return None
                if not fake.authorized(self.headers):
                    fake.auth_failures += 1
                    return self.send_json(401, fake.error_body(401, "invalid credentials"))
                op = fake.op_of(method, u.path)
                if op == "submit" and fake.submit_delay:
                    time.sleep(fake.submit_delay)
                action = fake.take(op)
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return None
                if isinstance(action, int):
                    headers = {"Retry-After": "0.2"} if action == 429 else {}
                    return self.send_json(action, fake.error_body(action, f"injected {action}"), headers)
                if action == "badjson":
                    return self.send_raw(200, b'{"status": "IN_PROG', "application/json")
                return fake.route(self, method, u.path, parse_qs(u.query), body)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PUT(self):
                self._serve("PUT")

            def send_raw(self, status: int, data: bytes, ctype: str, headers: dict | None = None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def send_json(self, status: int, obj, headers: dict | None = None):
                self.send_raw(status, json.dumps(obj).encode(), "application/json", headers)

            def send_video(self, job: str = ""):
                self.send_raw(200, fake.payload(job), "video/mp4")

        return Handler

    def payload(self, job: str = "") -> bytes:
        """The job's video bytes for one download, truncated when a "truncate" fault is queued."""
        action = self.take("download")
        with self.lock:
            self.downloads += 1
            video = self.jobs.get(job, {}).get("video", self.video)
        return video[: len(video) // 3] if action == "truncate" else video

    def take(self, op: str):
        with self.lock:
            q = self.faults.get(op)
            return q.popleft() if q else None


# ====================================================================== Replicate


class FakeReplicate(Fake):
    provider = "replicate"

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") in (f"Bearer {self.key}", f"Token {self.key}")

    def error_body(self, status, message):
        return {"type": "about:blank", "title": "error", "status": status, "detail": message}

    def op_of(self, method, path):
        return "submit" if method == "POST" else "poll"

    def prediction(self, job: str, status: str) -> dict:
        j = self.jobs[job]
        owner_model = j["model"]
        out = None
        err = None
        if status == "succeeded":
            out = f"{self.url}/files/{job}.mp4"
        elif status == "failed":
            err = j.get("error")
        return {"id": job, "model": owner_model, "version": "hidden", "input": j["body"].get("input", {}),
                "output": out, "logs": "", "error": err, "status": status, "data_removed": False,
                "created_at": "2026-11-22T00:00:00Z", "started_at": None, "completed_at": None,
                "metrics": {}, "urls": {"get": f"{self.url}/v1/predictions/{job}",
                                        "cancel": f"{self.url}/v1/predictions/{job}/cancel"}}

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 5 and parts[:2] == ["v1", "models"] and parts[4] == "predictions":
            data = json.loads(body)
            job = self.new_job(data)
            self.jobs[job]["model"] = f"{parts[2]}/{parts[3]}"
            return h.send_json(201, self.prediction(job, "starting"))
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "predictions"]:
            job = parts[2]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "not found"))
            state = self.advance(job)
            status = {"queued": "starting", "running": "processing", "done": "succeeded",
                      "failed": "failed", "rejected": "failed"}[state]
            if state == "rejected":
                self.jobs[job]["error"] = "Input flagged as sensitive by the safety checker (E005)"
            elif state == "failed":
                self.jobs[job]["error"] = "CUDA out of memory"
            return h.send_json(200, self.prediction(job, status))
        return h.send_json(404, self.error_body(404, f"no route {method} {path}"))


# ====================================================================== fal


class FakeFal(Fake):
    provider = "fal"

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Key {self.key}"

    def error_body(self, status, message):
        return {"detail": message}

    def op_of(self, method, path):
        if method == "POST":
            return "submit"
        if path.endswith("/status"):
            return "poll"
        return "result"

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST":
            job = self.new_job(json.loads(body))
            self.jobs[job]["endpoint"] = "/".join(parts)
            root = "/".join(parts[:2])
            base = f"{self.url}/{root}/requests/{job}"
            return h.send_json(200, {"request_id": job, "response_url": base, "status_url": f"{base}/status",
                                     "cancel_url": f"{base}/cancel", "queue_position": 0})
        if "requests" in parts:
            job = parts[parts.index("requests") + 1]
            if job not in self.jobs:
                return h.send_json(404, {"detail": "Request not found"})
            if method == "PUT" and parts[-1] == "cancel":
                return h.send_json(202, {"status": "CANCELLATION_REQUESTED"})
            if parts[-1] == "status":
                state = self.advance(job)
                if state == "queued":
                    return h.send_json(200, {"status": "IN_QUEUE", "queue_position": 2, "logs": None})
                if state == "running":
                    return h.send_json(200, {"status": "IN_PROGRESS", "logs": [{"message": "step 3/20"}]})
                err = {"done": None, "failed": "Internal inference error",
                       "rejected": "Content policy violation: prompt flagged"}[state]
                body = {"status": "COMPLETED", "logs": [], "metrics": {"inference_time": 1.2}}
                if err:
                    body.update(error=err, error_type="content_policy_violation" if state == "rejected" else "runtime")
                return h.send_json(200, body)
            return h.send_json(200, {"video": {"url": f"{self.url}/files/{job}.mp4", "content_type": "video/mp4"},
                                     "seed": 1})
        return h.send_json(404, {"detail": "no route"})


# ====================================================================== Kling


class FakeKling(Fake):
    provider = "kling"

    def __init__(self, video, key, secret, **kw):
        super().__init__(video, key, **kw)
        self.secret = secret

    def authorized(self, headers) -> bool:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        try:
            claims = jwt.decode(auth[7:], self.secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            return False
        return claims.get("iss") == self.key

    def error_body(self, status, message):
        code = {401: 1004, 429: 1303, 400: 1201, 500: 5000, 503: 5001}.get(status, 5000)
        return {"code": code, "message": message, "request_id": uuid.uuid4().hex}

    def op_of(self, method, path):
        return "submit" if method == "POST" else "poll"

    @staticmethod
    def multi_shot_problem(data: dict) -> str | None:
        """kling-v3 multi-shot: shot_type customize, 1-6 shots indexed from 1, lengths summing to duration."""
        if not data.get("multi_shot"):
            return None
        shots = data.get("multi_prompt") or []
        if data.get("model_name") != "kling-v3" or data.get("shot_type") != "customize":
            return "multi_shot needs kling-v3 and shot_type customize"
        if not 1 <= len(shots) <= 6 or [s.get("index") for s in shots] != list(range(1, len(shots) + 1)):
            return "multi_prompt takes 1 to 6 shots indexed from 1"
        if sum(int(s.get("duration", 0)) for s in shots) != int(data["duration"]) or not all(s.get("prompt") for s in shots):
            return "multi_prompt durations must add up to duration, each shot with a prompt"
        return None

    def task(self, job, status, msg=None):
        now = int(time.time() * 1000)
        data = {"task_id": job, "task_status": status, "created_at": now, "updated_at": now}
        if msg:
            data["task_status_msg"] = msg
        if status == "succeed":
            data["task_result"] = {"videos": [{"id": job, "url": f"{self.url}/files/{job}.mp4", "duration": "5"}]}
        return {"code": 0, "message": "SUCCEED", "request_id": uuid.uuid4().hex, "data": data}

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method == "POST" and parts[:2] == ["v1", "videos"] and len(parts) == 3:
            data = json.loads(body)
            if not isinstance(data.get("duration"), str):
                return h.send_json(400, self.error_body(400, "duration must be a string"))
            problem = self.multi_shot_problem(data)
            if problem:
                return h.send_json(400, self.error_body(400, problem))
            job = self.new_job(data)
            return h.send_json(200, self.task(job, "submitted"))
        if method == "GET" and parts[:2] == ["v1", "videos"] and len(parts) == 4:
            job = parts[3]
            if job not in self.jobs:
                return h.send_json(404, self.error_body(404, "task not found"))
            state = self.jobs[job].get("final") or self.advance(job)
            if state in ("done", "failed", "rejected"):
                self.jobs[job]["final"] = state
            status = {"queued": "submitted", "running": "processing", "done": "succeed",
                      "failed": "failed", "rejected": "failed"}[state]
            msg = {"failed": "internal error", "rejected": "Failure to pass the risk control system"}.get(state)
            return h.send_json(200, self.task(job, status, msg))
        return h.send_json(404, self.error_body(404, "no route"))


# the Google and OpenAI fakes live beside this file (kept under 400 lines each)
from .fakes_google import FakeGeminiOmni, FakeOpenAI, FakeVertex  # noqa: E402,F401
