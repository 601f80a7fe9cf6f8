"""Assemble conformed shots into the edit (moviepy) and export H.264/AAC.

One moviepy ``VideoClip`` whose frame function returns the active shot's frame and blends
dissolves in integer numpy: measured 1.2-1.3x a hand-written ffmpeg xfade command, where
CompositeVideoClip + CrossFadeIn is ~6x (../shared/reference/media.md). Frames stream from at
most two open readers, so memory stays flat however long the edit is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from moviepy import VideoClip
from moviepy.video.io.ffmpeg_reader import FFMPEG_VideoReader

from ..shotlist import TransitionType
from ..timeline import Timeline, mix_weights
from .ffmpeg import AAC, X264, ffmpeg_exe


class _Readers:
    """Sequential frame access to each conformed shot, closing readers once passed."""

    def __init__(self, paths: list[Path], size: tuple[int, int]):
        self.paths = paths
        self.size = size
        self.open: dict[int, FFMPEG_VideoReader] = {}
        self.last: dict[int, np.ndarray] = {}

    def frame(self, index: int, local: int, fps: int) -> np.ndarray:
        for i in [i for i in self.open if i < index - 1]:
            self.open.pop(i).close()
            self.last.pop(i, None)
        reader = self.open.get(index)
        if reader is None:
            reader = FFMPEG_VideoReader(str(self.paths[index]), decode_file=False)
            self.open[index] = reader
        try:
            f = reader.get_frame(local / fps)
        except (IOError, OSError):
            f = None
        if f is None:
            f = self.last.get(index)
            if f is None:
                f = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        self.last[index] = f
        return f

    def close(self) -> None:
        for r in self.open.values():
            r.close()
        self.open.clear()


def _blend(a: np.ndarray, b: np.ndarray, wa: float, wb: float, colour: int) -> np.ndarray:
    """Integer blend of up to two frames and a solid colour (weights sum to 1)."""
    ia, ib = int(round(wa * 256)), int(round(wb * 256))
    ic = 256 - ia - ib
    out = a.astype(np.uint16) * ia
    if ib:
        out += b.astype(np.uint16) * ib
    if ic and colour:
        out += np.uint16(colour * ic)
    return (out >> 8).astype(np.uint8)


def edit_clip(timeline: Timeline, paths: list[Path], size: tuple[int, int]) -> tuple[VideoClip, _Readers]:
    fps = timeline.fps
    readers = _Readers(paths, size)
    black = np.zeros((size[1], size[0], 3), np.uint8)

    def frame_at(t: float) -> np.ndarray:
        n = min(timeline.frames - 1, int(t * fps + 1e-6))
        active = timeline.active(n)
        if not active:
            return black
        if len(active) == 1:
            clip, local = active[0]
            frame = readers.frame(clip.index, local, fps)
            # fade_black / dip_white at the edges of a single shot are handled by the join
            return frame
        (a, la), (b, lb) = active[0], active[1]
        join = a.join_out
        progress = (lb + 0.5) / max(1, join.frames)
        wa, wb, _ = mix_weights(join.type, progress)
        fa = readers.frame(a.index, la, fps)
        fb = readers.frame(b.index, lb, fps)
        colour = 255 if join.type == TransitionType.dip_white else 0
        return _blend(fa, fb, wa, wb, colour)

    clip = VideoClip(frame_function=frame_at, duration=timeline.duration).with_fps(fps)
    return clip, readers


def export_edit(timeline: Timeline, paths: list[Path], audio_wav: Path, out: Path,
                size: tuple[int, int], *, progress=None) -> None:
    """Write the finished MP4: H.264 (yuv420p, CRF 20, veryfast, faststart) + AAC 192k 48 kHz.

    moviepy supplies the frames; the ffmpeg command is ours so every encoder setting is explicit
    (moviepy's writer ignores audio bitrate/rate when muxing an audio file).
    """
    import subprocess

    clip, readers = edit_clip(timeline, paths, size)
    part = out.with_name(out.stem + ".part.mp4")
    w, h = size
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(timeline.fps), "-i", "-",
           "-i", str(audio_wav), "-map", "0:v", "-map", "1:a",
           *X264, "-threads", "2", "-r", str(timeline.fps), *AAC,
           "-frames:v", str(timeline.frames), "-t", f"{timeline.duration:.6f}",
           "-movflags", "+faststart", str(part)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for i, frame in enumerate(clip.iter_frames(fps=timeline.fps, dtype="uint8")):
            if i >= timeline.frames:
                break
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
            if progress is not None and i % 12 == 0:
                progress(i, timeline.frames)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    finally:
        readers.close()
        clip.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    if proc.wait() != 0:
        from ..errors import MediaError

        raise MediaError(f"export {out.name}: ffmpeg failed: {err.strip()[-500:]}")
    part.replace(out)
