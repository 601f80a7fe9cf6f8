"""Decode every asset a shot list uses before anything is paid for.

`validate`, `plan` and `render` (before its first submission) call `decode_problems`: music,
dialogue stems and effects must hold decodable sound of some length, reference images must open
and stay under a size cap, LUTs must parse as .cube files. Each problem is one `file:line:
field: message` line, located like every other shot-list error.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

from reelflow.errors import MediaError, Problem
from reelflow.spec.shotlist import LoadedShotList

MAX_IMAGE_SIDE = 8192  # px; providers take far less, and a 20k x 20k PNG is 1.6 GB decoded
MAX_ASSET_BYTES = 2 << 30


def wav_problem(path: Path) -> str | None:
    """A RIFF/WAVE file whose data chunk claims more bytes than the file holds was cut short
    (ffmpeg decodes what is there without complaint, so the sound would silently go missing)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None  # not a RIFF WAVE: let the decoder judge
        size = path.stat().st_size
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return "WAV file has no data chunk (truncated?)"
            cid, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if head[:4] == b"RF64" or length in (0xFFFFFFFF, 0):
                    return None  # streamed WAVs leave the length open
                missing = fh.tell() + length - size
                return f"WAV file is truncated ({missing:,} of {length:,} data bytes missing)" if missing > 0 else None
            fh.seek(length + (length & 1), 1)


def audio_problem(path: Path) -> str | None:
    from reelflow.media.ffmpeg import ffmpeg_exe, probe

    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        truncated = wav_problem(path)
        if truncated:
            return truncated
        info = probe(path, count_frames=False)
    except (MediaError, OSError) as exc:
        return f"not a readable audio file ({str(exc).splitlines()[0][:120]})"
    if not info.has_audio:
        return "has no audio stream"
    if not info.duration or info.duration <= 0:
        return "holds no sound (zero length)"
    # decode it all: a corrupt stream fails here, not half-way through the mix
    proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
                           "-f", "null", "-"], capture_output=True, text=True, timeout=300)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    if proc.returncode != 0 or lines:
        return f"audio does not decode cleanly ({(lines or ['ffmpeg failed'])[0][:120]})"
    return None


def image_problem(path: Path) -> str | None:
    from PIL import Image, UnidentifiedImageError

    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        with Image.open(path) as im:
            w, h = im.size  # read from the header, before any pixel is decoded
            if max(w, h) > MAX_IMAGE_SIDE:
                return f"image is {w}x{h}; the limit is {MAX_IMAGE_SIDE} px on a side (scale it down)"
            im.load()
    except UnidentifiedImageError:
        return "not an image (unrecognised format)"
    except Image.DecompressionBombError:
        return f"image is too large to decode safely; the limit is {MAX_IMAGE_SIDE} px on a side (scale it down)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"image does not decode ({str(exc)[:120]})"
    return None


def lut_problem(path: Path) -> str | None:
    """A 3D .cube LUT: LUT_3D_SIZE N (2-256), then N^3 lines of three numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return "not a text .cube file"
    size, rows = None, 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word = line.split()[0].upper()
        if word == "LUT_3D_SIZE":
            try:
                size = int(line.split()[1])
            except (IndexError, ValueError):
                return f"line {no}: LUT_3D_SIZE needs a whole number"
            if not 2 <= size <= 256:
                return f"line {no}: LUT_3D_SIZE {size} is outside 2-256"
            continue
        if word == "LUT_1D_SIZE":
            return f"line {no}: a 1D LUT; reelflow applies 3D .cube LUTs (LUT_3D_SIZE)"
        if word in ("TITLE", "DOMAIN_MIN", "DOMAIN_MAX", "LUT_3D_INPUT_RANGE"):
            continue
        parts = line.split()
        try:
            if len(parts) != 3:
                raise ValueError
            [float(p) for p in parts]
        except ValueError:
            return f"line {no}: expected three numbers, got {line[:40]!r}"
        rows += 1
    if size is None:
        return "no LUT_3D_SIZE line (not a 3D .cube LUT)"
    if rows != size ** 3:
        return f"LUT_3D_SIZE {size} needs {size ** 3:,} rows, the file has {rows:,}"
    return None


CHECKS = {"audio": audio_problem, "image": image_problem, "lut": lut_problem}


def decode_problems(loaded: LoadedShotList) -> list[Problem]:
    """One located problem per asset that would fail (or silently degrade) the render."""
    from reelflow.load.loader import locate

    problems, verdicts = [], {}
    for loc, rel, kind in loaded.spec.assets():
        path = loaded.resolve_asset(rel)
        if (path, kind) not in verdicts:  # one stem used by many shots is decoded once
            try:
                if path.stat().st_size > MAX_ASSET_BYTES:
                    verdicts[(path, kind)] = f"larger than {MAX_ASSET_BYTES >> 30} GiB"
                else:
                    verdicts[(path, kind)] = CHECKS[kind](path)
            except (OSError, subprocess.SubprocessError) as exc:
                verdicts[(path, kind)] = f"cannot read ({exc})"
        if verdicts[(path, kind)]:
            problems.append(locate(loaded, loc, f"{rel}: {verdicts[(path, kind)]}"))
    return problems
