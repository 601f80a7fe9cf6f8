"""Per-shot picture finishing with ffmpeg: upscale, then conform to the output.

Both are pure functions of (input file, parameters) -> output file; the Prefect tasks that wrap
them cache on the input's content hash plus the parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .ffmpeg import AAC, INTERMEDIATE, probe, run_ffmpeg

Fit = Literal["crop", "pad"]


def cover_scale(src: tuple[int, int], dst: tuple[int, int], fit: Fit) -> float:
    """Scale factor that makes ``src`` fill (crop) or fit inside (pad) ``dst``."""
    sx, sy = dst[0] / src[0], dst[1] / src[1]
    return max(sx, sy) if fit == "crop" else min(sx, sy)


@dataclass(frozen=True)
class UpscalePlan:
    needed: bool
    width: int
    height: int
    factor: float


def plan_upscale(src: tuple[int, int], dst: tuple[int, int], fit: Fit = "crop") -> UpscalePlan:
    """Upscale only when the source is smaller than what the output needs (never downscale here)."""
    s = cover_scale(src, dst, fit)
    if s <= 1.0 + 1e-6:
        return UpscalePlan(False, src[0], src[1], 1.0)
    w = int(math.ceil(src[0] * s / 2) * 2)
    h = int(math.ceil(src[1] * s / 2) * 2)
    return UpscalePlan(True, w, h, s)


def upscale_lanczos(src: Path, dest: Path, width: int, height: int) -> None:
    """ffmpeg lanczos scale plus light sharpening; audio stream copied untouched."""
    run_ffmpeg([
        "-i", str(src), "-map", "0:v:0", "-map", "0:a:0?",
        "-vf", f"scale={width}:{height}:flags=lanczos,unsharp=5:5:0.5:5:5:0.0,setsar=1",
        *INTERMEDIATE, "-c:a", "copy", "-movflags", "+faststart", str(dest),
    ], what=f"upscale {src.name}")


def conform(src: Path, video_out: Path, audio_out: Path, *, size: tuple[int, int], fps: int,
            frames: int, fit: Fit = "crop") -> None:
    """Exactly ``frames`` frames at ``size``/``fps`` (yuv420p, square pixels) plus a 48 kHz
    stereo WAV of the same length. Short sources hold their last frame; silent ones get silence."""
    w, h = size
    seconds = frames / fps
    if fit == "crop":
        geo = f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,crop={w}:{h}"
    else:
        geo = (f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=lanczos,"
               f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black")
    info = probe(src, count_frames=False)
    vf = f"[0:v:0]{geo},setsar=1,fps={fps},tpad=stop_mode=clone:stop_duration={seconds + 1:.3f},format=yuv420p[v]"
    if info.has_audio:
        af = "[0:a:0]aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo,apad[a]"
        extra_in: list[str] = []
    else:
        af = "[1:a]aformat=sample_fmts=s16:channel_layouts=stereo[a]"
        extra_in = ["-f", "lavfi", "-t", f"{seconds + 1:.3f}", "-i", "anullsrc=r=48000:cl=stereo"]
    run_ffmpeg([
        "-i", str(src), *extra_in, "-filter_complex", f"{vf};{af}",
        "-map", "[v]", "-an", *INTERMEDIATE, "-r", str(fps), "-frames:v", str(frames),
        "-movflags", "+faststart", str(video_out),
        "-map", "[a]", "-vn", "-c:a", "pcm_s16le", "-t", f"{seconds:.6f}", str(audio_out),
    ], what=f"conform {src.name}")


__all__ = ["plan_upscale", "upscale_lanczos", "conform", "cover_scale", "AAC"]
