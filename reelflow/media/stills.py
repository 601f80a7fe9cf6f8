"""Stills of a finished edit for its companions: the contact sheet's tiles, the frames the
continuity report compares and the small player the summary shows, read in one decode of the
edit (apart, each decoded all of it: 7-10 s for three minutes at 1080p)."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

from reelflow.store.local import temp_prefix
from reelflow.media.ffmpeg import run_ffmpeg
from reelflow.media.previews import PLAYER_PROXY, proxy_encoder, proxy_filter


class EditStills:
    """Frames of ``edit`` by index: ``full`` ones at full size (RGB arrays), ``tiles`` scaled to
    ``tile_width`` (images). Nothing is decoded until the first is asked for; then all are, and
    the player proxy is written to ``player`` in the same pass (where it is not there yet)."""

    def __init__(self, edit: Path, full: Iterable[int] = (), tiles: Iterable[int] = (), tile_width: int = 480,
                 player: Path | None = None):
        self.edit, self.tile_width, self.player = edit, tile_width, player
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
        chains, outputs = [], []  # one filter chain and one output per thing read
        with tempfile.TemporaryDirectory(prefix="reelflow-stills-") as tmp:
            for kind, wanted in branches:
                pick = "select=" + "+".join(f"eq(n\\,{n})" for n in wanted)
                chains.append(pick + (f",scale={self.tile_width}:-2" if kind == "tiles" else ""))
                outputs.append(["-fps_mode", "passthrough", "-frames:v", str(len(wanted)), "-pix_fmt", "rgb24",
                                str(Path(tmp) / f"{kind}%05d.png")])
            made = Path(tmp) / "player.mp4"
            if self.player is not None and not self.player.is_file():
                width, fps, crf, kbps = PLAYER_PROXY
                chains.append(proxy_filter(width, fps))
                outputs.append(["-map", "0:a:0?", *proxy_encoder(crf, kbps), str(made)])
            graph = [f"[0:v]split={len(chains)}" + "".join(f"[in{i}]" for i in range(len(chains)))]
            graph += [f"[in{i}]{chain}[out{i}]" for i, chain in enumerate(chains)]
            args = [a for i, out in enumerate(outputs) for a in ("-map", f"[out{i}]", *out)]
            run_ffmpeg(["-i", str(self.edit), "-filter_complex", ";".join(graph), *args],
                       what=f"stills of {self.edit.name}")
            if made.is_file():
                part = self.player.with_name(temp_prefix(self.player.name) + "part.mp4")
                self.player.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(made, part)
                part.replace(self.player)
            read: dict[str, dict[int, object]] = {"full": {}, "tiles": {}}
            for kind, wanted in branches:
                files = sorted(Path(tmp).glob(f"{kind}*.png"))
                if len(files) != len(wanted):
                    from reelflow.errors import MediaError

                    raise MediaError(f"{self.edit.name}: got {len(files)} of {len(wanted)} frames")
                for n, f in zip(wanted, files):
                    img = Image.open(f).convert("RGB")
                    # uint8 arrays: a 1080p frame in float64 is 50 MB, and a report reads dozens
                    read[kind][n] = np.asarray(img) if kind == "full" else img
            return read
