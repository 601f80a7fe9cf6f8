"""What the plan says about the film's sound (pure): the TTS lines and their cost, a TTS route's
coming shutdown, how the music bed is made, and whether cuts will move onto its beats."""

from __future__ import annotations

import datetime as dt

from reelflow.spec.shotlist import ShotList


def sound_notes(spec: ShotList, today: dt.date) -> list[str]:
    return speech_notes(spec, today) + music_notes(spec)


def speech_notes(spec: ShotList, today: dt.date) -> list[str]:
    """What the TTS lines cost, each distinct line once, and a route's coming shutdown."""
    from reelflow.plan.speech import speech_cost, speech_requests
    from reelflow.spec.tts_routes import TTS_ROUTES

    reqs = speech_requests(spec)
    if not reqs:
        return []
    routes = sorted({r.route for r in reqs.values()})
    out = [f"speech: {len({r.key() for r in reqs.values()})} line(s) synthesised through {', '.join(routes)} TTS, "
           f"${speech_cost(spec):.4f} (each line and voice paid once)"]
    for name in routes:
        retires = TTS_ROUTES[name].retires
        if retires and (retires - today).days <= 90:
            out.append(f"speech: the {name} TTS route ({TTS_ROUTES[name].model}) shuts down on {retires.isoformat()} "
                       f"({(retires - today).days} days)")
    return out


def music_notes(spec: ShotList) -> list[str]:
    """The bed: made for the edit (and what that costs), and whether cuts will move to its beats."""
    from reelflow.spec.music import LYRIA_PRICE, MusicPrompt

    music, out = spec.audio.music, []
    if isinstance(music, MusicPrompt):
        model = music.model or "lyria-3.5"
        out.append(f"music: made for the edit by {model} on the Gemini API, ${LYRIA_PRICE[model]:.2f} (once per prompt "
                   "and length)" if music.route == "lyria" else "music: composed offline for the edit (free)")
    if spec.audio.cut_on_beat:
        import importlib.util

        tracker = importlib.util.find_spec("librosa") is not None
        out.append(f"music: hard cuts move onto the bed's beats (within {spec.audio.beat_nudge:g}s and the clips' "
                   "spare frames)" if tracker else
                   "music: cut_on_beat needs the beat tracker: pip install 'reelflow[beats]' (the run stops before "
                   "anything is paid for)")
    return out
