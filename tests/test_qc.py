"""QC of clips (#19): every detector on real bad media (an animatic clip spoiled the way models
fail), the shot list's overrides, and `reelflow qc` on files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from reelflow.media.frames import frame_at
from reelflow.providers.animatic.provider import render_animatic
from reelflow.providers.base import GenerationRequest
from reelflow.qc.faults import FAULTS, spoil
from reelflow.qc.report import Expectation
from reelflow.qc.runner import check_clip, settings

# the detector each fault must trip (others may trip too: a black clip does not open on its frame)
EXPECTED = {"black": "black", "frozen": "frozen", "flash": "flash", "short": "duration", "aspect": "size",
            "silent": "silence", "clipped": "clipping", "cut": "cut", "first_frame": "first_frame"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A good clip (moving camera, native sound) and one spoiled copy per fault."""
    tmp = tmp_path_factory.mktemp("qc")
    req = GenerationRequest(shot_id="pan", prompt="Harbor at dawn, boats", kind="environment", camera="pan left",
                            model="veo-3.1", tier="final", seed=5, seconds=2, width=320, height=180, fps=24,
                            aspect="16:9", audio=True, audio_cue="gulls and waves")
    good = tmp / "good.mp4"
    render_animatic(req, good)
    first = tmp / "first.png"
    Image.fromarray(frame_at(good, 0).astype(np.uint8)).save(first)
    bad = {}
    for fault in FAULTS:
        bad[fault] = tmp / f"{fault}.mp4"
        spoil(good, bad[fault], fault)
    expect = Expectation(seconds=2, width=320, height=180, fps=24, audio=True, moving_camera=True,
                         first_frame=str(first))
    return good, bad, expect


def test_the_good_clip_passes_every_check(clips):
    good, _, expect = clips
    report = check_clip(good, expect)
    assert report.findings == () and not report.failed
    assert report.measured["seconds"] == 2.0 and (report.measured["width"], report.measured["height"]) == (320, 180)


@pytest.mark.parametrize("fault", FAULTS)
def test_each_bad_clip_fails_its_detector(clips, fault):
    _, bad, expect = clips
    report = check_clip(bad[fault], expect)
    failed = {f.check for f in report.failures}
    assert EXPECTED[fault] in failed, report.findings
    # the detectors are specific: a fault trips its own and, at most, the opening-frame check
    assert failed <= {EXPECTED[fault], "first_frame"}, report.findings
    finding = next(f for f in report.failures if f.check == EXPECTED[fault])
    assert finding.threshold is not None and finding.message


def test_overrides_set_thresholds_and_severities(clips):
    _, bad, expect = clips
    relaxed = check_clip(bad["frozen"], expect, {"frozen": {"max_still": 1.0}})
    assert not relaxed.failed and [f.check for f in relaxed.warnings] == ["static"]  # near-static: a warning
    assert check_clip(bad["frozen"], expect, {"frozen": {"max_still": 1.0}, "static": "off"}).findings == ()
    warned = check_clip(bad["cut"], expect, {"cut": "warn"})
    assert not warned.failed and [f.check for f in warned.warnings] == ["cut"]
    assert check_clip(bad["silent"], expect, {"silence": "off"}).findings == ()
    # a still is fine where the camera does not move
    assert not check_clip(bad["frozen"], expect.model_copy(update={"moving_camera": False})).failed


def test_a_near_static_clip_warns_where_the_camera_moves(tmp_path):
    """No frame repeats the one before, yet the picture hardly changes over a second."""
    req = GenerationRequest(shot_id="still", prompt="Harbor at dawn", kind="environment", camera="static",
                            model="veo-3.1", tier="final", seed=5, seconds=2, width=320, height=180, fps=24,
                            aspect="16:9", audio=False)
    render_animatic(req, tmp_path / "still.mp4")
    moving = check_clip(tmp_path / "still.mp4", Expectation(seconds=2, moving_camera=True))
    assert not moving.failed and [f.check for f in moving.warnings] == ["static"]
    assert "near-static" in moving.warnings[0].message and moving.warnings[0].value < 1.5
    strict = check_clip(tmp_path / "still.mp4", Expectation(seconds=2, moving_camera=True), {"static": "fail"})
    assert [f.check for f in strict.failures] == ["static"]
    assert check_clip(tmp_path / "still.mp4", Expectation(seconds=2, moving_camera=False)).findings == ()


def test_unknown_checks_and_settings_are_named():
    with pytest.raises(ValueError, match="unknown QC check 'frozn'.*frozen"):
        settings({"frozn": "off"})
    with pytest.raises(ValueError, match="unknown setting.*max_frac.*max_fraction"):
        settings({"black": {"max_frac": 1}})
    with pytest.raises(ValueError, match="severity must be"):
        settings({"black": {"severity": "loud"}})


def test_cast_colours_are_a_warning_proxy(clips, tmp_path):
    good, _, expect = clips
    red = tmp_path / "red.png"
    Image.new("RGB", (64, 64), (250, 10, 10)).save(red)
    report = check_clip(good, expect.model_copy(update={"cast_images": (str(red),)}))
    assert [(f.check, f.severity) for f in report.findings] == [("cast", "warn")] and not report.failed
    same = tmp_path / "same.png"
    Image.fromarray(frame_at(good, 24).astype(np.uint8)).save(same)
    assert check_clip(good, expect.model_copy(update={"cast_images": (str(same),)})).findings == ()


def reelflow_qc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reelflow.cli.app", "qc", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_exits_1_on_a_failure_and_reports_json(clips):
    good, bad, _ = clips
    ok = reelflow_qc(str(good), "--duration", "2", "--size", "320x180", "--audio", "--moving")
    assert ok.returncode == 0 and "ok" in ok.stdout, ok.stdout + ok.stderr
    failed = reelflow_qc(str(good), str(bad["frozen"]), "--moving", "--json")
    assert failed.returncode == 1
    reports = json.loads(failed.stdout)
    assert [r["clip"] for r in reports] == ["good.mp4", "frozen.mp4"]
    assert reports[0]["findings"] == [] and reports[1]["findings"][0]["check"] == "frozen"
    relaxed = reelflow_qc(str(bad["frozen"]), "--moving", "--set", "frozen.max_still=1")
    assert relaxed.returncode == 0, relaxed.stdout
    wrong = reelflow_qc(str(good), "--set", "frozen.nope=1")
    assert wrong.returncode == 1 and "unknown setting" in wrong.stdout + wrong.stderr
    missing = reelflow_qc(str(Path(good).with_name("nothing.mp4")))
    assert missing.returncode == 1 and "no such file" in missing.stdout + missing.stderr


def test_a_clip_without_a_sound_track(clips, tmp_path):
    from reelflow.media.ffmpeg import run_ffmpeg

    good, _, expect = clips
    mute = tmp_path / "mute.mp4"
    run_ffmpeg(["-i", str(good), "-an", "-c", "copy", str(mute)], what="no sound")
    report = check_clip(mute, expect)
    assert [f.check for f in report.failures] == ["audio"] and report.measured["audio"] is False
    assert check_clip(mute, expect.model_copy(update={"audio": False})).findings == ()
