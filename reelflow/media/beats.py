"""Beat tracking with librosa (`pip install 'reelflow[beats]'`): where the beats of a music bed
fall, for `audio.cut_on_beat`. The bed is decoded with the bundled ffmpeg (any format), mono at
22.05 kHz, then `librosa.beat.beat_track` (onset strength + dynamic programming)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from reelflow.errors import InputError
from reelflow.media.ffmpeg import ffmpeg_exe

RATE = 22050


def librosa_or_error():
    import importlib.util

    if importlib.util.find_spec("librosa") is None:  # without importing it (its numba code compiles lazily)
        raise InputError("audio.cut_on_beat needs the beat tracker: pip install 'reelflow[beats]'")
    try:
        import librosa
    except ImportError:
        raise InputError("audio.cut_on_beat needs the beat tracker: pip install 'reelflow[beats]'") from None
    return librosa


def track_beats(path: Path) -> tuple[list[float], float]:
    """(beat times in seconds, tempo in bpm) of the audio file at ``path``."""
    librosa = librosa_or_error()
    raw = subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], capture_output=True, check=True, timeout=600).stdout
    y = np.frombuffer(raw, dtype=np.float32)
    if not len(y) or not np.any(y):
        return [], 0.0
    tempo, beats = librosa.beat.beat_track(y=y, sr=RATE, units="time")
    return [round(float(b), 4) for b in beats], round(float(np.atleast_1d(tempo)[0]), 2)
