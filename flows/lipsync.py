"""Lip sync after the finals: a dialogue shot whose lines are stems, rendered by a model that did
not follow the dialogue track, has its final sent with the track to the lip-sync route. Without
a configured route the shot keeps its final, and the run says so."""

from __future__ import annotations

from prefect import get_run_logger

from reelflow.edit.edit import Edit, Take
from reelflow.flows.speech import dialogue_track
from reelflow.plan.speech import follows_audio, wants_lipsync
from reelflow.tasks.lipsync import MODEL, lipsync_clip


def lipsync_finals(run, edit: Edit, shot_ids) -> Edit:
    cast = run.loaded.spec.cast
    todo = [s for s in edit.shots if s.id in set(shot_ids) and "final" in s.takes and wants_lipsync(s.shot, cast)
            and not follows_audio(run.cat.models.get(s.takes["final"].clip.model), s.takes["final"].clip.provider)]
    if not todo:
        return edit
    log = get_run_logger()
    res = run.plan.route_of(MODEL, run.cat, run.today)
    if res.route == "animatic":
        why = (res.note or "").split(": ", 1)[-1]  # "intended sync-lipsync, rendered animatic: no FAL_KEY"
        note = f"lip sync skipped: no route for {MODEL} ({why}); the lines are mixed, the lips do not follow"
        log.warning("%s: %s", ", ".join(s.id for s in todo), note)
        return edit.with_takes("final", {s.id: Take(s.takes["final"].clip.model_copy(update={
            "notes": [*s.takes["final"].clip.notes, note]}), s.takes["final"].cache_hit) for s in todo})
    spec = run.cat.models[MODEL]
    futures = {}
    for s in todo:
        clip = s.takes["final"].clip
        track = dialogue_track(run, s.shot, clip.seconds)
        if track is None:
            continue
        futures[s.id] = run.task(lipsync_clip, f"lipsync-{s.id}").submit(
            clip=clip.model_copy(update={"cache_hit": s.takes["final"].cache_hit}), track_path=track[0],
            track_sha256=track[1], route=res.route, route_model=res.route_model, params=dict(res.params or {}),
            price_per_second=spec.price(min(clip.width, clip.height)), store_root=str(run.store.root))
    synced = {shot_id: f.result() for shot_id, f in futures.items()}
    log.info("lip sync: %d final(s) synced to their dialogue tracks by %s on %s", len(synced), MODEL, res.route)
    return edit.with_takes("final", {shot_id: Take(clip, clip.cache_hit) for shot_id, clip in synced.items()})
