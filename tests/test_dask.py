"""Shot renders fanned out over a Dask cluster (prefect-dask), in a fresh process so the flow is
built with the Dask task runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from reelflow.media.ffmpeg import probe

from .conftest import make_repo

CUT = """\
title: Dask
output: {resolution: 720p, fps: 24, deliverables: []}
shots:
  - {id: one, prompt: Lighthouse at night, duration: 1, kind: environment}
  - {id: two, prompt: Desert at dawn, duration: 1, kind: environment}
"""


@pytest.mark.slow  # a Dask cluster and Prefect's temporary server in a fresh process
def test_render_on_a_local_dask_cluster(tmp_path):
    path = make_repo(tmp_path, CUT, music=False)
    code = f"""
import json
from prefect.testing.utilities import prefect_test_harness
from reelflow.flows.render import render_shotlist
print("RUNNER" + type(render_shotlist.task_runner).__name__)
with prefect_test_harness(server_startup_timeout=120):
    m = render_shotlist({str(path)!r}, out_dir={str(tmp_path / 'out')!r}, approval="all",
                        store_dir={str(tmp_path / 'store')!r})
    print("MANIFEST" + json.dumps(m))
"""
    env = {**os.environ, "REELFLOW_DASK_WORKERS": "2", "PREFECT_LOGGING_LEVEL": "WARNING"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                       cwd=os.getcwd())
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads(r.stdout.split("MANIFEST", 1)[1])
    assert m["status"] == "final" and all(s["used_tier"] == "final" for s in m["shots"])
    assert "RUNNERDaskTaskRunner" in r.stdout
    info = probe(tmp_path / "out" / "cut.mp4")
    assert info.frames == 48 - 12 and info.has_audio
