"""The synchronous audio routes under the provider fault matrix (#20): OpenAI speech (openai SDK)
and Lyria (google-genai SDK), each through its Prefect task against its local fake. A storm of
5xx, a 429, a dropped connection, a damaged answer or a malformed one is retried and ends in one
stored result; the store answers every later ask without a call (paid once). These answers are
the audio itself: there is no job id to resume, so a crash while a request is in flight pays for
that request again (the LTX adapter spools its answers for the same reason)."""

from __future__ import annotations

import pytest
from prefect import flow

from reelflow.spec.music import MusicRequest
from reelflow.plan.speech import SpeechRequest
from reelflow.tasks.music import compose_music
from reelflow.tasks.speech import speak_line

from .fakes_lyria import FakeLyria
from .fakes_openai_speech import FakeOpenAISpeech

FAULTS = {  # fault -> (queue, actions, failed calls before the one that succeeds)
    "storm": ("submit", (500, 502, 503), 0),
    "429": ("submit", (429,), 0),
    "drop": ("submit", ("drop",), 0),
    "damaged": ("download", ("truncate",), 1),
    "malformed": ("submit", ("badjson",), 0),
}


def _route(name, monkeypatch):
    if name == "speech":
        fake = FakeOpenAISpeech("sk-matrix").start()
        monkeypatch.setenv("OPENAI_API_KEY", "sk-matrix")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.url + "/v1")
        return fake, speak_line, SpeechRequest(route="openai", model="gpt-4o-mini-tts", voice="onyx", text="Hello there.")
    fake = FakeLyria("gm-matrix").start()
    monkeypatch.setenv("GEMINI_API_KEY", "gm-matrix")
    monkeypatch.setenv("GEMINI_BASE_URL", fake.url)
    return fake, compose_music, MusicRequest(prompt="slow cello", route="lyria", model="lyria-3.5", seconds=4.0)


@pytest.mark.slow
@pytest.mark.parametrize("route", ["speech", "music"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_is_retried_and_the_result_paid_once(prefect_harness, tmp_path, monkeypatch, route, fault):
    queue, actions, failed_paid = FAULTS[fault]
    if route == "music" and fault == "damaged":
        actions = ("garbage",)  # Lyria's song comes inline: damaged means it does not decode
    fake, task, request = _route(route, monkeypatch)
    fake.inject(queue, *actions)

    @flow(retries=0)
    def ask() -> object:
        return task.with_options(retries=4, retry_delay_seconds=0.05)(request=request, store_root=str(tmp_path))

    try:
        first = ask()
        price = request.cost_usd() if route == "speech" else request.cost_usd
        assert not first.cache_hit and first.cost_usd == price
        answered = 1 + failed_paid  # answered requests: the good one, and a damaged one before it
        assert fake.submissions == answered, (fault, fake.submissions)
        again = ask()
        assert again.cache_hit and again.sha256 == first.sha256 and fake.submissions == answered  # paid once
    finally:
        fake.stop()
