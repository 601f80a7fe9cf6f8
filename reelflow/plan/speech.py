"""Dialogue synthesised per character through a TTS route (pure): which lines, with what voice,
under what key.

A cast character whose `voice.route` is a TTS route (`openai`) has every line it speaks without a
recorded `file` synthesised once into a dialogue stem: the stem is mixed like a recorded line
(the dialogue rule places it), the video model is not asked to speak the line, and the stem's
key is its content (route, model, voice, instructions, speed, text), so the same line in the
same voice is paid once, whichever shot or run asks. `espeak` (the default) is the offline voice
the animatic speaks in, inside the clip.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict

from reelflow.spec.tts_routes import TTS_ROUTES
from reelflow.spec.voices import cast_name_of, voice_styles


class SpeechRequest(BaseModel):
    """Everything that determines a synthesised line. Never holds credentials."""

    model_config = ConfigDict(frozen=True)
    route: str
    model: str
    voice: str
    text: str
    instructions: str | None = None  # the character's voice in words (the `style`)
    speed: float = 1.0

    def key(self) -> str:
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()

    def cost_usd(self) -> float:
        route = TTS_ROUTES.get(self.route)
        return round(len(self.text) * route.price_per_million_chars / 1e6, 6) if route else 0.0


def offline_stand_in(req: SpeechRequest, offline) -> SpeechRequest:
    """The line spoken offline by espeak-ng in the character's own offline voice (``offline``:
    reelflow.spec.voices.OfflineVoice), where its TTS route has no key: a stem all the same (mixed,
    followed by the lips), under its own key, so the real voice replaces it once a key is set."""
    return SpeechRequest(route="espeak", model="espeak-ng", voice=f"{offline.variant}:{offline.pitch}:{offline.rate}",
                         text=req.text)


def voice_of(line, cast):
    """The cast entry's voice a line is spoken with (None: not a cast member, or no voice)."""
    name = cast_name_of(line.speaker, cast)
    return cast[name].voice if name is not None else None


def synthesised(line, cast) -> bool:
    """A generated line (no recorded file) whose character speaks through a TTS route."""
    voice = voice_of(line, cast)
    return not line.file and voice is not None and voice.route in TTS_ROUTES


def speech_request(line, cast) -> SpeechRequest | None:
    if not synthesised(line, cast):
        return None
    voice = voice_of(line, cast)
    route = TTS_ROUTES[voice.route]
    return SpeechRequest(route=route.name, model=route.model, voice=voice.voice_id or route.default_voice,
                         text=line.line, instructions=voice.style, speed=voice.speed)


def speech_requests(spec) -> dict[tuple[str, int], SpeechRequest]:
    """Every synthesised line of the list: (shot id, line index) -> its request."""
    out = {}
    for shot in spec.shots:
        for k, line in enumerate(shot.dialogue):
            req = speech_request(line, spec.cast)
            if req is not None:
                out[(shot.id, k)] = req
    return out


def speech_cost(spec) -> float:
    """What synthesising the list's lines costs, each distinct line once."""
    return round(sum(r.cost_usd() for r in {r.key(): r for r in speech_requests(spec).values()}.values()), 4)


def stem_lines(shot, cast) -> list:
    """The shot's lines mixed from stems (recorded, or synthesised through TTS), not spoken by its model."""
    return [line for line in shot.dialogue if line.file or synthesised(line, cast)]


def has_stems(shot, cast) -> bool:
    return bool(stem_lines(shot, cast))


def stem_transcript(shot, cast) -> str:
    """What the shot's stems say, for the prompt of a model that follows them: ' Ben says: "..."'."""
    return "".join(f' {line.speaker} says: "{line.line}"' for line in stem_lines(shot, cast))


def as_stems(shot_id: str, dialogue, paths) -> list:
    """The shot's lines with each synthesised one as its stem (``store:<path>``; ``paths``:
    (shot id, line index) -> store path), placed and mixed like a recorded line."""
    return [line.model_copy(update={"file": f"store:{paths[(shot_id, k)]}"}) if (shot_id, k) in paths and not line.file
            else line for k, line in enumerate(dialogue)]


def wants_lipsync(shot, cast) -> bool:
    """The shot's final is lip-synced to its stems: asked (`lipsync: true`), or by default a
    dialogue shot whose lines are stems (`lipsync: false` turns it off)."""
    if not has_stems(shot, cast):
        return False
    return shot.lipsync if shot.lipsync is not None else getattr(shot.kind, "value", shot.kind) == "dialogue"


def follows_audio(model, route: str) -> bool:
    """A clip rendered on ``route`` already follows the dialogue track (it took it as driving
    audio): the animatic, or a model whose catalog `audio_input` names the route."""
    return route == "animatic" or bool(model is not None and model.audio_input and route in model.audio_input.routes)


def voices_note(model, shot, spec) -> str:
    """The routing reason's words on voices: a model that speaks is told them in its prompt; lines
    mixed from stems are followed by a model that takes driving audio, or the reason says not."""
    note = ""
    styles = voice_styles(shot, spec.cast)
    if styles and model.native_audio:
        note = (f"; {model.id} speaks the lines itself and takes no voice audio from reelflow: the voices are "
                f"described in its prompt ({', '.join(f'{who}: {style}' for who, style in styles)})")
    if has_stems(shot, spec.cast):
        ai = model.audio_input
        note += (f"; its lines are stems: {model.id} follows them as driving audio on {'/'.join(ai.routes)} "
                 f"(`{ai.field}`), lips in sync" if ai else
                 f"; its lines are stems, mixed: {model.id} takes no driving audio, so its lips do not follow them")
    return note
