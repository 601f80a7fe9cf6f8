"""A store moved, copied or damaged between renders (#13): every hit kept, nothing damaged
used, nothing paid twice, and the edit comes out byte-identical."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reelflow.media.ffmpeg import probe
from reelflow.store.local import Store, sha256_file

from .conftest import make_repo

pytestmark = pytest.mark.slow

CUT = """\
title: Store damage
output: {resolution: 720p, aspect: "16:9", fps: 24, loudness_lufs: -16}
audio: {music: assets/music/bed.wav}
shots:
  - id: harbor
    prompt: Fishing harbor at dawn, mist on the water
    duration: 2
    audio: {native: true, cue: gulls and waves}
  - id: skipper
    prompt: Skipper speaks at the wheel at sunrise
    duration: 1.5
    kind: dialogue
    dialogue: [{speaker: Skipper, line: "We go at six."}]
"""


def render(path: Path, out: Path, store: Path) -> dict:
    from reelflow.flows.render import render_shotlist

    return render_shotlist(str(path), out_dir=str(out), approval="all", store_dir=str(store))


def calls(provider) -> tuple[int, int]:
    return len(provider.submits), len(provider.downloads)


def test_moved_and_copied_store_keep_every_hit(prefect_harness, tmp_path, counting_provider):
    path = make_repo(tmp_path / "repo", CUT)
    render(path, tmp_path / "out1", tmp_path / "store-before")
    first = sha256_file(tmp_path / "out1" / "cut.mp4")
    paid = calls(counting_provider)
    assert paid[0] == 4  # two shots, draft and final

    shutil.move(str(tmp_path / "store-before"), str(tmp_path / "store-after"))
    m = render(path, tmp_path / "out2", tmp_path / "store-after")
    assert calls(counting_provider) == paid  # zero generation calls, zero downloads
    assert sha256_file(tmp_path / "out2" / "cut.mp4") == first
    assert all(s["final"]["cache_hit"] for s in m["shots"])

    # a copy reads its own files: the original can go away
    shutil.copytree(tmp_path / "store-after", tmp_path / "store-copy")
    shutil.rmtree(tmp_path / "store-after")
    render(path, tmp_path / "out3", tmp_path / "store-copy")
    assert calls(counting_provider) == paid
    assert sha256_file(tmp_path / "out3" / "cut.mp4") == first


def test_damaged_store_is_repaired_never_used(prefect_harness, tmp_path, counting_provider):
    path = make_repo(tmp_path / "repo", CUT)
    store = tmp_path / "store"
    render(path, tmp_path / "out", store)
    first = sha256_file(tmp_path / "out" / "cut.mp4")
    submits = len(counting_provider.submits)

    # 1. a final clip overwritten in place with other bytes of the same size
    clip = next(p for p in sorted((store / "clips").glob("*.mp4")) if p.stat().st_size > 1000)
    size = clip.stat().st_size
    clip.write_bytes(bytes(size))
    # 2. every per-shot conform WAV cut short
    for wav in (store / "derived").glob("*.wav"):
        wav.write_bytes(wav.read_bytes()[: wav.stat().st_size // 2])
    # 3. every mix/export report emptied, every Prefect result turned to garbage
    for report in [*(store / "derived").glob("*.mix.json"), *(store / "derived").glob("*.edit.json")]:
        report.write_text("")
    for result in (store / "prefect-results").rglob("*"):
        if result.is_file():
            result.write_text("{not json")

    manifest = render(path, tmp_path / "out", store)
    assert len(counting_provider.submits) == submits  # repaired from the recorded job, not bought again
    assert Store(store).verified(Store(store).ref(clip))  # the clip holds its recorded bytes again
    assert clip.stat().st_size == size and probe(clip).has_video
    assert sha256_file(tmp_path / "out" / "cut.mp4") == first  # byte-identical edit
    assert manifest["status"] == "final"


def _orphan_pickles(results: Path) -> int:
    """Every cached task result made unloadable as a result written by an older reelflow is:
    each pickled reference to a reelflow class names a module that no longer exists (the same
    length, so the pickles stay well-formed)."""
    import base64
    import json

    n = 0
    for f in results.iterdir():
        if f.suffix == ".lock" or not f.is_file():
            continue
        record = json.loads(f.read_text())
        data = base64.b64decode(record["result"])
        if b"reelflow." in data:
            record["result"] = base64.b64encode(data.replace(b"reelflow.", b"reelfloX.")).decode()
            f.write_text(json.dumps(record))
            n += 1
    return n


def test_a_store_written_before_the_modules_moved_keeps_every_clip(prefect_harness, tmp_path, counting_provider):
    """The layers moved every class (reelflow.routing -> reelflow.plan.routing, ...): Prefect's
    cached results that name the old modules no longer load. Each counts as a miss, the task runs
    again and finds its clip in the store and the ledger: nothing submitted or downloaded again,
    the same edit."""
    path = make_repo(tmp_path / "repo", CUT)
    store = tmp_path / "store"
    render(path, tmp_path / "out1", store)
    first = sha256_file(tmp_path / "out1" / "cut.mp4")
    paid = calls(counting_provider)
    assert _orphan_pickles(Store(store).results_dir) >= 4  # routing, clips, conform, mix at least

    m = render(path, tmp_path / "out2", store)
    assert calls(counting_provider) == paid  # zero generation calls, zero downloads
    assert sha256_file(tmp_path / "out2" / "cut.mp4") == first
    assert all(s["final"]["cache_hit"] and s["draft"]["cache_hit"] for s in m["shots"])
