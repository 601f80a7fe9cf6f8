"""Continuity benchmark: what a long take and a chain of continuous cuts cost, measured in one run.

1. long take: a 16 s shot rendered as 8 + 8 s segments (the second from the first's last frame,
   then joined without the repeated frame) against the same 16 s rendered as one clip, both by
   the animatic at 720p. Ratio = segments / one clip (the price of continuing and joining).
   Also the 8 s clip extended by 8 s through the animatic's extend API (what a Vertex extension
   does: the clip so far in, the longer clip out).
2. drift: a frame passed through N continuous cuts (each shot starts on the last frame of the
   one before: extract, re-encode, extract...) against the frame itself. PSNR after each hop: the
   loss a raw last-frame chain accumulates, which a shared keyframe (0 hops) does not.

    python bench/continuity.py [--hops 5]

Writes bench/results/continuity.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reelflow.media.frames import extract_last_frame, frame_at, join_segments, psnr  # noqa: E402
from reelflow.providers.animatic.provider import render_animatic  # noqa: E402
from reelflow.providers.animatic.extend import extend_animatic  # noqa: E402
from reelflow.providers.base import GenerationRequest  # noqa: E402


def request(seconds: int, **kw) -> GenerationRequest:
    return GenerationRequest(**{"shot_id": "bench", "prompt": "a long wooden pier in morning fog, the sea beyond",
                                "kind": "environment", "camera": "slow pan right", "model": "veo-3.1",
                                "tier": "final", "seed": 11, "seconds": seconds, "width": 1280, "height": 720,
                                "fps": 24, "aspect": "16:9", "audio": True, **kw})


def long_take(work: Path) -> dict:
    t0 = time.perf_counter()
    render_animatic(request(16), work / "one.mp4")
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    render_animatic(request(8), work / "a.mp4")
    extract_last_frame(work / "a.mp4", work / "a.png")
    render_animatic(request(8, image_path=str(work / "a.png"), seed=12), work / "b.mp4")
    join_segments([work / "a.mp4", work / "b.mp4"], work / "joined.mp4", 24)
    chained = time.perf_counter() - t0
    seam = psnr(frame_at(work / "joined.mp4", 191), frame_at(work / "joined.mp4", 192))
    # the extend API (as the animatic answers it): the 8 s clip goes in, 16 s come back
    t0 = time.perf_counter()
    render_animatic(request(8), work / "c.mp4")
    extend_animatic(request(8, video_path=str(work / "c.mp4"), extend_from="c", seed=12), work / "extended.mp4")
    extended = time.perf_counter() - t0
    seam_ext = psnr(frame_at(work / "extended.mp4", 191), frame_at(work / "extended.mp4", 192))
    return {"one_clip_s": round(one, 2), "segments_s": round(chained, 2), "ratio": round(chained / one, 2),
            "seam_psnr_db": round(seam, 1), "extended_s": round(extended, 2),
            "extended_ratio": round(extended / one, 2), "extended_seam_psnr_db": round(seam_ext, 1)}


def drift(work: Path, hops: int) -> dict:
    render_animatic(request(2), work / "hop0.mp4")
    extract_last_frame(work / "hop0.mp4", work / "hop0.png")
    from PIL import Image
    import numpy as np

    original = np.asarray(Image.open(work / "hop0.png").convert("RGB"), dtype=np.float64)
    after = []
    for k in range(1, hops + 1):
        # the next shot starts on the frame; its first frame is what the cut shows
        render_animatic(request(2, image_path=str(work / f"hop{k - 1}.png"), seed=20 + k), work / f"hop{k}.mp4")
        first = frame_at(work / f"hop{k}.mp4", 0)
        Image.fromarray(first.astype("uint8")).save(work / f"hop{k}.png")
        after.append(round(psnr(first, original), 2))
    return {"psnr_vs_original_db_per_hop": after, "keyframe_hops": 0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hops", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelflow-bench-") as tmp:
        work = Path(tmp)
        result = {"long_take": long_take(work), "drift": drift(work, args.hops)}
    out = ROOT / "bench" / "results" / "continuity.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    lt, dr = result["long_take"], result["drift"]
    print(f"long take 16 s: one clip {lt['one_clip_s']} s, 8+8 s segments joined {lt['segments_s']} s "
          f"(ratio {lt['ratio']}); seam PSNR {lt['seam_psnr_db']} dB; 8 s extended by 8 s "
          f"{lt['extended_s']} s (ratio {lt['extended_ratio']}), seam {lt['extended_seam_psnr_db']} dB")
    print(f"drift over {args.hops} continuous cuts (PSNR vs the original frame): {dr['psnr_vs_original_db_per_hop']}")


if __name__ == "__main__":
    main()
