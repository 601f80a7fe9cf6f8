"""The nightly flow renders exactly the shot lists whose content changed since their last final
render (shot list, assets, routing), on full and shallow clones alike."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from .conftest import ROOT

A = """\
title: A
output: {resolution: 720p, deliverables: []}
audio: {music: assets/music/bed.wav}
shots:
  - {id: one, prompt: Lighthouse at night, duration: 1}
"""
B = """\
title: B
output: {resolution: 720p, deliverables: []}
shots:
  - {id: two, prompt: Desert at dawn, duration: 1}
"""


def shorten_wav(path: Path) -> None:
    """A valid, shorter WAV (cutting bytes off the end would be a truncated file, which
    validation now refuses)."""
    import wave

    with wave.open(str(path), "rb") as r:
        params, frames = r.getparams(), r.readframes(r.getnframes() - 4000)
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(frames)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


def test_nightly_renders_only_what_changed(prefect_harness, tmp_path, counting_provider):
    from reelflow.flows.nightly import nightly

    repo = tmp_path / "repo"
    (repo / "shotlists").mkdir(parents=True)
    (repo / "assets" / "music").mkdir(parents=True)
    shutil.copy(ROOT / "assets/music/bed.wav", repo / "assets/music/bed.wav")
    (repo / "shotlists" / "a.yaml").write_text(A)
    (repo / "shotlists" / "b.yaml").write_text(B)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "two shot lists")
    kw = dict(shotlists=str(repo / "shotlists"), out_dir=str(tmp_path / "out"), store_dir=str(tmp_path / "store"))

    first = nightly(**kw)
    assert sorted(Path(r["path"]).name for r in first) == ["a.yaml", "b.yaml"]
    assert all(r["reason"] == "never rendered" and r["status"] == "final" and r["render"] for r in first)
    assert all(r["clips_generated"] == 2 for r in first)  # draft + final of the one shot
    again = nightly(**kw)
    assert [r["status"] for r in again] == ["skipped", "skipped"]
    assert all("unchanged" in r["reason"] for r in again)

    data = yaml.safe_load(B)
    data["shots"][0]["prompt"] = "Desert at dusk"
    (repo / "shotlists" / "b.yaml").write_text(yaml.safe_dump(data))
    git(repo, "commit", "-qam", "b: dusk")
    # a shallow clone (what Prefect's git_clone step makes) holds no history: content decides
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", (repo).as_uri(), str(shallow)], check=True)
    before = len(counting_provider.submits)
    second = nightly(**{**kw, "shotlists": str(shallow / "shotlists")})
    assert [r["status"] for r in second] == ["skipped", "final"]
    assert second[1]["reason"] == "shot list edited" and second[1]["clips_generated"] == 2
    assert set(counting_provider.submits[before:]) == {"draft:two", "final:two"}

    # an asset a shot list uses counts as a change to it
    shorten_wav(repo / "assets/music/bed.wav")
    git(repo, "commit", "-qam", "shorter bed")
    before = len(counting_provider.submits)
    third = nightly(**kw)
    assert [r["status"] for r in third] == ["final", "skipped"]
    assert third[0]["reason"] == "asset changed: assets/music/bed.wav"
    assert counting_provider.submits[before:] == []  # new mix only: the clips are cache hits
    assert third[0]["clips_generated"] == 0
