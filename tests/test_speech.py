"""Dialogue synthesised per character through a TTS route (#20): OpenAI speech through the
official SDK against a local fake, paid once per line and voice, faults retried, the stems mixed
and followed by the animatic's mouth (lip sync measured)."""

from __future__ import annotations

import datetime as dt
import wave

import numpy as np
import pytest

from reelflow.errors import TransientProviderError
from reelflow.providers.common import AuthError
from reelflow.generation.generate import build_request
from reelflow.providers.speech.openai_tts import OpenAISpeech, body
from reelflow.spec.shotlist import ShotList
from reelflow.plan.speech import speech_cost, speech_requests
from reelflow.spec.tts_routes import route_problem

from .fakes_openai_speech import FakeOpenAISpeech
from .test_providers import video_bytes  # noqa: F401 - shared session fixture

KEY = "sk-test-speech-0123456789"
CAST = {"ben": {"kind": "character", "description": "an old fisherman",
                "voice": {"route": "openai", "voice_id": "onyx", "style": "gravelly, slow", "speed": 0.9}},
        "ada": {"kind": "character", "description": "a tall woman", "voice": {"variant": "f4", "pitch": 60}}}


def listing() -> ShotList:
    shots = [{"id": f"s{k}", "prompt": "On the pier at dawn", "duration": 4, "kind": "dialogue", "model": "veo-3.1",
              "dialogue": [{"speaker": "Ben", "line": line}, {"speaker": "Ada", "line": "And the boats?"}]}
             for k, line in enumerate(["You came back.", "Not with that sky.", "You came back."])]
    return ShotList.model_validate({"title": "t", "cast": CAST, "shots": shots})


@pytest.fixture
def fake(monkeypatch):
    server = FakeOpenAISpeech(KEY).start()
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    yield server
    server.stop()


def test_lines_of_a_tts_voice_are_stems_with_content_keys_and_not_asked_of_the_model():
    spec = listing()
    reqs = speech_requests(spec)
    assert set(reqs) == {("s0", 0), ("s1", 0), ("s2", 0)}  # Ben's lines; Ada speaks offline (espeak)
    assert reqs[("s0", 0)].key() == reqs[("s2", 0)].key() != reqs[("s1", 0)].key()  # same line, same voice
    assert body(reqs[("s0", 0)]) == {"model": "gpt-4o-mini-tts", "voice": "onyx", "input": "You came back.",
                                     "response_format": "wav", "speed": 0.9, "instructions": "gravelly, slow"}
    assert speech_cost(spec) == round((len("You came back.") + len("Not with that sky.")) * 15 / 1e6, 4)

    class Loaded:  # what build_request reads of a loaded list
        pass

    loaded = Loaded()
    loaded.spec, loaded.resolve_asset = spec, None
    from reelflow.load.catalog_file import load_catalog
    from reelflow.plan.routing import plan_shotlist

    plan = plan_shotlist(spec, load_catalog(), dt.date(2026, 12, 7))
    req = build_request(loaded, spec.shots[0], plan.shots[0].final, None, {})
    assert [c.speaker for c in req.dialogue] == ["Ada"]  # Ben's line is a stem: the model does not speak it
    assert "Ben speaks" not in req.prompt


def test_voice_settings_are_checked_at_the_field():
    def load(voice):
        return ShotList.model_validate({"title": "t", "cast": {"ben": {"description": "x", "voice": voice}},
                                        "shots": [{"id": "a", "prompt": "p", "duration": 2}]})

    with pytest.raises(ValueError, match="unknown openai voice 'gravel'"):
        load({"route": "openai", "voice_id": "gravel"})
    with pytest.raises(ValueError, match="espeak takes variant"):
        load({"voice_id": "onyx"})
    with pytest.raises(ValueError, match="'espeak' or 'openai'"):
        load({"route": "elevenlabs"})
    assert load({"route": "openai", "voice_id": "voice_abc123"}).cast["ben"].voice.voice_id == "voice_abc123"
    assert route_problem("openai", None, dt.date(2027, 1, 6)) == \
        "the openai TTS route (gpt-4o-mini-tts) was shut down on 2027-01-06"


def test_the_adapter_speaks_through_the_sdk_and_classifies_faults(fake, monkeypatch):
    req = speech_requests(listing())[("s1", 0)]
    data = OpenAISpeech().synthesise(req)
    with wave.open(__import__("io").BytesIO(data)) as wf:
        assert wf.getnframes() / wf.getframerate() > 0.8
    assert fake.bodies[-1]["voice"] == "onyx" and fake.bodies[-1]["instructions"] == "gravelly, slow"
    for fault, error in ((500, TransientProviderError), (429, TransientProviderError), ("drop", TransientProviderError)):
        fake.inject("submit", fault)
        with pytest.raises(error):
            OpenAISpeech().synthesise(req)
    fake.inject("download", "truncate")
    with pytest.raises(TransientProviderError, match="damaged"):
        OpenAISpeech().synthesise(req)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with pytest.raises(AuthError, match="OPENAI_API_KEY"):
        OpenAISpeech().synthesise(req)


@pytest.mark.slow
def test_a_render_pays_each_line_once_mixes_the_stems_and_the_mouth_follows_them(prefect_harness, fake, tmp_path,
                                                                               monkeypatch):
    """Offline pictures, TTS lines from the fake: a storm and a damaged answer are retried; the
    same line in two shots is one call; a re-run calls nothing; the animatic's mouth follows the
    stems (lip sync r in the manifest), and the dialogue stem carries them."""
    import yaml

    from .conftest import make_repo
    from .test_cloud_flow import render

    monkeypatch.setenv("REELFLOW_RETRY_BASE_DELAY", "0.05")
    data = {**listing().model_dump(mode="json", exclude_defaults=True),
            "output": {"resolution": "720p", "deliverables": ["stems"]}}
    for shot in data["shots"]:
        shot.pop("model")  # routed; offline, the animatic stands in for every model
    repo = make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False))
    fake.inject("submit", 500, 503)
    fake.inject("download", "truncate")
    m = render(repo, tmp_path)
    assert fake.submissions == 2 + 1  # two distinct lines, plus the damaged answer asked again
    assert m["speech"]["synthesised"] == 2 and len(m["speech"]["lines"]) == 3
    assert [line["cache_hit"] for line in m["speech"]["lines"]] == [False, False, True]
    assert all(line["voice"] == "onyx" for line in m["speech"]["lines"])
    assert m["voices"]["ben"]["synthesised"] == 3 and m["voices"]["ada"]["synthesised"] == 0
    lips = m["sound"]["lipsync"]
    assert set(lips) == {"s0", "s1", "s2"} and min(v["r"] for v in lips.values()) > 0.5, lips
    out = tmp_path / "out"
    dialogue = out / "cut.dialogue.wav"
    with wave.open(str(dialogue)) as wf:
        pcm = np.frombuffer(wf.readframes(wf.getnframes()), "<i2").reshape(-1, 2).astype(float)
    assert np.sqrt(np.mean(pcm ** 2)) > 100  # Ben's stems are in the dialogue stem
    before = fake.submissions
    render(repo, tmp_path)
    assert fake.submissions == before  # paid once: the store answers


def test_a_mouth_that_does_not_follow_the_speech_is_found(tmp_path):
    """The same animatic clip checked against its own lines (in sync) and against another
    line's track (out of sync): the lip-sync check tells them apart."""
    from reelflow.providers.animatic.provider import AnimaticProvider, render_animatic
    from reelflow.providers.animatic.audio import write_wav
    from reelflow.providers.base import DialogueCue, GenerationRequest
    from reelflow.generation.qc_pipeline import expectation
    from reelflow.qc.runner import check_clip

    req = GenerationRequest(shot_id="s", prompt="a pier", kind="dialogue", camera="static", model="m", tier="draft",
                            seed=3, seconds=4, width=1280, height=720, fps=24, aspect="16:9", audio=True,
                            dialogue=(DialogueCue(speaker="Ben", line="The tide turns at six and we go with it."),))
    render_animatic(req, tmp_path / "a.mp4")
    expect = expectation(req, AnimaticProvider())
    synced = check_clip(tmp_path / "a.mp4", expect)
    assert synced.measured["lipsync"]["r"] > 0.6 and not synced.findings
    t = np.arange(4 * 48000) / 48000  # speech where the clip is silent, silence where it speaks
    other = np.where(t > 3.0, np.sin(2 * np.pi * 150 * t) * 0.5, 0.0)
    write_wav(tmp_path / "other.wav", other[:, None])
    off = check_clip(tmp_path / "a.mp4", expect.model_copy(update={"speech_audio": str(tmp_path / "other.wav")}))
    assert off.measured["lipsync"]["r"] < 0.3
    assert [f.check for f in off.findings] == ["lipsync"] and off.findings[0].severity == "warn"


def test_the_plan_says_what_the_lines_cost_and_when_the_route_shuts_down():
    from reelflow.load.catalog_file import load_catalog
    from reelflow.plan.routing import plan_shotlist

    notes = plan_shotlist(listing(), load_catalog(), dt.date(2026, 12, 7)).notes
    assert "speech: 2 line(s) synthesised through openai TTS, $0.0005 (each line and voice paid once)" in notes
    assert "speech: the openai TTS route (gpt-4o-mini-tts) shuts down on 2027-01-06 (30 days)" in notes


@pytest.mark.slow
def test_a_model_that_takes_driving_audio_gets_the_shots_dialogue_track(prefect_harness, fake, tmp_path, monkeypatch,
                                                                      video_bytes):
    """Wan 2.7 on Replicate follows audio: its request carries the shot's dialogue track (the TTS
    stem placed as the mix places it) as `audio`, and the words in its prompt; the clip's sound,
    which is that track, is not mixed a second time."""
    import base64
    import io

    import yaml

    from .conftest import make_repo
    from .fakes import FakeReplicate
    from .test_cloud_flow import render
    from .test_providers import KEYS

    rep = FakeReplicate(video_bytes, KEYS["replicate"]).start()
    for k, v in {"REPLICATE_API_TOKEN": KEYS["replicate"], "REPLICATE_BASE_URL": rep.url,
                 "REELFLOW_POLL_INTERVAL": "0.01", "REELFLOW_SECRET_BLOCKS": "0", "REELFLOW_RPM_REPLICATE": "0"}.items():
        monkeypatch.setenv(k, v)
    data = {"title": "Driven", "output": {"resolution": "720p", "deliverables": []}, "cast": CAST,
            "shots": [{"id": "ben", "prompt": "Ben on the pier", "duration": 4, "kind": "dialogue", "model": "wan-2.7",
                       "dialogue": [{"speaker": "Ben", "line": "You came back."}]}]}
    try:
        m = render(make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False), music=False), tmp_path)
    finally:
        rep.stop()
    bodies = [j["body"]["input"] for j in rep.jobs.values()]
    assert bodies and all(b["audio"].startswith("data:audio/wav;base64,") for b in bodies)
    assert all(b["prompt"].endswith(' Ben says: "You came back."') for b in bodies)
    with wave.open(io.BytesIO(base64.b64decode(bodies[0]["audio"].split(",", 1)[1]))) as wf:
        assert abs(wf.getnframes() / wf.getframerate() - 4.0) < 0.01  # the shot's length: the line placed in it
        pcm = np.frombuffer(wf.readframes(wf.getnframes()), "<i2")
    assert np.abs(pcm[: int(0.3 * wf.getframerate())]).max() == 0 and np.abs(pcm).max() > 1000  # speech after the lead-in
    shot = m["shots"][0]
    assert shot["used_model"] == "wan-2.7" and "follows them as driving audio on replicate (`audio`)" in shot["reason"]
    assert m["speech"]["synthesised"] == 1


@pytest.mark.slow
def test_without_a_key_the_tts_voice_speaks_offline_and_the_manifest_says_so(prefect_harness, tmp_path, monkeypatch):
    """Like the animatic standing in for a model: no OPENAI_API_KEY, Ben's line is a stem spoken
    by espeak-ng in his offline voice; no GEMINI_API_KEY, the Lyria bed is composed offline."""
    import yaml

    from .conftest import make_repo
    from .test_cloud_flow import render

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("REELFLOW_SECRET_BLOCKS", "0")
    data = {"title": "Offline", "output": {"resolution": "720p", "deliverables": []}, "cast": CAST,
            "audio": {"music": {"generate": "a slow cello", "route": "lyria"}},
            "shots": [{"id": "s0", "prompt": "Ben on the pier", "duration": 3, "kind": "dialogue",
                       "dialogue": [{"speaker": "Ben", "line": "You came back."}]}]}
    m = render(make_repo(tmp_path, yaml.safe_dump(data, sort_keys=False), music=False), tmp_path)
    line = m["speech"]["lines"][0]
    assert line["route"] == "espeak" and line["note"] == "no OPENAI_API_KEY: spoken offline" and line["cost_usd"] == 0
    assert m["music"]["source"] == "offline" and m["music"]["note"].startswith("no GEMINI_API_KEY")
    assert m["sound"]["lipsync"]["s0"]["r"] > 0.5  # the animatic's mouth follows the offline stem
    assert m["cost"]["actual_usd"] == 0.0
