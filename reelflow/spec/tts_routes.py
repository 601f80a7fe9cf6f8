"""The TTS routes a cast voice may name (pure data): model, voices, price and shutdown date.

The shot list's `cast.<name>.voice.route` is checked against this table when it is read;
reelflow/plan/speech.py prices and keys the lines, reelflow/providers/speech/ speaks them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class TTSRoute:
    name: str
    model: str
    env: str  # the key's variable
    default_voice: str
    voices: tuple[str, ...]
    price_per_million_chars: float  # USD, for the plan's estimate
    retires: dt.date | None = None
    source: str = ""


TTS_ROUTES = {
    "openai": TTSRoute(
        name="openai", model="gpt-4o-mini-tts", env="OPENAI_API_KEY", default_voice="alloy",
        voices=("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar",
                "fable", "onyx", "nova"),
        price_per_million_chars=15.0,
        retires=dt.date(2027, 1, 6),
        source="openai-python 3.63 `audio.speech.create` (POST /audio/speech): its SpeechModel type "
               "announces the shutdown of every TTS model on 2027-01-06; price: tts-1 list price [L]"),
}
"""The TTS routes this version speaks to. A route past its shutdown date is refused at load."""


def route_problem(route: str, voice_id: str | None, today: dt.date | None) -> str | None:
    """Why a voice's route cannot be used (one line), or None (``today`` None: the shutdown date
    is not checked)."""
    if route == "espeak":
        return None
    tts = TTS_ROUTES[route]
    if tts.retires and today is not None and today >= tts.retires:
        return f"the {route} TTS route ({tts.model}) was shut down on {tts.retires.isoformat()}"
    if voice_id and voice_id not in tts.voices and not voice_id.startswith("voice_"):
        return f"unknown {route} voice '{voice_id}' (known: {', '.join(tts.voices)})"
    return None
