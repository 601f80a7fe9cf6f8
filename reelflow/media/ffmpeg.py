"""ffmpeg through imageio-ffmpeg's bundled binary (9.x): running it, probing, loudness.

imageio-ffmpeg ships no ffprobe, so probing parses ffmpeg's own stream report and counts frames
with a stream-copy pass (fast: no decoding).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from reelflow.errors import MediaError

# x264 settings shared by every encode so outputs are comparable (and match the benchmark).
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2"]
# Files only the pipeline reads again (animatic clips, conformed and joined shots): ultrafast
# encodes a 1080p frame in a third of veryfast's CPU time and decodes faster; the files are ~4x
# larger (measured on an animatic shot: 0.93 vs 2.8 CPU s for 96 frames, 3.9 vs 0.8 MB).
INTERMEDIATE = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p"]


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    env = os.environ.get("REELFLOW_FFMPEG")
    if env:
        return env
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


# The task runner has many threads (most of them wait on providers); CPU-bound encodes are
# bounded here instead, to the cores this machine has (REELFLOW_FFMPEG_JOBS overrides).
JOBS = int(os.environ.get("REELFLOW_FFMPEG_JOBS") or os.cpu_count() or 2)
_SLOTS = threading.BoundedSemaphore(JOBS)


def ffmpeg_slot() -> threading.BoundedSemaphore:
    """One of the machine's encoder slots, for an encoder fed through a pipe (the animatic, the
    export): an x264 at 1080p holds ~290 MB, so encoders beyond the cores cost memory, not speed.
    Never nest run_ffmpeg inside it (the slots are not re-entrant)."""
    return _SLOTS


def run_ffmpeg(args: list[str], *, what: str, stdin: bytes | None = None, timeout: float = 1800) -> str:
    """Run ffmpeg; return stderr. Raise MediaError with the tail of the log on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args] if stdin is None else \
        [ffmpeg_exe(), "-hide_banner", "-y", *args]
    try:
        with _SLOTS:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise MediaError(f"{what}: ffmpeg timed out after {timeout:.0f}s") from None
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = "\n".join(err.strip().splitlines()[-6:])
        raise MediaError(f"{what}: ffmpeg failed ({proc.returncode}):\n{tail}")
    return err


@dataclass(frozen=True)
class MediaInfo:
    path: str
    duration: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    vcodec: str | None = None
    pix_fmt: str | None = None
    acodec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    rotation: int = 0

    @property
    def has_video(self) -> bool:
        return self.vcodec is not None

    @property
    def has_audio(self) -> bool:
        return self.acodec is not None

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as shown: ffmpeg applies rotation metadata when decoding."""
        w, h = self.width or 0, self.height or 0
        return (h, w) if abs(self.rotation) % 180 == 90 else (w, h)

    @property
    def video_duration(self) -> float | None:
        if self.frames is None or not self.fps:
            return None
        return self.frames / self.fps


_DUR = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_VID = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)")
_FPS = re.compile(r"([\d.]+) fps")
_TBR = re.compile(r"([\d.]+k?) tbr")
_AUD = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+).*?, (\d+) Hz, ([\w.()]+)")
_FRAME = re.compile(r"frame=\s*(\d+)")
_ROT = re.compile(r"rotation of (-?[\d.]+) degrees|rotate\s*:\s*(-?\d+)")

_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.1": 6, "5.1(side)": 6, "7.1": 8}


def probe(path: str | Path, *, count_frames: bool = True) -> MediaInfo:
    """Streams, size, fps, duration and (by a copy pass) the exact number of video frames."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    args = ["-i", str(path)]
    if count_frames:
        args += ["-map", "0:v:0?", "-c", "copy", "-f", "null", "-"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *args]
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    err = proc.stderr.decode("utf-8", "replace")
    info = streams_of(err, path)
    if count_frames and info.has_video:
        if proc.returncode != 0:
            raise MediaError(f"{path.name}: unreadable video stream")
        frames = _FRAME.findall(err)
        if frames:
            info = replace(info, frames=int(frames[-1]))
    return info


def streams_of(err: str, path: Path) -> MediaInfo:
    """What ffmpeg's report (its stderr) says of an input's streams, from any command that read it."""
    head = err.split("Stream mapping:")[0]
    m = _DUR.search(head)
    if not m or "Invalid data found" in err or "moov atom not found" in err:
        raise MediaError(f"{path.name}: not a readable media file")
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    info: dict = {"path": str(path), "duration": duration}
    v = _VID.search(head)
    if v:
        info.update(vcodec=v.group(1), pix_fmt=v.group(2), width=int(v.group(3)), height=int(v.group(4)))
        line = next(ln for ln in head.splitlines() if ": Video:" in ln)
        f = _FPS.search(line) or _TBR.search(line)
        if f and not f.group(1).endswith("k"):
            info["fps"] = float(f.group(1))
        r = _ROT.search(head)
        if r:
            info["rotation"] = int(float(r.group(1) or r.group(2)))
    a = _AUD.search(head)
    if a:
        layout = a.group(3)
        ch = _LAYOUT_CHANNELS.get(layout)
        if ch is None:
            mm = re.match(r"(\d+) channels", layout)
            ch = int(mm.group(1)) if mm else None
        info.update(acodec=a.group(1), sample_rate=int(a.group(2)), channels=ch)
    return MediaInfo(**info)


@dataclass(frozen=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    lra: float


def measure_loudness(path: str | Path) -> Loudness:
    """EBU R128 integrated loudness and true peak of the first audio stream (ffmpeg ebur128)."""
    err = run_ffmpeg(["-nostats", "-i", str(path), "-map", "0:a:0",
                      "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
                     what=f"loudness of {Path(path).name}")
    summary = err.split("Summary:")[-1]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    tp = re.search(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS", summary, re.S)
    lra = re.search(r"LRA:\s+(-?[\d.]+) LU", summary)
    if not i:
        raise MediaError(f"{path}: no loudness summary from ffmpeg")

    def num(s: str) -> float:
        return float("-inf") if s == "-inf" else float(s)

    return Loudness(num(i.group(1)), num(tp.group(1)) if tp else float("nan"),
                    float(lra.group(1)) if lra else float("nan"))


def moov_before_mdat(path: str | Path) -> bool:
    """True when the MP4 index comes first (faststart), so it streams before fully downloaded."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    return moov != -1 and (mdat == -1 or moov < mdat)


def espeak_exe() -> str | None:
    return shutil.which("espeak-ng") or shutil.which("espeak")
