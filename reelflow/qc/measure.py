"""Decode a clip once, small: every frame downscaled (picture checks need motion and brightness,
not detail) and the sound as float samples. The only I/O of QC; the checks read these arrays."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import MediaError
from ..media.ffmpeg import ffmpeg_exe, ffmpeg_slot, probe

WIDTH = 96  # frames are compared at this width: enough for black, freeze, flash and cuts


@dataclass(frozen=True)
class ClipSignals:
    name: str
    width: int  # as stored (before downscaling)
    height: int
    fps: float
    frames: np.ndarray  # (n, h, w, 3) uint8, downscaled
    audio: np.ndarray | None  # (samples, channels) float32, or None without an audio stream
    sample_rate: int = 48000

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps if self.fps else 0.0

    @cached_property
    def luma(self) -> np.ndarray:
        """(n, h, w) float32 Rec. 601 luma, 0..255 (computed once: every check reads it)."""
        f = self.frames.astype(np.float32)
        return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def _decode(args: list[str], what: str) -> bytes:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    with ffmpeg_slot():  # a decode per core at most, beside the encoders
        proc = subprocess.run(cmd, capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise MediaError(f"{what}: ffmpeg failed: {proc.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    return proc.stdout


def read_clip(path: str | Path, *, width: int = WIDTH) -> ClipSignals:
    path = Path(path)
    info = probe(path, count_frames=False)
    if not info.has_video:
        raise MediaError(f"{path.name}: no video stream")
    w, h = info.display_size
    small_h = max(2, round(width * h / max(w, 1) / 2) * 2)
    # the loop filter only smooths block edges: skipping it decodes faster and changes nothing QC
    # reads; one decoder thread costs the least CPU (QC runs beside the encoders, under a slot)
    raw = _decode(["-threads", "1", "-skip_loop_filter", "all", "-i", str(path), "-map", "0:v:0", "-vf", f"scale={width}:{small_h}:flags=area",
                   "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], f"decoding {path.name}")
    frame_bytes = width * small_h * 3
    frames = np.frombuffer(raw, dtype=np.uint8)[: len(raw) // frame_bytes * frame_bytes]
    frames = frames.reshape(-1, small_h, width, 3)
    audio = None
    if info.has_audio:
        channels = max(1, min(info.channels or 2, 2))
        pcm = _decode(["-i", str(path), "-map", "0:a:0", "-ac", str(channels), "-ar", "48000", "-f", "f32le", "-"],
                      f"decoding the sound of {path.name}")
        audio = np.frombuffer(pcm, dtype="<f4")[: len(pcm) // 4 // channels * channels].reshape(-1, channels)
    return ClipSignals(name=path.name, width=w, height=h, fps=float(info.fps or 0.0), frames=frames, audio=audio)


def load_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """An image (a keyframe, a cast reference) as uint8 RGB at ``size`` (w, h)."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.uint8)
