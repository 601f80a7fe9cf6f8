"""reelflow benchmarks: ratios against references measured in the same run.

1. assembly: our mix + assemble + export of N conformed 1080p24 clips with 0.5 s crossfades and a
   music bed, against one hand-written ffmpeg command (xfade + acrossfade + amix) with the same
   encoder settings on the same clips. Ratio = ours / ffmpeg (lower is better; 1.0 = parity).
2. rerun: a first render of a shot list (empty store) against an unchanged re-run of it
   (everything cached). Ratio = rerun / first.

    python bench/run.py [--clips 6] [--seconds 5] [--shotlist shotlists/night-market-social.yaml]

Writes bench/results/latest.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reelflow.media.edit import Source, export_edit  # noqa: E402
from reelflow.media.ffmpeg import AAC, X264, probe, run_ffmpeg  # noqa: E402
from reelflow.media.mix import ShotSound, mix_edit  # noqa: E402
from reelflow.shotlist import MusicBed, ShotList  # noqa: E402
from reelflow.timeline import build_timeline  # noqa: E402


def make_clips(work: Path, n: int, seconds: float) -> list[tuple[Path, Path]]:
    clips = []
    for i in range(n):
        v, a = work / f"c{i}.mp4", work / f"c{i}.wav"
        run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=1920x1080:r=24:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=f={220 + 55 * i}:d={seconds}:r=48000",
                    "-vf", f"hue=h={i * 50}", "-map", "0:v", "-map", "1:a", *X264, *AAC,
                    "-shortest", str(v)], what="bench clip")
        run_ffmpeg(["-i", str(v), "-vn", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2", str(a)],
                   what="bench wav")
        clips.append((v, a))
    return clips


def ffmpeg_reference(clips, music: Path, seconds: float, xf: float, out: Path) -> float:
    n = len(clips)
    total = n * seconds - (n - 1) * xf
    inputs = []
    for v, _ in clips:
        inputs += ["-i", str(v)]
    inputs += ["-i", str(music)]
    parts, prev, offset = [], "0:v", 0.0
    for i in range(1, n):
        offset += seconds - xf
        label = f"v{i}"
        parts.append(f"[{prev}][{i}:v]xfade=transition=fade:duration={xf}:offset={offset:.3f}[{label}]")
        prev = label
    parts.append(f"[{prev}]format=yuv420p[v]")
    prev = "0:a"
    for i in range(1, n):
        parts.append(f"[{prev}][{i}:a]acrossfade=d={xf}[a{i}]")
        prev = f"a{i}"
    parts.append(f"[{n}:a]aloop=loop=-1:size=2e9,atrim=0:{total:.3f},volume=0.5[m]")
    parts.append(f"[{prev}][m]amix=inputs=2:duration=first:normalize=0[a]")
    t = time.perf_counter()
    run_ffmpeg([*inputs, "-filter_complex", ";".join(parts), "-map", "[v]", "-map", "[a]",
                *X264, "-threads", "2", "-r", "24", *AAC, "-movflags", "+faststart", str(out)],
               what="ffmpeg reference")
    return time.perf_counter() - t


def ours(clips, music: Path, seconds: float, xf: float, out: Path, work: Path) -> float:
    spec = ShotList.model_validate({
        "title": "bench", "output": {"fps": 24},
        "defaults": {"transition": {"type": "crossfade", "seconds": xf}},
        "shots": [{"id": f"c{i}", "prompt": "p", "duration": seconds} for i in range(len(clips))],
    })
    tl = build_timeline(spec)
    t = time.perf_counter()
    mixed = work / "mix.wav"
    mix_edit(tl, [ShotSound(a) for _, a in clips], MusicBed(music="m"), music, -14, mixed, work)
    export_edit(tl, [Source(v) for v, _ in clips], mixed, out, (1920, 1080))
    return time.perf_counter() - t


def bench_assembly(n: int, seconds: float, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="reelflow-bench-") as tmp:
        work = Path(tmp)
        clips = make_clips(work, n, seconds)
        music = ROOT / "assets" / "music" / "bed.wav"
        ref, mine = [], []
        for _ in range(repeats):
            ref.append(ffmpeg_reference(clips, music, seconds, 0.5, work / "ref.mp4"))
            mine.append(ours(clips, music, seconds, 0.5, work / "ours.mp4", work))
        a, b = probe(work / "ref.mp4"), probe(work / "ours.mp4")
        return {
            "clips": n, "clip_seconds": seconds, "edit_seconds": round(b.video_duration, 3),
            "ffmpeg_s": [round(x, 2) for x in ref], "ours_s": [round(x, 2) for x in mine],
            "ratio_median": round(statistics.median(mine) / statistics.median(ref), 2),
            "frames": {"ffmpeg": a.frames, "ours": b.frames},
        }


def bench_rerun(shotlist: Path) -> dict:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows.render import render_shotlist

    with tempfile.TemporaryDirectory(prefix="reelflow-bench-") as tmp:
        store, out = Path(tmp) / "store", Path(tmp) / "out"
        # a trivial flow first, so neither timed run pays Prefect's temporary-server start-up
        render_shotlist.fn  # noqa: B018 - import cost paid above
        from prefect import flow

        @flow
        def warm() -> int:
            return 1

        warm()
        t = time.perf_counter()
        first = render_shotlist(str(shotlist), out_dir=str(out), approval="all", store_dir=str(store))
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        again = render_shotlist(str(shotlist), out_dir=str(out), approval="all", store_dir=str(store))
        t_again = time.perf_counter() - t
        assert all(s["cache_hit"] for s in again["shots"])
        return {"shotlist": str(shotlist.relative_to(ROOT)), "shots": len(first["shots"]),
                "edit_seconds": first["output"]["duration"], "first_s": round(t_first, 2),
                "rerun_s": round(t_again, 2), "ratio": round(t_again / t_first, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shotlist", default=str(ROOT / "shotlists" / "night-market-social.yaml"))
    ap.add_argument("--skip-rerun", action="store_true")
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "assembly": bench_assembly(args.clips, args.seconds, args.repeats)}
    print(json.dumps(results["assembly"], indent=2), flush=True)
    if not args.skip_rerun:
        results["rerun"] = bench_rerun(Path(args.shotlist).resolve())
        print(json.dumps(results["rerun"], indent=2))
    dest = ROOT / "bench" / "results"
    dest.mkdir(exist_ok=True)
    (dest / "latest.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
