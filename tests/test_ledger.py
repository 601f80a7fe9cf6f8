"""The job ledger and the clip store agree after a crash between storing a clip and recording
its download (a worker killed mid-run, tests/test_server_integration.py)."""

from __future__ import annotations

import json

from reelflow import providers
from reelflow.generation.generate import generate_clip
from reelflow.providers.base import GenerationRequest
from reelflow.store.local import Store


def request() -> GenerationRequest:
    return GenerationRequest(shot_id="a1", prompt="Harbor at dawn", kind="environment", camera="static",
                             model="veo-3.1", tier="draft", seed=3, seconds=1, width=320, height=180,
                             fps=12, aspect="16:9", audio=False)


def crash_before_ledger(store: Store, key: str, **changes) -> dict:
    """The ledger as a process killed right after put_clip left it: still 'submitted'."""
    path = store.root / "jobs" / f"{key}.json"
    job = json.loads(path.read_text())
    left = {k: v for k, v in job.items() if k not in ("sha256", "result")}
    path.write_text(json.dumps({**left, "state": "submitted", **changes}))
    return job


def test_a_clip_stored_before_the_crash_settles_its_ledger(tmp_path):
    store, animatic = Store(tmp_path / "store"), providers.get("animatic")
    clip = generate_clip(request(), animatic, store)
    assert clip.submissions == 1
    downloaded = crash_before_ledger(store, clip.key)

    again = generate_clip(request(), animatic, store)
    assert again.cache_hit and again.sha256 == clip.sha256 and again.submissions == 0
    job = store.job(clip.key)
    assert job["state"] == "downloaded" and job["sha256"] == clip.sha256
    assert job["job_id"] == downloaded["job_id"] and job["submitted_at"] == downloaded["submitted_at"]
    assert job["result"]["sha256"] == clip.sha256


def test_a_ledger_naming_another_job_is_left_alone(tmp_path):
    store, animatic = Store(tmp_path / "store"), providers.get("animatic")
    clip = generate_clip(request(), animatic, store)
    crash_before_ledger(store, clip.key, job_id="animatic-other")
    assert generate_clip(request(), animatic, store).cache_hit
    job = store.job(clip.key)
    assert job["state"] == "submitted" and job["job_id"] == "animatic-other"
