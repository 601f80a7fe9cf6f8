"""Plain pip, as most users install: the wheel has one top-level package and, installed with
plain `pip install` into a fresh venv (no uv, no overrides), renders an example."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest

from reelflow.media.ffmpeg import probe

from .conftest import ROOT

pytestmark = pytest.mark.integration


def test_wheel_installs_with_plain_pip_and_renders(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("reelflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"reelflow"}  # no `flows`, no `tasks`
    for inside in ("reelflow/flows/render.py", "reelflow/tasks/generation.py", "reelflow/catalog.yaml",
                   "reelflow/prefect.yaml"):
        assert inside in names

    base_python = getattr(sys, "_base_executable", None) or shutil.which("python3")
    venv = tmp_path / "venv"
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True,
                         text=True, timeout=1200)
    assert pip.returncode == 0, pip.stderr[-3000:]

    project = tmp_path / "films"
    (project / "shotlists").mkdir(parents=True)
    shutil.copytree(ROOT / "assets" / "music", project / "assets" / "music")
    shutil.copy(ROOT / "shotlists" / "night-market-social.yaml", project / "shotlists")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PREFECT_HOME": str(tmp_path / "ph")}
    done = subprocess.run([str(venv / "bin" / "reelflow"), "render", "shotlists/night-market-social.yaml",
                           "--approve-all"], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    info = probe(project / "out" / "night-market-social.mp4")
    assert (info.width, info.height) == (1080, 1920) and info.has_audio
