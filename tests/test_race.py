"""Two workers racing on one shot list and one store submit every clip once (#10/#13).

Two `reelflow render` processes start together against the same Prefect server, the same store
and one fake fal queue whose jobs take seconds; the fake counts submissions. Without the
per-clip submission lock both processes would pay for every clip."""

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


def test_two_workers_racing_on_one_list_pay_each_clip_once(prefect_harness, video_bytes, tmp_path):  # noqa: F811
    from prefect.settings import PREFECT_API_URL

    fake = FakeFal(video_bytes, KEYS["fal"], latency=6.0).start()
    fake.submit_delay = 8.0  # a slow submission (uploads): the window in which both could submit
    try:
        path = make_repo(tmp_path, LIST, music=False)
        env = {**os.environ, "FAL_KEY": KEYS["fal"], "FAL_QUEUE_URL": fake.url, "REELFLOW_POLL_INTERVAL": "0.2",
               "REELFLOW_SECRET_BLOCKS": "0", "REELFLOW_RPM_FAL": "0", "PREFECT_API_URL": PREFECT_API_URL.value()}
        procs = [subprocess.Popen([EXE, "render", str(path), "--approve-all", "--out", str(tmp_path / f"out{i}"),
                                   "--store", str(tmp_path / "store"), "--date", "2026-11-22"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(2)]
        t0 = time.monotonic()
        results = [p.communicate(timeout=600) for p in procs]
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 0, err[-3000:]
        # seedance: a draft (2.0 fast) and a final; wan-2.7 is its own draft: one clip for both tiers
        assert fake.submissions == 3, [j["endpoint"] for j in fake.jobs.values()]
        assert fake.peak_in_flight <= 3
        assert (tmp_path / "out0" / "cut.mp4").read_bytes() == (tmp_path / "out1" / "cut.mp4").read_bytes()
        assert time.monotonic() - t0 < 600
    finally:
        fake.stop()
