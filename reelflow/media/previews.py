"""Small previews a browser on the Prefect UI can show: a JPEG contact sheet and per-shot H.264
proxies, embedded as data: URIs when no web-reachable asset store holds them (file:// links are
blocked from an http page)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from reelflow.media.ffmpeg import run_ffmpeg

# What one inline preview may weigh; bigger ones are left out rather than bloating the artifact.


def jpeg_bytes(image: Path, max_width: int = 1200, quality: int = 72) -> bytes:
    with Image.open(image) as im:
        im = im.convert("RGB")
        if im.width > max_width:
            im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def proxy_clip(src: Path, dest: Path, width: int = 192, fps: int = 12, seconds: float = 8.0, crf: int = 34,
               audio_kbps: int = 24) -> Path:
    """A few-KB H.264 + AAC proxy of a clip (even dimensions, faststart) for an inline player."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    from reelflow.store.local import temp_prefix

    tmp = dest.with_name(temp_prefix(dest.name) + "part.mp4")  # unique per process, swept if it dies
    run_ffmpeg(["-i", str(src), "-t", f"{seconds:g}", "-vf", proxy_filter(width, fps),
                *proxy_encoder(crf, audio_kbps), str(tmp)], what=f"preview of {src.name}")
    tmp.replace(dest)
    return dest


# the finished edit's inline player where no web address serves it: (width, fps, crf, audio kbps)
PLAYER_PROXY = (256, 10, 36, 16)


def proxy_filter(width: int, fps: int) -> str:
    return f"fps={fps},scale={width}:-2"  # the rate first: only the frames kept are scaled


def proxy_encoder(crf: int, audio_kbps: int) -> list[str]:
    return ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
            "-profile:v", "baseline", "-c:a", "aac", "-b:a", f"{audio_kbps}k", "-ac", "1", "-ar", "22050",
            "-movflags", "+faststart"]
