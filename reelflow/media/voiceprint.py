"""A small speaker measure: is this line spoken by the same voice as that one?

Not a speaker-recognition model: the voice's pitch (median F0 of the voiced frames, by
autocorrelation) and its spectral envelope (mean log energy in log-spaced bands, level removed),
compared as one number in [0, 1]. It separates two synthetic or recorded voices well enough to
check that a character keeps one voice across shots (tests/test_voices.py measures it)."""

from __future__ import annotations

import numpy as np

RATE = 16000
BANDS = np.geomspace(90, 6000, 25)  # 24 bands


def _mono16k(samples: np.ndarray, rate: int) -> np.ndarray:
    x = samples.mean(axis=1) if samples.ndim == 2 else samples
    if rate != RATE:
        idx = np.linspace(0, len(x) - 1, int(len(x) * RATE / rate))
        x = np.interp(idx, np.arange(len(x)), x)
    return x.astype(np.float64)


def voiceprint(samples: np.ndarray, rate: int) -> np.ndarray:
    """[log2 median F0, 24 band levels (dB, mean removed)] of the voiced frames."""
    x = _mono16k(samples, rate)
    n, hop = 640, 320  # 40 ms frames, 20 ms apart
    if len(x) < n * 3:
        raise ValueError("too short to measure a voice (under 0.12 s)")
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    energy = (frames ** 2).mean(axis=1)
    voiced = frames[energy >= np.quantile(energy, 0.5)]
    spec = np.abs(np.fft.rfft(voiced, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    bands = np.array([spec[:, (freqs >= lo) & (freqs < hi)].mean(axis=1) for lo, hi in zip(BANDS, BANDS[1:])]).T
    profile = 10 * np.log10(bands.mean(axis=0) + 1e-12)
    profile -= profile.mean()
    lags = np.arange(RATE // 400, RATE // 60)  # 60-400 Hz
    f0 = []
    for fr in voiced:
        ac = np.correlate(fr, fr, "full")[n - 1:]
        if ac[0] <= 0:
            continue
        k = lags[np.argmax(ac[lags])]
        if ac[k] / ac[0] > 0.3:  # periodic enough to be voiced
            f0.append(RATE / k)
    pitch = float(np.median(f0)) if f0 else 0.0
    return np.concatenate([[np.log2(pitch) if pitch else 0.0], profile])


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 for the same voice; toward 0 as pitch (a quarter octave halves it) and envelope part."""
    pitch = float(np.exp(-abs(a[0] - b[0]) / 0.36)) if a[0] and b[0] else 0.5
    pa, pb = a[1:], b[1:]
    envelope = float(np.exp(-np.sqrt(np.mean((pa - pb) ** 2)) / 10.0))  # 10 dB rms apart: 1/e
    return round(pitch * envelope, 4)
