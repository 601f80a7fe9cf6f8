"""The nightly flow renders exactly the shot lists changed since their last render (git diff)."""

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
    assert all(r["reason"] == "never rendered" and r["status"] == "final" for r in first)
    assert nightly(**kw) == []  # nothing changed

    data = yaml.safe_load(B)
    data["shots"][0]["prompt"] = "Desert at dusk"
    (repo / "shotlists" / "b.yaml").write_text(yaml.safe_dump(data))
    git(repo, "commit", "-qam", "b: dusk")
    before = len(counting_provider.submits)
    second = nightly(**kw)
    assert [Path(r["path"]).name for r in second] == ["b.yaml"]
    assert "shotlists/b.yaml" in second[0]["reason"]
    assert set(counting_provider.submits[before:]) == {"draft:two", "final:two"}

    # an asset a shot list uses counts as a change to it
    (repo / "assets/music/bed.wav").write_bytes((repo / "assets/music/bed.wav").read_bytes()[:-4000])
    git(repo, "commit", "-qam", "shorter bed")
    third = nightly(**kw)
    assert [Path(r["path"]).name for r in third] == ["a.yaml"]
    assert "assets/music/bed.wav" in third[0]["reason"]
