"""A local OpenAI speech endpoint: `POST /v1/audio/speech` with a Bearer key answers with the
audio itself (WAV here, as `response_format: wav` asks); errors are OpenAI's JSON error object.
The documented fields are enforced (model, voice, input, instructions, speed 0.25-4,
response_format). Each line is spoken as a tone burst per word at a pitch set by the voice, so
two voices differ measurably and a line's length follows its words."""

from __future__ import annotations

import hashlib
import io
import json
import wave

import numpy as np

from .fakes import Fake

MODELS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"}
VOICES = {"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar", "fable",
          "onyx", "nova"}
RATE = 24000


def speak(text: str, voice: str, speed: float) -> bytes:
    """Words as voiced tone bursts (about 0.28 s each at speed 1) at the voice's own pitch."""
    f0 = 90 + int(hashlib.sha256(voice.encode()).hexdigest(), 16) % 140
    pieces = [np.zeros(int(0.05 * RATE))]
    for word in text.split():
        n = int(RATE * (0.12 + 0.03 * len(word)) / speed)
        t = np.arange(n) / RATE
        tone = (np.sin(2 * np.pi * f0 * t) + 0.4 * np.sin(4 * np.pi * f0 * t)) * np.hanning(n)
        pieces += [tone * 0.5, np.zeros(int(0.06 * RATE / speed))]
    pcm = (np.concatenate(pieces) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(RATE)
        wf.writeframes(pcm.tobytes())
    return buf.getvalue()


class FakeOpenAISpeech(Fake):
    provider = "openai-speech"

    def __init__(self, key: str, **kw):
        super().__init__(b"", key, **kw)
        self.bodies: list[dict] = []

    def authorized(self, headers) -> bool:
        return headers.get("Authorization") == f"Bearer {self.key}"

    def error_body(self, status, message):
        return {"error": {"message": message, "type": "invalid_request_error" if status == 400 else "server_error",
                          "param": None, "code": None}}

    def op_of(self, method, path):
        return "submit"

    @staticmethod
    def invalid(data: dict) -> str | None:
        if data.get("model") not in MODELS:
            return f"Invalid value for 'model': {data.get('model')!r}"
        voice = data.get("voice")
        if not (voice in VOICES or (isinstance(voice, dict) and str(voice.get("id", "")).startswith("voice_"))):
            return f"Invalid value for 'voice': {voice!r}"
        if not isinstance(data.get("input"), str) or not 0 < len(data["input"]) <= 4096:
            return "'input' must be a string of 1 to 4096 characters"
        if not 0.25 <= float(data.get("speed", 1.0)) <= 4.0:
            return "'speed' must be between 0.25 and 4.0"
        if data.get("response_format", "mp3") not in ("mp3", "opus", "aac", "flac", "wav", "pcm"):
            return "unsupported response_format"
        if "instructions" in data and data["model"] in ("tts-1", "tts-1-hd"):
            return "instructions are not supported by tts-1 or tts-1-hd"
        return None

    def route(self, h, method, path, query, body):
        if method != "POST" or path != "/v1/audio/speech":
            return h.send_json(404, self.error_body(404, f"no route {method} {path}"))
        data = json.loads(body)
        problem = self.invalid(data)
        if problem:
            return h.send_json(400, self.error_body(400, problem))
        with self.lock:
            self.submissions += 1
            self.bodies.append(data)
        voice = data["voice"] if isinstance(data["voice"], str) else data["voice"]["id"]
        audio = speak(data["input"], voice, float(data.get("speed", 1.0)))
        if self.take("download") == "truncate":
            audio = audio[: len(audio) // 3]
        return h.send_raw(200, audio, "audio/wav")
