"""Local asset store and job ledger (side effects live here, not in the pure core).

Layout under the store root (default ``<repo>/.reelflow``):
  clips/<key>.mp4 + .json     generated clips by generation cache key, with provenance
  derived/<key>.*  (+ .sha256) upscaled / conformed / mixed / exported files by content key
  jobs/<key>.json             provider job ids, written *before* polling (never pay twice)
  prefect-results/            Prefect's persisted task results (task cache)
  tmp/                        partial files, swept when the process that wrote them is gone

A store is portable: results refer to files by store-relative names ("clips/<key>.mp4"),
resolved against wherever the store is now, so moving, renaming or copying a store keeps every
cache hit. Nothing is trusted by name or size: a file is used only while its content matches
the hash recorded when it was written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger("reelflow.store.local")
_HASHES: dict[tuple, str] = {}  # (path, size, mtime_ns, ctime_ns, inode) -> sha256
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_OWNER = re.compile(r"rf-([0-9a-f]{8})-(\d+)[.-]")
STALE_SECONDS = 24 * 3600  # a partial file of another machine is swept after a day


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Content hash, remembered per (size, mtime, ctime, inode): any rewrite, even of the same
    size, changes ctime, so a cached hash never vouches for different bytes."""
    st = os.stat(path)
    ident = (str(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if ident in _HASHES:
        return _HASHES[ident]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    _HASHES[ident] = h.hexdigest()
    return _HASHES[ident]


def temp_prefix(name: str) -> str:
    """Temporary names carry their writer (host, pid and thread): unique per writer, and
    sweepable once that process is gone. Two threads of one process making the same file (two
    shots with the same bytes) once shared a name and raced to rename it."""
    return f".{name}.rf-{_HOST}-{os.getpid()}.{threading.get_ident()}."


def write_text_atomic(path: Path, text: str) -> Path:
    """Temp file in the same folder + fsync + rename: readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=temp_prefix(path.name), suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=str))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_partials(folder: Path) -> int:
    """Remove partial files left by processes that died (kill -9, power loss); returns how many.
    Files of live processes are left alone; another machine's after a day."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        m = _OWNER.search(entry.name)
        if not m or not entry.is_file(follow_symlinks=False):
            continue
        host, pid = m.group(1), int(m.group(2))
        try:
            dead = (not _alive(pid)) if host == _HOST else now - entry.stat().st_mtime > STALE_SECONDS
            if dead or (host == _HOST and pid == os.getpid() and now - entry.stat().st_mtime > STALE_SECONDS):
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed


class Store:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        for sub in ("clips", "derived", "jobs", "prefect-results", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------- names and content
    def ref(self, path: str | Path) -> str:
        """The store-relative name results carry ("clips/<key>.mp4")."""
        path = Path(path)
        try:
            return PurePosixPath(path.resolve().relative_to(self.root)).as_posix()
        except ValueError:
            return str(path)

    def file(self, ref: str | Path) -> Path:
        """Where a result's file is now. Relative names resolve against this store; an absolute
        name written by an older reelflow, or by this store before it was moved or copied, is
        found by its place inside the store (clips/..., derived/...)."""
        path = Path(ref)
        if not path.is_absolute():
            return self.root / path
        parts = path.parts
        for i in range(len(parts) - 2, -1, -1):
            if parts[i] in ("clips", "derived"):
                return self.root.joinpath(*parts[i:])
        return path

    def verified(self, ref: str | Path, sha256: str | None = None) -> bool:
        """The file exists and its content is what was recorded (``sha256`` given, else the
        clip's provenance or the file's .sha256 sidecar). A mismatch is logged, never used."""
        path = self.file(ref)
        expected = sha256 or self._recorded_hash(path)
        if expected is None or not path.is_file():
            return False
        try:
            actual = sha256_file(path)
        except OSError:
            return False
        if actual != expected:
            log.warning("%s changed on disk since it was written (content hash differs); not using it",
                        self.ref(path))
            return False
        return True

    def _recorded_hash(self, path: Path) -> str | None:
        side = path.with_name(path.name + ".sha256")
        if path.parent.name == "clips":
            side = path.with_suffix(".json")
        try:
            text = side.read_text(encoding="utf-8").strip()
            return json.loads(text).get("sha256") if side.suffix == ".json" else text
        except (OSError, ValueError, AttributeError):
            return None

    def commit(self, part: Path, ref: str) -> str:
        """Move a finished temp file into place under ``ref`` and record its content hash."""
        dest = self.file(ref)
        with open(part, "rb") as fh:
            os.fsync(fh.fileno())
        sha = sha256_file(part)
        os.replace(part, dest)
        write_text_atomic(dest.with_name(dest.name + ".sha256"), sha + "\n")
        return sha

    # ---------------------------------------------------------- generated clips
    def clip_path(self, key: str) -> Path:
        return self.root / "clips" / f"{key}.mp4"

    def clip_ref(self, key: str) -> str:
        return f"clips/{key}.mp4"

    def clip_meta(self, key: str) -> dict | None:
        """The stored clip's provenance, only while the clip's bytes match its recorded hash."""
        meta = self.root / "clips" / f"{key}.json"
        path = self.clip_path(key)
        if not meta.is_file() or not path.is_file():
            return None
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            expected = data["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("clips/%s.json is unreadable; the clip is fetched again from its recorded job", key)
            return None
        if not self.verified(self.clip_ref(key), expected):
            return None  # truncated or replaced behind our back: repaired from the job or the asset store
        if isinstance(data.get("result"), dict):
            data["result"]["path"] = self.clip_ref(key)  # wherever the store is now
        return data

    def put_answer(self, ref: str, data: bytes, meta: dict) -> str:
        """A provider's answer (a spoken line, a song) stored under ``ref`` with its provenance
        beside it (clips/<name>.json, recorded hash included): written whole or not at all."""
        dest = self.file(ref)
        part = self.root / "tmp" / f"{temp_prefix(dest.name)}part{dest.suffix}"
        with open(part, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        sha = sha256_file(part)
        os.replace(part, dest)
        write_json_atomic(dest.with_suffix(".json"), {**meta, "sha256": sha, "stored_at": time.time()})
        return sha

    def answer_meta(self, ref: str) -> dict | None:
        """What :meth:`put_answer` recorded, while the answer's bytes still match it."""
        if not self.verified(ref):
            return None
        try:
            return json.loads(self.file(ref).with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put_clip(self, key: str, src: Path, meta: dict) -> dict:
        dest = self.clip_path(key)
        with open(src, "rb") as fh:
            os.fsync(fh.fileno())
        meta = {**meta, "sha256": sha256_file(src), "bytes": src.stat().st_size, "stored_at": time.time()}
        os.replace(src, dest)
        write_json_atomic(dest.with_suffix(".json"), meta)
        return meta

    # ---------------------------------------------------------- derived media
    def derived(self, key: str, suffix: str = ".mp4") -> Path:
        return self.root / "derived" / f"{key}{suffix}"

    def made_once(self, key: str, suffix: str, make) -> Path:
        """A derived file made at most once per key: ``make(path)`` writes a temporary file that
        is then renamed into place, so a re-run (or a neighbour) reads the finished file."""
        dest = self.derived(key, suffix)
        if not dest.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(temp_prefix(dest.name) + "part" + suffix)
            try:
                make(tmp)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
        return dest

    def derived_ref(self, key: str, suffix: str = ".mp4") -> str:
        return f"derived/{key}{suffix}"

    def tmp_path(self, name: str) -> Path:
        fd, p = tempfile.mkstemp(dir=self.root / "tmp", prefix=f"part-rf-{_HOST}-{os.getpid()}.", suffix=name)
        os.close(fd)
        os.chmod(p, 0o644)
        return Path(p)

    def sweep(self) -> int:
        return sweep_partials(self.root / "tmp") + sweep_partials(self.root / "derived") \
            + sweep_partials(self.root / "clips") + sweep_partials(self.root / "jobs")

    # ---------------------------------------------------------- job ledger
    def job(self, key: str) -> dict | None:
        p = self.root / "jobs" / f"{key}.json"
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # written atomically by us, so damage came from outside: keep it for a person to read
            aside = p.with_name(p.name + f".unreadable-{int(time.time())}")
            log.warning("jobs/%s.json is unreadable; kept as %s. If it named a paid job, resume it by hand "
                        "before re-rendering, or the clip is paid for again", key, aside.name)
            try:
                p.replace(aside)
            except OSError:
                pass
            return None
        return data if isinstance(data, dict) and data.get("job_id") else None

    def record_job(self, key: str, entry: dict) -> None:
        write_json_atomic(self.root / "jobs" / f"{key}.json", entry)

    @property
    def results_dir(self) -> Path:
        return self.root / "prefect-results"
