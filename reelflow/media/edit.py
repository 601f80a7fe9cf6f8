"""Assemble conformed shots into the edit and export H.264/AAC.

Two views of the same timeline:
- ``edit_clip``: a moviepy ``VideoClip`` (RGB) whose frame function returns the active shot's
  frame and blends transitions; random access for previews, contact sheets and tests.
- ``export_edit``: the same blend streamed in yuv420p from one decoder per visible shot into one
  encoder. Measured 0.95x a hand-written ffmpeg xfade command (bench/run.py), where moviepy's
  CompositeVideoClip is ~6x and the RGB frame-function path 1.4x.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from moviepy import VideoClip
from moviepy.video.io.ffmpeg_reader import FFMPEG_VideoReader

from ..shotlist import TransitionType
from ..timeline import Timeline, mix_weights
from ..errors import MediaError
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


class _YuvReader:
    """Sequential raw yuv420p frames of one conformed shot from its own ffmpeg decoder."""

    def __init__(self, path: Path, size: tuple[int, int]):
        import subprocess

        self.frame_bytes = size[0] * size[1] * 3 // 2
        self.proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(path),
             "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=self.frame_bytes)
        self.last: np.ndarray | None = None
        self.pos = 0

    def read(self, index: int) -> np.ndarray:
        while self.pos <= index:
            data = self.proc.stdout.read(self.frame_bytes)
            if len(data) < self.frame_bytes:
                break  # short source: hold the last frame
            self.last = np.frombuffer(data, np.uint8)
            self.pos += 1
        if self.last is None:
            raise MediaError(f"no frames decoded from {self.proc.args[6]}")
        return self.last

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _solid_yuv(size: tuple[int, int], luma: int) -> np.ndarray:
    w, h = size
    frame = np.full(w * h * 3 // 2, 128, np.uint8)
    frame[: w * h] = luma
    return frame


def iter_edit_frames(timeline: Timeline, paths: list[Path], size: tuple[int, int]):
    """The edit as a stream of yuv420p frames (bytes), blending transitions in integer maths.

    yuv420p end to end is half the bytes of RGB and skips two colour conversions per frame:
    measured 1.0x ffmpeg's own xfade pipeline where the RGB path was 1.4x.
    """
    black, white = _solid_yuv(size, 16), _solid_yuv(size, 235)  # limited-range video levels
    readers: dict[int, _YuvReader] = {}
    try:
        for n in range(timeline.frames):
            active = timeline.active(n)
            for i in [i for i in readers if all(i != c.index for c, _ in active)]:
                readers.pop(i).close()
            for c, _ in active:
                if c.index not in readers:
                    readers[c.index] = _YuvReader(paths[c.index], size)
            if len(active) == 1:
                c, local = active[0]
                yield readers[c.index].read(local).tobytes()
                continue
            (a, la), (b, lb) = active
            join = a.join_out
            wa, wb, _ = mix_weights(join.type, (lb + 0.5) / max(1, join.frames))
            ia, ib = int(round(wa * 256)), int(round(wb * 256))
            ic = 256 - ia - ib
            out = readers[a.index].read(la).astype(np.uint16) * ia
            out += readers[b.index].read(lb).astype(np.uint16) * ib
            if ic:
                colour = white if join.type == TransitionType.dip_white else black
                out += colour.astype(np.uint16) * ic
            yield (out >> 8).astype(np.uint8).tobytes()
    finally:
        for r in readers.values():
            r.close()


def export_edit(timeline: Timeline, paths: list[Path], audio_wav: Path, out: Path,
                size: tuple[int, int], *, progress=None) -> None:
    """Write the finished MP4: H.264 (yuv420p, CRF 20, veryfast, faststart) + AAC 192k 48 kHz.

    Frames stream from one decoder per visible shot through a producer thread into one encoder,
    so decoding overlaps encoding and memory stays flat however long the edit is.
    """
    import queue
    import subprocess
    import threading

    part = out.with_name(out.stem + ".part.mp4")
    w, h = size
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-r", str(timeline.fps), "-i", "-",
           "-i", str(audio_wav), "-map", "0:v", "-map", "1:a",
           *X264, "-threads", "2", "-r", str(timeline.fps), *AAC,
           "-frames:v", str(timeline.frames), "-t", f"{timeline.duration:.6f}",
           "-movflags", "+faststart", str(part)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    frames: queue.Queue = queue.Queue(maxsize=8)
    failure: list[BaseException] = []
    stop = threading.Event()

    def produce() -> None:
        try:
            for data in iter_edit_frames(timeline, paths, size):
                if stop.is_set():
                    break
                frames.put(data)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the writer thread
            failure.append(exc)
        finally:
            frames.put(None)

    producer = threading.Thread(target=produce, name="reelflow-assemble", daemon=True)
    producer.start()
    try:
        i = 0
        while True:
            data = frames.get()
            if data is None:
                break
            proc.stdin.write(data)
            i += 1
            if progress is not None and (i % 12 == 0 or i == timeline.frames):
                progress(i, timeline.frames)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    finally:
        stop.set()
        while producer.is_alive():
            try:
                frames.get_nowait()
            except queue.Empty:
                pass
            producer.join(timeout=0.05)
    err = proc.stderr.read().decode("utf-8", "replace")
    if failure:
        proc.kill()
        raise failure[0]
    if proc.wait() != 0:
        raise MediaError(f"export {out.name}: ffmpeg failed: {err.strip()[-500:]}")
    part.replace(out)
