"""Moonshot benchmark: the 40-shot, three-minute example rendered offline, as a user runs it.

`reelflow render shotlists/moonshot.yaml --approve-all` (the animatic renders every shot) against a
Prefect server started here (PostgreSQL where this machine has it, as a studio's server runs; else
SQLite), three times on one store:

1. first render (empty store), 2. unchanged re-run, 3. one edited shot (a new prompt for `ice`).

For each: wall time, the peak resident memory of the command's process tree (sampled every
0.25 s), and each stage's wall span and share, read back from the Prefect API (task runs by name:
routing, drafts, continuity frames, prototype, finals, upscale, conform, mix, export,
deliverables; `busy_s` sums the stage's task durations, which overlap). Goals on a 2-core machine (issue 18): first <= 6 min, re-run <= 20 s, one edit
<= 45 s, peak <= 1.5 GiB.

    python bench/moonshot.py [--shotlist shotlists/moonshot.yaml] [--edit ice] [--database postgres|sqlite]

Writes bench/results/moonshot.json and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import _tree_rss_kib  # noqa: E402

EXE = Path(sys.executable).with_name("reelflow")

# task run name -> stage (flows/tiers.py and flows/finish.py name every task run)
STAGES = [
    (r"^(load-shotlist|route)", "routing"),
    (r"^(draft-|join-draft-)", "drafts"),
    (r"^last-frame-", "continuity frames"),
    (r"^(upscale|conform|mix|export)-prototype", "prototype"),
    (r"^(final-|join-final-)", "finals"),
    (r"^upscale-final", "upscale"),
    (r"^conform-final", "conform"),
    (r"^mix-final", "mix"),
    (r"^export-final", "export"),
    (r"^deliver", "deliverables"),
]


def stage_of(name: str) -> str:
    return next((stage for pattern, stage in STAGES if re.match(pattern, name)), "other")


def project(work: Path, shotlist: Path) -> Path:
    """A throwaway copy of the repository's shot list and assets."""
    (work / "shotlists").mkdir(parents=True)
    shutil.copytree(ROOT / "assets", work / "assets")
    dest = work / "shotlists" / shotlist.name
    shutil.copy(shotlist, dest)
    return dest


def render(shotlist: Path, work: Path, env: dict) -> dict:
    t0 = dt.datetime.now(dt.timezone.utc)
    start = time.perf_counter()
    proc = subprocess.Popen([str(EXE), "render", str(shotlist), "--approve-all", "--out", str(work / "out"),
                             "--store", str(work / "store")], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, at_peak, peak_at = 0, [], 0.0
    while proc.poll() is None:
        now = _tree_rss_kib(proc.pid)
        if now > peak:
            peak, at_peak, peak_at = now, _largest(proc.pid), time.perf_counter() - start
        time.sleep(0.25)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"render failed ({proc.returncode}): {stderr[-2000:]}")
    return {"wall_s": round(wall, 1), "peak_tree_mib": round(peak / 1024), "peak_at_s": round(peak_at, 1),
            "at_peak": at_peak,
            "stages": stages_since(t0)}


def _largest(root: int, n: int = 10) -> list[str]:
    """The biggest processes of the tree at this moment: "MiB command" (what the peak is made of;
    an ffmpeg by the end of its command line, which names what it writes)."""
    rows = []
    for d in Path("/proc").iterdir():
        try:
            status = (d / "status").read_text() if d.name.isdigit() else ""
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip() if status else ""
            cmd = cmd if len(cmd) <= 150 else f"{cmd[:60]} ... {cmd[-90:]}"
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if "VmRSS" in fields and _descends(int(d.name), root):
            rows.append((int(fields["VmRSS"].split()[0]) // 1024, cmd))
    return [f"{mib} {cmd}" for mib, cmd in sorted(rows, reverse=True)[:n]]


def _descends(pid: int, root: int) -> bool:
    while pid > 1:
        if pid == root:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def stages_since(t0: dt.datetime) -> dict:
    """Busy seconds per stage (the sum of its task runs' durations; tasks overlap, so the sum of
    all stages exceeds the wall time) and its share of the total."""

    async def read() -> list:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterStartTime

        found, offset = [], 0
        async with get_client() as client:
            while True:
                page = await client.read_task_runs(
                    task_run_filter=TaskRunFilter(start_time=TaskRunFilterStartTime(after_=t0)),
                    limit=200, offset=offset)
                found += page
                offset += len(page)
                if len(page) < 200:
                    return found

    busy: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    span: dict[str, list] = {}
    runs = asyncio.run(read())
    timed = sorted(((tr.end_time - tr.start_time).total_seconds(), tr.name, (tr.start_time - t0).total_seconds())
                   for tr in runs if tr.start_time and tr.end_time)
    for tr in runs:
        if tr.start_time and tr.end_time:
            stage = stage_of(tr.name)
            busy[stage] += (tr.end_time - tr.start_time).total_seconds()
            count[stage] += 1
            first, last = span.get(stage, (tr.start_time, tr.end_time))
            span[stage] = (min(first, tr.start_time), max(last, tr.end_time))
    # the stages run one after another (drafts, prototype, finals, finishing): each one's wall
    # span (first task start to last task end) over the render's is its share of the time
    total = sum((b - a).total_seconds() for a, b in span.values()) or 1.0
    order = [s for _, s in STAGES] + ["other"]
    stages = {s: {"span_s": round((span[s][1] - span[s][0]).total_seconds(), 1),
                  "share": round((span[s][1] - span[s][0]).total_seconds() / total, 3),
                  "busy_s": round(busy[s], 1), "tasks": count[s]} for s in order if s in busy}
    # the longest task runs: (seconds, name, started this long after the command)
    stages["slowest"] = [[round(d, 1), name, round(at, 1)] for d, name, at in timed[::-1][:8]]
    return stages


def edit_one_shot(shotlist: Path, shot_id: str) -> None:
    text = shotlist.read_text()
    marker = f"  - id: {shot_id}\n"
    head, tail = text.split(marker, 1)
    prompt_line = next(line for line in tail.splitlines() if line.strip().startswith("prompt:"))
    shotlist.write_text(head + marker + tail.replace(prompt_line, prompt_line + ", seen from above", 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shotlist", default=str(ROOT / "shotlists" / "moonshot.yaml"))
    ap.add_argument("--edit", default="ice", help="the shot whose prompt the third run changes")
    ap.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = ap.parse_args()
    os.environ["REELFLOW_TEST_DATABASE"] = args.database
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from tests.prefect_server import postgres_available, reelflow_test_server

    database = args.database if args.database == "sqlite" or postgres_available() else "sqlite"
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "shotlist": str(Path(args.shotlist).resolve().relative_to(ROOT)), "server_database": database}
    with tempfile.TemporaryDirectory(prefix="reelflow-moonshot-") as tmp, reelflow_test_server() as api:
        work = Path(tmp)
        shotlist = project(work, Path(args.shotlist))
        env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(work / "prefect-home")}
        for label in ("first render", "unchanged re-run", "one edited shot"):
            if label == "one edited shot":
                edit_one_shot(shotlist, args.edit)
            results[label] = render(shotlist, work, env)
            print(f"{label}: {json.dumps(results[label])}", flush=True)
        manifest = json.loads((work / "out" / f"{shotlist.stem}.manifest.json").read_text())
        results["edit"] = {"shots": len(manifest["shots"]), "seconds": manifest["output"]["duration"],
                           "size": f"{manifest['output']['width']}x{manifest['output']['height']}",
                           "fps": manifest["output"]["fps"]}
    goals = {"first render": 360, "unchanged re-run": 20, "one edited shot": 45}
    results["goals_met"] = {k: results[k]["wall_s"] <= v for k, v in goals.items()}
    results["goals_met"]["peak <= 1.5 GiB"] = max(results[k]["peak_tree_mib"] for k in goals) <= 1536
    print(json.dumps(results["goals_met"]))
    dest = ROOT / "bench" / "results"
    dest.mkdir(exist_ok=True)
    (dest / "moonshot.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
