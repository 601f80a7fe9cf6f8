"""The fourth example, rendered offline end to end (#20's proof): two characters speaking across
shots, each with one voice; the mouth follows every line; the voices stand clear of the ducked
music; loudness on target; the stems beside the mix."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelflow.media.voiceprint import similarity, voiceprint

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_night_watch_renders_offline_with_one_voice_each_lip_sync_and_clear_dialogue(prefect_harness, tmp_path):
    import subprocess

    import numpy as np

    from reelflow.media.ffmpeg import ffmpeg_exe
    from reelflow.store.local import sha256_file

    from .test_cloud_flow import render

    m = render(REPO / "shotlists" / "night-watch.yaml", tmp_path)
    assert m["status"] == "final"
    assert m["voices"]["ben"]["offline"] == {"variant": "m3", "pitch": 30, "rate": m["voices"]["ben"]["offline"]["rate"]}
    assert m["voices"]["ada"]["shots"] == ["watch", "ada-close"]
    sound = m["sound"]
    assert set(sound["lipsync"]) == {"watch", "ben-close", "ada-close"}  # every speaking shot, and only those
    assert sound["lipsync_min_r"] > 0.5, sound["lipsync"]
    assert sound["dialogue_to_music_db"] >= 6.0, sound  # the lines stand clear of the ducked bed
    assert m["music"]["source"] == "offline" and abs(m["music"]["seconds"] - m["output"]["duration"]) <= 1 / 24
    voices = sound["voices"]  # measured on the finished film, in the manifest
    assert {k: v["lines"] for k, v in voices["characters"].items()} == {"ben": 2, "ada": 2}
    assert voices["separation"] > 3, voices
    out = m["output"]
    assert abs(out["integrated_lufs"] + 14) <= 0.5 and out["true_peak_dbtp"] <= -1.0
    folder = tmp_path / "out"
    assert all((folder / f"night-watch.{s}.wav").is_file() for s in ("dialogue", "effects", "production", "music"))
    assert (folder / "night-watch.srt").read_text().count("-->") == 4  # four lines captioned
    # Ben's lines in two shots sound like each other more than like Ada's
    prints: dict[str, list] = {"Ben": [], "Ada": []}
    speakers = {"watch": ["Ada", "Ben"], "ben-close": ["Ben"], "ada-close": ["Ada"]}
    for shot in m["shots"]:
        if shot["id"] not in speakers:
            continue
        clip = next(p for p in (tmp_path / "store" / "clips").glob("*.mp4")
                    if sha256_file(p) == shot["final"]["clip_sha256"])
        raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-f", "f32le", "-ac", "1",
                              "-ar", "48000", "-"], capture_output=True, check=True).stdout
        audio = np.frombuffer(raw, np.float32)
        for who, (a, b) in zip(speakers[shot["id"]], shot["final"]["speech_spans"]):
            prints[who].append(voiceprint(audio[int(a * 48000):int(b * 48000)], 48000))
    same = [similarity(*prints[who]) for who in prints]
    other = [similarity(a, b) for a in prints["Ben"] for b in prints["Ada"]]
    assert min(same) > 3 * max(other), (same, other)
