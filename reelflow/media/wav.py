"""WAV files as numpy arrays (the standard library's wave module; no ffmpeg process)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def read_wav_mono(path: Path, rate_out: int) -> np.ndarray:
    """A 16- or 8-bit WAV as mono float at ``rate_out`` (linear resampling: enough for envelopes,
    lip-sync measures and the animatic's own beds)."""
    with wave.open(str(path), "rb") as wf:
        rate, width, ch = wf.getframerate(), wf.getsampwidth(), wf.getnchannels()
        raw = np.frombuffer(wf.readframes(wf.getnframes()), dtype=np.int16 if width == 2 else np.uint8)
    x = raw.astype(np.float32) / 32768.0
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    if rate != rate_out:
        x = np.interp(np.linspace(0, len(x) - 1, int(len(x) * rate_out / rate)), np.arange(len(x)), x)
    return x
