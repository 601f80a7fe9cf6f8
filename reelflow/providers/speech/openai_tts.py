"""OpenAI speech through the official SDK: `client.audio.speech.create` (POST /audio/speech).

One request per line: `model`, `voice` (a built-in name, or `{"id": "voice_..."}` for a custom
voice), `input` (the line), `instructions` (the voice in words), `speed`, `response_format: wav`.
The answer is the audio itself (no job to resume), so it is checked (a WAV that decodes, with
sound in it) before it is kept: a damaged answer is a transient fault, asked again.
Key: OPENAI_API_KEY; base URL: OPENAI_BASE_URL (both the SDK's own variables).
"""

from __future__ import annotations

import io
import os
import wave

from reelflow.errors import TransientProviderError
from reelflow.plan.speech import SpeechRequest
from reelflow.providers.common import classify, require

ENV = "OPENAI_API_KEY"


def body(req: SpeechRequest) -> dict:
    """The request as sent."""
    voice = {"id": req.voice} if req.voice.startswith("voice_") else req.voice
    out = {"model": req.model, "voice": voice, "input": req.text, "response_format": "wav", "speed": req.speed}
    if req.instructions:
        out["instructions"] = req.instructions
    return out


def check_wav(data: bytes) -> float:
    """Seconds of speech in ``data``; raises TransientProviderError when it is not a whole WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wf:
            frames, rate = wf.getnframes(), wf.getframerate()
            raw = wf.readframes(frames)
            if len(raw) < frames * wf.getsampwidth() * wf.getnchannels():
                raise EOFError("short")
    except (wave.Error, EOFError, ValueError) as exc:
        raise TransientProviderError(f"openai speech: the audio is damaged ({exc})") from None
    if not frames or not rate or not any(raw):
        raise TransientProviderError("openai speech: the audio is empty")
    return frames / rate


class OpenAISpeech:
    name = "openai"
    version = "1"

    def _client(self):
        from openai import OpenAI

        # reelflow's task retries decide what is asked again (a line is cheap, and never half-paid)
        return OpenAI(api_key=require("openai speech", ENV), max_retries=0, timeout=120.0,
                      base_url=os.environ.get("OPENAI_BASE_URL") or None)

    def synthesise(self, req: SpeechRequest) -> bytes:
        return self.synthesise_checked(req)[0]

    def synthesise_checked(self, req: SpeechRequest) -> tuple[bytes, float]:
        """(the WAV, its seconds): checked once, here."""
        import openai

        sent = body(req)
        try:
            answer = self._client().audio.speech.create(**sent)
            data = answer.content
        except openai.APIStatusError as exc:
            err = exc.body.get("error") if isinstance(exc.body, dict) else None
            message = str((err or {}).get("message") if isinstance(err, dict) else exc.message)
            retry = exc.response.headers.get("retry-after") if exc.response is not None else None
            raise classify("openai speech", exc.status_code, message, env=ENV,
                           retry_after=float(retry) if retry and retry.replace(".", "", 1).isdigit() else None) from None
        except openai.APIConnectionError as exc:
            raise TransientProviderError(f"openai speech: {type(exc).__name__}") from None
        return data, check_wav(data)


def speaker_for(route: str):
    if route == "espeak":
        from reelflow.providers.speech.espeak import EspeakSpeech

        return EspeakSpeech()
    return {"openai": OpenAISpeech}[route]()
