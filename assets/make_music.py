"""Generate assets/music/bed.wav: a 16 s ambient chord bed that loops cleanly.

Synthesised from scratch by this script (no samples), released under CC0 1.0: anyone may use
it for anything. Run `python assets/make_music.py` to regenerate it byte for byte.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 32000
BPM = 90
BEATS = 24  # 16 s at 90 bpm
CHORDS = [  # i - VI - III - VII in A minor, one bar (4 beats) each, played twice... then a turn
    (57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62), (57, 60, 64), (52, 56, 59),
]


def midi_hz(n: int) -> float:
    return 440.0 * 2 ** ((n - 69) / 12)


def main(out: Path = Path(__file__).parent / "music" / "bed.wav") -> None:
    beat = 60.0 / BPM
    n = int(BEATS * beat * RATE)
    t = np.arange(n) / RATE
    left = np.zeros(n)
    right = np.zeros(n)
    bar = int(4 * beat * RATE)
    for i, chord in enumerate(CHORDS):
        i0, i1 = i * bar, min(n, (i + 1) * bar)
        tt = t[i0:i1] - t[i0]
        env = np.minimum(1, tt / 0.4) * np.minimum(1, (tt[-1] - tt) / 0.6 + 0.05)
        for k, note in enumerate(chord):
            f = midi_hz(note)
            tone = np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(4 * np.pi * f * tt + 0.5)
            left[i0:i1] += tone * env * (0.18 if k != 1 else 0.12)
            right[i0:i1] += tone * env * (0.12 if k != 1 else 0.18)
        bass = np.sin(2 * np.pi * midi_hz(chord[0] - 12) * tt) * env * 0.25
        left[i0:i1] += bass
        right[i0:i1] += bass
    # soft pulse on every beat
    for b in range(BEATS):
        i0 = int(b * beat * RATE)
        m = min(n - i0, int(0.25 * RATE))
        tt = np.arange(m) / RATE
        tick = np.sin(2 * np.pi * 880 * tt) * np.exp(-tt * 25) * 0.05
        left[i0:i0 + m] += tick
        right[i0:i0 + m] += tick
    peak = max(np.abs(left).max(), np.abs(right).max())
    stereo = np.stack([left, right], axis=1) / peak * 0.7
    pcm = (stereo * 32767).astype("<i2")
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as wf:
        wf.setnchannels(2)
        wf.setsampwidth(2)
        wf.setframerate(RATE)
        wf.writeframes(pcm.tobytes())
    print(f"wrote {out} ({n / RATE:.1f}s)")


if __name__ == "__main__":
    main()
