"""A voice per character (#20, first part): one character sounds the same in every shot, two
characters differently, measured on the rendered sound; a model that speaks is told the voice."""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.media.voiceprint import similarity, voiceprint
from reelflow.providers.animatic.audio import speak
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList
from reelflow.spec.voices import cast_name_of, offline_voice, voice_for, voice_prompt, voices_used

CAST = {"ben": {"kind": "character", "description": "an old fisherman", "voice": {"style": "gravelly, slow"}},
        "ada": {"kind": "character", "description": "a tall woman", "voice": {"variant": "f4", "pitch": 60}}}
LINES = {"ben": ["You came back.", "Not with that sky.", "Somebody has to."],
         "ada": ["The fog always brings me back.", "Will the boats go out tonight?", "You kept the light on."]}


def listing(**extra) -> ShotList:
    shots = [{"id": f"s{k}", "prompt": "On the pier", "duration": 4, "kind": "dialogue",
              "dialogue": [{"speaker": "Ben", "line": LINES["ben"][k]}, {"speaker": "Ada", "line": LINES["ada"][k]}]}
             for k in range(3)]
    return ShotList.model_validate({"title": "t", "cast": CAST, "shots": shots, **extra})


def test_each_character_has_one_stable_voice_and_two_characters_differ():
    spec = listing()
    assert cast_name_of("Ben", spec.cast) == "ben" and cast_name_of("Old Ben", spec.cast) is None
    ben, ada = voice_for("Ben", spec.cast)[1], voice_for("ADA", spec.cast)[1]
    assert ben == offline_voice("ben") == voice_for("ben", spec.cast)[1]  # derived from the name, every time
    assert (ada.variant, ada.pitch) == ("f4", 60)  # given settings win
    assert ben != ada
    used = voices_used(spec)
    assert used["ben"]["shots"] == ["s0", "s1", "s2"] and used["ben"]["lines"] == 3
    assert used["ada"]["offline"] == {"variant": "f4", "pitch": 60, "rate": ada.rate}


def test_a_voice_route_this_version_cannot_synthesise_is_refused():
    with pytest.raises(ValueError, match="espeak"):
        ShotList.model_validate({"title": "t", "cast": {"ben": {"description": "x", "voice": {"route": "elevenlabs"}}},
                                 "shots": [{"id": "a", "prompt": "p", "duration": 2}]})


def test_a_model_that_speaks_is_told_the_voice_in_its_prompt_and_the_reason_says_so():
    spec = listing()
    assert voice_prompt("On the pier", spec.shots[0], spec.cast) == "On the pier Ben speaks in a gravelly, slow voice."
    plan = plan_shotlist(spec, load_catalog(), dt.date(2026, 12, 7))
    p = plan.shots[0]
    assert load_catalog().models[p.model].native_audio
    assert "voices are described in its prompt (Ben: gravelly, slow)" in p.reason


def test_one_voice_per_character_measured_on_the_spoken_lines():
    """Speaker similarity between lines of one character is far above that between the two."""
    rng, work = np.random.default_rng(0), Path(tempfile.mkdtemp())
    spec = listing()
    prints = {who: [voiceprint(speak(line, who, rng, work, voice_for(who, spec.cast)[1])[0], 48000) for line in lines]
              for who, lines in LINES.items()}
    same = [similarity(a, b) for who in prints for i, a in enumerate(prints[who]) for b in prints[who][i + 1:]]
    other = [similarity(a, b) for a in prints["ben"] for b in prints["ada"]]
    assert min(same) > 3 * max(other), (same, other)


@pytest.mark.slow
def test_rendered_shots_speak_each_character_with_its_voice(prefect_harness, tmp_path):
    """Three shots rendered offline, two characters in each: the lines cut from the rendered clips
    at their speech spans sound like their speaker in every shot."""
    import yaml

    from reelflow.media.ffmpeg import ffmpeg_exe
    from reelflow.store.local import sha256_file

    from .conftest import make_repo
    from .test_cloud_flow import render

    data = {**listing().model_dump(mode="json", exclude_defaults=True),
            "output": {"resolution": "720p", "deliverables": ["otio", "fcpxml", "stems"]}}
    m = render(make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False), music=False), tmp_path)
    # the sound in parts beside the MP4, and as audio tracks an editor can turn on instead of the mix
    out = tmp_path / "out"
    stem = next(out.glob("*.mix.wav")).name[: -len(".mix.wav")]
    assert all((out / f"{stem}.{name}.wav").is_file() for name in ("dialogue", "effects", "production", "music"))
    import opentimelineio as otio

    tracks = otio.adapters.read_from_file(str(next(out.glob("*.otio")))).audio_tracks()
    assert [t.name for t in tracks] == ["A1 mix", "A2 dialogue", "A3 effects", "A4 production", "A5 music"]
    assert [t.enabled for t in tracks] == [True, False, False, False, False]
    assert all(Path(t[0].media_reference.target_url[len("file://"):]).is_file() for t in tracks)
    # FCP XML has no off switch: it carries the stems alone (1 video + 4 audio tracks)
    xml = next(out.glob("*.xml")).read_text()
    assert xml.count("<track>") == 5 and all(f".{n}.wav" in xml or f"-{n}.wav" in xml
                                             for n in ("dialogue", "effects", "production", "music"))
    assert set(m["voices"]) == {"ben", "ada"} and m["voices"]["ada"]["offline"]["variant"] == "f4"
    prints: dict[str, list] = {"ben": [], "ada": []}
    for shot in m["shots"]:
        clip = next(p for p in (tmp_path / "store" / "clips").glob("*.mp4")
                    if sha256_file(p) == shot["final"]["clip_sha256"])
        raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(clip), "-f", "f32le", "-ac", "1",
                              "-ar", "48000", "-"], capture_output=True, check=True).stdout
        audio = np.frombuffer(raw, np.float32)
        lines = shot["final"]["speech_spans"]  # where the clip speaks its lines, in order
        assert len(lines) == 2
        for who, (a, b) in zip(("ben", "ada"), lines):
            prints[who].append(voiceprint(audio[int(a * 48000):int(b * 48000)], 48000))
    same = [similarity(a, b) for who in prints for i, a in enumerate(prints[who]) for b in prints[who][i + 1:]]
    other = [similarity(a, b) for a in prints["ben"] for b in prints["ada"]]
    assert min(same) > 3 * max(other), (same, other)

