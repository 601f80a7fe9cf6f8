"""Never pay twice across workers: a clip's submission runs inside a Prefect transaction with
SERIALIZABLE isolation, whose lock manager is shared by every worker that may race on the clip.

- default: Prefect's file-system lock manager in ``<store>/locks`` (workers sharing the store);
- ``REELFLOW_LOCKS=redis://host:6379/0``: prefect-redis' ``RedisLockManager`` (workers on
  machines that share no folder). The submitted job is then also written to Redis under the
  same lock (prefect-redis' ``RedisDatabase`` block), so a worker whose own store has never seen
  the clip finds the job another worker paid for and polls it instead of submitting again.

Prefect's transaction asks its store for a lock with no expiry and ignores a refusal, so the
manager here is wrapped: a lock expires after ``hold`` seconds (a worker killed on another machine
cannot block a clip for ever), a lock whose holder was a process of this machine that no longer
exists is broken at once, and a wait past ``wait`` seconds raises ``JobPendingError`` (the re-run
resumes whatever the other worker started).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from reelflow.errors import InputError, JobPendingError

REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://")


class ExpiringLocks:
    """A Prefect ``LockManager`` around another one: bounded hold, bounded wait, dead holders
    of this machine broken."""

    def __init__(self, inner: Any, *, hold: float = 300.0, wait: float = 600.0, folder: Path | None = None):
        self.inner, self.hold, self.wait, self.folder = inner, hold, wait, folder

    def acquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                     hold_timeout: float | None = None) -> bool:
        self._break_if_dead(key)
        wait = acquire_timeout if acquire_timeout is not None else self.wait
        deadline = time.monotonic() + wait
        while True:
            left = max(0.1, deadline - time.monotonic())
            try:
                if self.inner.acquire_lock(key, holder, acquire_timeout=min(left, 5.0),
                                           hold_timeout=hold_timeout or self.hold):
                    return True
            except ValueError:  # read a lock file between its creation and its first write
                pass
            if time.monotonic() > deadline:
                raise JobPendingError(f"clip {key[:12]} is being submitted by another worker for over "
                                      f"{wait:.0f}s; a re-run resumes whatever it started") from None
            self._break_if_dead(key)
            time.sleep(0.05)

    async def aacquire_lock(self, key: str, holder: str, acquire_timeout: float | None = None,
                            hold_timeout: float | None = None) -> bool:
        import asyncio

        return await asyncio.to_thread(self.acquire_lock, key, holder, acquire_timeout, hold_timeout)

    def release_lock(self, key: str, holder: str) -> None:
        with contextlib.suppress(ValueError, OSError):  # expired and taken over, or already gone
            self.inner.release_lock(key, holder)

    def is_locked(self, key: str) -> bool:
        return self.inner.is_locked(key)

    def is_lock_holder(self, key: str, holder: str) -> bool:
        return self.inner.is_lock_holder(key, holder)

    def wait_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return self.inner.wait_for_lock(key, timeout)

    async def await_for_lock(self, key: str, timeout: float | None = None) -> bool:
        return await self.inner.await_for_lock(key, timeout)

    def _break_if_dead(self, key: str) -> None:
        """kill -9 or power loss while submitting leaves the lock file: if its holder was a
        process of this machine that is gone, it protects nothing."""
        if self.folder is None:
            return
        path = self.folder / f"{key}.lock"
        try:
            host, pid = json.loads(path.read_text())["holder"].split(":")[:2]
            if host == socket.gethostname():
                os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no lock, another machine's, half-written or not ours: the normal wait applies


def redis_url() -> str | None:
    url = os.environ.get("REELFLOW_LOCKS", "").strip()
    if not url or url == "file":
        return None
    if not url.startswith(REDIS_SCHEMES):
        raise InputError(f"REELFLOW_LOCKS must be 'file' or a redis:// URL, not {url.split(':')[0]!r}")
    return url


def lock_manager(store_root: Path, *, hold: float = 300.0, wait: float = 600.0) -> ExpiringLocks:
    """The lock manager every worker of this deployment shares (see module doc)."""
    url = redis_url()
    if url:
        try:
            from prefect_redis import RedisLockManager
        except ImportError:
            raise InputError("REELFLOW_LOCKS names Redis: pip install 'reelflow[redis]' (prefect-redis)") from None
        return ExpiringLocks(RedisLockManager(connection_url=url), hold=hold, wait=wait)
    from prefect.locking.filesystem import FileSystemLockManager

    folder = Path(store_root) / "locks"
    return ExpiringLocks(FileSystemLockManager(lock_files_directory=folder), hold=hold, wait=wait, folder=folder)


class Submission:
    """The open transaction of one clip's submission, and, when workers share Redis, the job
    another worker recorded there and a way to record this worker's job for the others."""

    def __init__(self, txn: Any, records: Any | None, key: str):
        self.txn, self.records, self.path = txn, records, f"reelflow:job:{key}"

    def recorded_job(self) -> dict | None:
        if self.records is None:
            return None
        raw = self.records.read_path(self.path, _sync=True)
        try:
            job = json.loads(raw) if raw else None
        except ValueError:  # not ours, or half a value: the local ledger decides
            return None
        return job if isinstance(job, dict) and job.get("job_id") else None

    def record_job(self, job: dict) -> None:
        if self.records is not None:
            self.records.write_path(self.path, json.dumps(job).encode(), _sync=True)


@contextlib.contextmanager
def submission(store_root: Path, key: str, *, wait: float = 600.0, hold: float = 300.0):
    """A SERIALIZABLE Prefect transaction on the clip's key: one worker at a time checks the
    ledger, submits and records the job. The store's ledger is the record (the transaction writes
    none); with Redis the job is also written there, under the same lock. The transaction commits
    eagerly, so the lock is released when the block ends, and it is nobody's child: the task's own
    (async) transaction neither waits for it nor is rolled back by it."""
    from prefect.results import ResultStore
    from prefect.transactions import BaseTransaction, CommitMode, IsolationLevel, transaction

    url = redis_url()
    records = None
    if url:
        from prefect_redis import RedisDatabase

        records = RedisDatabase.from_connection_string(url)
    store = ResultStore(lock_manager=lock_manager(store_root, hold=hold, wait=wait))
    detached = BaseTransaction.__var__.set(None)
    try:
        with transaction(key=key, store=store, isolation_level=IsolationLevel.SERIALIZABLE,
                         commit_mode=CommitMode.EAGER, overwrite=True, write_on_commit=False) as txn:
            yield Submission(txn, records, key)
    finally:
        BaseTransaction.__var__.reset(detached)
