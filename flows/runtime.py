"""How the render flow runs: its task runner, where task results persist, how runs are named."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from prefect.task_runners import ThreadPoolTaskRunner

from reelflow.store.local import Store


def results_storage(store: Store):
    """Where Prefect persists task results (the task cache): the store's folder, or a storage
    block such as an S3 bucket (REELFLOW_RESULT_STORAGE=s3-bucket/<name>, prefect-aws) so the
    cache lives in S3 for every worker that shares the store path."""
    return os.environ.get("REELFLOW_RESULT_STORAGE") or store.results_dir


def run_name() -> str:
    """<shot list>@<commit>-<time>: the UI lists runs by what and which version they rendered."""
    import subprocess

    from prefect.runtime import flow_run

    p = flow_run.parameters or {}
    path = Path(str(p.get("shotlist", "shotlist")))
    try:
        commit = subprocess.run(["git", "-C", str(path.parent if str(path.parent) else "."), "rev-parse",
                                 "--short=8", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{path.stem}{'@' + commit if commit else ''}-{dt.datetime.now():%Y%m%d-%H%M%S}"


def task_runner():
    """Threads by default (renders wait on providers and ffmpeg; REELFLOW_THREADS, default 16). REELFLOW_DASK_ADDRESS fans
    tasks out to a Dask cluster (prefect-dask); REELFLOW_DASK_WORKERS=N starts a local one."""
    from reelflow.runtime.memory import limit_arenas

    limit_arenas()  # before the task threads start: each would keep its own malloc arena
    address, workers = os.environ.get("REELFLOW_DASK_ADDRESS"), os.environ.get("REELFLOW_DASK_WORKERS")
    if address or workers:
        from prefect_dask import DaskTaskRunner

        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": int(workers), "threads_per_worker": 2,
                                              "processes": True, "host": "127.0.0.1",
                                              "dashboard_address": None})
    # waiting on a provider holds a thread: enough of them that fan-out is bounded by each
    # provider's limit, not by the pool (ffmpeg work is bounded to the cores in run_ffmpeg)
    return ThreadPoolTaskRunner(max_workers=int(os.environ.get("REELFLOW_THREADS", "16")))
