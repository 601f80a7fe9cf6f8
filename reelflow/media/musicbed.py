"""A music bed composed offline for the edit: the `offline` music route (free, deterministic).

The prompt sets the tempo ("72 bpm", or words: slow, upbeat...) and the mode (night, sad, dark:
minor); its hash picks the key. A four-chord progression, one chord a bar, played as a soft pad
over a plucked bass on every beat and a quiet kick on each beat, exactly as long as asked. Its
beats are known exactly, which is how the beat tracker's accuracy is measured."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path

import numpy as np

from reelflow.spec.music import tempo_of

RATE = 48000
MINOR_WORDS = ("night", "sad", "dark", "tense", "melancholy", "minor", "cold", "lonely")
MAJOR = [(0, 4, 7), (9, 0, 4), (5, 9, 0), (7, 11, 2)]  # I vi IV V, semitones over the key's root
MINOR = [(0, 3, 7), (8, 0, 3), (3, 7, 10), (10, 2, 5)]  # i VI III VII


def _hz(semitones: float, root_hz: float) -> float:
    return root_hz * 2 ** (semitones / 12)


def compose(prompt: str, seconds: float, seed: int = 0) -> tuple[np.ndarray, list[float], float]:
    """(stereo float32 samples at 48 kHz, beat times in seconds, tempo) for ``seconds`` of music."""
    n = max(1, int(round(seconds * RATE)))
    h = int(hashlib.sha256(f"{prompt}|{seed}".encode()).hexdigest(), 16)
    tempo = tempo_of(prompt)
    beat = 60.0 / tempo
    root = 110.0 * 2 ** ((h % 7) / 12)  # A2 .. E3
    minor = any(w in prompt.lower() for w in MINOR_WORDS)
    chords = MINOR if minor else MAJOR
    t = np.arange(n, dtype=np.float64) / RATE
    pad = np.zeros(n)
    bass = np.zeros(n)
    kick = np.zeros(n)
    bar = 4 * beat
    for b in range(int(np.ceil(seconds / bar))):
        a0, a1 = int(b * bar * RATE), min(n, int((b + 1) * bar * RATE))
        if a0 >= n:
            break
        tt = t[a0:a1] - b * bar
        env = np.minimum(1.0, tt / 0.4) * np.minimum(1.0, (bar - tt) / 0.3)  # swell in, release out
        for note in chords[b % 4]:
            f = _hz(note + 12, root)
            pad[a0:a1] += env * (np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(4 * np.pi * f * tt + 1.0)) / 3
    beats = [k * beat for k in range(int(np.ceil(seconds / beat))) if k * beat < seconds]
    for k, at in enumerate(beats):
        a0 = int(at * RATE)
        m = min(n - a0, int(min(beat, 0.6) * RATE))
        tt = np.arange(m) / RATE
        f = _hz(chords[(k // 4) % 4][0] - 12, root * 2)
        bass[a0:a0 + m] += np.sin(2 * np.pi * f * tt) * np.exp(-tt * 6)
        km = min(m, int(0.12 * RATE))
        tk = tt[:km]
        kick[a0:a0 + km] += np.sin(2 * np.pi * (50 + 60 * np.exp(-tk * 40)) * tk) * np.exp(-tk * 25)
    mono = 0.45 * pad + 0.35 * bass + 0.5 * kick
    mono *= 0.1 / (np.sqrt(np.mean(mono ** 2)) + 1e-12)  # -20 dBFS RMS: the mix sets the bed's level
    left = mono + 0.02 * np.roll(pad, int(0.013 * RATE))
    right = mono - 0.02 * np.roll(pad, int(0.013 * RATE))
    return np.stack([left, right], axis=1).astype(np.float32), beats, tempo


def wav_bytes(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    write_bed(buf, samples)
    return buf.getvalue()


def write_bed(path, samples: np.ndarray) -> None:
    """``samples`` as 16-bit stereo WAV into ``path`` (a path or a binary file)."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(path if not isinstance(path, Path) else str(path), "wb") as wf:
        wf.setnchannels(2)
        wf.setsampwidth(2)
        wf.setframerate(RATE)
        wf.writeframes(pcm.tobytes())
