"""The offline speaker standing in for a TTS route without a key: espeak-ng (placeholder tones
without it) in the character's offline voice, as a WAV like the cloud routes return."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from reelflow.plan.speech import SpeechRequest
from reelflow.spec.voices import OfflineVoice
from reelflow.providers.animatic.audio import speak, write_wav


class EspeakSpeech:
    name = "espeak"
    version = "1"

    def synthesise_checked(self, req: SpeechRequest) -> tuple[bytes, float]:
        from reelflow.providers.speech.openai_tts import check_wav

        data = self.synthesise(req)
        return data, check_wav(data)

    def synthesise(self, req: SpeechRequest) -> bytes:
        variant, pitch, rate = req.voice.split(":")
        voice = OfflineVoice(variant=variant, pitch=int(pitch), rate=int(rate))
        with tempfile.TemporaryDirectory(prefix="reelflow-espeak-") as tmp:
            samples, _ = speak(req.text, req.voice, np.random.default_rng(0), Path(tmp), voice)
            path = Path(tmp) / "line.wav"
            write_wav(path, np.concatenate([np.zeros(2400), samples, np.zeros(2400)]))  # 50 ms either side
            return path.read_bytes()
