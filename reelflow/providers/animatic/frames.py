"""The animatic's frame compositing: the slate and progress bar drawn on each frame, and the
dissolves from a given first frame and into a given last frame (a continuous cut, a keyframe)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

RAMP_SECONDS = 0.5  # a shot given a first (last) frame leaves (reaches) it over this long


class Overlay:
    """The slate and the progress bar, composited per frame (so a shot that must start or end on
    a given frame can show that frame exactly). Only the slate's own row bands are blended."""

    def __init__(self, card: Image.Image, frames: int):
        rgba = np.asarray(card.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rows = np.flatnonzero(alpha[..., 0].any(axis=1))
        # contiguous runs of rows the slate covers, each with its column span
        runs = np.split(rows, np.flatnonzero(np.diff(rows) > 1) + 1) if rows.size else []
        self.bands = []
        for run in runs:
            r0, r1 = int(run[0]), int(run[-1]) + 1
            cols = np.flatnonzero(alpha[r0:r1, :, 0].any(axis=0))
            c0, c1 = int(cols[0]), int(cols[-1]) + 1
            a = alpha[r0:r1, c0:c1]
            self.bands.append((r0, r1, c0, c1, 1 - a, rgba[r0:r1, c0:c1, :3] * a))
        self.frames = frames
        self.bar_h = max(2, card.height // 120)

    def on(self, frame: np.ndarray, k: int) -> np.ndarray:
        """``frame`` (uint8, writable) with the slate and the bar drawn in place."""
        for r0, r1, c0, c1, keep, ink in self.bands:
            frame[r0:r1, c0:c1] = (frame[r0:r1, c0:c1] * keep + ink + 0.5).astype(np.uint8)
        reach = int(round(frame.shape[1] * (k + 1) / self.frames))
        bar = frame[-self.bar_h:, :reach]
        frame[-self.bar_h:, :reach] = (bar * 0.15 + 255 * 0.85 + 0.5).astype(np.uint8)
        return frame


def _still(path: str | None, size: tuple[int, int]) -> np.ndarray | None:
    """An image filling the frame (cropped to its aspect), as the frame array."""
    if not path or not Path(path).is_file():
        return None
    from PIL import ImageOps

    img = ImageOps.fit(Image.open(path).convert("RGB"), size, Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.float32)


def _towards(frame: np.ndarray, still: np.ndarray | None, weight: float) -> np.ndarray:
    """The uint8 frame dissolved toward a still (weight 1: the still itself)."""
    if still is None or weight <= 0:
        return frame
    weight = min(1.0, weight)
    return np.clip(still * weight + frame * (1 - weight) + 0.5, 0, 255).astype(np.uint8)


def inset_references(card: Image.Image, paths) -> None:
    """The cast's reference images as a row of framed thumbnails at the bottom right of the slate,
    so a reviewer sees which character or place a shot was given (and a test can measure it)."""
    w, h = card.size
    side = max(8, h // 5)
    x = w - side - max(2, w // 80)
    for path in reversed(list(paths)):
        thumb = Image.open(path).convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
        y = h - side - max(4, h // 30)
        card.paste(Image.new("RGBA", (side + 4, side + 4), (255, 255, 255, 255)), (x - 2, y - 2))
        card.paste(thumb, (x, y))
        x -= side + max(4, w // 100)
