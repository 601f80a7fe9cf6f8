"""Per-shot picture finishing: upscale decisions and conform recipes (ffmpeg filter chains).

Conform is applied while the edit is read, by the decoder feeding the assembly, so a shot is
decoded and encoded once on its way into the edit (no intermediate re-encode). Its sound is
conformed to a 48 kHz stereo WAV of the shot's exact length, for the mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reelflow.spec.shotlist import fps_arg
from reelflow.media.ffmpeg import INTERMEDIATE, probe, run_ffmpeg

Fit = Literal["crop", "pad", "blur"]

# "auto" crops when the crop keeps at least this share of the source picture (16:9 -> 1:1 keeps
# 56%), and fills with a blurred copy otherwise (16:9 -> 9:16 would keep only 32%).
AUTO_CROP_MIN_KEPT = 0.5

FOCUS = {"center": (0.5, 0.5), "left": (0.0, 0.5), "right": (1.0, 0.5), "top": (0.5, 0.0),
         "bottom": (0.5, 1.0)}


def kept_by_crop(src: tuple[int, int], dst: tuple[int, int]) -> float:
    """Share of the source picture that survives cropping it to dst's aspect."""
    sa, da = src[0] / src[1], dst[0] / dst[1]
    return min(sa, da) / max(sa, da)


def resolve_fit(fit: str, src: tuple[int, int], dst: tuple[int, int]) -> Fit:
    if fit != "auto":
        return fit  # type: ignore[return-value]
    return "crop" if kept_by_crop(src, dst) >= AUTO_CROP_MIN_KEPT else "blur"


def cover_scale(src: tuple[int, int], dst: tuple[int, int], fit: str) -> float:
    """Scale factor that makes ``src`` fill (crop) or fit inside (pad, blur) ``dst``."""
    sx, sy = dst[0] / src[0], dst[1] / src[1]
    return max(sx, sy) if fit == "crop" else min(sx, sy)


@dataclass(frozen=True)
class UpscalePlan:
    needed: bool
    width: int
    height: int
    factor: float


def plan_upscale(src: tuple[int, int], dst: tuple[int, int], fit: str = "crop") -> UpscalePlan:
    """Upscale only when the source is smaller than what the output needs (never downscale here)."""
    s = cover_scale(src, dst, resolve_fit(fit, src, dst))
    if s <= 1.0 + 1e-6:
        return UpscalePlan(False, src[0], src[1], 1.0)
    w = int(math.ceil(src[0] * s / 2) * 2)
    h = int(math.ceil(src[1] * s / 2) * 2)
    return UpscalePlan(True, w, h, s)


def lanczos_filter(width: int, height: int) -> str:
    """ffmpeg lanczos scale plus light sharpening (~0.1 s of filter time per second at 1080p)."""
    return f"scale={width}:{height}:flags=lanczos,unsharp=5:5:0.5:5:5:0.0"


def upscale_lanczos(src: Path, dest: Path, width: int, height: int) -> None:
    """The lanczos upscale written to a file (for tools that want the upscaled shot itself)."""
    run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-map", "0:a:0?",
                "-vf", f"{lanczos_filter(width, height)},setsar=1",
                *INTERMEDIATE, "-c:a", "copy", "-movflags", "+faststart", str(dest)],
               what=f"upscale {src.name}")


def _focus_xy(focus) -> tuple[float, float]:
    if isinstance(focus, str):
        return FOCUS.get(focus, (0.5, 0.5))
    return float(focus[0]), float(focus[1])


def geometry_filter(src: tuple[int, int], size: tuple[int, int], fit: str, focus="center") -> str:
    """Scale + crop/pad/blur-fill a source of any size and aspect to exactly ``size``."""
    w, h = size
    mode = resolve_fit(fit, src, size)
    if mode == "crop":
        fx, fy = _focus_xy(focus)
        return (f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,"
                f"crop={w}:{h}:(iw-{w})*{fx:.4f}:(ih-{h})*{fy:.4f}")
    if mode == "pad":
        return (f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=lanczos,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black")
    # blur: the picture whole in the middle, over a blurred, darkened, cropped copy of itself
    return (f"split=2[rf_bg][rf_fg];"
            f"[rf_bg]scale={w // 4}:{h // 4}:force_original_aspect_ratio=increase,"
            f"crop={w // 4}:{h // 4},boxblur=10:2,eq=brightness=-0.08,scale={w}:{h}[rf_bgs];"
            f"[rf_fg]scale={w}:{h}:force_original_aspect_ratio=decrease:flags=lanczos[rf_fgs];"
            f"[rf_bgs][rf_fgs]overlay=(W-w)/2:(H-h)/2")


def conform_filter(src: tuple[int, int], size: tuple[int, int], fps: float, fit: str,
                   focus="center", pre: str | None = None) -> str:
    """The whole per-shot video conform: optional upscale, geometry, square pixels, rate, 4:2:0."""
    chain = [pre] if pre else []
    chain += [geometry_filter(src, size, fit, focus), "setsar=1", f"fps={fps_arg(fps)}",
              "format=yuv420p"]
    return ",".join(chain)


def conform_audio(src: Path, audio_out: Path, seconds: float, skip: float = 0.0) -> None:
    """48 kHz stereo WAV of exactly ``seconds`` (from ``skip`` into the source); silence where the
    source has no sound."""
    info = probe(src, count_frames=False)
    if info.has_audio:
        args = [*(["-ss", f"{skip:.6f}"] if skip else []), "-i", str(src), "-map", "0:a:0",
                "-af", "aresample=48000,aformat=sample_fmts=s16:channel_layouts=stereo,apad"]
    else:
        args = ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"]
    run_ffmpeg([*args, "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2", "-t", f"{seconds:.6f}",
                str(audio_out)], what=f"conform sound of {src.name}")


def render_conformed(src: Path, dest: Path, vf: str, frames: int, fps: float) -> None:
    """Write a conformed shot to a file (previews, NLE media); the edit itself reads on the fly."""
    run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-vf", f"{vf},tpad=stop_mode=clone:stop_duration=3600",
                *INTERMEDIATE, "-r", fps_arg(fps), "-frames:v", str(frames), "-an",
                "-movflags", "+faststart", str(dest)], what=f"conform {src.name}")
