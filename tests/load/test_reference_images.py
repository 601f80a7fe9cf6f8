"""A reference image over the documented bound is refused in exactly one line."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height (no pixel data: nothing should decode it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


def test_a_12000_px_reference_is_one_line_and_no_library_warning(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "huge.png").write_bytes(png_header(12000, 12000))
    (tmp_path / "cut.yaml").write_text("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 4\n"
                                       "    image: assets/huge.png\n")
    proc = subprocess.run([sys.executable, "-m", "reelflow.cli.app", "validate", str(tmp_path / "cut.yaml")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith("image is 12000x12000; the limit is 8192 px on a side (scale it down)"), lines[0]
    assert "DecompressionBomb" not in proc.stderr and "huge.png:" in lines[0]
