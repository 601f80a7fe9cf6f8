"""The `reelflow` command as a user runs it (subprocess, real console script)."""

from __future__ import annotations

import pytest

import json
import re
import os
import subprocess
import sys
from pathlib import Path

from reelflow.media.ffmpeg import probe

from .conftest import ROOT, make_repo

EXE = str(Path(sys.executable).parent / "reelflow")


def run(*args: str, cwd: Path = ROOT, timeout: float = 300, env: dict | None = None):
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, stdin=subprocess.DEVNULL)


def test_validate_examples_ok():
    r = run("validate", "shotlists/")
    assert r.returncode == 0, r.stderr
    assert "ok shotlists/harbor-teaser.yaml" in r.stdout and "ok shotlists/night-market-social.yaml" in r.stdout


def test_validate_reports_every_error_without_traceback(tmp_path):
    bad = make_repo(tmp_path, """\
title: Bad
shots:
  - id: opening
    prompt: Harbor
    duration: -2
  - id: next
    prompt: Skipper
    duration: 3
    model: veo-9
""")
    r = run("validate", str(bad.relative_to(tmp_path)), cwd=tmp_path)
    assert r.returncode == 1
    assert "shotlists/cut.yaml:5: shot 'opening': duration: must be > 0" in r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    # after fixing the schema error, the routing error (unknown model) is reported with its line
    bad.write_text(bad.read_text().replace("-2", "2"))
    r = run("validate", str(bad.relative_to(tmp_path)), cwd=tmp_path)
    assert r.returncode == 1
    assert "shotlists/cut.yaml:9: shot 'next': model: unknown model 'veo-9'" in r.stderr


def test_plan_json_shows_routing_and_costs():
    r = run("plan", "shotlists/harbor-teaser.yaml", "--json", "--date", "2026-11-22")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    families = {s["model"].split("-")[0] for s in plan["shots"]}
    # Seedance 2.0 renders 720p at most on fal and Replicate (providers.md 3.3): a 1080p list
    # routes its character shots elsewhere; the 720p pier scene still compares it
    assert {"veo", "kling"} <= families and "seedance" not in families
    pier = json.loads(run("plan", "shotlists/pier-scene.yaml", "--json", "--date", "2026-11-22").stdout)
    assert any(t["model"] == "seedance-2.0" for s in pier["shots"] for t in s["takes"])
    assert all(s["reason"] and s["draft_model"] for s in plan["shots"])
    assert plan["total_cost_usd"] == round(plan["prototype_cost_usd"] + plan["final_cost_usd"], 2)
    assert plan["total_cost_usd"] > 0 and not plan["over_budget"]
    assert all(s["route"] == "animatic" and "rendered animatic" in s["route_note"] for s in plan["shots"])
    human = run("plan", "shotlists/night-market-social.yaml")
    assert human.returncode == 0 and "kling-3.0" in human.stdout and "final" in human.stdout


def test_models_and_schema():
    r = run("models", "--date", "2026-11-22")
    assert r.returncode == 0
    assert "sora-2-pro" in r.stdout and "retired 2026-09-24" in r.stdout
    j = json.loads(run("models", "--json").stdout)
    assert j["sora-2-pro"]["lifecycle"] == {"status": "retired", "date": "2026-09-24",
                                            "successor": "veo-3.1",
                                            "note": "OpenAI shut the Sora API down on 2026-09-24"}
    assert j["kling-3.0"]["price_per_second"]["1080"] > 0
    s = run("schema")
    assert json.loads(s.stdout)["title"] == "reelflow shot list"
    # one model in full: where it comes from and when it was checked (the table has no room)
    new = ("wan-3.0", "happyhorse-1.1", "ltx-2.5-pro", "runway-gen-4.5", "ray-3.2", "seedance-2.5")
    d = run("models", *new)
    assert d.returncode == 0
    blocks = {b.split(":", 1)[0]: b for b in re.split(r"\n(?=\S)", d.stdout.strip())}  # one per model
    assert set(blocks) == set(new)
    for block in blocks.values():
        assert "auto-routed" in block and "\n  source: " in block and "\n  checked: 2026-" in block
    assert "route dashscope: wan3.0-video-prime" in d.stdout and "route runway: gen4.5" in d.stdout
    bad = run("models", "wan3")
    assert bad.returncode != 0 and "did you mean wan-3.0" in bad.stderr + bad.stdout


@pytest.mark.slow  # starts Prefect's temporary server in a subprocess
def test_render_prototype_only_from_the_command_line(tmp_path):
    path = make_repo(tmp_path, """\
title: CLI
output: {resolution: 720p, aspect: "1:1", fps: 25}
shots:
  - {id: one, prompt: Night market neon, duration: 1.2}
  - {id: two, prompt: Desert at sunset, duration: 1, camera: pan left}
""")
    r = run("render", str(path), "--out", str(tmp_path / "out"), "--store", str(tmp_path / "store"),
            cwd=tmp_path, timeout=400)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "stopped after the prototype" in r.stderr  # no terminal: never blocks on a prompt
    info = probe(tmp_path / "out" / "cut.prototype.mp4")
    assert (info.width, info.height, info.fps) == (360, 360, 25)  # a review proxy: half the output's size
    assert info.frames == 30 + 25 - 12  # 0.5 s crossfade at 25 fps is 12.5 -> 12 frames
    manifest = json.loads((tmp_path / "out" / "cut.manifest.json").read_text())
    assert manifest["status"] == "prototype"
