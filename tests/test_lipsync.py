"""Lip sync through a cloud route (#20): a dialogue shot whose line is a recorded stem, rendered
by a model that follows no driving audio (Veo), has its final sent with the shot's dialogue
track to sync.so's lipsync on fal (a local fake through the fal queue protocol): paid once, the
body as documented, the edit showing the synced clip; without a route the run says so."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from reelflow.providers.animatic.audio import write_wav
from reelflow.plan.speech import follows_audio, wants_lipsync
from reelflow.spec.shotlist import ShotList

from .conftest import make_repo
from .test_cloud_flow import fakes, render  # noqa: F401 - the cloud fakes fixture
from .test_providers import video_bytes  # noqa: F401 - shared session fixture


def listing(**shot) -> dict:
    return {"title": "Synced", "output": {"resolution": "720p", "deliverables": []},
            "shots": [{"id": "ben", "prompt": "Ben says hello on the pier", "duration": 4, "kind": "dialogue",
                       "model": "veo-3.1", "dialogue": [{"speaker": "Ben", "line": "Hello.", "file": "assets/line.wav"}],
                       **shot}]}


def test_which_finals_are_lip_synced():
    from reelflow.load.catalog_file import load_catalog

    cat = load_catalog()
    spec = ShotList.model_validate(listing())
    assert wants_lipsync(spec.shots[0], spec.cast)  # a dialogue shot with a stem
    assert not wants_lipsync(ShotList.model_validate(listing(lipsync=False)).shots[0], spec.cast)
    assert not wants_lipsync(ShotList.model_validate(listing(kind="character")).shots[0], spec.cast)
    assert wants_lipsync(ShotList.model_validate(listing(kind="character", lipsync=True)).shots[0], spec.cast)
    assert not follows_audio(cat.models["veo-3.1"], "vertex") and follows_audio(cat.models["wan-2.7"], "replicate")
    assert follows_audio(cat.models["veo-3.1"], "animatic")  # offline, the animatic takes the track itself


def _repo(tmp_path, data):
    repo = make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False), music=False)
    t = np.arange(int(1.2 * 48000)) / 48000
    write_wav(tmp_path / "assets" / "line.wav", (np.sin(2 * np.pi * 160 * t) * np.hanning(len(t)) * 0.5)[:, None])
    return repo


@pytest.mark.slow
def test_a_final_that_does_not_follow_its_stem_is_lip_synced_once(prefect_harness, fakes, tmp_path):  # noqa: F811
    repo = _repo(tmp_path, listing())
    m = render(repo, tmp_path)
    syncs = [j for j in fakes["fal"].jobs.values() if j["endpoint"] == "fal-ai/sync-lipsync"]
    assert len(syncs) == 1  # the final only: drafts are prototypes
    body = syncs[0]["body"]
    assert body["video_url"].startswith("data:video/mp4;base64,") and body["audio_url"].startswith("data:audio/wav;base64,")
    assert (body["sync_mode"], body["model"]) == ("cut_off", "lipsync-1.9.0-beta")
    final = m["shots"][0]["final"]
    assert any(n.startswith("lip-synced to the dialogue track by sync-lipsync on fal") for n in final["notes"])
    assert final["model"] == "veo-3.1" and final["qc"] is not None  # the shot keeps its model; the sync is checked
    assert m["cost"]["actual_usd"] >= final["cost_usd"] > 0
    m2 = render(repo, tmp_path)
    assert len([j for j in fakes["fal"].jobs.values() if j["endpoint"] == "fal-ai/sync-lipsync"]) == 1  # paid once
    assert m2["cost"]["actual_usd"] == 0.0 and m2["shots"][0]["final"]["clip_sha256"] == final["clip_sha256"]


@pytest.mark.slow
def test_without_a_lip_sync_route_the_final_says_so(prefect_harness, fakes, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.delenv("FAL_KEY")
    m = render(_repo(tmp_path, listing()), tmp_path)
    notes = m["shots"][0]["final"]["notes"]
    assert any(n.startswith("lip sync skipped: no route for sync-lipsync (no FAL_KEY)") for n in notes), notes
