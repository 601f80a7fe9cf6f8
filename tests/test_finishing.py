"""Finishing to a deliverable standard: conform matrix, upscalers, grade, sound, deliverables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from PIL import Image
from pydub import AudioSegment

from reelflow.deliver.captions import parse_srt
from reelflow.media.edit import Encode, Source, export_edit
from reelflow.media.ffmpeg import measure_loudness, probe, run_ffmpeg
from reelflow.media.finishing import conform_audio, conform_filter, plan_upscale
from reelflow.media.mix import ShotSound, mix_edit, to_array
from reelflow.spec.shotlist import MusicBed, ShotList
from reelflow.edit.timeline import build_timeline

from .conftest import ROOT, make_repo

SOURCES = {  # name: (lavfi video, extra args) covering the conform cases
    "ntsc-film-silent": ("testsrc2=s=1280x720:r=24000/1001:d=1.2", []),
    "ntsc-video-mono-22k": ("testsrc2=s=1920x1080:r=30000/1001:d=1.2", ["sine=f=300:r=22050:d=1.2", "-ac", "1"]),
    "4k60-stereo-44k": ("testsrc2=s=3840x2160:r=60:d=1.2", ["sine=f=400:r=44100:d=1.2", "-ac", "2"]),
    "odd-size-25": ("testsrc2=s=853x479:r=25:d=1.2", ["sine=f=500:r=48000:d=1.2", "-ac", "2"]),
    "square-24": ("testsrc2=s=1080x1080:r=24:d=1.2", ["sine=f=600:r=32000:d=1.2", "-ac", "2"]),
}


def make_source(tmp: Path, name: str) -> Path:
    video, audio = SOURCES[name]
    out = tmp / f"{name}.mp4"
    args = ["-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", audio[0], *audio[1:], "-c:a", "aac"]
    run_ffmpeg([*args, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
                "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2" if "853" in video else "null", "-shortest", str(out)],
               what=name)
    return out


@pytest.mark.slow  # encodes five sources and an edit per rate (~5 s each)
@pytest.mark.parametrize("out_fps", [29.97, 23.976])
def test_conform_any_mix_of_sources(tmp_path, out_fps):
    paths = [make_source(tmp_path, n) for n in SOURCES]
    # a rotated phone clip: stored 1280x720 with a 90 degree display matrix -> shown portrait
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg(["-display_rotation", "90", "-i", str(make_source(tmp_path, "odd-size-25")),
                "-c", "copy", str(rotated)], what="rotate")
    assert probe(rotated).display_size[1] > probe(rotated).display_size[0]
    paths.append(rotated)
    spec = ShotList.model_validate({
        "title": "mix", "output": {"resolution": "720p", "fps": out_fps},
        "shots": [{"id": f"s{i}", "prompt": "p", "duration": 1} for i in range(len(paths))],
    })
    tl = build_timeline(spec)
    size = spec.output.size
    sources, sounds = [], []
    for p, clip in zip(paths, tl.clips):
        info = probe(p, count_frames=False)
        sources.append(Source(p, conform_filter(info.display_size, size, out_fps, "auto")))
        wav = tmp_path / f"{p.stem}.wav"
        conform_audio(p, wav, clip.frames / tl.fps)
        a = AudioSegment.from_wav(str(wav))
        assert a.frame_rate == 48000 and a.channels == 2
        assert abs(len(a) - clip.frames / tl.fps * 1000) <= 1
        sounds.append(ShotSound(wav))
    mix = tmp_path / "mix.wav"
    mix_edit(tl, sounds, MusicBed(), None, -16, mix)
    out = tmp_path / "edit.mp4"
    export_edit(tl, sources, mix, out, size)
    info = probe(out)
    assert (info.width, info.height) == (1280, 720)
    assert info.frames == tl.frames
    assert abs(info.fps - out_fps) < 0.01
    assert info.has_audio and info.sample_rate == 48000 and info.channels == 2
    # the portrait source was blur-filled, not stretched: its middle column is the picture, its
    # edges are the darkened blur
    last = tl.clips[-1]
    png = tmp_path / "rot.png"
    run_ffmpeg(["-i", str(out), "-vf", f"select=eq(n\\,{last.start + last.frames // 2})", "-frames:v", "1",
                str(png)], what="grab")
    frame = np.asarray(Image.open(png).convert("L")).astype(float)
    sharp_middle = np.abs(np.diff(frame[:, 560:720], axis=0)).max()
    soft_edges = np.abs(np.diff(frame[:, :100], axis=0)).max()
    assert sharp_middle > 3 * soft_edges


def test_upscale_skips_big_sources_and_realesrgan_runs_offline(tmp_path):
    assert not plan_upscale((3840, 2160), (1920, 1080)).needed
    src = tmp_path / "tiny.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=128x72:r=12:d=0.5", "-f", "lavfi", "-i", "sine=d=0.5",
                "-pix_fmt", "yuv420p", "-shortest", str(src)], what="tiny")
    from reelflow.media.superres import upscale_realesrgan

    upscale_realesrgan(src, tmp_path / "sr.mp4", 256, 144)
    info = probe(tmp_path / "sr.mp4")
    assert (info.width, info.height, info.frames) == (256, 144, 6) and info.has_audio


def test_lut_grades_every_frame(tmp_path):
    cube = tmp_path / "swap.cube"  # swaps red and blue
    rows = []
    for b in (0, 1):
        for g in (0, 1):
            for r in (0, 1):
                rows.append(f"{b} {g} {r}")
    cube.write_text("LUT_3D_SIZE 2\n" + "\n".join(rows) + "\n")
    spec = ShotList.model_validate({"title": "t", "output": {"resolution": "720p"},
                                    "shots": [{"id": "a", "prompt": "p", "duration": 1}]})
    tl = build_timeline(spec)
    red = tmp_path / "red.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "color=c=red:s=1280x720:r=24:d=1", "-pix_fmt", "yuv420p", str(red)], what="red")
    wav = tmp_path / "s.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "1", str(wav)], what="silence")
    export_edit(tl, [Source(red)], wav, tmp_path / "graded.mp4", (1280, 720), Encode(lut=cube))
    png = tmp_path / "g.png"
    run_ffmpeg(["-i", str(tmp_path / "graded.mp4"), "-frames:v", "1", str(png)], what="grab")
    r, g, b = np.asarray(Image.open(png).convert("RGB"))[360, 640].astype(int)
    assert b > 200 and r < 60


def test_sound_dips_through_black_and_crossfades_otherwise(tmp_path):
    def rms(a: np.ndarray, t0: float, t1: float) -> float:
        seg = a[int(t0 * 48000):int(t1 * 48000)]
        return 20 * math.log10(np.sqrt(np.mean(seg ** 2)) + 1e-12)

    wavs = []
    for i, f in enumerate((300, 450)):
        w = tmp_path / f"t{i}.wav"
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={f}:d=3:r=48000", "-ac", "2", str(w)], what="tone")
        wavs.append(w)
    levels = {}
    for kind in ("fade_black", "crossfade"):
        spec = ShotList.model_validate({
            "title": "t", "defaults": {"transition": {"type": kind, "seconds": 1}},
            "shots": [{"id": "a", "prompt": "p", "duration": 3}, {"id": "b", "prompt": "q", "duration": 3}]})
        tl = build_timeline(spec)
        out = tmp_path / f"{kind}.wav"
        mix_edit(tl, [ShotSound(w) for w in wavs], MusicBed(), None, -20, out)
        a = to_array(AudioSegment.from_wav(str(out)))
        mid = tl.clips[1].start / tl.fps + 0.5
        levels[kind] = rms(a, mid - 0.01, mid + 0.01) - rms(a, 0.5, 1.5)
    assert levels["fade_black"] < -25  # (near) silence at the black midpoint
    assert levels["crossfade"] > -12  # both tones overlap through a crossfade


STEM_CUT = """\
version: 1
title: Deliverables
output:
  resolution: 720p
  aspect: "16:9"
  fps: 25
  loudness_lufs: broadcast
  deliverables: [otio, fcpxml, edl, srt, vtt, contact_sheet, "9:16", "1:1"]
defaults: {transition: {type: crossfade, seconds: 0.4}}
audio: {music: assets/music/bed.wav, music_gain_db: -4, duck_db: -12}
shots:
  - id: harbor
    prompt: Harbor at dawn with gulls
    duration: 2
    kind: environment
    audio: {native: true, cue: gulls and waves}
    sfx: [{file: assets/sfx/bell.wav, at: 0.5, gain_db: -6}]
    transition: {type: dip_white, seconds: 0.4}
  - id: skipper
    prompt: Skipper speaks at the wheel
    duration: 2.4
    kind: dialogue
    dialogue:
      - {speaker: Skipper, line: "Fog's lifting."}
    transition: {type: fade_black, seconds: 0.6}
  - id: voiceover
    prompt: Trawler leaving the harbor, long shot
    duration: 2.2
    kind: environment
    camera: pull back
    fit: pad
    dialogue:
      - {speaker: Narrator, line: "Coming this spring.", file: assets/vo/narrator.wav, at: 0.6}
"""


def test_deliverables_from_one_render(prefect_harness, tmp_path):
    from reelflow.flows.render import render_shotlist

    path = make_repo(tmp_path, STEM_CUT)
    (tmp_path / "assets" / "sfx").mkdir()
    (tmp_path / "assets" / "vo").mkdir()
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=880:d=0.4:r=44100", str(tmp_path / "assets/sfx/bell.wav")], what="sfx")
    run_ffmpeg(["-f", "lavfi", "-i", "sine=f=220:d=1.0:r=22050", "-af", "volume=-10dB",
                str(tmp_path / "assets/vo/narrator.wav")], what="vo")
    out = tmp_path / "out"
    m = render_shotlist(str(path), out_dir=str(out), approval="all", store_dir=str(tmp_path / "store"))
    tl_frames = m["output"]["frames"]
    assert tl_frames == 50 + 60 + 55 - 10 - 15

    # loudness after AAC: broadcast preset within 0.5 LU, true peak at or under -1 dBTP
    loud = measure_loudness(out / "cut.mp4")
    assert abs(loud.integrated_lufs - (-23)) <= 0.5 and loud.true_peak_dbtp <= -1.0
    assert m["output"]["target"]["loudness_lufs"] == -23

    # OpenTimelineIO: reads back to the MP4's length, dissolves, markers with prompts and models
    tl = otio.adapters.read_from_file(str(out / "cut.otio"))
    assert tl.duration().to_frames() == tl_frames == probe(out / "cut.mp4").frames
    track = tl.video_tracks()[0]
    assert len(list(track.find_children(descended_from_type=otio.schema.Transition))) == 2
    clips = list(track.find_clips())
    assert [c.name for c in clips] == ["harbor", "skipper", "voiceover"]
    for c, shot in zip(clips, m["shots"]):
        marker = c.markers[0]
        assert marker.metadata["reelflow"]["prompt"] == shot["prompt"]
        assert marker.metadata["reelflow"]["model"] == shot["intended_model"]
        assert Path(c.media_reference.target_url.removeprefix("file://")).is_file()
    fcp = otio.adapters.read_from_file(str(out / "cut.xml"))
    assert len(list(fcp.find_clips())) >= 3
    edl = otio.adapters.read_from_file(str(out / "cut.edl"), rate=25)
    assert len(list(edl.find_clips())) == 3

    # captions: timed after transitions, against the manifest, to the frame
    cues = parse_srt((out / "cut.srt").read_text(), 25)
    assert [t.split(": ", 1)[1] for _, _, t in cues] == ["Fog's lifting.", "Coming this spring."]
    caps = m["deliverables"]["captions"]
    assert [(c["start_frame"], c["end_frame"]) for c in caps] == [(a, b) for a, b, _ in cues]
    shots = {s["id"]: s["timeline"] for s in m["shots"]}
    vo = shots["voiceover"]
    assert cues[1][0] == vo["start_frame"] + 15  # stem at 0.6 s into the shot at 25 fps
    assert cues[1][1] == vo["start_frame"] + 15 + 25  # a 1.0 s stem
    sk = shots["skipper"]
    assert sk["start_frame"] <= cues[0][0] < cues[0][1] <= sk["start_frame"] + sk["frames"]
    vtt = (out / "cut.vtt").read_text()
    assert vtt.startswith("WEBVTT") and "<v Narrator>Coming this spring." in vtt

    # the voice-over stem ducks the music
    assert any(abs(s - (vo["start"] + 0.6)) < 0.05 for s, _ in m["mix"]["duck_regions"])

    # aspect versions from the same render
    for tag, size in (("9x16", (720, 1280)), ("1x1", (720, 720))):
        v = probe(out / f"cut.{tag}.mp4")
        assert (v.width, v.height) == size and v.frames == tl_frames and v.has_audio
    assert m["deliverables"]["versions"]["9:16"]["fit"] == ["blur", "pad"]

    sheet = Image.open(out / "cut.contact.png")
    assert sheet.width > 3 * 480 and sheet.height > 270
    assert set(m["deliverables"]["files"]) == {"otio", "fcpxml", "edl", "srt", "vtt", "contact_sheet",
                                               "9:16", "1:1"}
    json.dumps(m)
