"""Local asset store and job ledger (side effects live here, not in the pure core).

Layout under the store root (default ``<repo>/.reelflow``):
  clips/<key>.mp4 + .json     generated clips by generation cache key, with provenance
  derived/<key>.mp4 (+ .wav)  upscaled / conformed intermediates by content key
  jobs/<key>.json             provider job ids, written *before* polling (never pay twice)
  prefect-results/            Prefect's persisted task results (task cache)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.chmod(tmp, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        for sub in ("clips", "derived", "jobs", "prefect-results", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------- generated clips
    def clip_path(self, key: str) -> Path:
        return self.root / "clips" / f"{key}.mp4"

    def clip_meta(self, key: str) -> dict | None:
        meta = self.root / "clips" / f"{key}.json"
        path = self.clip_path(key)
        if not meta.is_file() or not path.is_file():
            return None
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("bytes") != path.stat().st_size:
            return None  # truncated or replaced behind our back
        return data

    def put_clip(self, key: str, src: Path, meta: dict) -> dict:
        dest = self.clip_path(key)
        meta = {**meta, "sha256": sha256_file(src), "bytes": src.stat().st_size, "stored_at": time.time()}
        os.replace(src, dest)
        write_json_atomic(dest.with_suffix(".json"), meta)
        return meta

    # ---------------------------------------------------------- derived media
    def derived(self, key: str, suffix: str = ".mp4") -> Path:
        return self.root / "derived" / f"{key}{suffix}"

    def tmp_path(self, name: str) -> Path:
        fd, p = tempfile.mkstemp(dir=self.root / "tmp", prefix="part-", suffix=name)
        os.close(fd)
        os.chmod(p, 0o644)
        return Path(p)

    # ---------------------------------------------------------- job ledger
    def job(self, key: str) -> dict | None:
        p = self.root / "jobs" / f"{key}.json"
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def record_job(self, key: str, entry: dict) -> None:
        write_json_atomic(self.root / "jobs" / f"{key}.json", entry)

    @property
    def results_dir(self) -> Path:
        return self.root / "prefect-results"
