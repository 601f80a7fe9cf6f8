"""Lip sync, measured (pure): how the mouth's opening follows the loudness of the speech.

Where the clip's mouth is known (the animatic draws its speaking face at a fixed place; a
provider says where through ``mouth_box``), the mouth's darkness per frame is correlated with
the sound's RMS per frame, at the best offset within +-3 frames (Pearson r over the frames of
the clip). A clip whose lips follow its sound scores near 1; a mouth that does not move with the
speech (a line mixed from a stem over a clip that never spoke it) scores near 0."""

from __future__ import annotations

import numpy as np

from reelflow.qc.checks import Check
from reelflow.qc.measure import ClipSignals, read_speech
from reelflow.qc.report import Expectation

MAX_LAG = 3  # frames either way: an offset of 1-2 frames is invisible, more reads as out of sync


def mouth_track(sig: ClipSignals, box: tuple[float, float, float, float]) -> np.ndarray:
    """How dark the mouth's box is in each frame (its mean luma below the face's, 0..255)."""
    luma = sig.luma
    h, w = luma.shape[1:]
    x0, y0 = int(box[0] * w), int(box[1] * h)
    x1, y1 = max(x0 + 1, int(round(box[2] * w))), max(y0 + 1, int(round(box[3] * h)))
    return 255.0 - luma[:, y0:y1, x0:x1].mean(axis=(1, 2))


def loudness_track(sig: ClipSignals, speech: np.ndarray | None = None, rate: int = 48000) -> np.ndarray:
    """The RMS over each frame of ``speech`` (a dialogue track at ``rate``), else of the clip's sound."""
    n = len(sig.frames)
    out = np.zeros(n, dtype=np.float64)
    if speech is None and (sig.audio is None or not sig.fps):
        return out
    mono = speech if speech is not None else (sig.audio.mean(axis=1) if sig.audio.ndim == 2 else sig.audio)
    step = (rate if speech is not None else sig.sample_rate) / sig.fps
    for k in range(n):
        seg = mono[int(k * step):int((k + 1) * step)]
        out[k] = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0
    return out


def correlation(mouth: np.ndarray, sound: np.ndarray, max_lag: int = MAX_LAG) -> tuple[float, int]:
    """(Pearson r, offset in frames) at the offset where the mouth follows the sound best;
    a positive offset: the mouth moves after the sound."""
    best = (0.0, 0)
    n = min(len(mouth), len(sound))
    for lag in range(-max_lag, max_lag + 1):
        a = mouth[max(0, lag):n + min(0, lag)]
        b = sound[max(0, -lag):n - max(0, lag)]
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            continue
        r = float(np.corrcoef(a, b)[0, 1])
        if r > best[0]:
            best = (r, lag)
    return round(best[0], 3), best[1]


class LipSync(Check):
    name = "lipsync"
    severity = "warn"
    about = "the mouth opens with the speech (envelope vs mouth-opening correlation, where the mouth is known)"
    params = {"min_r": 0.5}

    def run(self, sig: ClipSignals, expect: Expectation, p):
        if expect.mouth is None or len(sig.frames) < 3 or (sig.audio is None and not expect.speech_audio):
            return []
        speech = read_speech(expect.speech_audio) if expect.speech_audio else None
        r, lag = correlation(mouth_track(sig, expect.mouth), loudness_track(sig, speech))
        sig.memo.setdefault("measured", {})["lipsync"] = {"r": r, "offset_frames": lag}
        if r >= p["min_r"]:
            return []
        return [self.finding(p, r, p["min_r"], f"the mouth does not follow the speech (r {r:.2f}, "
                                               f"best at {lag:+d} frames)")]
