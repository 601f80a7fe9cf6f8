"""Stills of a finished edit for its companions: the contact sheet's tiles and the frames the
continuity report compares, read in one decode of the edit (apart, each decoded all of it: 8 s
for three minutes at 1080p)."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from .ffmpeg import run_ffmpeg


class EditStills:
    """Frames of ``edit`` by index: ``full`` ones at full size (RGB arrays), ``tiles`` scaled to
    ``tile_width`` (images). Nothing is decoded until the first is asked for; then all are."""

    def __init__(self, edit: Path, full: Iterable[int] = (), tiles: Iterable[int] = (), tile_width: int = 480):
        self.edit, self.tile_width = edit, tile_width
        self.wanted = {"full": sorted(set(full)), "tiles": sorted(set(tiles))}
        self.read: dict[str, dict[int, object]] | None = None
        self.lock = threading.Lock()

    def full(self, indices: Iterable[int]) -> dict[int, np.ndarray]:
        return self._take("full", indices)

    def tiles(self, indices: Iterable[int]) -> dict[int, Image.Image]:
        return self._take("tiles", indices)

    def _take(self, kind: str, indices: Iterable[int]) -> dict:
        indices = list(indices)
        with self.lock:
            if self.read is None or any(n not in self.read[kind] for n in indices):
                if any(n not in self.wanted[kind] for n in indices):  # asked for more: read those too
                    self.wanted[kind] = sorted({*self.wanted[kind], *indices})
                self.read = self._decode()
            return {n: self.read[kind][n] for n in indices}

    def _decode(self) -> dict[str, dict[int, object]]:
        branches = [(kind, wanted) for kind, wanted in self.wanted.items() if wanted]
        if not branches:
            return {"full": {}, "tiles": {}}
        graph = [f"[0:v]split={len(branches)}" + "".join(f"[in{i}]" for i in range(len(branches)))]
        outputs: list[str] = []
        with tempfile.TemporaryDirectory(prefix="reelflow-stills-") as tmp:
            for i, (kind, wanted) in enumerate(branches):
                pick = "select=" + "+".join(f"eq(n\\,{n})" for n in wanted)
                scale = f",scale={self.tile_width}:-2" if kind == "tiles" else ""
                graph.append(f"[in{i}]{pick}{scale}[out{i}]")
                outputs += ["-map", f"[out{i}]", "-fps_mode", "passthrough", "-frames:v", str(len(wanted)),
                            "-pix_fmt", "rgb24", str(Path(tmp) / f"{kind}%05d.png")]
            run_ffmpeg(["-i", str(self.edit), "-filter_complex", ";".join(graph), *outputs],
                       what=f"stills of {self.edit.name}")
            read: dict[str, dict[int, object]] = {"full": {}, "tiles": {}}
            for kind, wanted in branches:
                files = sorted(Path(tmp).glob(f"{kind}*.png"))
                if len(files) != len(wanted):
                    from ..errors import MediaError

                    raise MediaError(f"{self.edit.name}: got {len(files)} of {len(wanted)} frames")
                for n, f in zip(wanted, files):
                    img = Image.open(f).convert("RGB")
                    # uint8 arrays: a 1080p frame in float64 is 50 MB, and a report reads dozens
                    read[kind][n] = np.asarray(img) if kind == "full" else img
            return read
