"""Export by segments (#18): the edit re-encodes only what a change touches, frame-exact, and is
byte-for-byte what a fresh export of the new edit writes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from reelflow.media.edit import Source, export_edit
from reelflow.media.ffmpeg import probe, run_ffmpeg
from reelflow.media.segments import export_segmented
from reelflow.spec.shotlist import ShotList
from reelflow.edit.timeline import build_timeline, segments

SPEC = ShotList.model_validate({
    "title": "t", "output": {"resolution": "720p", "fps": 24},
    "defaults": {"transition": {"type": "crossfade", "seconds": 0.5}},
    "shots": [{"id": "a", "prompt": "p", "duration": 2}, {"id": "b", "prompt": "q", "duration": 2},
              {"id": "c", "prompt": "r", "duration": 2, "transition": {"type": "cut"}},
              {"id": "d", "prompt": "s", "duration": 1.5}],
})
SIZE = (320, 180)


def test_segments_tile_the_edit_at_every_clip_boundary():
    tl = build_timeline(SPEC)
    segs = segments(tl)
    assert sum(s.frames for s in segs) == tl.frames == 3 * 48 + 36 - 2 * 12  # two crossfades, one cut
    assert all(a.start + a.frames == b.start for a, b in zip(segs, segs[1:]))
    assert [len(s.parts) for s in segs] == [1, 2, 1, 2, 1, 1]  # a, a+b, b, b+c, c | d (the cut: no overlap)
    assert segs[1].parts == ((0, 36), (1, 0)) and segs[1].join.type == "crossfade"


def _clip(path: Path, hue: int, seconds: float = 2, negate: bool = False) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", f"testsrc2=s=320x180:r=24:d={seconds}",
                "-vf", f"hue=h={hue}" + (",negate" if negate else ""),
                "-pix_fmt", "yuv420p", "-c:v", "libx264", "-crf", "10", str(path)], what="test clip")
    return path


def _frames(path: Path) -> np.ndarray:
    import subprocess

    from reelflow.media.ffmpeg import ffmpeg_exe

    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray",
                          "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, SIZE[1], SIZE[0]).astype(float)


def test_one_changed_shot_re_encodes_only_its_segments_and_the_file_matches_a_fresh_export(tmp_path):
    tl = build_timeline(SPEC)
    clips = [_clip(tmp_path / f"{n}.mp4", 60 * i) for i, n in enumerate("abcd")]
    wav = tmp_path / "mix.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=440:r=48000", "-ac", "2", "-t", f"{tl.duration}", str(wav)], what="tone")
    ids = [hashlib.sha256(p.read_bytes()).hexdigest() for p in clips]
    store = tmp_path / "segments"
    at = lambda key: store / f"{key}.mp4"  # noqa: E731

    first = export_segmented(tl, [Source(p) for p in clips], ids, wav, tmp_path / "e1.mp4", SIZE, at)
    assert (first.encoded, first.reused) == (6, 0)
    info = probe(tmp_path / "e1.mp4")
    assert info.frames == tl.frames and info.vcodec == "h264" and info.has_audio
    assert abs(info.video_duration - tl.duration) < 1e-3
    # frame-exact: every frame matches the one-pass export's (same source frames, same blend)
    whole = tmp_path / "whole.mp4"
    export_edit(tl, [Source(p) for p in clips], wav, whole, SIZE)
    a, b = _frames(tmp_path / "e1.mp4"), _frames(whole)
    assert a.shape == b.shape
    psnr = [10 * np.log10(255 ** 2 / max(1e-9, float(np.mean((x - y) ** 2)))) for x, y in zip(a, b)]
    assert min(psnr) > 30, min(psnr)

    # shot b changes: its own segment and both transitions it is in, nothing else
    clips[1] = _clip(tmp_path / "b2.mp4", 60, negate=True)
    ids[1] = hashlib.sha256(clips[1].read_bytes()).hexdigest()
    again = export_segmented(tl, [Source(p) for p in clips], ids, wav, tmp_path / "e2.mp4", SIZE, at)
    assert (again.encoded, again.reused) == (3, 3) and again.frames_encoded == 12 + 24 + 12
    fresh = export_segmented(tl, [Source(p) for p in clips], ids, wav, tmp_path / "e3.mp4", SIZE,
                             lambda key: tmp_path / "fresh" / f"{key}.mp4")
    assert fresh.encoded == 6
    assert (tmp_path / "e2.mp4").read_bytes() == (tmp_path / "e3.mp4").read_bytes()
    changed = _frames(tmp_path / "e2.mp4")
    assert np.abs(changed[60] - a[60]).mean() > 5 and np.abs(changed[150] - a[150]).mean() < 1  # b moved, d not


def test_two_segments_that_show_the_same_thing_are_encoded_once(tmp_path):
    """Shots rendered to the same bytes (a fake provider, a repeated take) give segments with one
    key: two threads encoding one file raced to rename it (FileNotFoundError in CI)."""
    spec = ShotList.model_validate({
        "title": "t", "output": {"resolution": "720p", "fps": 24}, "defaults": {"transition": {"type": "cut"}},
        "shots": [{"id": n, "prompt": "p", "duration": 1} for n in "abcd"]})
    tl = build_timeline(spec)
    same = _clip(tmp_path / "same.mp4", 0, seconds=1)
    wav = tmp_path / "mix.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=440:r=48000", "-ac", "2", "-t", f"{tl.duration}", str(wav)], what="tone")
    ident = hashlib.sha256(same.read_bytes()).hexdigest()
    for attempt in range(3):
        store = tmp_path / f"segments{attempt}"
        report = export_segmented(tl, [Source(same)] * 4, [ident] * 4, wav, tmp_path / f"e{attempt}.mp4", SIZE,
                                  lambda key, store=store: store / f"{key}.mp4")
        assert (report.encoded, report.frames_encoded) == (1, 24)
        assert probe(tmp_path / f"e{attempt}.mp4").frames == tl.frames == 96
        assert [p.name for p in store.iterdir()] == [f"{next(iter(store.iterdir())).stem}.mp4"]  # no part left


def test_a_store_under_a_folder_with_an_apostrophe_exports(tmp_path):
    """Segments are joined through a concat list: a path with a quote ("Bob's projects") was
    written unescaped and every export failed (`Impossible to open '/.../Bob`)."""
    spec = ShotList.model_validate({
        "title": "t", "output": {"resolution": "720p", "fps": 24}, "defaults": {"transition": {"type": "cut"}},
        "shots": [{"id": n, "prompt": "p", "duration": 1} for n in "ab"]})
    tl = build_timeline(spec)
    home = tmp_path / "Bob's projects" / "it's here"
    home.mkdir(parents=True)
    clips = [_clip(home / f"{n}.mp4", 90 * i, seconds=1) for i, n in enumerate("ab")]
    wav = home / "mix.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=440:r=48000", "-ac", "2", "-t", f"{tl.duration}", str(wav)], what="tone")
    ids = [hashlib.sha256(p.read_bytes()).hexdigest() for p in clips]
    done = export_segmented(tl, [Source(p) for p in clips], ids, wav, home / "edit.mp4", SIZE,
                            lambda key: home / "segments" / f"{key}.mp4")
    assert done.encoded == 2
    info = probe(home / "edit.mp4")
    assert info.frames == tl.frames and info.has_audio
