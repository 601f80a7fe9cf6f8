"""Runway Gen-4.5 through the official `runwayml` SDK against a local fake of its API: the wire body
field by field as documented (camelCase, the version header, Gen-4.5's ratios and durations)."""

from __future__ import annotations

import base64

from PIL import Image

from reelflow.providers.runway import RunwayProvider

from .test_providers import cloud, video_bytes  # noqa: F401 (fixtures)

DOCUMENTED = {"model", "promptText", "ratio", "duration", "seed", "promptImage", "contentModeration",
              "outputFormat", "proresProfile"}


def test_text_and_image_to_video_bodies_as_documented(cloud, tmp_path):
    fake, req = cloud("runway")
    job = RunwayProvider().submit(req.model_copy(update={"seconds": 7, "aspect": "9:16"}))
    body, endpoint = fake.jobs[job]["body"], fake.jobs[job]["endpoint"]
    assert endpoint == "text_to_video" and set(body) <= DOCUMENTED
    assert body == {"model": "gen4.5", "promptText": req.prompt, "ratio": "720:1280", "duration": 7, "seed": 7}

    frame = tmp_path / "first.png"
    Image.new("RGB", (64, 36), "orange").save(frame)
    job = RunwayProvider().submit(req.model_copy(update={"image_path": str(frame), "image_sha256": "d" * 64}))
    body = fake.jobs[job]["body"]
    assert fake.jobs[job]["endpoint"] == "image_to_video" and set(body) <= DOCUMENTED
    [image] = body["promptImage"]
    assert image["position"] == "first"
    assert base64.b64decode(image["uri"].split(",", 1)[1]) == frame.read_bytes()
    # the identity holds the frame's hash, not its bytes
    assert RunwayProvider().identity(req.model_copy(update={"image_path": str(frame), "image_sha256": "d" * 64})
                                     )["prompt_image"][0]["uri"] == "sha256:" + "d" * 64
