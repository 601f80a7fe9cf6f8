"""Music fitted to the cut (pure): a bed asked for in words, and cuts moved onto its beats.

`audio.music` is a file in the repository, or `{generate: "<prompt>", route: offline | lyria}`:
a bed made for this edit at its exact length (offline: composed here, free; lyria: Google's
Lyria on the Gemini API, paid once per prompt and length). `audio.cut_on_beat: true` moves each
hard cut to the nearest beat within `beat_nudge` seconds, where the clips on both sides have the
frames to give (a clip's tail beyond what the edit shows); cuts into a continuous shot, into a
keyframe and inside a scene group stay where they are.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Literal, Sequence, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from reelflow.spec.schema_types import AssetPath, ShortText, Strict

LYRIA_MODELS = {"lyria-3-clip-preview": 30.0, "lyria-3.5": None}  # model -> fixed length (s); None: asked in words
LYRIA_PRICE = {"lyria-3-clip-preview": 0.04, "lyria-3.5": 0.08}  # USD per song (ai.google.dev pricing, 2026-10-07 [M])


class MusicPrompt(Strict):
    """A music bed made for the edit."""

    generate: Annotated[ShortText, Field(min_length=3)]
    """What it sounds like ("slow, warm strings over a soft pulse, 72 bpm")."""
    route: Literal["offline", "lyria"] = "offline"
    model: Literal["lyria-3-clip-preview", "lyria-3.5"] | None = None
    """The Lyria model (default lyria-3.5: a whole piece as long as the edit; the clip model is 30 s, looped)."""
    seed: int = 0


def _music_kind(value) -> str:
    return "made" if isinstance(value, (dict, MusicPrompt)) else "file"


class MusicBed(Strict):
    music: Annotated[Union[Annotated[AssetPath, Tag("file")], Annotated[MusicPrompt, Tag("made")]],
                     Discriminator(_music_kind)] | None = None
    """A file in the repository, or `{generate: "<prompt>", route: offline | lyria}` made for the edit."""
    music_gain_db: Annotated[float, Field(ge=-60, le=12)] = -6.0
    duck_db: Annotated[float, Field(ge=-60, le=0)] = -12.0
    fade_in: Annotated[float, Field(ge=0, le=30)] = 1.0
    fade_out: Annotated[float, Field(ge=0, le=30)] = 2.0
    cut_on_beat: bool = False
    """Move each hard cut to the music's nearest beat, within `beat_nudge` and the clips' spare frames."""
    beat_nudge: Annotated[float, Field(ge=0.04, le=1.0)] = 0.25


class MusicRequest(BaseModel):
    """Everything that determines a made bed: the prompt, the route and model, the length."""

    model_config = ConfigDict(frozen=True)
    prompt: str
    route: str
    model: str | None
    seconds: float
    seed: int = 0

    def key(self) -> str:
        payload = json.dumps([self.prompt, self.route, self.model, round(self.seconds, 3), self.seed])
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def cost_usd(self) -> float:
        return LYRIA_PRICE.get(self.model or "", 0.0) if self.route == "lyria" else 0.0

    def lyria_prompt(self) -> str:
        """The prompt as sent: instrumental, and as long as the edit where the model takes a length."""
        length = "" if LYRIA_MODELS.get(self.model or "") else f" Exactly {int(round(self.seconds))} seconds long."
        return f"{self.prompt.rstrip('.')}. Instrumental, no vocals.{length}"


def music_request(bed: MusicPrompt, seconds: float) -> MusicRequest:
    model = (bed.model or "lyria-3.5") if bed.route == "lyria" else None
    return MusicRequest(prompt=bed.generate, route=bed.route, model=model, seconds=round(seconds, 3), seed=bed.seed)


TEMPO_WORDS = {"slow": 72, "calm": 72, "gentle": 76, "ambient": 70, "sad": 68, "warm": 80, "steady": 96,
               "walking": 100, "upbeat": 120, "driving": 124, "fast": 132, "energetic": 128, "dance": 124}


def tempo_of(prompt: str) -> float:
    """Beats per minute the prompt asks for ("... 84 bpm"), else what its words suggest, else 96."""
    words = prompt.lower().replace(",", " ").split()
    for a, b in zip(words, words[1:]):
        if b == "bpm" and a.replace(".", "", 1).isdigit():
            return min(200.0, max(40.0, float(a)))
    for w in words:
        if w.endswith("bpm") and w[:-3].replace(".", "", 1).isdigit():
            return min(200.0, max(40.0, float(w[:-3])))
    found = [TEMPO_WORDS[w] for w in words if w in TEMPO_WORDS]
    return float(found[0]) if found else 96.0


@dataclass(frozen=True)
class Cut:
    """One cut between clip ``index`` and the next: at edit frame ``frame``; how many frames it
    may move earlier (the next clip has that much tail) and later (this clip has)."""

    index: int
    frame: int
    earlier: int
    later: int


def nudge_cuts(cuts: Sequence[Cut], beats: Sequence[float], fps: float, max_nudge: float,
               min_frames: int = 1) -> dict[int, int]:
    """Each movable cut's shift in frames (negative: earlier) onto the nearest beat within
    ``max_nudge`` seconds and its limits; cuts with no beat in reach are left out."""
    out: dict[int, int] = {}
    reach = int(round(max_nudge * fps))
    for cut in cuts:
        best = None
        for beat in beats:
            shift = int(round(beat * fps)) - cut.frame
            if -min(reach, cut.earlier) <= shift <= min(reach, cut.later) and (best is None or abs(shift) < abs(best)):
                best = shift
        if best:
            out[cut.index] = best
    return out
