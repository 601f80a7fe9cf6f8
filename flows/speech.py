"""Dialogue before pictures: every line a TTS voice speaks is synthesised once (speak-line tasks,
paid once per line and voice), and each speaking shot's stems are laid into one dialogue track,
the driving audio a lip-syncing route follows (the animatic's mouth offline)."""

from __future__ import annotations

import hashlib
import json

from prefect import get_run_logger

from reelflow.edit.dialogue import place_lines
from reelflow.edit.edit import Edit
from reelflow.plan.speech import as_stems, offline_stand_in, speech_requests
from reelflow.spec.tts_routes import TTS_ROUTES
from reelflow.spec.voices import voice_for
from reelflow.store.local import sha256_file
from reelflow.tasks.speech import speak_line

TRACK_VERSION = "track-1"


def speak(run, edit: Edit) -> Edit:
    """The edit with every synthesised line as a stem of its shot (run.speech keeps the paths)."""
    todo = {k: r for k, r in speech_requests(run.loaded.spec).items() if k not in edit.speech}
    if not todo:
        return edit
    asked = todo
    todo, missing = offline_where_unkeyed(run.loaded.spec, todo)
    intended = {k: asked[k].route for k in todo if todo[k].route != asked[k].route}
    for route, env in missing.items():
        get_run_logger().warning("speech: no %s: the %s voices' lines are spoken offline (espeak-ng) instead; "
                                 "set the key to have them synthesised by %s", env, route, route)
    distinct = {r.key(): r for r in todo.values()}
    futures = {key: run.task(speak_line, f"speak-{r.route}-{key[:10]}").submit(request=r, store_root=str(run.store.root))
               for key, r in distinct.items()}
    done = {key: f.result() for key, f in futures.items()}
    spoken, seen = {}, set()
    for (shot_id, k), r in todo.items():
        line = done[r.key()]
        first = r.key() not in seen
        seen.add(r.key())
        spoken[(shot_id, k)] = {"path": line.path, "sha256": line.sha256, "seconds": line.seconds,
                                "route": r.route, "voice": r.voice, "cache_hit": line.cache_hit or not first,
                                **({"note": f"no {TTS_ROUTES[intended[(shot_id, k)]].env}: spoken offline"}
                                   if (shot_id, k) in intended else {}),
                                "cost_usd": line.cost_usd if first else 0.0}
    paid = [v for v in spoken.values() if not v["cache_hit"]]
    get_run_logger().info("speech: %d line(s) synthesised, %d from the store, $%.4f", len(paid),
                          len(spoken) - len(paid), sum(v["cost_usd"] for v in paid))
    run.speech.update({k: v["path"] for k, v in spoken.items()})
    return edit.with_speech(spoken)


def offline_where_unkeyed(spec, todo: dict) -> tuple[dict, dict]:
    """Requests whose TTS route has no key become the offline speaker's (each character in its own
    offline voice): the run renders, the manifest says so. Returns (requests, {route: variable})."""
    from reelflow.runtime.secrets import credential

    out, missing = {}, {}
    shots = {s.id: s for s in spec.shots}
    for (shot_id, k), req in todo.items():
        env = TTS_ROUTES[req.route].env
        if credential(env):
            out[(shot_id, k)] = req
            continue
        missing[req.route] = env
        out[(shot_id, k)] = offline_stand_in(req, voice_for(shots[shot_id].dialogue[k].speaker, spec.cast)[1])
    return out, missing


def resolve_stem(run, file: str):
    """A stem's file: a synthesised one in the store, a recorded one in the checkout."""
    return run.store.file(file[len("store:"):]) if file.startswith("store:") else run.loaded.resolve_asset(file)


def dialogue_track(run, shot, seconds: float) -> tuple[str, str] | None:
    """(path, sha256) of the shot's stems laid out as the mix will place them, ``seconds`` long;
    None when the shot has no stem (its lines, if any, are the model's to speak)."""
    from pydub import AudioSegment

    placed = [p for p in place_lines(as_stems(shot.id, shot.dialogue, run.speech), run.stem_seconds) if p.file]
    if not placed:
        return None
    files = [resolve_stem(run, p.file) for p in placed]
    parts = [TRACK_VERSION, round(float(seconds), 4),
             [(sha256_file(f), round(p.start, 4), p.gain_db) for f, p in zip(files, placed)]]

    def lay(tmp) -> None:
        track = AudioSegment.silent(duration=int(round(seconds * 1000)), frame_rate=48000)
        for f, p in zip(files, placed):
            stem = AudioSegment.from_file(str(f)).set_frame_rate(48000).set_channels(1)
            track = track.overlay(stem.apply_gain(p.gain_db) if p.gain_db else stem, position=int(round(p.start * 1000)))
        track.export(str(tmp), format="wav")

    dest = run.store.made_once(f"dialogue-{hashlib.sha256(json.dumps(parts).encode()).hexdigest()}", ".wav", lay)
    return str(dest), sha256_file(dest)
