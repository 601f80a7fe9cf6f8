"""Media edges on real files: the animatic, upscale, conform, mix; checked by probing."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydub import AudioSegment

from reelflow.media.ffmpeg import measure_loudness, moov_before_mdat, probe, run_ffmpeg
from reelflow.media.finishing import (
    conform_audio, conform_filter, plan_upscale, render_conformed, resolve_fit, upscale_lanczos,
)
from reelflow.media.mix import ShotSound, duck_envelope, limit, mix_edit, to_array
from reelflow.providers.animatic.provider import parse_camera, render_animatic, render_size
from reelflow.providers.base import DialogueCue, GenerationRequest
from reelflow.spec.shotlist import MusicBed, ShotList
from reelflow.edit.timeline import build_timeline

from .conftest import ROOT


def req(**kw) -> GenerationRequest:
    base = dict(shot_id="opening", prompt="Fishing harbor at dawn, mist on the water", kind="environment",
                camera="slow dolly forward", model="veo-3.1", tier="final", seed=7, seconds=2,
                width=640, height=360, fps=24, aspect="16:9", audio=True,
                audio_cue="gulls and distant engines",
                dialogue=(DialogueCue(speaker="Skipper", line="Fog's lifting."),))
    base.update(kw)
    return GenerationRequest(**base)


def test_animatic_final_has_exact_duration_size_fps_and_audio(tmp_path):
    meta = render_animatic(req(), tmp_path / "a.mp4")
    info = probe(tmp_path / "a.mp4")
    assert (info.width, info.height, info.fps, info.frames) == (640, 360, 24, 48)
    assert info.has_audio and info.sample_rate == 48000 and info.channels == 2
    assert info.pix_fmt == "yuv420p" and moov_before_mdat(tmp_path / "a.mp4")
    assert meta["camera"] == "push in"
    assert meta["speech_spans"] and meta["speech_spans"][0][0] == pytest.approx(0.4)
    assert "gulls" in meta["notes"][0] and "engine hum" in meta["notes"][0]
    loud = measure_loudness(tmp_path / "a.mp4")
    assert -45 < loud.integrated_lufs < -10


def test_animatic_draft_renders_small_and_portrait(tmp_path):
    r = req(tier="draft", width=1080, height=1920, fps=30, aspect="9:16", seconds=1)
    assert render_size(r) == (360, 640, 12)
    render_animatic(r, tmp_path / "d.mp4")
    info = probe(tmp_path / "d.mp4")
    assert (info.width, info.height, info.fps, info.frames) == (360, 640, 12, 12)


def test_animatic_is_deterministic_and_follows_the_seed(tmp_path):
    for name, r in (("a", req(seconds=1)), ("b", req(seconds=1)), ("c", req(seconds=1, seed=8))):
        render_animatic(r, tmp_path / f"{name}.mp4")
        run_ffmpeg(["-i", str(tmp_path / f"{name}.mp4"), "-map", "0:v", "-f", "framemd5",
                    str(tmp_path / f"{name}.md5")], what="md5")
    md5 = {n: (tmp_path / f"{n}.md5").read_text().split("\n", 4)[-1] for n in "abc"}
    assert md5["a"] == md5["b"]
    assert md5["a"] != md5["c"]


@pytest.mark.parametrize("text,label", [
    ("slow dolly forward", "push in"), ("pull back to reveal", "pull out"), ("whip pan left", "pan left"),
    ("tracking shot", "pan right"), ("tilt up", "tilt up"), ("crane down", "tilt down"),
    ("handheld", "handheld"), ("locked-off tripod", "static"), ("slow orbit", "orbit"),
])
def test_camera_text(text, label):
    assert parse_camera(text).label == label


def test_dialogue_fallback_without_espeak(tmp_path, monkeypatch):
    import reelflow.providers.animatic.audio as animatic_audio

    monkeypatch.setattr(animatic_audio, "espeak_exe", lambda: None)
    meta = render_animatic(req(seconds=2), tmp_path / "x.mp4")
    assert any("espeak-ng not installed" in n for n in meta["notes"])
    assert meta["speech_spans"]


def test_upscale_plan_and_lanczos(tmp_path):
    assert not plan_upscale((1920, 1080), (1920, 1080)).needed
    assert not plan_upscale((3840, 2160), (1920, 1080)).needed
    up = plan_upscale((640, 360), (1920, 1080))
    assert up.needed and (up.width, up.height) == (1920, 1080)
    portrait = plan_upscale((1280, 720), (1080, 1920))  # 16:9 source cropped into 9:16
    assert portrait.needed and portrait.height == 1920
    render_animatic(req(seconds=1), tmp_path / "s.mp4")
    upscale_lanczos(tmp_path / "s.mp4", tmp_path / "u.mp4", 1280, 720)
    info = probe(tmp_path / "u.mp4")
    assert (info.width, info.height, info.frames) == (1280, 720, 24) and info.has_audio


def test_conform_exact_frames_size_fps_and_silent_sources(tmp_path):
    # 25 fps 4:3 source without audio, shorter than the shot: held last frame, silence added
    src = tmp_path / "src.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=400x300:r=25:d=1.5", "-pix_fmt", "yuv420p", str(src)],
               what="src")
    vf = conform_filter((400, 300), (640, 360), 30, "crop")
    render_conformed(src, tmp_path / "v.mp4", vf, 60, 30)
    conform_audio(src, tmp_path / "a.wav", 2.0)
    v = probe(tmp_path / "v.mp4")
    assert (v.width, v.height, v.fps, v.frames) == (640, 360, 30, 60) and not v.has_audio
    a = AudioSegment.from_wav(str(tmp_path / "a.wav"))
    assert a.frame_rate == 48000 and a.channels == 2 and abs(len(a) - 2000) <= 1
    render_conformed(src, tmp_path / "p.mp4", conform_filter((400, 300), (360, 640), 24, "pad"), 24, 24)
    p = probe(tmp_path / "p.mp4")
    assert (p.width, p.height, p.frames) == (360, 640, 24)


def test_auto_fit():
    assert resolve_fit("auto", (1920, 1080), (1080, 1080)) == "crop"  # keeps 56%
    assert resolve_fit("auto", (1920, 1080), (1080, 1920)) == "blur"  # would keep 32%
    assert resolve_fit("pad", (1920, 1080), (1080, 1920)) == "pad"


def test_limiter_keeps_peaks_under_ceiling():
    t = np.arange(48000) / 48000
    x = np.stack([np.sin(2 * np.pi * 440 * t) * 1.8] * 2, axis=1)
    y = limit(x, ceiling_db=-2.0)
    assert np.max(np.abs(y)) <= 10 ** (-2 / 20) + 1e-9


def test_duck_envelope_shape():
    env = duck_envelope(48000 * 4, [(1.0, 2.0)], -12.0, attack=0.15, release=0.35)
    db = 20 * np.log10(env)
    assert db[int(0.5 * 48000)] == pytest.approx(0)
    assert db[int(1.5 * 48000)] == pytest.approx(-12)
    assert -12 < db[int(0.92 * 48000)] < 0  # attack ramp
    assert -12 < db[int(2.2 * 48000)] < 0  # release ramp
    assert db[int(3 * 48000)] == pytest.approx(0)


def test_mix_hits_loudness_and_ducks_music(tmp_path):
    spec = ShotList.model_validate({
        "title": "t", "output": {"fps": 24, "loudness_lufs": -16},
        "shots": [{"id": "a", "prompt": "p", "duration": 3}, {"id": "b", "prompt": "q", "duration": 3}],
    })
    tl = build_timeline(spec)
    wavs = []
    for i, f in enumerate((220, 330)):  # quiet tones standing in for shot sound
        w = tmp_path / f"s{i}.wav"
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={f}:d=3:r=48000", "-af", "volume=-30dB",
                    "-ac", "2", str(w)], what="tone")
        wavs.append(w)
    sounds = [ShotSound(wavs[0], speech=[(1.0, 2.0)]), ShotSound(wavs[1], gain_db=-3)]
    out = tmp_path / "mix.wav"
    bed = MusicBed(music="m", music_gain_db=-6, duck_db=-12, fade_in=0.2, fade_out=0.2)
    report = mix_edit(tl, sounds, bed, ROOT / "assets/music/bed.wav", -16, out)
    assert report.duck_regions == [(1.0, 2.0)]
    loud = measure_loudness(out)
    assert abs(loud.integrated_lufs - (-16)) <= 0.5
    assert loud.true_peak_dbtp <= -1.0
    mixed = AudioSegment.from_wav(str(out))
    assert abs(len(mixed) - tl.duration * 1000) <= 2
    # music alone (no shot sound) ducked by ~12 dB inside the speech region
    solo = tmp_path / "solo.wav"
    quiet = [ShotSound(w, gain_db=-120, speech=s.speech) for w, s in zip(wavs, sounds)]
    mix_edit(tl, quiet, bed, ROOT / "assets/music/bed.wav", -16, solo)
    arr = to_array(AudioSegment.from_wav(str(solo)))

    def rms_db(a, b):
        seg = arr[int(a * 48000):int(b * 48000)]
        return 20 * math.log10(np.sqrt(np.mean(seg ** 2)))

    drop = rms_db(0.45, 0.8) - rms_db(1.2, 1.8)
    assert 9 < drop < 15


@pytest.mark.parametrize("kind,expect", [
    ("crossfade", (127, 0, 127)),  # red + blue at the midpoint
    ("fade_black", (0, 0, 0)),
    ("dip_white", (255, 255, 255)),
])
def test_export_blends_transitions_like_the_preview(tmp_path, kind, expect):
    from reelflow.media.edit import Source, edit_clip, export_edit

    spec = ShotList.model_validate({
        "title": "t", "output": {"resolution": "720p", "fps": 24},
        "defaults": {"transition": {"type": kind, "seconds": 1}},
        "shots": [{"id": "a", "prompt": "p", "duration": 2}, {"id": "b", "prompt": "q", "duration": 2}],
    })
    tl = build_timeline(spec)
    paths = []
    for name, colour in (("a", "red"), ("b", "blue")):
        p = tmp_path / f"{name}.mp4"
        run_ffmpeg(["-f", "lavfi", "-i", f"color=c={colour}:s=1280x720:r=24:d=2", "-pix_fmt", "yuv420p",
                    "-c:v", "libx264", "-crf", "1", str(p)], what="colour clip")
        paths.append(p)
    wav = tmp_path / "s.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo", "-t", "3", str(wav)], what="silence")
    out = tmp_path / "edit.mp4"
    export_edit(tl, [Source(p) for p in paths], wav, out, (1280, 720))
    info = probe(out)
    assert info.frames == 72 and (info.width, info.height) == (1280, 720)
    mid = tl.clips[1].start + 12  # halfway through the 24-frame transition
    png = tmp_path / "mid.png"
    run_ffmpeg(["-i", str(out), "-vf", f"select=eq(n\\,{mid})", "-frames:v", "1", str(png)], what="grab")
    from PIL import Image

    got = np.asarray(Image.open(png).convert("RGB"))[360, 640].astype(int)
    assert np.all(np.abs(got - np.array(expect)) <= 24), got
    clip, readers = edit_clip(tl, [Source(p) for p in paths], (1280, 720))
    try:
        preview = clip.get_frame(mid / 24)[360, 640].astype(int)
    finally:
        readers.close()
    assert np.all(np.abs(preview - got) <= 24), (preview, got)


def test_edit_stills_read_full_frames_and_tiles_in_one_decode(tmp_path, monkeypatch):
    from reelflow.media import stills as stills_module
    from reelflow.media.frames import frame_at
    from reelflow.media.stills import EditStills

    clip = tmp_path / "c.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=2", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", str(clip)], what="test clip")
    decodes = []
    real = stills_module.run_ffmpeg
    monkeypatch.setattr(stills_module, "run_ffmpeg", lambda args, **kw: decodes.append(args) or real(args, **kw))
    player = tmp_path / "store" / "player.mp4"
    stills = EditStills(clip, full=[3, 40], tiles=[10, 47], tile_width=160, player=player)
    assert decodes == []  # nothing is read before it is asked for
    full, tiles = stills.full([40, 3]), stills.tiles([47, 10])
    assert len(decodes) == 1
    small = probe(player)  # the summary's player, written in the same pass
    assert (small.width, small.height, small.fps) == (256, 144, 10) and abs(small.duration - 2) < 0.15
    for n in (3, 40):
        assert full[n].dtype == np.uint8 and full[n].shape == (180, 320, 3)
        assert np.array_equal(full[n], frame_at(clip, n).astype(np.uint8))
    assert tiles[10].size == (160, 90) and tiles[47].size == (160, 90)
    assert not np.array_equal(np.asarray(tiles[10]), np.asarray(tiles[47]))  # the frames differ in time
    stills.full([5])  # a frame not asked for at first: read then, with the others
    assert len(decodes) == 2 and set(stills.read["full"]) == {3, 5, 40}


def test_contact_sheet_is_made_once_per_edit_content(tmp_path, monkeypatch):
    from reelflow.deliver.contact import stored_contact_sheet
    from reelflow.media import stills as stills_module
    from reelflow.store.local import Store

    clip = tmp_path / "c.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=2", "-c:v", "libx264",
                "-pix_fmt", "yuv420p", str(clip)], what="test clip")
    spec = ShotList.model_validate({"title": "t", "output": {"fps": 24}, "shots": [
        {"id": "a", "prompt": "p", "duration": 1}, {"id": "b", "prompt": "q", "duration": 1}]})
    timeline, store = build_timeline(spec), Store(tmp_path / "store")
    decodes = []
    real = stills_module.run_ffmpeg
    monkeypatch.setattr(stills_module, "run_ffmpeg", lambda args, **kw: decodes.append(args) or real(args, **kw))
    labels = [("a", "x"), ("b", "y")]
    one = stored_contact_sheet(store, "1" * 64, clip, timeline, labels, tmp_path / "out" / "one.png")
    two = stored_contact_sheet(store, "1" * 64, clip, timeline, labels, tmp_path / "out" / "two.png")
    assert len(decodes) == 1 and one.read_bytes() == two.read_bytes()
    stored_contact_sheet(store, "2" * 64, clip, timeline, labels, tmp_path / "out" / "three.png")
    assert len(decodes) == 2  # another edit: read again
    assert not list((store.root / "derived").glob(".*part*"))  # no temporary left behind


def test_a_mix_that_opens_on_a_step_stays_under_minus_one_dbtp_once_encoded(tmp_path):
    """An animatic shot whose sound opens at full level with a DC offset: AAC rang on the step
    (+1.2 dBTP for this seed, +1.7 in a six-shot edit) until the programme got a high-pass and
    fades at its head and tail (-2.8 dBTP)."""
    render_animatic(req(shot_id="s0", prompt="harbour shot 0", camera="static", seed=4, seconds=3, width=320,
                        height=180, audio_cue=None, dialogue=()), tmp_path / "c.mp4")
    run_ffmpeg(["-i", str(tmp_path / "c.mp4"), "-vn", "-c:a", "pcm_s16le", "-ar", "48000", "-ac", "2",
                str(tmp_path / "c.wav")], what="clip sound")
    spec = ShotList.model_validate({"title": "t", "output": {"fps": 24}, "shots": [
        {"id": "a", "prompt": "p", "duration": 3}]})
    report = mix_edit(build_timeline(spec), [ShotSound(tmp_path / "c.wav")], spec.audio, None, -14.0,
                      tmp_path / "mix.wav")
    run_ffmpeg(["-i", str(tmp_path / "mix.wav"), "-c:a", "aac", "-b:a", "192k", str(tmp_path / "mix.m4a")],
               what="encode")
    encoded = measure_loudness(tmp_path / "mix.m4a")
    assert abs(report.integrated_lufs + 14) <= 0.5
    assert encoded.true_peak_dbtp <= -1.0, encoded


def test_mix_stems_add_up_to_the_mix_and_keep_their_parts_apart(tmp_path):
    """Dialogue, effects, production (the clips' own sound) and music, each at the mix's gain:
    together they are the mix (where its limiter did not act), each holds only its part."""
    from reelflow.media.mix import STEMS, Stem

    spec = ShotList.model_validate({"title": "t", "output": {"fps": 24},
                                    "shots": [{"id": "a", "prompt": "p", "duration": 3},
                                              {"id": "b", "prompt": "q", "duration": 3}]})
    tl = build_timeline(spec)

    def tone(name, f, d, db):
        w = tmp_path / name
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=f={f}:d={d}:r=48000", "-af", f"volume={db}dB", "-ac", "2", str(w)],
                   what="tone")
        return w

    native = [tone("n0.wav", 220, 3, -30), tone("n1.wav", 330, 3, -30)]
    line, hit = tone("line.wav", 500, 1, -12), tone("hit.wav", 900, 0.3, -10)
    sounds = [ShotSound(native[0], stems=[Stem(line, at=1.0, speech=True)]), ShotSound(native[1], stems=[Stem(hit, at=0.5)])]
    stems = {name: tmp_path / f"{name}.wav" for name in STEMS}
    bed = MusicBed(music="m", music_gain_db=-12, duck_db=-12, fade_in=0.2, fade_out=0.2)
    mix_edit(tl, sounds, bed, ROOT / "assets/music/bed.wav", -20, tmp_path / "mix.wav", stems=stems)
    parts = {name: to_array(AudioSegment.from_wav(str(p))) for name, p in stems.items()}
    mix = to_array(AudioSegment.from_wav(str(tmp_path / "mix.wav")))
    assert {p.shape for p in parts.values()} == {mix.shape}
    total = sum(parts.values())
    assert np.sqrt(np.mean((total - mix) ** 2)) < 0.01 * np.sqrt(np.mean(mix ** 2)) + 1e-4  # -40 dB or better

    def rms(a, t0, t1):
        return float(np.sqrt(np.mean(a[int(t0 * 48000):int(t1 * 48000)] ** 2)))

    d, e, m = parts["dialogue"], parts["effects"], parts["music"]
    assert rms(d, 1.1, 1.9) > 0.01 and rms(d, 3.0, 6.0) < 1e-4  # the line, only in shot a
    hit_at = tl.clips[1].start / tl.fps + 0.5
    assert rms(e, hit_at + 0.05, hit_at + 0.25) > 0.01 and rms(e, 0, hit_at - 0.1) < 1e-4  # the hit, 0.5 s into b
    assert 9 < 20 * math.log10(rms(m, 0.45, 0.8) / rms(m, 1.2, 1.8)) < 15  # music ducked under the line
