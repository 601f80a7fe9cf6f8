"""The animatic's speaking face: a mouth in the top-left corner that opens with the loudness of
the speech it is given, frame by frame, so lip sync can be measured offline (reelflow.qc.lipsync
reads the same box back). The speech is the animatic's own lines, or a dialogue stem it is asked
to sync to (the offline lip-sync route)."""

from __future__ import annotations

import numpy as np

FACE = (0.02, 0.04, 0.02 + 0.16 * 9 / 16, 0.20)  # x0, y0, x1, y1 as fractions of a 16:9 frame
MOUTH = (0.32, 0.55, 0.68, 0.85)  # inside the face, as fractions of it
SKIN = np.array([226, 196, 168], dtype=np.float32)
LIPS = np.array([40, 8, 12], dtype=np.float32)


def face_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The face's pixels: square, its side a sixth of the frame's shorter side."""
    side = max(8, min(width, height) // 6)
    x0, y0 = max(2, width // 50), max(2, height // 25)
    return x0, y0, x0 + side, y0 + side


def mouth_box(width: int, height: int) -> tuple[float, float, float, float]:
    """Where the mouth opens, as fractions of the frame (what the lip-sync measure reads)."""
    x0, y0, x1, y1 = face_box(width, height)
    side = x1 - x0
    return ((x0 + MOUTH[0] * side) / width, (y0 + MOUTH[1] * side) / height,
            (x0 + MOUTH[2] * side) / width, (y0 + MOUTH[3] * side) / height)


def openness(voice: np.ndarray, rate: int, fps: float, frames: int) -> np.ndarray:
    """How open the mouth is in each frame (0..1): the speech's RMS over the frame, relative to
    its loud frames (95th percentile), with a little hold so it does not flicker shut mid-word."""
    step = rate / fps
    out = np.zeros(frames, dtype=np.float32)
    for k in range(frames):
        a, b = int(k * step), int((k + 1) * step)
        seg = voice[a:b]
        out[k] = float(np.sqrt(np.mean(seg.astype(np.float64) ** 2))) if len(seg) else 0.0
    loud = float(np.percentile(out[out > 0], 95)) if np.any(out > 0) else 0.0
    if loud <= 0:
        return out
    out = np.clip(out / loud, 0.0, 1.0)
    out[out < 0.08] = 0.0  # room noise in a stem does not move the lips
    return out


class Face:
    """Draws the face on a frame (uint8, in place), the mouth open by ``opening[k]``."""

    def __init__(self, width: int, height: int, opening: np.ndarray):
        x0, y0, x1, y1 = face_box(width, height)
        self.box = (x0, y0, x1, y1)
        side = x1 - x0
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) + 0.5
        c = side / 2
        self.disk = ((xx - c) ** 2 + (yy - c) ** 2 <= c * c)[..., None]
        self.mx = (xx - c) / (side * (MOUTH[2] - MOUTH[0]) / 2)  # -1..1 across the mouth
        self.my0 = side * (MOUTH[1] + MOUTH[3]) / 2  # the mouth's centre line
        self.half = side * (MOUTH[3] - MOUTH[1]) / 2
        self.yy = yy
        self.opening = opening
        eyes = (((xx - side * 0.33) ** 2 + (yy - side * 0.35) ** 2) <= (side * 0.06) ** 2) | \
               (((xx - side * 0.67) ** 2 + (yy - side * 0.35) ** 2) <= (side * 0.06) ** 2)
        self.eyes = eyes[..., None]

    def on(self, frame: np.ndarray, k: int) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        o = float(self.opening[k]) if k < len(self.opening) else 0.0
        half = max(0.6, self.half * o)  # a closed mouth is a line
        lips = (np.abs(self.mx) <= 1.0) & (np.abs(self.yy - self.my0) <= half * np.sqrt(np.clip(1 - self.mx ** 2, 0, 1)))
        region = frame[y0:y1, x0:x1].astype(np.float32)
        face = np.where(self.disk, SKIN, region)
        face = np.where(self.eyes, LIPS, face)
        face = np.where(lips[..., None] & self.disk, LIPS, face)
        frame[y0:y1, x0:x1] = face.astype(np.uint8)
        return frame
