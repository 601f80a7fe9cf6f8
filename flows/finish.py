"""Finish an edit: upscale -> conform every shot -> mix -> export, then the aspect versions and
the companions. Every stage reads the edit object; each task's cache is its own policy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from reelflow.runtime.config import emit
from reelflow.deliver.registry import DeliveryInput
from reelflow.edit.edit import Edit
from reelflow.deliver.contact import TILE_WIDTH, contact_picks
from reelflow.media.frames import CONTINUITY_VERSION, continuity_frames, continuity_report
from reelflow.media.stills import EditStills
from reelflow.flows.outputs import player_proxy
from reelflow.flows.tiers import RenderRun
from reelflow.media.mix import ShotSound, Stem
from reelflow.tasks.deliver import deliver_companions
from reelflow.tasks.finishing import (
    Conformed, ConformSpec, Exported, ExportJob, MixJob, MixResult, conform_shot, export, mix_audio, publish,
    upscale,
)


@dataclass(frozen=True)
class Finished:
    """One finished edit: the exported file, its mix and the conformed shots it was cut from."""

    exported: Exported
    mix: MixResult
    conformed: dict[str, Conformed]  # by shot id
    published: Path | None = None
    edit: Edit | None = None  # the edit as cut (its bed fitted, cuts on the beat)


def finish(run: RenderRun, edit: Edit, label: str, publish_as: str | None = None,
           size: tuple[int, int] | None = None) -> Finished:
    """Upscale -> conform -> mix -> export one edit from the take each shot shows (at the
    output size unless ``size`` says otherwise)."""
    from reelflow.flows.music import fit_music

    size = size or run.loaded.spec.output.size
    edit = fit_music(run, edit)
    conformed = conform_all(run, edit, label, size)
    mix = run.task(mix_audio, f"mix-{label}")(job=mix_job(run, edit, conformed), store_root=str(run.store.root))
    exported = export_for(run, edit, conformed, mix, label, size)
    dest = publish(run.store.file(exported.path), run.out / publish_as) if publish_as else None
    return Finished(exported, mix, conformed, dest, edit)


def conform_all(run: RenderRun, edit: Edit, label: str, size: tuple[int, int]) -> dict[str, Conformed]:
    """Upscale (when needed) then conform every shot to ``size`` at the output rate; by shot id
    (a cached result may carry another shot's id: identical clips conform alike)."""
    spec, root = run.loaded.spec, str(run.store.root)
    ups = {s.id: run.task(upscale, f"upscale-{label}-{s.id}").submit(
        clip=s.take.clip, size=size, fit=spec.fit_for(s.shot), backend=spec.upscaler_for(s.shot), store_root=root)
        for s in edit.shots}
    futures = {}
    for s in edit.shots:
        focus = list(s.shot.focus) if isinstance(s.shot.focus, tuple) else s.shot.focus
        recipe = ConformSpec(size=size, fps=spec.output.fps, frames=s.place.frames, fit=spec.fit_for(s.shot),
                             focus=focus, skip=s.head_skip(edit.timeline.fps))
        futures[s.id] = run.task(conform_shot, f"conform-{label}-{s.id}").submit(
            shot_id=s.id, media=ups[s.id].result(), spec=recipe, store_root=root)
    conformed = {shot_id: f.result() for shot_id, f in futures.items()}
    emit(f"{label} conform", "all", len(conformed), len(conformed))
    return conformed


def mix_job(run: RenderRun, edit: Edit, conformed: dict[str, Conformed]) -> MixJob:
    """Each shot's sound (native clip audio if on, recorded dialogue stems, effects) and the bed."""
    from reelflow.flows.speech import resolve_stem

    loaded, spec = run.loaded, run.loaded.spec
    sounds = []
    for s in edit.shots:
        stems = [Stem(resolve_stem(run, p.file), p.start, p.gain_db, speech=True)
                 for p in s.lines(run.stem_seconds) if p.file]
        stems += [Stem(loaded.resolve_asset(fx.file), fx.at, fx.gain_db) for fx in s.shot.sfx]
        clip = s.take.clip
        model = run.cat.models.get(clip.model)
        # a cloud clip driven by the dialogue track gives that track back as its sound: the stems
        # are mixed on the dialogue stem instead, never twice
        driven = any(st.speech for st in stems) and clip.provider != "animatic" and bool(
            model and model.audio_input and clip.provider in model.audio_input.routes)
        sounds.append(ShotSound(wav=run.store.file(conformed[s.id].audio), gain_db=s.shot.audio.gain_db,
                                enabled=s.shot.audio.native and not driven, speech=list(clip.speech_spans), stems=stems))
    music = edit.music["path"] if edit.music else None
    return MixJob(timeline=edit.timeline, sounds=sounds, bed=spec.audio, music=music,
                  target_lufs=spec.output.loudness_lufs)


def export_for(run: RenderRun, edit: Edit, conformed: dict[str, Conformed], mix: MixResult, label: str,
               size: tuple[int, int] | None = None) -> Exported:
    lut = run.loaded.spec.output.lut
    job = ExportJob(timeline=edit.timeline, shots=[conformed[i] for i in edit.ids], mix=mix, size=size or run.loaded.spec.output.size,
                    lut=str(run.loaded.resolve_asset(lut)) if lut else None)
    return run.task(export, f"export-{label}")(
        job=job, store_root=str(run.store.root), label=label)


def deliver(run: RenderRun, edit: Edit, final: Finished) -> dict:
    """Aspect versions and companions (OTIO, FCP XML, EDL, SRT, VTT, contact sheet...)."""
    spec, files, versions = run.loaded.spec, {}, {}
    for aspect in spec.output.versions:
        size, tag = spec.output.size_for(aspect), aspect.replace(":", "x")
        conformed = conform_all(run, edit, f"version-{tag}", size)
        exported = export_for(run, edit, conformed, final.mix, f"version-{tag}", size)
        dest = publish(run.store.file(exported.path), run.out / f"{run.loaded.stem}.{tag}.mp4")
        versions[aspect] = {"path": dest.name, "width": exported.width, "height": exported.height,
                            "frames": exported.frames, "fit": sorted({c.fit for c in conformed.values()})}
        files[aspect] = str(dest)
    wanted = [d for d in spec.output.deliverables if d != "mp4" and ":" not in d]
    continuing = [s.id for s in edit.shots if s.plan.continuity in ("last_frame", "keyframe")]
    # the contact sheet's tiles, the continuity report's frames and the summary's player: one decode
    edit_path = run.store.file(final.exported.path)
    stills = EditStills(edit_path, full=continuity_frames(edit.timeline, continuing),
                        tiles=contact_picks(edit.timeline) if "contact_sheet" in wanted else (), tile_width=TILE_WIDTH,
                        player=player_proxy(run.store, final.exported.sha256))
    given = DeliveryInput(edit=edit, out_dir=run.out, edit_path=edit_path,
                          mix_wav=run.store.file(final.mix.wav),
                          media={s.id: run.store.file(s.take.clip.path) for s in edit.shots},
                          captions={s.id: s.caption_lines(run.stem_seconds) for s in edit.shots},
                          store=run.store, edit_sha=final.exported.sha256, stills=stills,
                          stems={name: run.store.file(ref) for name, ref in final.mix.stems.items()})
    comp = deliver_companions(given=given, wanted=wanted)
    files.update(comp.files)
    return {"files": {k: Path(v).name for k, v in files.items()}, "versions": versions,
            "captions": comp.captions, "notes": comp.notes,
            "continuity": stored_continuity(run, final, edit, continuing, stills) if continuing else None}


def stored_continuity(run: RenderRun, final: Finished, edit: Edit, continuing: list[str],
                      stills: EditStills) -> dict:
    """The continuity report, measured once per edit content (a decode of the whole edit)."""
    key = hashlib.sha256(json.dumps([CONTINUITY_VERSION, final.exported.sha256, edit.timeline.frames,
                                     continuing]).encode()).hexdigest()
    report = run.store.made_once(f"continuity-{key[:32]}", ".json", lambda tmp: tmp.write_text(json.dumps(
        continuity_report(stills.full, edit.timeline, continuing))))
    return json.loads(report.read_text())
