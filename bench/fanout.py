"""Fan-out benchmark: a tier of many shots against a provider whose jobs take seconds.

A local fake fal queue (tests/fakes.py, the real protocol through reelflow's fal adapter) finishes
every job ``--latency`` seconds after its submission; the catalog gives fal a concurrency limit of
``--limit``. The render's draft tier (``--shots`` shots, prototype only) is timed at the fake, from
the first submission to the last download, and compared with the latency measured in the same run
(one shot alone). A job waiting on the provider holds no thread, so the tier needs
ceil(shots / limit) rounds of latency, not shots / threads.

    python bench/fanout.py [--shots 24] [--limit 12] [--latency 3] [--database sqlite|postgres]

The film-scale goal (issue 18): `--shots 40 --limit 12 --latency 30` finishes the tier within
1.15 x latency x ceil(shots / limit), with exactly `limit` jobs in flight at the peak.
`--database postgres` runs the Prefect server on a throwaway PostgreSQL cluster (as a studio's
server runs; root and PostgreSQL 15 needed) instead of the temporary SQLite one.

Writes bench/results/fanout.json and prints a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KEY = "bench-fal-key"


def fake_video(work: Path) -> bytes:
    from reelflow.media.ffmpeg import ffmpeg_exe

    path = work / "fake.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=4",
                    "-f", "lavfi", "-i", "sine=d=4", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset",
                    "ultrafast", "-shortest", str(path)], check=True)
    return path.read_bytes()


def write_inputs(work: Path, shots: int, limit: int) -> tuple[Path, Path]:
    (work / "shotlists").mkdir(parents=True)
    lines = [f"  - {{id: s{i:02d}, prompt: 'Harbour view number {i}', duration: 2, model: wan-2.7}}"
             for i in range(shots)]
    shotlist = work / "shotlists" / "fanout.yaml"
    shotlist.write_text("title: Fan-out\noutput: {resolution: 720p, deliverables: []}\nshots:\n" + "\n".join(lines) + "\n")
    overlay = work / "catalog.yaml"
    overlay.write_text(textwrap.dedent(f"""\
        routes:
          fal: {{kind: aggregator, env: [FAL_KEY], concurrency: {limit}, rpm: 0}}
        """))
    return shotlist, overlay


def watch_threads(stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], threading.active_count())
        time.sleep(0.05)


def render_tier(fake, shotlist: Path, overlay: Path, out: Path) -> dict:
    from reelflow.flows.render import render_shotlist

    fake.submit_times.clear()
    fake.poll_times.clear()
    fake.peak_in_flight = 0
    stop, peak_threads = threading.Event(), [threading.active_count()]
    watcher = threading.Thread(target=watch_threads, args=(stop, peak_threads), daemon=True)
    watcher.start()
    t0 = time.monotonic()
    render_shotlist(str(shotlist), out_dir=str(out / "out"), approval="prototype-only", store_dir=str(out / "store"),
                    catalog=str(overlay))
    total = time.monotonic() - t0
    stop.set()
    first_submit, last_poll = min(fake.submit_times), max(fake.poll_times)
    jobs = list(fake.jobs.values())[-len(fake.submit_times):]
    t_first = min(j["created"] for j in jobs)
    timeline = sorted((round(j["created"] - t_first, 2), round(j.get("finished_at", t_first) - t_first, 2)) for j in jobs)
    return {"tier_s": round(last_poll - first_submit, 3), "render_s": round(total, 3),
            "submissions": len(fake.submit_times), "peak_in_flight": fake.peak_in_flight,
            "peak_threads": peak_threads[0], "jobs_submitted_finished_s": timeline}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shots", type=int, default=24)
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--latency", type=float, default=3.0)
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    server = contextlib.nullcontext()
    if args.database == "postgres":
        from tests.prefect_server import reelflow_test_server

        server = reelflow_test_server()
    with server:
        run(args)


def run(args) -> None:
    with tempfile.TemporaryDirectory(prefix="reelflow-fanout-") as tmp:
        work = Path(tmp)
        os.environ.update({"PREFECT_HOME": str(work / "prefect"), "FAL_KEY": KEY, "REELFLOW_SECRET_BLOCKS": "0",
                           "REELFLOW_POLL_INTERVAL": os.environ.get("REELFLOW_POLL_INTERVAL", "0.5"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                           "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "WARNING")})
        from tests.fakes import FakeFal  # the fake fal queue of the test suite

        fake = FakeFal(fake_video(work), KEY, latency=args.latency).start()
        os.environ["FAL_QUEUE_URL"] = fake.url
        try:
            one_list, overlay = write_inputs(work / "one", 1, args.limit)
            many_list, _ = write_inputs(work / "many", args.shots, args.limit)
            alone = render_tier(fake, one_list, overlay, work / "one")
            many = render_tier(fake, many_list, overlay, work / "many")
        finally:
            fake.stop()
    rounds = math.ceil(args.shots / args.limit)
    result = {
        "shots": args.shots, "limit": args.limit, "latency_s": args.latency, "server_database": args.database,
        "one_shot_tier_s": alone["tier_s"], "tier_s": many["tier_s"],
        "tier_over_latency": round(many["tier_s"] / args.latency, 2),
        "tier_over_one_shot": round(many["tier_s"] / alone["tier_s"], 2),
        "ideal_rounds": rounds, "peak_in_flight": many["peak_in_flight"], "submissions": many["submissions"],
        "peak_threads": many["peak_threads"], "render_s": many["render_s"],
        "jobs_submitted_finished_s": many["jobs_submitted_finished_s"],
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    goal = 1.15 * args.latency * rounds
    ok = many["peak_in_flight"] == min(args.limit, args.shots) and many["tier_s"] <= goal
    result.update(goal_s=round(goal, 1), goal_met=ok)
    (out / "fanout.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "jobs_submitted_finished_s"}, indent=2))
    print(f"draft tier {many['tier_s']:.2f}s = {result['tier_over_latency']}x latency "
          f"({rounds} rounds ideal = {rounds}x); peak in flight {many['peak_in_flight']} (limit {args.limit}); "
          f"{'OK' if ok else 'OVER TARGET'}")


if __name__ == "__main__":
    main()
