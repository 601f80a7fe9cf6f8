"""QC benchmark: what checking a clip costs against rendering it, measured in the same run.

Renders 1080p24 animatic finals (5 s, a moving camera, native sound) and a 720p one, then runs
QC (`reelflow.qc.runner.check_clip`: one small decode, every check) on each; reports QC seconds
per clip-second and QC CPU time as a share of the render's CPU time (this process and its ffmpeg
children, from resource.getrusage). Goal (issue 19): <= 5 % of a 1080p render's CPU time.
Also runs every fault profile (reelflow/qc/faults.py) on a 720p clip and prints the detection
matrix (detector x bad clip).

    python bench/qc.py [--clips 3]

Writes bench/results/qc.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args, **kw):
    w0, c0 = time.perf_counter(), cpu()
    out = fn(*args, **kw)
    return out, time.perf_counter() - w0, cpu() - c0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=3)
    args = ap.parse_args()
    from reelflow.providers.animatic.provider import render_animatic
    from reelflow.providers.base import GenerationRequest
    from reelflow.qc.faults import FAULTS, spoil
    from reelflow.generation.qc_pipeline import expectation
    from reelflow.providers.animatic.provider import AnimaticProvider
    from reelflow.qc.runner import check_clip

    rows = []
    with tempfile.TemporaryDirectory(prefix="reelflow-bench-qc-") as tmp:
        for k in range(args.clips):
            for (w, h) in ((1920, 1080), (1280, 720)):
                req = GenerationRequest(shot_id=f"s{k}", prompt="Fishing harbor at dawn, boats and gulls",
                                        kind="environment", camera="slow dolly forward", model="veo-3.1",
                                        tier="final", seed=k, seconds=5, width=w, height=h, fps=24, aspect="16:9",
                                        audio=True, audio_cue="gulls and waves")
                clip = Path(tmp) / f"{k}-{h}.mp4"
                _, render_wall, render_cpu = timed(render_animatic, req, clip)
                report, qc_wall, qc_cpu = timed(check_clip, clip, expectation(req, AnimaticProvider()))
                rows.append({"height": h, "seconds": 5, "render_wall_s": round(render_wall, 3),
                             "render_cpu_s": round(render_cpu, 3), "qc_wall_s": round(qc_wall, 3),
                             "qc_cpu_s": round(qc_cpu, 3), "findings": [f.check for f in report.findings]})
        matrix = {}
        good = Path(tmp) / "0-720.mp4"
        req = GenerationRequest(shot_id="s0", prompt="Fishing harbor at dawn, boats and gulls", kind="environment",
                                camera="slow dolly forward", model="veo-3.1", tier="final", seed=0, seconds=5,
                                width=1280, height=720, fps=24, aspect="16:9", audio=True)
        from PIL import Image
        import numpy as np
        from reelflow.media.frames import frame_at

        first = Path(tmp) / "first.png"
        Image.fromarray(frame_at(good, 0).astype(np.uint8)).save(first)
        expect = expectation(req, AnimaticProvider()).model_copy(update={"first_frame": str(first)})
        matrix["good"] = [f"{f.check}:{f.severity}" for f in check_clip(good, expect).findings]
        for fault in FAULTS:
            bad = Path(tmp) / f"bad-{fault}.mp4"
            spoil(good, bad, fault)
            matrix[fault] = [f"{f.check}:{f.severity}" for f in check_clip(bad, expect).findings]

    def share(h: int, key: str) -> float:
        sel = [r for r in rows if r["height"] == h]
        return round(sum(r[f"qc_{key}_s"] for r in sel) / sum(r[f"render_{key}_s"] for r in sel), 4)

    results = {
        "clips": rows,
        "qc_cpu_share_of_render_1080p": share(1080, "cpu"), "qc_wall_share_of_render_1080p": share(1080, "wall"),
        "qc_cpu_share_of_render_720p": share(720, "cpu"),
        "qc_wall_s_per_clip_second_1080p": round(sum(r["qc_wall_s"] for r in rows if r["height"] == 1080)
                                                 / sum(r["seconds"] for r in rows if r["height"] == 1080), 4),
        "detection_matrix": matrix,
        "goal_cpu_share_1080p<=0.05": share(1080, "cpu") <= 0.05,
    }
    dest = ROOT / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "qc.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "clips"}, indent=2))


if __name__ == "__main__":
    main()
