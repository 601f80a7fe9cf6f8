"""A cast in the shot list (#11, first part): characters, locations, props and styles with a
description and reference images; shots name them; routing prefers models that take references
and says what is dropped; requests carry the image hashes; the animatic insets the references;
Veo on Vertex receives them as ASSET reference images through the official SDK."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import numpy as np
import pytest
from PIL import Image

from reelflow.generation.cast import cast_fields
from reelflow.load.catalog_file import load_catalog
from reelflow.errors import ShotListError
from reelflow.providers.animatic.provider import render_animatic
from reelflow.plan.routing import plan_shotlist
from reelflow.load.loader import load_shotlist

from .conftest import make_repo
from .test_providers import cloud, video_bytes  # noqa: F401 - shared fixtures

TODAY = dt.date(2026, 11, 24)
CAT = load_catalog()

SCENE = """\
title: Pier
cast:
  ada: {{kind: character, description: a tall woman in a yellow raincoat, images: [assets/images/ref.png]}}
  pier: {{kind: location, description: a wooden pier in fog, images: [assets/images/{pier}]}}
shots:
  - {{id: meet, prompt: Ada walks along the pier, duration: 4, kind: character, refs: [ada, pier]}}
  - {{id: alone, prompt: The empty pier, duration: 4, refs: [pier], model: {model}}}
  - {{id: plain, prompt: Gulls over the water, duration: 4}}
"""


def scene(tmp_path, pier="pier.png", model="ltx-2.3-pro"):
    path = make_repo(tmp_path, SCENE.format(pier=pier, model=model))
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "assets" / "images" / "pier.png")
    return path


def test_a_cast_is_validated_like_every_asset_and_reference(tmp_path):
    with pytest.raises(ShotListError) as err:
        load_shotlist(scene(tmp_path, pier="missing.png"))
    assert "cast.pier.images.0" in str(err.value) and "missing.png" in str(err.value)
    bad = make_repo(tmp_path / "b", "title: t\nshots:\n  - {id: a, prompt: p, duration: 2, refs: [bob]}\n")
    with pytest.raises(ShotListError, match=r"cut.yaml:3: shot 'a': refs: unknown cast entry 'bob'"):
        load_shotlist(bad)


def test_routing_prefers_models_that_take_references_and_says_what_is_dropped(tmp_path):
    loaded = load_shotlist(scene(tmp_path))
    plan = plan_shotlist(loaded.spec, CAT, TODAY)
    meet, alone, plain = plan.shots
    assert CAT.models[meet.model].references.images >= 2 and "reference image" in meet.reason
    unreferenced = loaded.spec.model_copy(update={"shots": [loaded.spec.shots[0].model_copy(update={"refs": []})]})
    assert plan_shotlist(unreferenced, CAT, TODAY).shots[0].reason != meet.reason
    assert "takes no reference images: the cast's descriptions are folded into the prompt" in alone.reason
    assert "reference" not in plain.reason


def test_a_request_carries_the_references_the_model_takes_and_the_descriptions(tmp_path):
    loaded = load_shotlist(scene(tmp_path))
    meet, alone = loaded.spec.shots[:2]
    fields = cast_fields(loaded, meet, CAT.models["veo-3.1"])
    images = [tmp_path / "assets" / "images" / name for name in ("ref.png", "pier.png")]
    assert fields["reference_sha256s"] == tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in images)
    assert "ada: a tall woman in a yellow raincoat." in fields["prompt"]
    none = cast_fields(loaded, alone, CAT.models["ltx-2.3-pro"])
    assert none["reference_sha256s"] == () and "pier: a wooden pier in fog." in none["prompt"]
    assert cast_fields(loaded, loaded.spec.shots[2], CAT.models["veo-3.1"]) == {}


def test_the_animatic_insets_the_references_it_was_given(tmp_path):
    from reelflow.media.ffmpeg import ffmpeg_exe
    from reelflow.providers.base import GenerationRequest

    red = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (220, 20, 20)).save(red)
    req = GenerationRequest(shot_id="a", prompt="a night street", kind="character", camera="static", model="kling-3.0",
                            tier="final", seed=1, seconds=1, width=640, height=360, fps=24, aspect="16:9", audio=False,
                            reference_paths=(str(red),), reference_sha256s=("x",))
    meta = render_animatic(req, tmp_path / "a.mp4")
    import subprocess

    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(tmp_path / "a.mp4"), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(360, 640, 3)
    side = 360 // 5
    inset = frame[360 - side - 12 + 8: 360 - 12 - 8, 640 - side - 8 + 8: 640 - 8 - 8].reshape(-1, 3).mean(axis=0)
    assert inset[0] > 150 and inset[1] < 80 and inset[2] < 80, inset  # the red reference, bottom right
    assert any("references: 1 image" in n for n in meta["notes"])


def test_veo_receives_the_references_as_asset_images(cloud, tmp_path):  # noqa: F811
    from reelflow import providers

    fake, req = cloud("vertex")
    images = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30)]):
        images.append(tmp_path / f"r{i}.png")
        Image.new("RGB", (32, 32), colour).save(images[-1])
    sha = tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in images)
    job = providers.get("vertex").submit(req.model_copy(update={"reference_paths": tuple(map(str, images)),
                                                                 "reference_sha256s": sha}))
    body = next(j["body"] for j in fake.jobs.values())
    sent = body["instances"][0]["referenceImages"]
    assert [r["referenceType"] for r in sent] == ["ASSET", "ASSET"] and job
    assert tuple(hashlib.sha256(base64.b64decode(r["image"]["bytesBase64Encoded"])).hexdigest() for r in sent) == sha


def test_replicate_bodies_carry_the_references_unless_a_first_frame_is_given(tmp_path):
    from reelflow.providers.base import GenerationRequest
    from reelflow.providers.common import build_input

    ref = tmp_path / "r.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(ref)
    sha = hashlib.sha256(ref.read_bytes()).hexdigest()
    template = CAT.inputs["replicate-seedance"].template
    req = GenerationRequest(shot_id="a", prompt="p", kind="character", camera="static", model="seedance-2.0",
                            tier="final", seed=1, seconds=5, width=1280, height=720, fps=24, aspect="16:9", audio=True,
                            reference_paths=(str(ref),), reference_sha256s=(sha,))
    body = build_input(req, template)
    assert hashlib.sha256(base64.b64decode(body["reference_images"][0].split(",", 1)[1])).hexdigest() == sha
    assert build_input(req, template, inline=False)["reference_images"] == [f"sha256:{sha}"]  # the key: hashes
    framed = req.model_copy(update={"image_path": str(ref), "image_sha256": sha})
    assert "reference_images" not in build_input(framed, template) and "image" in build_input(framed, template)


def test_the_pier_scene_example_renders_offline_with_its_cast(prefect_harness, tmp_path):
    """The third example: every final shows the references its model takes, drafts (whose models
    take none) carry the descriptions only, and the manifest says why each model was chosen; its
    continuous cut is continuous in the edit, its long take is one shot of two segments, its
    compared shot has a take per model."""
    import json
    import shutil

    from reelflow.flows.render import render_shotlist

    from .conftest import ROOT

    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "shotlists", repo / "shotlists")
    shutil.copytree(ROOT / "assets", repo / "assets")
    render_shotlist(str(repo / "shotlists" / "pier-scene.yaml"), out_dir=str(tmp_path / "out"),
                    store_dir=str(tmp_path / "store"), approval="all", today=TODAY)
    m = json.loads((tmp_path / "out" / "pier-scene.manifest.json").read_text())
    for shot in m["shots"]:
        takes = min({"arrival": 2, "walk-on": 2, "fisherman": 2, "greeting": 3, "horizon": 1}[shot["id"]],
                    CAT.models[shot["intended_model"]].references.images)
        assert f"references: {takes} image(s) inset, bottom right" in shot["final"]["notes"], shot["final"]["notes"]
        assert not any("references:" in n for n in shot["draft"]["notes"])
    assert "reference image" in m["shots"][0]["reason"] and m["status"] == "final"
    by_id = {s["id"]: s for s in m["shots"]}
    assert by_id["walk-on"]["continuity"] == "last_frame"
    assert m["deliverables"]["continuity"]["cut_psnr_db"]["walk-on"] > 30
    # the long take: Veo 3.1 at 720p extends a 6 s clip by 7 s (its extend API, offline the animatic's)
    assert by_id["horizon"]["segments"] == [6, 7] and by_id["horizon"]["timeline"]["duration"] == 12
    assert any("2 calls of the extend API" in n for n in by_id["horizon"]["final"]["notes"])
    assert [t["model"] for t in by_id["fisherman"]["takes"]] == [by_id["fisherman"]["intended_model"], "kling-3.0"]
    assert by_id["fisherman"]["chosen_take"] == 1
