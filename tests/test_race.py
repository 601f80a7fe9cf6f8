"""Two workers racing on one shot list submit every clip once (#10/#13).

Two `reelflow render` processes start together against the same Prefect server and one fake fal
queue whose jobs take seconds; the fake counts submissions. Each clip's submission runs in a
SERIALIZABLE Prefect transaction: with the file-system lock manager when the workers share a
store, with Redis (a real redis-server started here) when they share nothing but Redis. Without
the lock both processes would pay for every clip."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from .conftest import make_repo
from .fakes import FakeFal
from .test_cli import EXE
from .test_providers import KEYS, video_bytes  # noqa: F401 - shared session fixture

pytestmark = pytest.mark.slow

LIST = """\
title: Race
output: {resolution: 720p, deliverables: []}
shots:
  - {id: market, prompt: A night market in the rain, duration: 4, model: seedance-2.0}
  - {id: lanterns, prompt: Paper lanterns swaying, duration: 4, model: wan-2.7}
"""


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway redis-server (Debian's package; .ci/system-deps.sh installs it)."""
    import shutil
    import socket

    exe = shutil.which("redis-server")
    assert exe, "redis-server is not installed (apt-get install redis-server; see .ci/system-deps.sh)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def race(tmp_path, video, stores: list[str], extra_env: dict) -> tuple[FakeFal, list]:
    """Two renders of one list started together; returns the fake and their output folders."""
    from prefect.settings import PREFECT_API_URL

    fake = FakeFal(video, KEYS["fal"], latency=6.0).start()
    fake.submit_delay = 8.0  # a slow submission (uploads): the window in which both could submit
    try:
        path = make_repo(tmp_path, LIST, music=False)
        env = {**os.environ, "FAL_KEY": KEYS["fal"], "FAL_QUEUE_URL": fake.url, "REELFLOW_POLL_INTERVAL": "0.2",
               "REELFLOW_SECRET_BLOCKS": "0", "REELFLOW_RPM_FAL": "0", "PREFECT_API_URL": PREFECT_API_URL.value(),
               **extra_env}
        procs = [subprocess.Popen([EXE, "render", str(path), "--approve-all", "--out", str(tmp_path / f"out{i}"),
                                   "--store", str(tmp_path / store), "--date", "2026-11-22"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i, store in enumerate(stores)]
        results = [p.communicate(timeout=600) for p in procs]
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 0, err[-3000:]
    finally:
        fake.stop()
    return fake, [tmp_path / f"out{i}" for i in range(len(stores))]


def test_two_workers_sharing_a_store_pay_each_clip_once(prefect_harness, video_bytes, tmp_path):  # noqa: F811
    fake, outs = race(tmp_path, video_bytes, ["store", "store"], {})
    # seedance: a draft (2.0 fast) and a final; wan-2.7 is its own draft: one clip for both tiers
    assert fake.submissions == 3, [j["endpoint"] for j in fake.jobs.values()]
    assert fake.peak_in_flight <= 3
    assert (outs[0] / "cut.mp4").read_bytes() == (outs[1] / "cut.mp4").read_bytes()


def test_two_workers_sharing_only_redis_pay_each_clip_once(prefect_harness, video_bytes, tmp_path,  # noqa: F811
                                                           redis_url):
    """Separate stores (separate machines): the Redis lock serialises the submissions and the
    transaction's record in Redis hands the paid job to the other worker, which polls it."""
    import redis

    fake, outs = race(tmp_path, video_bytes, ["store-a", "store-b"], {"REELFLOW_LOCKS": redis_url})
    assert fake.submissions == 3, [j["endpoint"] for j in fake.jobs.values()]
    assert fake.downloads >= 6  # each worker fetched every clip into its own store
    assert (outs[0] / "cut.mp4").read_bytes() == (outs[1] / "cut.mp4").read_bytes()
    assert redis.Redis.from_url(redis_url).dbsize() >= 3  # the job records (locks are released)
