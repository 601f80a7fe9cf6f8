"""A local Gemini API answering Lyria interactions: `POST /v1beta/interactions` (or /v1/...)
with x-goog-api-key; a music model answers at once with a completed interaction whose
model_output step holds the song (base64 MP3, 44.1 kHz stereo) and its structure as text.
`lyria-3-clip-preview` is always 30 s; `lyria-3.5` as long as the prompt asks ("N seconds")."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tempfile
from pathlib import Path

from reelflow.media.ffmpeg import ffmpeg_exe

from .fakes import Fake

MODELS = {"lyria-3-clip-preview", "lyria-3.5"}


def song(seconds: float, bpm: float = 90.0) -> bytes:
    """An MP3 with a click on every beat over a drone (what a tracker can find)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "song.mp3"
        beat = 60.0 / bpm
        expr = f"0.3*sin(2*PI*220*t)+0.8*sin(2*PI*60*t)*exp(-30*mod(t\\,{beat:.6f}))"  # \, : not a filter break
        subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i",
                        f"aevalsrc={expr}|{expr}:s=44100:d={seconds}", "-c:a", "libmp3lame", "-b:a", "128k",
                        str(out)], check=True)
        return out.read_bytes()


class FakeLyria(Fake):
    provider = "lyria"

    def __init__(self, key: str, **kw):
        super().__init__(b"", key, **kw)
        self.bodies: list[dict] = []
        self.songs: dict[float, bytes] = {}

    def authorized(self, headers) -> bool:
        return headers.get("x-goog-api-key") == self.key

    def error_body(self, status, message):
        names = {400: "INVALID_ARGUMENT", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
        return {"error": {"code": names.get(status, "UNKNOWN"), "message": message}}

    def op_of(self, method, path):
        return "submit"

    def route(self, h, method, path, query, body):
        parts = path.strip("/").split("/")
        if method != "POST" or parts[-1] != "interactions":
            return h.send_json(404, self.error_body(404, f"no route {method} {path}"))
        data = json.loads(body)
        if data.get("model") not in MODELS or not isinstance(data.get("input"), str):
            return h.send_json(400, self.error_body(400, f"unknown music model {data.get('model')!r} or no prompt"))
        with self.lock:
            self.submissions += 1
            self.bodies.append(data)
        asked = re.search(r"(\d+) seconds", data["input"])
        seconds = 30.0 if data["model"] == "lyria-3-clip-preview" else float(asked.group(1)) if asked else 120.0
        if seconds not in self.songs:
            self.songs[seconds] = song(seconds)
        audio = self.songs[seconds]
        if self.take("download") == "garbage":
            audio = b"\x00ID3 not an mp3 at all" * 50
        step = {"type": "model_output", "content": [
            {"type": "text", "text": "[Intro] [Verse] [Outro]"},
            {"type": "audio", "mime_type": "audio/mpeg", "data": base64.b64encode(audio).decode()}]}
        return h.send_json(200, {"id": f"int-{self.submissions}", "status": "completed", "model": data["model"],
                                 "steps": [{"type": "user_input", "content": [{"type": "text", "text": data["input"]}]},
                                           step]})
