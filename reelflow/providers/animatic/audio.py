"""The animatic's sound (offline): an ambience bed shaped by the prompt and the shot's audio cue,
and dialogue spoken by espeak-ng (placeholder tones without it), placed by the one dialogue rule
(reelflow/dialogue.py) and reported as speech spans."""

from __future__ import annotations

import hashlib
import math
import subprocess
import wave
from pathlib import Path

import numpy as np

from reelflow.edit.dialogue import GAP, LEAD_IN
from reelflow.media.ffmpeg import espeak_exe
from reelflow.media.wav import read_wav_mono
from reelflow.providers.base import GenerationRequest

SAMPLE_RATE = 48000


def _has(text: str, *words: str) -> bool:
    return any(w in text for w in words)


def _shaped_noise(n: int, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Noise with a 1/f^alpha spectrum (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.normal(0, 1, n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    f[0] = f[1]
    spec *= 1 / f ** (alpha / 2)
    x = np.fft.irfft(spec, n)
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _db(x: float) -> float:
    return 10 ** (x / 20)


def ambience(cue: str | None, prompt: str, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Stereo ambience bed (float, -1..1) shaped by the cue; returns the layers it used."""
    n = int(round(seconds * SAMPLE_RATE))
    t = np.arange(n) / SAMPLE_RATE
    text = f"{cue or ''} {prompt if not cue else ''}".lower()
    bed = _shaped_noise(n, 1.0, rng) * _db(-42)  # room tone
    layers = ["room tone"]
    if _has(text, "sea", "wave", "ocean", "surf", "harbor", "harbour", "water", "lake", "river"):
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * t / 5.5 + rng.random() * 6)
        bed += _shaped_noise(n, 2.0, rng) * swell * _db(-26)
        layers.append("waves")
    if _has(text, "wind", "breeze", "storm", "gust", "aerial"):
        gust = 0.5 + 0.5 * np.sin(2 * np.pi * t / 3.7 + rng.random() * 6) ** 2
        bed += _shaped_noise(n, 1.0, rng) * gust * _db(-30)
        layers.append("wind")
    if _has(text, "rain", "drizzle", "downpour"):
        bed += _shaped_noise(n, 0.3, rng) * _db(-30)
        layers.append("rain")
    if _has(text, "city", "traffic", "street", "market", "crowd", "chatter", "cafe", "bar"):
        bed += _shaped_noise(n, 1.6, rng) * _db(-30)
        murmur = np.sin(2 * np.pi * 0.7 * t) * 0.3 + 0.7
        bed += _shaped_noise(n, 1.0, rng) * murmur * _db(-36)
        layers.append("crowd")
    if _has(text, "engine", "motor", "hum", "machine", "boat", "car", "drone"):
        hum = np.sin(2 * np.pi * 55 * t) + 0.5 * np.sin(2 * np.pi * 110 * t + 1) + 0.25 * np.sin(2 * np.pi * 165 * t)
        bed += hum * (0.8 + 0.2 * np.sin(2 * np.pi * 0.3 * t)) * _db(-32)
        layers.append("engine hum")
    if _has(text, "gull", "bird", "birds", "seagull", "chirp", "dawn chorus"):
        for _ in range(max(1, int(seconds * 0.8))):
            start = rng.random() * max(0.1, seconds - 0.5)
            dur = 0.18 + 0.15 * rng.random()
            i0, i1 = int(start * SAMPLE_RATE), int(min(seconds, start + dur) * SAMPLE_RATE)
            tt = np.arange(i1 - i0) / SAMPLE_RATE
            f0 = 1800 + 1500 * rng.random()
            chirp = np.sin(2 * np.pi * (f0 * tt - 2500 * tt**2)) * np.hanning(i1 - i0)
            bed[i0:i1] += chirp * _db(-30)
        layers.append("gulls")
    if _has(text, "fire", "crackle", "campfire"):
        clicks = (rng.random(n) > 0.9993).astype(float) * rng.normal(0, 1, n)
        bed += np.convolve(clicks, np.hanning(64), "same") * _db(-24)
        layers.append("crackle")
    if _has(text, "beat", "music", "club", "bass", "drum"):
        for k in range(int(seconds * 2)):
            i0 = int(k * 0.5 * SAMPLE_RATE)
            m = min(n - i0, int(0.15 * SAMPLE_RATE))
            tt = np.arange(m) / SAMPLE_RATE
            bed[i0:i0 + m] += np.sin(2 * np.pi * 60 * tt * (1 - tt * 2)) * np.exp(-tt * 30) * _db(-18)
        layers.append("beat")
    fade = min(n // 4, int(0.05 * SAMPLE_RATE))
    env = np.ones(n)
    env[:fade] = np.linspace(0, 1, fade)
    env[n - fade:] = np.linspace(1, 0, fade)
    bed *= env
    right = np.roll(bed, int(0.011 * SAMPLE_RATE))  # cheap width
    return np.stack([bed, right], axis=1), layers


def _voice_for(speaker: str) -> str:
    variants = ["m1", "m3", "m4", "m7", "f1", "f2", "f3", "f4"]
    h = int(hashlib.sha256(speaker.encode()).hexdigest(), 16)
    return f"en-us+{variants[h % len(variants)]}"


def speak(line: str, speaker: str, rng: np.random.Generator, workdir: Path, voice=None) -> tuple[np.ndarray, bool]:
    """Mono float speech for a line: espeak-ng when installed (``voice``: the character's
    settings, reelflow.spec.voices), else placeholder babble tones."""
    exe = espeak_exe()
    if exe:
        out = workdir / f"line-{hashlib.sha1((speaker + line).encode()).hexdigest()[:10]}.wav"
        settings = voice.args() if voice is not None else ["-v", _voice_for(speaker), "-s", "165"]
        subprocess.run([exe, *settings, "-w", str(out), line], check=True, capture_output=True, timeout=60)
        x = wav_mono(out)
        peak = np.max(np.abs(x)) or 1.0
        return x / peak * _db(-6), True
    # fallback: one voiced tone burst per syllable-ish chunk, at speech rate
    syll = max(1, len(line) // 3)
    pieces = []
    base = (90 + 2 * voice.pitch) if voice is not None else 120 + (int(hashlib.sha256(speaker.encode()).hexdigest(), 16) % 100)
    for _ in range(syll):
        m = int(0.11 * SAMPLE_RATE)
        tt = np.arange(m) / SAMPLE_RATE
        f = base * (1 + 0.2 * rng.random())
        tone = (np.sin(2 * np.pi * f * tt) + 0.5 * np.sin(4 * np.pi * f * tt)) * np.hanning(m)
        pieces += [tone, np.zeros(int(0.03 * SAMPLE_RATE))]
    x = np.concatenate(pieces)
    return x / (np.max(np.abs(x)) or 1) * _db(-8), False


def render_audio(req: GenerationRequest, seconds: float, rng: np.random.Generator, workdir: Path
                 ) -> tuple[np.ndarray, list[tuple[float, float]], list[str], np.ndarray]:
    """Ambience + dialogue. Returns samples, speech spans (s), notes for the manifest and the
    speech alone (mono: what the animatic's mouth follows)."""
    mix, layers = ambience(req.audio_cue, req.prompt, seconds, rng)
    notes = [f"ambience: {', '.join(layers)}"]
    spans: list[tuple[float, float]] = []
    cursor = LEAD_IN
    n = mix.shape[0]
    speech = np.zeros(n, dtype=np.float32)
    for cue in req.dialogue:
        voice, real = speak(cue.line, cue.speaker, rng, workdir, getattr(cue, "voice", None))
        if not real and "espeak-ng not installed: dialogue as placeholder tones" not in notes:
            notes.append("espeak-ng not installed: dialogue as placeholder tones")
        i0 = int(cursor * SAMPLE_RATE)
        if i0 >= n:
            notes.append(f"line of {cue.speaker} does not fit in {seconds:g}s; dropped")
            continue
        i1 = min(n, i0 + len(voice))
        if i1 - i0 < len(voice):
            notes.append(f"line of {cue.speaker} cut at the end of the clip")
        pan = 0.5 + 0.3 * math.sin(len(spans) * 2.1)
        mix[i0:i1, 0] += voice[: i1 - i0] * (1.2 - pan)
        mix[i0:i1, 1] += voice[: i1 - i0] * (0.2 + pan)
        speech[i0:i1] += voice[: i1 - i0]
        spans.append((round(i0 / SAMPLE_RATE, 3), round(i1 / SAMPLE_RATE, 3)))
        cursor = i1 / SAMPLE_RATE + GAP
    if req.driving_audio_path:  # lines mixed from stems: the mouth follows them, the mix adds them
        speech = speech + read_mono(Path(req.driving_audio_path), n)
        notes.append("lip sync: the mouth follows the shot's dialogue stems")
    return np.clip(mix, -0.99, 0.99), spans, notes, speech


def wav_mono(path: Path) -> np.ndarray:
    """A 16-bit WAV as mono float at the animatic's rate."""
    return read_wav_mono(path, SAMPLE_RATE)


def read_mono(path: Path, n: int) -> np.ndarray:
    """A WAV as mono float at the animatic's rate, cut or padded to ``n`` samples."""
    x = wav_mono(path)
    return np.pad(x[:n], (0, max(0, n - len(x)))).astype(np.float32)


def write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(pcm.shape[1] if pcm.ndim == 2 else 1)
        wf.setsampwidth(2)
        wf.setframerate(SAMPLE_RATE)
        wf.writeframes(pcm.tobytes())


# ------------------------------------------------------------------ provider


