"""Wan 3.0 and HappyHorse on Alibaba Cloud Model Studio (DashScope), through the official SDK against
a local fake of its task protocol: the body field by field as documented, frames uploaded through
the SDK's temporary OSS upload, and a task past Alibaba's 24 h window paid for again only once."""

from __future__ import annotations

import pytest
from PIL import Image

from reelflow.errors import JobPendingError
from reelflow.providers.dashscope import DashScopeProvider

from .test_providers import CAT, cloud, run_task, video_bytes  # noqa: F401 (fixtures)

# wan3.0-video's documented fields (Model Studio API reference): input.prompt, input.media[] of
# {type, url}; parameters resolution (480P/720P/1080P), ratio, duration (integer), seed, watermark
DOCUMENTED_PARAMETERS = {"resolution", "ratio", "duration", "seed", "watermark"}
MEDIA_TYPES = {"first_frame", "last_frame", "reference_image", "reference_video", "reference_audio"}


def _png(path, colour):
    Image.new("RGB", (64, 48), colour).save(path)
    return str(path)


def test_body_matches_the_documented_schema_and_frames_go_up_through_oss(cloud, tmp_path):
    fake, req = cloud("dashscope")
    first, last = _png(tmp_path / "first.png", "red"), _png(tmp_path / "last.png", "blue")
    framed = req.model_copy(update={"image_path": first, "image_sha256": "a" * 64, "last_frame_path": last,
                                    "last_frame_sha256": "b" * 64, "seconds": 12})
    job = DashScopeProvider().submit(framed)
    body = fake.jobs[job]["body"]
    assert body["model"] == "wan3.0-video-prime"  # the catalog's id at the route
    assert set(body["parameters"]) <= DOCUMENTED_PARAMETERS
    assert body["parameters"] == {"resolution": "720P", "ratio": "16:9", "duration": 12, "seed": 7, "watermark": False}
    assert body["input"]["prompt"] == req.prompt and "negative_prompt" not in body["input"]  # removed in 3.0
    media = body["input"]["media"]
    assert [m["type"] for m in media] == ["first_frame", "last_frame"]
    assert all(m["url"].startswith("oss://") for m in media)
    uploaded = {k.rsplit("/", 1)[-1]: v for k, v in fake.uploads.items()}
    assert uploaded["first.png"] == open(first, "rb").read() and uploaded["last.png"] == open(last, "rb").read()

    # the cast's references when no frame is set; never mixed with frames (the API refuses the mix)
    refs = req.model_copy(update={"reference_paths": (first, last), "reference_sha256s": ("a" * 64, "b" * 64)})
    body = fake.jobs[DashScopeProvider().submit(refs)]["body"]
    assert [m["type"] for m in body["input"]["media"]] == ["reference_image", "reference_image"]
    both = framed.model_copy(update={"reference_paths": (first,), "reference_sha256s": ("a" * 64,)})
    assert {m["type"] for m in DashScopeProvider.media(both)} == {"first_frame", "last_frame"}
    assert all(m["type"] in MEDIA_TYPES for m in DashScopeProvider.media(refs))

    # the identity names files by hash, so a moved file keeps its key
    assert DashScopeProvider().identity(framed)["media"][0]["url"] == "sha256:" + "a" * 64


def test_happyhorse_is_routed_to_its_dashscope_model_id(cloud):
    from reelflow import providers

    res = providers.resolve_route("happyhorse-1.1", CAT, __import__("datetime").date(2026, 12, 7),
                                  environ={"DASHSCOPE_API_KEY": "k"})
    assert (res.route, res.route_model) == ("dashscope", "happyhorse-1.1-t2v")


def test_an_upload_fault_is_retried_without_paying_twice(prefect_harness, cloud, tmp_path):
    fake, req = cloud("dashscope")
    framed = req.model_copy(update={"image_path": _png(tmp_path / "f.png", "green"), "image_sha256": "c" * 64})
    fake.inject("upload", 503)
    clip = run_task(framed, "dashscope", tmp_path / "store")
    assert fake.submissions == 1 and clip.provider == "dashscope"


def test_a_task_past_the_24h_window_is_submitted_again_once(prefect_harness, cloud, tmp_path, monkeypatch):
    """A run that stopped with the task pending, resumed after Alibaba forgot the task (UNKNOWN):
    the job is lost, so it is paid again, once, and the clip says why."""
    fake, req = cloud("dashscope")
    fake.inject("poll", *([500] * 40))
    monkeypatch.setenv("REELFLOW_POLL_DEADLINE", "0.4")
    with pytest.raises(JobPendingError):
        run_task(req, "dashscope", tmp_path / "store")
    assert fake.submissions == 1
    fake.faults.clear()
    fake.expired |= set(fake.jobs)  # a day later
    monkeypatch.setenv("REELFLOW_POLL_DEADLINE", "60")
    clip = run_task(req, "dashscope", tmp_path / "store")
    assert fake.submissions == 2 and clip.provider == "dashscope"
    assert any("expired" in n for n in clip.notes)
    again = run_task(req, "dashscope", tmp_path / "store")  # and never a third time
    assert fake.submissions == 2 and again.cache_hit
