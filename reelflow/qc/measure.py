"""Decode a clip once, small: every frame downscaled (picture checks need motion and brightness,
not detail) and the sound as float samples. The only I/O of QC; the checks read these arrays."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from reelflow.errors import MediaError
from reelflow.media.ffmpeg import ffmpeg_exe, ffmpeg_slot, streams_of
from reelflow.media.wav import read_wav_mono

SPEECH_RATE = 48000  # the animatic's sound rate: the lip-sync measure compares at it

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
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # what several checks derive

    @property
    def seconds(self) -> float:
        return len(self.frames) / self.fps if self.fps else 0.0

    @cached_property
    def luma(self) -> np.ndarray:
        """(n, h, w) float32 Rec. 601 luma, 0..255 (computed once: every check reads it)."""
        f = self.frames.astype(np.float32)
        return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    with ffmpeg_slot():  # a decode per core at most, beside the encoders
        return subprocess.run(cmd, capture_output=True, timeout=600)


_OUT_SIZE = re.compile(r"Output #0.*?Video: rawvideo.*?, (\d+)x(\d+)", re.S)


def read_clip(path: str | Path, *, width: int = WIDTH) -> ClipSignals:
    """One ffmpeg process: every frame scaled to ``width`` on stdout, the sound (2 channels,
    48 kHz, float) to a file beside it, and the streams' facts read from its report. The loop
    filter only smooths block edges: skipping it decodes faster and changes nothing QC reads;
    one decoder thread costs the least CPU (QC runs beside the encoders)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    with tempfile.TemporaryDirectory(prefix="reelflow-qc-") as tmp:
        sound = Path(tmp) / "sound.f32"
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-threads", "1", "-skip_loop_filter", "all",
               "-i", str(path), "-map", "0:v:0", "-vf", f"scale={width}:-2:flags=area", "-fps_mode", "passthrough",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        proc = _run([*cmd, "-map", "0:a:0?", "-ac", "2", "-ar", "48000", "-f", "f32le", str(sound)])
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0 and "does not contain any stream" in err:  # no sound: the picture alone
            proc = _run(cmd)
            err = proc.stderr.decode("utf-8", "replace")
        info = streams_of(err, path)
        if proc.returncode != 0 or not info.has_video:
            tail = err.strip().splitlines()[-1:] or ["no video stream"]
            raise MediaError(f"{path.name}: cannot be decoded for QC: {tail[0][-200:]}")
        size = _OUT_SIZE.search(err)
        if not size:
            raise MediaError(f"{path.name}: ffmpeg did not say the decoded size")
        w_small, h_small = int(size.group(1)), int(size.group(2))
        raw = proc.stdout
        frame_bytes = w_small * h_small * 3
        frames = np.frombuffer(raw, dtype=np.uint8)[: len(raw) // frame_bytes * frame_bytes]
        audio = None
        if info.has_audio and sound.is_file():
            pcm = sound.read_bytes()
            audio = np.frombuffer(pcm, dtype="<f4")[: len(pcm) // 8 * 2].reshape(-1, 2).copy()
    w, h = info.display_size
    return ClipSignals(name=path.name, width=w, height=h, fps=float(info.fps or 0.0),
                       frames=frames.reshape(-1, h_small, w_small, 3), audio=audio)


def load_image(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """An image (a keyframe, a cast reference) as uint8 RGB at ``size`` (w, h)."""
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB").resize(size, Image.Resampling.BOX), dtype=np.uint8)


def read_speech(path: str | Path) -> np.ndarray:
    """A dialogue track (WAV) as mono float at 48 kHz: what a lip-synced mouth must follow."""
    return read_wav_mono(Path(path), SPEECH_RATE)
