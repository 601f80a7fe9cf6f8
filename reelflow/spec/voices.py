"""A voice per cast character (pure): the same voice for a character in every shot.

`cast.<name>.voice` names how a character sounds: words for it (`style`, which a model that
speaks natively is given in its prompt) and the offline speaker's settings (espeak-ng variant,
pitch, speed). Where nothing is given, the offline voice is derived from the character's name,
so the animatic speaks every line of one character with one voice and two characters
differently. With a TTS route (`route: openai`, reelflow/plan/speech.py) its lines are synthesised
into dialogue stems instead. A dialogue line's speaker is matched to the cast by name ("Ben" speaks as `cast.ben`).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from reelflow.spec.schema_types import ShortText, Strict
from reelflow.spec.tts_routes import route_problem

ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m7", "f1", "f2", "f3", "f4")


class Voice(Strict):
    """How a character sounds, in every shot it speaks in."""

    route: Literal["espeak", "openai"] = "espeak"
    """Where its lines are synthesised: offline espeak-ng (spoken inside the animatic's clip), or
    a TTS route (reelflow/plan/speech.py): each line a dialogue stem, paid once."""
    voice_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")] | None = None
    """The TTS route's voice (openai: alloy, ash, coral, ... or a custom voice_...)."""
    speed: Annotated[float, Field(ge=0.5, le=2.0)] = 1.0
    style: ShortText | None = None
    """Words for the voice ("gravelly, slow"): the prompt of a model that speaks natively."""
    variant: Annotated[str, Field(pattern=r"^[mf][1-7]$")] | None = None
    """Offline: the espeak-ng variant (m1-m7, f1-f4)."""
    pitch: Annotated[int, Field(ge=0, le=99)] | None = None
    """Offline: espeak-ng pitch (0-99)."""


    @model_validator(mode="after")
    def _usable(self, info: ValidationInfo):
        if self.voice_id and self.route == "espeak":
            raise ValueError("voice_id names a TTS route's voice; espeak takes variant and pitch")
        # the day comes from whoever validates (the loader: today, or --date); no clock in here
        problem = route_problem(self.route, self.voice_id, (info.context or {}).get("today"))
        if problem:
            raise ValueError(problem)
        return self


class OfflineVoice(BaseModel):
    """espeak-ng's settings for one character: stable across shots, runs and machines."""

    model_config = ConfigDict(frozen=True)
    variant: str
    pitch: int
    rate: int  # words per minute

    def args(self) -> list[str]:
        return ["-v", f"en-us+{self.variant}", "-p", str(self.pitch), "-s", str(self.rate)]


def cast_name_of(speaker: str, cast_names) -> str | None:
    """The cast entry a dialogue speaker is ("Ben", "ben", "BEN" -> ben; "Old Ben" is not ben)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", speaker.strip().lower()).strip("-")
    return slug if slug in set(cast_names) else None


def offline_voice(name: str, voice: Voice | None = None) -> OfflineVoice:
    """The character's espeak-ng settings: its own where given, else derived from its name."""
    h = int(hashlib.sha256(name.strip().lower().encode()).hexdigest(), 16)
    variant = ESPEAK_VARIANTS[h % len(ESPEAK_VARIANTS)]
    pitch = 25 + (h >> 8) % 51  # 25-75: distinct, never cartoonish
    rate = 150 + (h >> 16) % 31  # 150-180 words per minute
    speed = voice.speed if voice else 1.0
    return OfflineVoice(variant=(voice.variant if voice and voice.variant else variant),
                        pitch=(voice.pitch if voice and voice.pitch is not None else pitch),
                        rate=int(round(rate * speed)))


def voice_for(speaker: str, cast: dict) -> tuple[str, OfflineVoice]:
    """(who, offline voice) for a line's speaker: the cast entry's voice when the speaker is in
    the cast, else one derived from the speaker's name (a narrator, a passer-by)."""
    name = cast_name_of(speaker, cast)
    if name is not None:
        return name, offline_voice(name, getattr(cast[name], "voice", None))
    return speaker.strip(), offline_voice(speaker)


def voices_used(spec) -> dict[str, dict]:
    """Every speaker of the list: its cast entry, its route and voice id where given, the offline
    settings every one of its lines is spoken with, and the shots it speaks in (the manifest)."""
    out: dict[str, dict] = {}
    for shot in spec.shots:
        for line in shot.dialogue:
            who, offline = voice_for(line.speaker, spec.cast)
            entry = spec.cast[who].voice if who in spec.cast else None
            row = out.setdefault(who, {"cast": who in spec.cast, "route": entry.route if entry else "espeak",
                                       **({"voice_id": entry.voice_id} if entry and entry.voice_id else {}),
                                       "style": entry.style if entry else None, "offline": offline.model_dump(),
                                       "lines": 0, "recorded": 0, "shots": []})
            row["lines"] += 1
            row["recorded"] += 1 if line.file else 0
            row["synthesised"] = row.get("synthesised", 0) + (1 if not line.file and entry and entry.route != "espeak" else 0)
            if shot.id not in row["shots"]:
                row["shots"].append(shot.id)
    return out


def voice_styles(shot, cast) -> list[tuple[str, str]]:
    """(speaker, style) of each character speaking a generated line in the shot whose voice has
    words for it, in order of first line."""
    found: dict[str, str] = {}
    for line in shot.dialogue:
        name = cast_name_of(line.speaker, cast)
        voice = cast[name].voice if name else None
        if not line.file and voice is not None and voice.style and voice.route == "espeak" \
                and line.speaker not in found:  # a TTS voice's lines are stems: the model does not speak them
            found[line.speaker] = voice.style.strip().rstrip(".")
    return list(found.items())


def voice_prompt(prompt: str, shot, cast) -> str:
    """The prompt with each speaking character's voice in words, for a model that speaks the
    lines itself (the same words in every shot: the same voice asked for)."""
    styles = voice_styles(shot, cast)
    return prompt + "".join(f" {who} speaks in a {style} voice." for who, style in styles) if styles else prompt

