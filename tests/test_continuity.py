"""Continuity across cuts and long takes (#11): declared in the shot list, routed to models that
can start (and end) on a given frame, rendered in dependency order, measured on the finished edit
(PSNR across the cut), and invalidated by content (editing a shot re-renders the shots that
continue from it, nothing else)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.errors import ShotListError
from reelflow.media.frames import extract_last_frame, frame_at, join_segments, psnr
from reelflow.providers.animatic.provider import render_animatic
from reelflow.providers.base import GenerationRequest
from reelflow.errors import RoutingError
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList
from reelflow.load.loader import load_shotlist

from .conftest import make_repo
from .test_providers import cloud, video_bytes  # noqa: F401 - shared fixtures

TODAY = dt.date(2026, 11, 24)
CAT = load_catalog()


def spec(*shots, **top) -> ShotList:
    return ShotList.model_validate({"title": "t", **top, "shots": [
        {"id": f"s{i + 1}", "prompt": f"shot {i + 1}", "duration": 4, **s} for i, s in enumerate(shots)]})


@pytest.mark.parametrize("shots, where, words", [
    ([{"continues": True}], "shots.0.continues", "no previous shot"),
    ([{}, {"keyframe": "assets/images/ref.png"}], "shots.1.keyframe", "set continues: true"),
    ([{}, {"continues": True, "image": "assets/images/ref.png"}], "shots.1.image", "remove image"),
    ([{"transition": {"type": "crossfade", "seconds": 0.5}}, {"continues": True}], "shots.0.transition",
     "show both shots at once"),
])
def test_continuity_mistakes_are_one_line_at_the_field(tmp_path, shots, where, words):
    import yaml

    text = yaml.safe_dump({"title": "t", "shots": [
        {"id": f"s{i + 1}", "prompt": "p", "duration": 4, **s} for i, s in enumerate(shots)]})
    path = make_repo(tmp_path, text)
    with pytest.raises(ShotListError) as exc:
        load_shotlist(path)
    msg = str(exc.value)
    assert "cut.yaml:" in msg and words in msg and len(msg.splitlines()) == 1, msg


def test_a_continuing_shot_is_a_cut_routed_to_a_model_that_starts_on_a_frame():
    s = spec({"kind": "environment"}, {"kind": "environment", "continues": True})
    plan = plan_shotlist(s, CAT, TODAY)
    second = plan.shots[1]
    assert second.continuity == "last_frame" and CAT.models[second.model].image_to_video
    assert CAT.models[second.draft_model].image_to_video  # drafts chain on drafts
    assert "continues the previous shot from its last frame" in second.reason
    assert s.transition_after(0).type == "cut"


def test_a_requested_model_that_cannot_start_on_a_frame_falls_back_to_a_crossfade():
    t2v = CAT.models["veo-3.1"].model_copy(update={"id": "text-only", "image_to_video": False})
    cat = CAT.model_copy(update={"models": {**CAT.models, "text-only": t2v}})
    plan = plan_shotlist(spec({}, {"continues": True, "model": t2v.id}), cat, TODAY)
    assert plan.shots[1].continuity == "crossfade" and "continuity dropped" in plan.shots[1].reason
    from reelflow.edit.edit import Edit
    from reelflow.spec.shotlist import LoadedShotList

    loaded = LoadedShotList(spec=spec({}, {"continues": True, "model": t2v.id}), path="x.yaml", repo_root=".",
                            lines={})
    assert Edit.planned(loaded, plan).timeline.clips[0].join_out.type == "crossfade"


def test_a_shared_keyframe_needs_a_model_that_ends_on_a_frame():
    s = spec({"kind": "environment"}, {"continues": True, "keyframe": "assets/images/ref.png"})
    plan = plan_shotlist(s, CAT, TODAY)
    assert CAT.models[plan.shots[0].model].first_last_frame and "end on the next shot's keyframe" in plan.shots[0].reason
    assert plan.shots[1].continuity == "keyframe" and "both render at once" in plan.shots[1].reason


def test_a_long_take_is_planned_as_segments_and_only_the_unreachable_is_an_error():
    plan = plan_shotlist(spec({"kind": "environment", "duration": 20, "model": "veo-3.1"}), CAT, TODAY)
    final = plan.shots[0].final
    assert final.segments == (8, 8, 6) and final.seconds == 22 and final.cost == pytest.approx(22 * final.price_per_second)
    assert "long take: 3 segments (8+8+6s)" in plan.shots[0].reason
    small = CAT.model_copy(update={"models": {k: m for k, m in CAT.models.items()
                                              if k in ("veo-3.1", "veo-3.1-fast", "veo-3.1-lite")}})
    with pytest.raises(RoutingError) as exc:
        plan_shotlist(spec({"kind": "environment", "duration": 60}), small, TODAY)
    (loc, msg), = exc.value.problems
    assert loc == ("shots", 0, "duration") and "longest possible: 48s" in msg, msg


def _req(shot_id, **kw) -> GenerationRequest:
    return GenerationRequest(**{"shot_id": shot_id, "prompt": f"{shot_id} on the pier at dawn", "kind": "environment",
                                "camera": "slow push in", "model": "veo-3.1", "tier": "final", "seed": 1, "seconds": 2,
                                "width": 640, "height": 360, "fps": 24, "aspect": "16:9", "audio": True, **kw})


def test_the_animatic_starts_and_ends_on_the_frames_it_is_given(tmp_path):
    render_animatic(_req("a"), tmp_path / "a.mp4")
    extract_last_frame(tmp_path / "a.mp4", tmp_path / "a.png")
    render_animatic(_req("z", prompt="night market neon"), tmp_path / "z.mp4")
    extract_last_frame(tmp_path / "z.mp4", tmp_path / "z.png")
    meta = render_animatic(_req("b", prompt="a storm at sea", image_path=str(tmp_path / "a.png"),
                                last_frame_path=str(tmp_path / "z.png")), tmp_path / "b.mp4")
    a_last, b_first, b_last = (frame_at(tmp_path / "a.mp4", -1), frame_at(tmp_path / "b.mp4", 0),
                               frame_at(tmp_path / "b.mp4", -1))
    assert psnr(a_last, b_first) > 35  # the cut is continuous
    assert psnr(frame_at(tmp_path / "z.mp4", -1), b_last) > 35  # and it ends on the keyframe
    assert psnr(a_last, frame_at(tmp_path / "a.mp4", 0)) < 25  # (the shot itself moves)
    assert "starts on its first frame and ends on its last frame" in meta["notes"]


def test_segments_join_without_the_repeated_frame(tmp_path):
    from reelflow.media.ffmpeg import probe

    render_animatic(_req("a"), tmp_path / "1.mp4")
    extract_last_frame(tmp_path / "1.mp4", tmp_path / "1.png")
    render_animatic(_req("a", image_path=str(tmp_path / "1.png")), tmp_path / "2.mp4")
    join_segments([tmp_path / "1.mp4", tmp_path / "2.mp4"], tmp_path / "j.mp4", 24)
    info = probe(tmp_path / "j.mp4")
    assert info.frames == 48 + 48 - 1 and info.has_audio
    # the frame after the join is the second segment's second frame, not its first (repeated) one
    assert psnr(frame_at(tmp_path / "j.mp4", 48), frame_at(tmp_path / "2.mp4", 1)) > 40
    assert psnr(frame_at(tmp_path / "j.mp4", 47), frame_at(tmp_path / "1.mp4", -1)) > 40


CHAIN = """\
title: Chain
output: {{resolution: 720p, fps: 24}}
defaults: {{transition: {{type: crossfade, seconds: 0.5}}}}
shots:
  - {{id: one, prompt: A harbor at dawn, duration: 2, kind: environment}}
  - {{id: two, prompt: "{two}", duration: 2, kind: environment, camera: pan right}}
  - {{id: three, prompt: The walk continues along the quay, duration: 2, kind: environment, continues: true}}
  - {{id: four, prompt: Gulls over the water, duration: 2, kind: environment}}
  - {{id: long, prompt: The long empty pier, duration: 10, kind: environment, model: veo-3.1, camera: slow push in}}
  - {{id: five, prompt: A lighthouse at dusk, duration: 2, kind: environment, model: veo-3.1}}
  - {{id: six, prompt: The lamp turns on, duration: 2, kind: environment, continues: true, keyframe: assets/images/ref.png}}
"""


def test_a_continuous_cut_is_continuous_in_the_edit_and_editing_a_shot_re_renders_its_followers(
        prefect_harness, counting_provider, tmp_path):
    from reelflow.flows.render import render_shotlist

    path = make_repo(tmp_path / "repo", CHAIN.format(two="Ada walks along the quay"))
    out, store = tmp_path / "out", tmp_path / "store"
    render_shotlist(str(path), out_dir=str(out), store_dir=str(store), approval="all", today=TODAY)
    m = json.loads((out / "cut.manifest.json").read_text())
    # the long take: veo-3.1 allows 8 s. The final (720p) by its extend API: a 4 s clip, then
    # the clip so far extended by 7 s (its hash in the request); the draft (Veo 3.1 Lite, no
    # extend API) by segments from last frames, joined
    assert sorted(counting_provider.submits).count("final:long") == 2
    first, more = [r for r in counting_provider.requests if r.shot_id == "long" and r.tier == "final"]
    assert (first.seconds, more.seconds) == (4, 7) and first.video_sha256 is None
    first_clip = next(c for c in (store / "clips").glob("*.json")
                      if json.loads(c.read_text()).get("result", {}).get("job_id") == more.extend_from)
    assert more.video_sha256 == json.loads(first_clip.read_text())["result"]["sha256"]
    long = next(s for s in m["shots"] if s["id"] == "long")
    assert any("long take: 2 calls of the extend API" in n for n in long["final"]["notes"])
    assert long["final"]["seconds"] > 10.9 and "extend API on vertex" in long["reason"]
    assert any("long take: 2 segments joined" in n for n in long["draft"]["notes"])
    seam = long["timeline"]["start_frame"] + 4 * 24  # where the extension starts, in the edit
    assert psnr(frame_at(out / "cut.mp4", seam - 1), frame_at(out / "cut.mp4", seam)) > 30
    # the cut into 'three' is continuous in the finished edit (after upscale and conform)
    edit = out / "cut.mp4"
    starts = {s["id"]: s["timeline"]["start_frame"] for s in m["shots"]}
    before, after = frame_at(edit, starts["three"] - 1), frame_at(edit, starts["three"])
    across = psnr(before, after)
    ordinary = psnr(frame_at(edit, starts["four"] - 8), frame_at(edit, starts["four"] + 8))
    assert across > 30 and ordinary < across - 8, (across, ordinary)
    # a shared keyframe: 'five' (veo-3.1: first+last frame) ends on it and 'six' starts on it
    six = next(s for s in m["shots"] if s["id"] == "six")
    assert six["continuity"] == "keyframe" and "both render at once" in six["reason"]
    from reelflow.media.frames import psnr as _psnr
    from PIL import Image
    import numpy as np

    key = np.asarray(Image.open(path.parent.parent / "assets" / "images" / "ref.png").convert("RGB")
                     .resize((1280, 720)), dtype=np.float64)
    assert _psnr(frame_at(edit, starts["six"]), key) > 25 and _psnr(frame_at(edit, starts["six"] - 1), key) > 25
    assert m["deliverables"]["continuity"]["cut_psnr_db"]["six"] > 30
    # the NLE timeline says the same: 'five' is taken from its clip's tail (a 4 s clip, 2 s shown)
    import opentimelineio as otio

    read_back = otio.adapters.read_from_file(str(out / "cut.otio"))  # kept: its track lives as long as it does
    five = next(c for c in read_back.video_tracks()[0] if isinstance(c, otio.schema.Clip) and c.name == "five")
    # (the crossfade into it borrows 6 frames before the cut): it ends on the clip's last frame, 96
    assert five.source_range.start_time.value == 48 + 6 and five.source_range.end_time_exclusive().value == 96

    # edit shot two: it and the shot continuing from it are rendered again (draft + final), no other
    counting_provider.submits.clear()
    path.write_text(CHAIN.format(two="Ada runs along the quay"))
    render_shotlist(str(path), out_dir=str(out), store_dir=str(store), approval="all", today=TODAY)
    assert sorted(counting_provider.submits) == ["draft:three", "draft:two", "final:three", "final:two"]


def _png(path, colour):
    from PIL import Image

    Image.new("RGB", (320, 180), colour).save(path)
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_first_and_last_frames_reach_each_provider_in_its_own_fields(cloud, tmp_path):  # noqa: F811
    """Vertex (google-genai SDK): instances[0].image + lastFrame; Kling (official): image +
    image_tail as raw base64; Replicate (official SDK): Seedance image + last_frame, and Kling 3.0
    on its Omni sibling when the cast's images go (reference_images)."""
    import base64
    import hashlib

    from reelflow import providers
    from reelflow.providers.base import GenerationRequest as Req

    first, last = tmp_path / "first.png", tmp_path / "last.png"
    sha_first, sha_last = _png(first, (200, 40, 40)), _png(last, (40, 40, 200))
    framed = {"image_path": str(first), "image_sha256": sha_first, "last_frame_path": str(last),
              "last_frame_sha256": sha_last}
    unb64 = lambda s: hashlib.sha256(base64.b64decode(s.split(",", 1)[-1])).hexdigest()  # noqa: E731

    fake, req = cloud("vertex")
    providers.get("vertex").submit(req.model_copy(update=framed))
    sent = next(iter(fake.jobs.values()))["body"]["instances"][0]
    assert unb64(sent["image"]["bytesBase64Encoded"]) == sha_first
    assert unb64(sent["lastFrame"]["bytesBase64Encoded"]) == sha_last

    fake, req = cloud("kling")
    providers.get("kling").submit(req.model_copy(update=framed))
    body = next(iter(fake.jobs.values()))["body"]
    assert unb64(body["image"]) == sha_first and unb64(body["image_tail"]) == sha_last
    assert not body["image_tail"].startswith("data:")

    fake, req = cloud("replicate")
    providers.get("replicate").submit(req.model_copy(update=framed))
    job = next(iter(fake.jobs.values()))
    assert unb64(job["body"]["input"]["image"]) == sha_first and unb64(job["body"]["input"]["last_frame"]) == sha_last

    kling = Req(**{**req.model_dump(), "model": "kling-3.0", "route_model": CAT.models["kling-3.0"].routes["replicate"].id,
                   "route_params": CAT.route_extras("kling-3.0", "replicate"), "seconds": 5,
                   "reference_paths": (str(first), str(last)), "reference_sha256s": (sha_first, sha_last)})
    providers.get("replicate").submit(kling)
    job = list(fake.jobs.values())[-1]
    assert job["model"] == "kwaivgi/kling-v3-omni-video"
    assert [unb64(r) for r in job["body"]["input"]["reference_images"]] == [sha_first, sha_last]
    providers.get("replicate").submit(kling.model_copy(update=framed))  # a first frame: the plain model
    job = list(fake.jobs.values())[-1]
    assert job["model"] == "kwaivgi/kling-v3-video" and "reference_images" not in job["body"]["input"]
    assert unb64(job["body"]["input"]["end_image"]) == sha_last


def test_the_extend_api_sends_the_clip_so_far_to_vertex(cloud, tmp_path, video_bytes):  # noqa: F811
    """Veo's extend API through google-genai: instances[0].video carries the clip so far byte for
    byte (720p, 7 s more), with no first frame or references beside it; the fake's answer is
    downloaded as the longer clip."""
    import base64
    import hashlib

    from reelflow import providers

    so_far = tmp_path / "so-far.mp4"
    so_far.write_bytes(video_bytes)
    digest = hashlib.sha256(video_bytes).hexdigest()
    fake, req = cloud("vertex")
    extend = req.model_copy(update={"seconds": 7, "width": 1280, "height": 720, "video_path": str(so_far),
                                    "video_sha256": digest, "extend_from": "projects/p/operations/1",
                                    "image_path": None, "reference_paths": ()})
    prov = providers.get("vertex")
    job = prov.submit(extend)
    body = next(iter(fake.jobs.values()))["body"]
    sent = body["instances"][0]
    assert hashlib.sha256(base64.b64decode(sent["video"]["bytesBase64Encoded"])).hexdigest() == digest
    assert sent["video"]["mimeType"] == "video/mp4" and not {"image", "lastFrame", "referenceImages"} & set(sent)
    assert body["parameters"]["durationSeconds"] == 7 and body["parameters"]["resolution"] == "720p"
    while prov.poll(extend, job).state != "succeeded":
        pass
    prov.download(extend, job, str(tmp_path / "longer.mp4"))
    assert (tmp_path / "longer.mp4").read_bytes() == fake.video
