"""reelflow benchmarks: ratios against references measured in the same run.

1. assembly: our mix + assemble + export of N conformed 1080p24 clips with 0.5 s crossfades and a
   music bed, against one hand-written ffmpeg command (xfade + acrossfade + amix) with the same
   encoder settings on the same clips. Ratio = ours / ffmpeg (lower is better; 1.0 = parity).
   Ours exports by segments (reelflow/media/segments.py), every segment fresh.
2. incremental: the export of a 40-shot 1080p edit after one shot changed (only its segments
   encoded) against a full export of it, and the one-pass export for reference. Ratio = one / full.
3. rerun: a first render of a shot list (empty store) against an unchanged re-run of it
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
from reelflow.media.segments import export_segmented  # noqa: E402
from reelflow.media.ffmpeg import AAC, X264, probe, run_ffmpeg  # noqa: E402
from reelflow.media.finishing import conform_audio, conform_filter  # noqa: E402
from reelflow.media.mix import ShotSound, mix_edit  # noqa: E402
from reelflow.spec.shotlist import MusicBed, ShotList  # noqa: E402
from reelflow.edit.timeline import build_timeline  # noqa: E402


def make_clips(work: Path, n: int, seconds: float, mixed: bool = False) -> list[tuple[Path, Path]]:
    """n clips with sound; ``mixed`` alternates 1080p24 with 720p30 at 44.1 kHz."""
    clips = []
    for i in range(n):
        v, a = work / f"{'m' if mixed else 'c'}{i}.mp4", work / f"{'m' if mixed else 'c'}{i}.wav"
        small = mixed and i % 2 == 1
        src = f"testsrc2=s=1280x720:r=30:d={seconds}" if small else f"testsrc2=s=1920x1080:r=24:d={seconds}"
        run_ffmpeg(["-f", "lavfi", "-i", src,
                    "-f", "lavfi", "-i", f"sine=f={220 + 55 * i}:d={seconds}:r=48000",
                    "-vf", f"hue=h={i * 50}", "-map", "0:v", "-map", "1:a", *X264, *AAC,
                    "-shortest", str(v)], what="bench clip")
        run_ffmpeg(["-i", str(v), "-vn", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2", str(a)],
                   what="bench wav")
        clips.append((v, a))
    return clips


CONFORM = "scale=1920:1080:flags=lanczos,fps=24,format=yuv420p,setsar=1,settb=AVTB"
ACONFORM = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"


def ffmpeg_reference(clips, music: Path, seconds: float, xf: float, out: Path, mixed: bool = False) -> float:
    n = len(clips)
    total = n * seconds - (n - 1) * xf
    inputs = []
    for v, _ in clips:
        inputs += ["-i", str(v)]
    inputs += ["-i", str(music)]
    parts = []
    if mixed:  # conform every input first, as media.md's ff_mixed.sh does
        for i in range(n):
            parts.append(f"[{i}:v]{CONFORM}[c{i}];[{i}:a]{ACONFORM}[d{i}]")
    vin = (lambda i: f"c{i}") if mixed else (lambda i: f"{i}:v")
    ain = (lambda i: f"d{i}") if mixed else (lambda i: f"{i}:a")
    prev, offset = vin(0), 0.0
    for i in range(1, n):
        offset += seconds - xf
        label = f"v{i}"
        parts.append(f"[{prev}][{vin(i)}]xfade=transition=fade:duration={xf}:offset={offset:.3f}[{label}]")
        prev = label
    parts.append(f"[{prev}]format=yuv420p[v]")
    prev = ain(0)
    for i in range(1, n):
        parts.append(f"[{prev}][{ain(i)}]acrossfade=d={xf}[a{i}]")
        prev = f"a{i}"
    parts.append(f"[{n}:a]aloop=loop=-1:size=2e9,atrim=0:{total:.3f},volume=0.5[m]")
    parts.append(f"[{prev}][m]amix=inputs=2:duration=first:normalize=0[a]")
    t = time.perf_counter()
    run_ffmpeg([*inputs, "-filter_complex", ";".join(parts), "-map", "[v]", "-map", "[a]",
                *X264, "-threads", "2", "-r", "24", *AAC, "-movflags", "+faststart", str(out)],
               what="ffmpeg reference")
    return time.perf_counter() - t


def ours(clips, music: Path, seconds: float, xf: float, out: Path, work: Path, mixed: bool = False) -> float:
    spec = ShotList.model_validate({
        "title": "bench", "output": {"fps": 24},
        "defaults": {"transition": {"type": "crossfade", "seconds": xf}},
        "shots": [{"id": f"c{i}", "prompt": "p", "duration": seconds} for i in range(len(clips))],
    })
    tl = build_timeline(spec)
    t = time.perf_counter()
    sounds = []
    sources = []
    for i, ((v, a), clip) in enumerate(zip(clips, tl.clips)):
        vf = None
        if mixed:  # the pipeline's own conform: sound to 48 kHz WAV, picture filtered on read
            info = probe(v, count_frames=False)
            vf = conform_filter(info.display_size, (1920, 1080), 24, "crop")
            a = work / f"conformed-{i}.wav"
            conform_audio(v, a, clip.frames / tl.fps)
        sounds.append(ShotSound(a))
        sources.append(Source(v, vf))
    mixed_wav = work / "mix.wav"
    mix_edit(tl, sounds, MusicBed(music="m"), music, -14, mixed_wav)
    segs = work / f"segments-{time.perf_counter_ns()}"  # a fresh export: every segment encoded
    export_segmented(tl, sources, [f"{v}:{vf}" for v, vf in ((s.path, s.vf) for s in sources)], mixed_wav, out,
                     (1920, 1080), lambda key: segs / f"{key}.mp4")
    shutil.rmtree(segs, ignore_errors=True)
    return time.perf_counter() - t


def bench_incremental(shots: int, seconds: float) -> dict:
    """Export by segments: the edit after one of ``shots`` shots changed (its segments encoded, the
    rest copied) against a full re-export of the same edit, both measured here. 1080p24, 0.5 s
    crossfades, sources repeating six files under distinct identities (as forty clips would)."""
    with tempfile.TemporaryDirectory(prefix="reelflow-incr-") as tmp:
        work = Path(tmp)
        files = make_clips(work, 7, seconds)
        spec = ShotList.model_validate({"title": "incr", "output": {"fps": 24},
                                        "defaults": {"transition": {"type": "crossfade", "seconds": 0.5}},
                                        "shots": [{"id": f"s{i}", "prompt": "p", "duration": seconds}
                                                  for i in range(shots)]})
        tl = build_timeline(spec)
        wav = work / "mix.wav"
        mix_edit(tl, [ShotSound(files[i % 6][1]) for i in range(shots)], MusicBed(music="m"),
                 ROOT / "assets/music/bed.wav", -14, wav)
        sources = [Source(files[i % 6][0]) for i in range(shots)]
        ids = [f"shot-{i}" for i in range(shots)]
        store = work / "segments"
        at = lambda key: store / f"{key}.mp4"  # noqa: E731
        t = time.perf_counter()
        full = export_segmented(tl, sources, ids, wav, work / "full.mp4", (1920, 1080), at)
        t_full = time.perf_counter() - t
        changed = shots // 2
        sources[changed], ids[changed] = Source(files[6][0]), "shot-edited"
        t = time.perf_counter()
        one = export_segmented(tl, sources, ids, wav, work / "one.mp4", (1920, 1080), at)
        t_one = time.perf_counter() - t
        t = time.perf_counter()
        export_edit(tl, sources, wav, work / "one-pass.mp4", (1920, 1080))  # the one-pass export, for reference
        t_pass = time.perf_counter() - t
        info = probe(work / "one.mp4")
        assert info.frames == tl.frames
        return {"shots": shots, "edit_seconds": round(tl.duration, 2), "segments": full.encoded,
                "full_export_s": round(t_full, 2), "one_pass_export_s": round(t_pass, 2),
                "one_changed_shot_s": round(t_one, 2), "segments_encoded": one.encoded,
                "frames_encoded": one.frames_encoded, "ratio": round(t_one / t_full, 3)}


def bench_assembly(n: int, seconds: float, repeats: int, mixed: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="reelflow-bench-") as tmp:
        work = Path(tmp)
        clips = make_clips(work, n, seconds, mixed)
        music = ROOT / "assets" / "music" / "bed.wav"
        ref, mine = [], []
        for _ in range(repeats):
            ref.append(ffmpeg_reference(clips, music, seconds, 0.5, work / "ref.mp4", mixed))
            mine.append(ours(clips, music, seconds, 0.5, work / "ours.mp4", work, mixed))
        a, b = probe(work / "ref.mp4"), probe(work / "ours.mp4")
        return {
            "inputs": "mixed 1080p24 + 720p30/44.1k" if mixed else "1080p24", "clips": n, "clip_seconds": seconds, "edit_seconds": round(b.video_duration, 3),
            "ffmpeg_s": [round(x, 2) for x in ref], "ours_s": [round(x, 2) for x in mine],
            "ratio_median": round(statistics.median(mine) / statistics.median(ref), 2),
            "frames": {"ffmpeg": a.frames, "ours": b.frames},
        }


def bench_memory(shots: int, seconds: float) -> dict:
    """Peak memory while mixing and assembling a long edit (60 shots x 5 s at 1080p by default),
    measured in a fresh process: its own peak and its largest ffmpeg child. Sources repeat six
    files; frames still stream from one decoder per visible shot."""
    import subprocess

    code = f"""
import json, resource, sys, tempfile, time
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'bench')!r})
from run import *
with tempfile.TemporaryDirectory(prefix="reelflow-mem-") as tmp:
    work = Path(tmp)
    files = make_clips(work, 6, {seconds})
    spec = ShotList.model_validate({{"title": "long", "output": {{"fps": 24}},
        "shots": [{{"id": f"s{{i}}", "prompt": "p", "duration": {seconds}}} for i in range({shots})]}})
    tl = build_timeline(spec)
    clips = [files[i % len(files)] for i in range({shots})]
    t = time.perf_counter()
    wav = work / "mix.wav"
    mix_edit(tl, [ShotSound(a) for _, a in clips], MusicBed(music="m"), ROOT / "assets/music/bed.wav", -14, wav)
    export_edit(tl, [Source(v) for v, _ in clips], wav, work / "long.mp4", (1920, 1080))
    took = time.perf_counter() - t
    info = probe(work / "long.mp4")
    print(json.dumps({{"shots": {shots}, "edit_seconds": round(info.video_duration, 2), "frames": info.frames,
        "wall_s": round(took, 1),
        "python_peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    peak_total = 0
    while proc.poll() is None:  # sample the whole process tree's resident memory
        peak_total = max(peak_total, _tree_rss_kib(proc.pid))
        time.sleep(0.25)
    result = json.loads(proc.stdout.read().strip().splitlines()[-1])
    result.pop("largest_ffmpeg_child_mib", None)  # ru_maxrss of children counts pre-exec forks
    result["peak_tree_mib_sampled"] = round(peak_total / 1024)
    return result


def _tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over a process and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid, ppid = int(d.name), int(fields.get("PPid", "0").strip())
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def bench_rerun(shotlist: Path) -> dict:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from reelflow.flows.render import render_shotlist

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
        # the third run is answered by Prefect's cache throughout (the store-aware policies write
        # a task's record once the store holds its files, i.e. during the second run)
        t = time.perf_counter()
        third = render_shotlist(str(shotlist), out_dir=str(out), approval="all", store_dir=str(store))
        t_third = time.perf_counter() - t
        assert all(s["cache_hit"] for m in (again, third) for s in m["shots"])
        return {"shotlist": str(shotlist.relative_to(ROOT)), "shots": len(first["shots"]),
                "edit_seconds": first["output"]["duration"], "first_s": round(t_first, 2),
                "rerun_s": round(t_again, 2), "ratio": round(t_again / t_first, 3),
                "third_s": round(t_third, 2), "third_ratio": round(t_third / t_first, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=12, help="12 x 5 s = a 60 s edit")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shotlist", default=str(ROOT / "shotlists" / "night-market-social.yaml"))
    ap.add_argument("--skip-rerun", action="store_true")
    ap.add_argument("--skip-mixed", action="store_true")
    ap.add_argument("--memory-shots", type=int, default=0, help="e.g. 60 for the 5-minute edit")
    ap.add_argument("--incremental-shots", type=int, default=40, help="0 skips the one-changed-shot export")
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "assembly": bench_assembly(args.clips, args.seconds, args.repeats)}
    print(json.dumps(results["assembly"], indent=2), flush=True)
    if not args.skip_mixed:
        results["assembly_mixed"] = bench_assembly(args.clips, args.seconds, args.repeats, mixed=True)
        print(json.dumps(results["assembly_mixed"], indent=2), flush=True)
    if args.incremental_shots:
        results["incremental"] = bench_incremental(args.incremental_shots, 4.75)
        print(json.dumps(results["incremental"], indent=2), flush=True)
    if args.memory_shots:
        results["memory"] = bench_memory(args.memory_shots, 5.0)
        print(json.dumps(results["memory"], indent=2), flush=True)
    if not args.skip_rerun:
        results["rerun"] = bench_rerun(Path(args.shotlist).resolve())
        print(json.dumps(results["rerun"], indent=2))
    dest = ROOT / "bench" / "results"
    dest.mkdir(exist_ok=True)
    (dest / "latest.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main()
