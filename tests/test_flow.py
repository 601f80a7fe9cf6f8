"""The Prefect flow end to end on real media, with provider calls counted."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from reelflow import providers
from reelflow.errors import ProviderError
from reelflow.media.ffmpeg import measure_loudness, moov_before_mdat, probe
from reelflow.store.local import sha256_file

from .conftest import CountingProvider, make_repo

CUT = """\
version: 1
title: Flow test
output: {resolution: 720p, aspect: "16:9", fps: 24, loudness_lufs: -16}
defaults: {transition: {type: crossfade, seconds: 0.5}}
audio: {music: assets/music/bed.wav, music_gain_db: -6, duck_db: -12}
shots:
  - id: harbor
    prompt: Fishing harbor at dawn, mist on the water
    duration: 2
    kind: environment
    camera: slow dolly forward
    audio: {native: true, cue: gulls and waves}
  - id: skipper
    prompt: Skipper speaks at the wheel at sunrise
    duration: 1.5
    kind: dialogue
    dialogue: [{speaker: Skipper, line: "We go at six."}]
    transition: {type: cut}
  - id: tin
    prompt: Product shot of a sardine tin on a crate
    duration: 2
    kind: product
    camera: orbit
"""

EXPECTED_FRAMES = 48 + 36 + 48 - 12  # one 0.5 s crossfade at 24 fps, one cut


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def render(path: Path, tmp: Path, approval: str = "all", **kw) -> dict:
    from reelflow.flows.render import render_shotlist

    return render_shotlist(str(path), out_dir=str(tmp / "out"), approval=approval,
                           store_dir=str(tmp / "store"), **kw)


@pytest.fixture
def repo(tmp_path):
    path = make_repo(tmp_path, CUT)
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(tmp_path, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "shots")
    return path


def test_render_end_to_end_then_cache_then_edit_one_shot(prefect_harness, repo, tmp_path,
                                                         counting_provider):
    manifest = render(repo, tmp_path)
    out = tmp_path / "out" / "cut.mp4"
    info = probe(out)
    assert abs(info.frames - EXPECTED_FRAMES) <= 1
    assert abs(info.video_duration - EXPECTED_FRAMES / 24) <= 1 / 24
    assert (info.width, info.height, info.fps) == (1280, 720, 24)
    assert info.vcodec == "h264" and info.pix_fmt == "yuv420p"
    assert info.has_audio and info.acodec == "aac" and info.sample_rate == 48000
    assert moov_before_mdat(out)
    loud = measure_loudness(out)
    assert abs(loud.integrated_lufs - (-16)) <= 1.0

    written = json.loads((tmp_path / "out" / "cut.manifest.json").read_text())
    assert written == json.loads(json.dumps(manifest))
    assert written["status"] == "final"
    assert written["commit"] == git(tmp_path, "rev-parse", "HEAD")
    assert written["output"]["frames"] == info.frames and written["output"]["width"] == 1280
    assert abs(written["output"]["integrated_lufs"] - loud.integrated_lufs) < 0.05
    shots = {s["id"]: s for s in written["shots"]}
    assert shots["harbor"]["intended_model"] == "veo-3.1"
    assert shots["tin"]["intended_model"] == "kling-3.0"
    assert shots["skipper"]["preferred_model"] == "sora-2-pro" and "retired" in shots["skipper"]["reason"]
    for s in shots.values():
        assert s["used_provider"] == "animatic" and s["used_tier"] == "final" and not s["cache_hit"]
        assert any(n.startswith(f"intended {s['intended_model']}, rendered animatic: no ")
                   for n in s["final"]["notes"])
        assert s["draft"]["size"][1] == 360 and s["draft"]["fps"] == 12  # small drafts
        clip = Path(tmp_path / "store" / "clips").glob("*.mp4")
        assert s["clip_sha256"] in {sha256_file(p) for p in clip}
    assert shots["skipper"]["timeline"]["transition_out"] == "cut"
    assert (tmp_path / "out" / "cut.prototype.mp4").is_file()
    assert probe(tmp_path / "out" / "cut.prototype.mp4").frames == EXPECTED_FRAMES
    assert sorted(counting_provider.submits) == sorted(
        f"{t}:{s}" for t in ("draft", "final") for s in ("harbor", "skipper", "tin"))

    # unchanged re-run: zero generation calls, everything a cache hit, same edit
    before = len(counting_provider.submits), len(counting_provider.downloads)
    again = render(repo, tmp_path)
    assert (len(counting_provider.submits), len(counting_provider.downloads)) == before
    assert all(s["cache_hit"] and s["draft"]["cache_hit"] for s in again["shots"])
    assert again["output"]["sha256"] == manifest["output"]["sha256"]

    # edit one shot: that shot alone re-renders (draft + final), the edit is re-assembled
    repo.write_text(CUT.replace("Product shot of a sardine tin", "Product shot of a mackerel tin"))
    edited = render(repo, tmp_path)
    assert counting_provider.submits[before[0]:] in (["draft:tin", "final:tin"],)
    hits = {s["id"]: s["cache_hit"] for s in edited["shots"]}
    assert hits == {"harbor": True, "skipper": True, "tin": False}
    assert edited["output"]["sha256"] != manifest["output"]["sha256"]
    assert probe(out).frames == EXPECTED_FRAMES
    # exported by segments (harbor, the crossfade, skipper | a cut | tin): tin's alone encoded again
    assert manifest["output"]["segments"] == {"encoded": 4, "reused": 0}
    assert edited["output"]["segments"] == {"encoded": 1, "reused": 3}
    assert edited["output"]["frames_encoded"] == 48

    # a clip deleted from the store behind Prefect's cache comes back from the asset store by
    # its content hash (no provider call at all) ...
    victim = edited["shots"][0]["final"]["clip_sha256"]

    def delete_victim(folder: Path) -> None:
        for p in folder.rglob("*.mp4"):
            if sha256_file(p) == victim:
                p.unlink()

    delete_victim(tmp_path / "store" / "clips")
    n, d = len(counting_provider.submits), len(counting_provider.downloads)
    healed = render(repo, tmp_path)
    assert counting_provider.submits[n:] == [] and counting_provider.downloads[d:] == []
    assert healed["output"]["sha256"] == edited["output"]["sha256"]
    # ... and when no copy is held anywhere, from its recorded job (re-downloaded, not re-submitted)
    delete_victim(tmp_path / "store" / "clips")
    delete_victim(tmp_path / "store" / "assets")
    healed = render(repo, tmp_path)
    assert counting_provider.submits[n:] == []
    assert counting_provider.downloads[d:] == ["final:harbor"]
    assert healed["output"]["sha256"] == edited["output"]["sha256"]


def test_prototype_only_stops_before_finals(prefect_harness, tmp_path, counting_provider):
    path = make_repo(tmp_path, CUT, name="proto.yaml")
    manifest = render(path, tmp_path, approval="prototype-only")
    assert manifest["status"] == "prototype"
    assert not (tmp_path / "out" / "proto.mp4").exists()
    proto = probe(tmp_path / "out" / "proto.prototype.mp4")
    assert proto.frames == EXPECTED_FRAMES and (proto.width, proto.height) == (640, 360)  # half the output
    assert all(s.startswith("draft:") for s in counting_provider.submits)
    # approving one shot later renders that final only; drafts come from the cache
    listed = render(path, tmp_path, approval="listed", approve=["tin"])
    assert [s for s in counting_provider.submits if s.startswith("final:")] == ["final:tin"]
    used = {s["id"]: s["used_tier"] for s in listed["shots"]}
    assert used == {"harbor": "draft", "skipper": "draft", "tin": "final"}


ONE = """\
title: One
output: {resolution: 720p, fps: 24}
shots:
  - {id: solo, prompt: A lighthouse at night, duration: 1}
"""


@pytest.mark.parametrize("fault,expect", [
    ({"fail_submits": 2}, {"submits": 3, "downloads": 1}),  # 503 twice, then accepted
    ({"fail_polls": 1}, {"submits": 1, "downloads": 1}),  # crash while polling: resume same job
    ({"corrupt_downloads": 1}, {"submits": 1, "downloads": 2}),  # truncated: re-download only
])
def test_faults_are_retried_without_paying_twice(prefect_harness, tmp_path, fault, expect):
    prov = CountingProvider(**fault)
    with providers.override("animatic", prov):
        manifest = render(make_repo(tmp_path, ONE, music=False), tmp_path, approval="prototype-only")
    assert manifest["status"] == "prototype"
    assert len(prov.submits) == expect["submits"]
    assert len(prov.downloads) == expect["downloads"]
    assert probe(tmp_path / "out" / "cut.prototype.mp4").frames == 24


def test_permanent_error_is_not_retried_but_falls_back(prefect_harness, tmp_path):
    prov = CountingProvider(fail_submits=1, permanent=True)
    with providers.override("animatic", prov):
        m = render(make_repo(tmp_path, ONE, music=False), tmp_path, approval="prototype-only")
    # one refused submission for the routed model (not retried), then its first fallback renders
    assert prov.submits[0].startswith("FAILED:") and len(prov.submits) == 2
    shot = m["shots"][0]
    assert shot["draft"]["fallback_from"] == shot["draft_model"]
    assert "invalid parameters" in shot["draft"]["fallback_reason"]


def test_every_model_failing_stops_with_the_reason(prefect_harness, tmp_path):
    prov = CountingProvider(fail_submits=99, permanent=True)
    with providers.override("animatic", prov), pytest.raises(ProviderError, match="every model failed.*invalid parameters"):
        render(make_repo(tmp_path, ONE, music=False), tmp_path, approval="prototype-only")
    tried = [s.split(":")[1] for s in prov.submits]
    assert len(tried) == len(set(tried)) >= 2  # each model tried once, none retried
