"""The music bed, fitted to the cut: made for the edit at its exact length (or the repository's
file), and, with `audio.cut_on_beat`, the hard cuts moved onto its beats before anything is
conformed, so picture, sound, captions and timelines all follow the moved cuts."""

from __future__ import annotations

from dataclasses import replace

from prefect import get_run_logger

from reelflow.edit.edit import Edit
from reelflow.spec.music import MusicPrompt, music_request, nudge_cuts
from reelflow.runtime.secrets import credential
from reelflow.store.local import sha256_file
from reelflow.tasks.music import compose_music, track_beats
from reelflow.edit.timeline import shift_cuts


def fit_music(run, edit: Edit) -> Edit:
    """The edit with its bed (``edit.music``: path and facts) and, when asked, its cuts on the beat."""
    bed = run.loaded.spec.audio
    if bed.music is None:
        return edit
    root = str(run.store.root)
    note = None
    if isinstance(bed.music, MusicPrompt):
        request = music_request(bed.music, edit.timeline.duration)
        if request.route == "lyria" and not credential("GEMINI_API_KEY"):  # like the animatic for a model
            note = "no GEMINI_API_KEY: composed offline instead of by Lyria"
            get_run_logger().warning("music: %s", note)
            request = request.model_copy(update={"route": "offline", "model": None})
        made = run.task(compose_music, f"compose-music-{request.route}")(request=request, store_root=root)
        path = run.store.file(made.path)
        if not made.cache_hit:  # the prototype paid for it: the final's edit still says so
            run.paid[f"music-{request.key()}"] = made.cost_usd
        paid = run.paid.get(f"music-{request.key()}")
        facts = {"source": request.route, "prompt": request.prompt, "model": request.model, "sha256": made.sha256,
                 "seconds": made.seconds, "cost_usd": paid or 0.0, "cache_hit": paid is None}
        known = (made.beats, made.tempo)
    else:
        path = run.loaded.resolve_asset(bed.music)
        facts = {"source": "file", "file": bed.music, "sha256": sha256_file(path)}
        known = (None, None)
    facts["path"] = str(path)
    if note:
        facts["note"] = note
    if bed.cut_on_beat:
        tracked = run.task(track_beats, "track-beats")(path=str(path), sha256=facts["sha256"], store_root=root)
        beats = tracked["beats"]
        shifts = nudge_cuts(edit.cuts(), beats, edit.timeline.fps, bed.beat_nudge)
        if shifts:
            edit = edit.with_timeline(shift_cuts(edit.timeline, shifts))
        moved = {edit.shots[i + 1].id: shift for i, shift in shifts.items()}
        facts.update(tempo=tracked["tempo"], beats=len(beats), tracker=tracked["tracker"],
                     cuts_moved=moved, cuts=len(edit.shots) - 1)
        if known[0]:  # composed here: the tracker's error against the beats it was made with
            errors = [min(abs(b - k) for k in known[0]) for b in beats] or [0.0]
            facts["tracking_error_ms"] = round(1000 * sorted(errors)[len(errors) // 2], 1)
        get_run_logger().info("cut on beat: %d of %d cut(s) moved onto the music's beats (%s bpm)",
                              len(moved), len(edit.shots) - 1, tracked["tempo"])
    return replace(edit, music=facts)
