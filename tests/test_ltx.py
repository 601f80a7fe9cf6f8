"""LTX-2.5 on the LTX API (synchronous: the answer is the MP4) against a local fake: the body as
documented, and an answer received before a crash is used by the re-run, never bought again."""

from __future__ import annotations

import base64

import pytest
from PIL import Image

from reelflow.errors import JobPendingError, TransientProviderError
from reelflow.providers.ltx import LTXProvider

from .test_providers import cloud, run_task, video_bytes  # noqa: F401 (fixtures)

DOCUMENTED = {"prompt", "model", "duration", "resolution", "fps", "generate_audio", "image_uri", "last_frame_image"}


def test_bodies_as_documented(cloud, tmp_path, monkeypatch):
    monkeypatch.setenv("REELFLOW_LTX_SPOOL", str(tmp_path / "spool"))
    fake, req = cloud("ltx")
    LTXProvider().submit(req)
    [job] = fake.jobs.values()
    assert job["endpoint"] == "text-to-video" and set(job["body"]) <= DOCUMENTED
    assert job["body"] == {"prompt": req.prompt, "model": "ltx-2-5-pro", "duration": req.seconds,
                           "resolution": "1280x720", "fps": 24, "generate_audio": True}
    frame = tmp_path / "f.png"
    Image.new("RGB", (64, 36), "teal").save(frame)
    LTXProvider().submit(req.model_copy(update={"image_path": str(frame), "image_sha256": "e" * 64,
                                                "aspect": "9:16", "width": 1080, "height": 1920}))
    job = list(fake.jobs.values())[-1]
    assert job["endpoint"] == "image-to-video" and job["body"]["resolution"] == "1080x1920"
    assert base64.b64decode(job["body"]["image_uri"].split(",", 1)[1]) == frame.read_bytes()


def test_an_answer_received_before_a_crash_is_not_bought_again(prefect_harness, cloud, tmp_path, monkeypatch):
    monkeypatch.setenv("REELFLOW_LTX_SPOOL", str(tmp_path / "spool"))
    fake, req = cloud("ltx")

    def lost(self, request, job_id, dest):  # the worker dies before the clip reaches the store
        raise TransientProviderError("ltx: worker lost")

    with monkeypatch.context() as m:
        m.setattr(LTXProvider, "download", lost)
        m.setenv("REELFLOW_POLL_DEADLINE", "0.3")
        with pytest.raises(JobPendingError):
            run_task(req, "ltx", tmp_path / "store")
    assert fake.submissions == 1 and len(list((tmp_path / "spool").glob("*.mp4"))) == 1
    clip = run_task(req, "ltx", tmp_path / "store")
    assert fake.submissions == 1 and clip.provider == "ltx"
