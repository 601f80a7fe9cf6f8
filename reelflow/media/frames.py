"""Frames across cuts and segments: the last frame of a clip, a long take's segments joined
without their repeated frame, and how alike two frames are (PSNR)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from reelflow.media.ffmpeg import AAC, INTERMEDIATE, probe, run_ffmpeg


def extract_last_frame(src: Path, dest: Path) -> None:
    """The clip's last decoded frame as a PNG (seek near the end, keep overwriting one image)."""
    run_ffmpeg(["-sseof", "-1", "-i", str(src), "-map", "0:v:0", "-update", "1", "-pix_fmt", "rgb24",
                "-f", "image2", "-c:v", "png", str(dest)], what=f"last frame of {src.name}")
    if not dest.is_file() or dest.stat().st_size == 0:  # a clip shorter than the seek: decode it all
        run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-update", "1", "-pix_fmt", "rgb24",
                    "-f", "image2", "-c:v", "png", str(dest)], what=f"last frame of {src.name}")


def extract_shown_frame(src: Path, dest: Path, index: int, fps: float) -> None:
    """Frame ``index`` of the clip as the edit shows it (resampled to the edit's rate, held past
    its end like the conform): the last frame on screen of a shot trimmed to its duration."""
    from reelflow.spec.shotlist import fps_arg

    run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-vf",
                f"fps={fps_arg(fps)},tpad=stop_mode=clone:stop_duration=3600,select=eq(n\\,{index})",
                "-frames:v", "1", "-pix_fmt", "rgb24", "-f", "image2", "-c:v", "png", str(dest)],
               what=f"frame {index} of {src.name}")


def join_segments(parts: list[Path], dest: Path, fps: float, overlap: bool = True) -> None:
    """One clip from a long take's segments: each segment after the first starts on the frame
    the one before ended on, so that frame (and its sound) is dropped once; the sound runs on
    without a gap. ``overlap=False``: clips simply one after another (a group's hard cuts)."""
    with_audio = all(probe(p, count_frames=False).has_audio for p in parts)
    args: list[str] = []
    for p in parts:
        args += ["-i", str(p)]
    chains, labels = [], []
    for i in range(len(parts)):
        skip = 1 if i and overlap else 0
        chains.append(f"[{i}:v]trim=start_frame={skip},setpts=PTS-STARTPTS,fps={fps:.6f}[v{i}]")
        labels.append(f"[v{i}]")
        if with_audio:
            chains.append(f"[{i}:a]atrim=start={skip / fps:.6f},asetpts=PTS-STARTPTS,"
                          f"aresample=48000,aformat=channel_layouts=stereo[a{i}]")
            labels.append(f"[a{i}]")
    chains.append(f"{''.join(labels)}concat=n={len(parts)}:v=1:a={1 if with_audio else 0}[v]"
                  + ("[a]" if with_audio else ""))
    maps = ["-map", "[v]"] + (["-map", "[a]", *AAC] if with_audio else [])
    run_ffmpeg([*args, "-filter_complex", ";".join(chains), *maps, *INTERMEDIATE,
                "-movflags", "+faststart", str(dest)], what=f"joining {len(parts)} segments")


def cut_frames(src: Path, dest: Path, start: int, frames: int, fps: float) -> None:
    """Frames [start, start + frames) of a clip and the sound under them, as a clip of its own
    (re-encoded: frame-exact wherever the cut falls, not only on a keyframe)."""
    with_audio = probe(src, count_frames=False).has_audio
    t0, t1 = start / fps, (start + frames) / fps
    chains = [f"[0:v]trim=start_frame={start}:end_frame={start + frames},setpts=PTS-STARTPTS[v]"]
    maps = ["-map", "[v]"]
    if with_audio:
        chains.append(f"[0:a]atrim=start={t0:.6f}:end={t1:.6f},asetpts=PTS-STARTPTS[a]")
        maps += ["-map", "[a]", *AAC]
    run_ffmpeg(["-i", str(src), "-filter_complex", ";".join(chains), *maps, *INTERMEDIATE,
                "-frames:v", str(frames), "-movflags", "+faststart", str(dest)], what=f"cutting {src.name}")


def frame_at(src: Path, index: int | None = None, *, size: tuple[int, int] | None = None) -> np.ndarray:
    """One frame of a clip (the first by default, -1: the last) as an RGB array."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reelflow-frame-") as tmp:
        out = Path(tmp) / "f.png"
        if index == -1:
            extract_last_frame(src, out)
        else:
            run_ffmpeg(["-i", str(src), "-map", "0:v:0", "-vf", f"select=eq(n\\,{index or 0})", "-frames:v", "1",
                        "-pix_fmt", "rgb24", str(out)], what=f"frame of {src.name}")
        img = Image.open(out).convert("RGB")
        if size and img.size != size:
            img = img.resize(size, Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.float64)


def frames_at(src: Path, indices) -> dict[int, np.ndarray]:
    """Several frames of a clip in one decode (as uint8 RGB arrays, by index)."""
    from reelflow.media.stills import EditStills

    return EditStills(src, full=indices).full(indices)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two same-size RGB frames in dB (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


CONTINUITY_VERSION = 1


def _chains(timeline, continuing: list[str]) -> list[list[str]]:
    """Runs of continuing shots, each with the shot it continues from."""
    chains: list[list[str]] = []
    for c in timeline.clips:
        if c.shot_id in continuing and chains and chains[-1][-1] == timeline.clips[c.index - 1].shot_id:
            chains[-1].append(c.shot_id)
        elif c.shot_id in continuing:
            chains.append([timeline.clips[c.index - 1].shot_id, c.shot_id])
    return chains


def continuity_frames(timeline, continuing: list[str]) -> list[int]:
    """The edit's frames the continuity report compares: either side of each continuing cut, and
    each chain's first and last."""
    clips = {c.shot_id: c for c in timeline.clips}
    needed = [n for i in continuing for n in (clips[i].start - 1, clips[i].start)]
    return needed + [n for chain in _chains(timeline, continuing)
                     for n in (clips[chain[0]].start, clips[chain[-1]].end - 1)]


def continuity_report(frames_of, timeline, continuing: list[str]) -> dict:
    """How continuous the declared cuts came out in the finished edit: PSNR of the two frames
    either side of each cut, and per chain of continuing shots the drift from the chain's first
    frame to its last (PSNR and the shift of the mean colour, 0-1), which grows when raw last
    frames are chained through many shots. ``frames_of(indices)``: the edit's frames (one decode,
    e.g. ``EditStills.full``)."""
    clips = {c.shot_id: c for c in timeline.clips}
    chains = _chains(timeline, continuing)
    frame = frames_of(continuity_frames(timeline, continuing))
    cuts = {i: round(psnr(frame[clips[i].start - 1], frame[clips[i].start]), 2) for i in continuing}
    drift = []
    for chain in chains:
        first, last = frame[clips[chain[0]].start], frame[clips[chain[-1]].end - 1]
        shift = float(np.abs(first.mean(axis=(0, 1)) - last.mean(axis=(0, 1))).mean() / 255)
        drift.append({"shots": chain, "first_to_last_psnr_db": round(psnr(first, last), 2),
                      "mean_colour_shift": round(shift, 4)})
    return {"cut_psnr_db": cuts, "chains": drift}
