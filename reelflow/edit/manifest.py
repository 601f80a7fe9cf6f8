"""The render manifest (pure, typed): provenance of every shot and of the finished edit, written
from the edit object."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from reelflow import __version__
from reelflow.spec.voices import voices_used
from reelflow.edit.edit import TIERS, Edit, EditShot, Take
from reelflow.edit.qc_tally import tally as qc_tally, warnings as qc_warnings
from reelflow.plan.routing import Plan
from reelflow.spec.shotlist import LoadedShotList


class ClipEntry(BaseModel):
    """One take of a shot as the manifest records it."""

    model: str
    provider: str
    tier: str
    cache_hit: bool
    cost_usd: float
    intended_cost_usd: float
    clip_sha256: str
    job_id: str
    seconds: float
    size: list[int]
    fps: float
    notes: list[str]
    fallback_from: str | None = None
    fallback_reason: str | None = None
    qc: dict[str, Any] | None = None  # its QC report: findings (check, severity, value, threshold)
    qc_rejected: list[dict[str, Any]] = []  # clips QC rejected before it (paid, kept in the store)
    speech_spans: list[tuple[float, float]] = []  # where its generated lines are spoken (s into the clip)


def clip_entry(take: Take, intended_cost: float) -> ClipEntry:
    clip = take.clip
    return ClipEntry(model=clip.model, provider=clip.provider, tier=clip.tier, cache_hit=take.cache_hit,
                     cost_usd=take.billed_usd, intended_cost_usd=intended_cost, clip_sha256=clip.sha256,
                     job_id=clip.job_id, seconds=round(clip.seconds, 3), size=[clip.width, clip.height],
                     fps=clip.fps, notes=list(clip.notes), fallback_from=clip.fallback_from,
                     fallback_reason=clip.fallback_reason, qc=clip.qc, qc_rejected=list(clip.qc_rejected),
                     speech_spans=[tuple(s) for s in clip.speech_spans])


class ShotEntry(BaseModel):
    id: str
    kind: str
    prompt: str
    seed: int
    requested_model: str
    preferred_model: str
    intended_model: str
    draft_model: str
    reason: str
    fallbacks: list[str]
    approved: bool
    timeline: dict[str, Any]
    continuity: str | None = None  # how the cut into this shot is continuous (last_frame, keyframe, crossfade)
    segments: list[int] = []  # a long take's final segments (seconds)
    group: str | None = None  # the scene group whose one multi-shot call rendered this shot
    takes: list[dict[str, Any]] = []  # draft takes to choose from: label, model, seed, clip; one is chosen
    chosen_take: int | None = None  # 1-based: the take the final renders from
    estimated_cost_usd: dict[str, float]
    draft: ClipEntry | None = None
    final: ClipEntry | None = None
    used_model: str | None = None
    used_provider: str | None = None
    used_tier: str | None = None
    cache_hit: bool | None = None
    clip_sha256: str | None = None
    lipsync: dict[str, Any] | None = None  # the used clip's mouth against its speech: r, offset in frames


def shot_entry(s: EditShot, fps: float) -> ShotEntry:
    sp, place = s.plan, s.place
    entry = ShotEntry(
        id=s.id, kind=s.shot.kind.value, prompt=s.shot.prompt,
        seed=sp.options[s.chosen].seed if sp.options else s.shot.effective_seed,
        requested_model=sp.requested, preferred_model=sp.preferred,
        intended_model=sp.options[s.chosen].model if sp.options else sp.model,
        draft_model=sp.draft_model, reason=sp.reason, fallbacks=sp.fallbacks, approved=False,
        timeline={"start": round(place.start / fps, 4), "duration": round(place.frames / fps, 4),
                  "start_frame": place.start, "frames": place.frames,
                  "transition_out": place.join_out.type if place.join_out else None,
                  "transition_out_frames": place.join_out.frames if place.join_out else 0},
        estimated_cost_usd={"draft": sp.draft_cost, "final": s.final_from[0].cost},
        continuity=sp.continuity, segments=list(s.final_from[0].segments), group=sp.group,
        takes=[{"take": k + 1, "label": o.label, "model": o.model, "seed": o.seed, "draft_model": o.draft.model,
                "clip_sha256": s.options[k].clip.sha256 if k < len(s.options) else None,
                "chosen": k == s.chosen} for k, o in enumerate(sp.options)],
        chosen_take=s.chosen + 1 if sp.options else None,
        draft=clip_entry(s.takes["draft"], sp.draft.cost) if "draft" in s.takes else None,
        final=clip_entry(s.takes["final"], s.final_from[0].cost) if "final" in s.takes else None,
    )
    used = entry.final or entry.draft
    if used:
        entry = entry.model_copy(update={
            "used_model": used.model if used.provider != "animatic" else "animatic", "used_provider": used.provider,
            "used_tier": used.tier, "cache_hit": used.cache_hit, "clip_sha256": used.clip_sha256,
            "lipsync": ((used.qc or {}).get("measured") or {}).get("lipsync")})
    return entry


class Manifest(BaseModel):
    """The render manifest, written as JSON beside the edit."""

    model_config = ConfigDict(extra="allow")  # the flow adds where it ran (inputs, store, published)

    reelflow: str
    status: str
    title: str
    shotlist: str
    commit: str | None
    repo_commit: str | None
    rendered_at: str
    output: dict[str, Any]
    prototype: dict[str, Any] | None
    mix: dict[str, Any] | None
    deliverables: dict[str, Any] | None
    cost: dict[str, Any]
    qc: dict[str, Any] = {}  # clips checked, with warnings, failed and kept; re-rolls and their cost
    notes: list[str]
    warnings: list[str]
    shots: list[ShotEntry]


def loudness_note(lufs: float | None, true_peak: float | None, target: float, tolerance: float = 0.5,
                  ceiling: float = -1.0) -> str | None:
    """Why the edit's measured loudness misses its target (None when it lands)."""
    if lufs is None or true_peak is None:
        return None
    problems = []
    if not abs(lufs - target) <= tolerance:  # also catches -inf (silence)
        problems.append(f"{lufs} LUFS is {abs(lufs - target):.1f} LU from the {target:g} LUFS target"
                        + (" (the mix is silent)" if lufs == float("-inf") else
                           "; the material is too peaky to get there without more limiting" if lufs < target else ""))
    if true_peak > ceiling:
        problems.append(f"true peak {true_peak} dBTP is above {ceiling:g} dBTP")
    return "; ".join(problems) or None


def fallback_warnings(edit: Edit) -> list[str]:
    """A fallback is never silent: one line per clip rendered by another model than planned."""
    out = []
    for tier in TIERS:
        for shot_id, take in edit.takes(tier).items():
            clip = take.clip
            if clip.fallback_from:
                who = ("the offline animatic (no real model rendered it)" if clip.provider == "animatic"
                       else f"{clip.model} via {clip.provider}")
                out.append(f"shot '{shot_id}' {tier}: {clip.fallback_from} failed; rendered by {who} instead "
                           f"({clip.fallback_reason})")
            out += [f"shot '{shot_id}' {tier}: {n} (${clip.cost_usd:.2f})" for n in clip.notes
                    if n.startswith("generated again")]
    return out


def build_manifest(loaded: LoadedShotList, plan: Plan, edit: Edit, outputs: dict[str, Any]) -> Manifest:
    """``outputs``: "final" and "prototype" (the exported edits' facts with "published", their
    path in the output folder, or None), "mix" (the edit's mix) and "deliverables"."""
    final, proto = outputs.get("final"), outputs.get("prototype")
    shots = [shot_entry(s, edit.timeline.fps).model_copy(update={"approved": s.id in edit.approved})
             for s in edit.shots]
    try:
        rel = str(loaded.path.relative_to(loaded.repo_root))
    except ValueError:
        rel = str(loaded.path)
    target = loaded.spec.output
    output: dict[str, Any] = {
        **({"path": Path(final["published"]).name} if final else {}),
        "target": {"resolution": target.resolution, "aspect": target.aspect, "fps": target.fps,
                   "loudness_lufs": target.loudness_lufs},
        **({k: final[k] for k in ("duration", "frames", "width", "height", "fps", "has_audio",
                                  "integrated_lufs", "true_peak_dbtp", "sha256")} if final else {}),
        # the export by segments: how much of the edit this run encoded (the rest was copied)
        **({"segments": {k: final.get(f"segments_{k}", 0) for k in ("encoded", "reused")},
            "frames_encoded": final.get("frames_encoded", 0)} if final else {}),
        "expected_duration": round(edit.timeline.duration, 4),
    }
    note = final and loudness_note(final.get("integrated_lufs"), final.get("true_peak_dbtp"), target.loudness_lufs)
    if note:
        output["loudness_note"] = note
    return Manifest(
        reelflow=__version__, status="final" if final else "prototype", title=loaded.spec.title, shotlist=rel,
        commit=loaded.commit, repo_commit=loaded.repo_commit,
        rendered_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), output=output,
        prototype=({k: proto[k] for k in ("duration", "frames", "width", "height", "fps", "integrated_lufs", "sha256")}
                   | {"path": Path(proto["published"]).name}) if proto else None,
        mix=outputs.get("mix"), deliverables=outputs.get("deliverables"),
        cost={"estimated_usd": {"draft": plan.draft_cost, "final": plan.final_cost, "total": plan.total_cost},
              "actual_usd": round(edit.spent_usd() + edit.speech_spent_usd() + music_spent(edit), 4),
              "budget_usd": plan.budget_usd},
        qc=qc_tally(edit), notes=list(plan.notes), warnings=fallback_warnings(edit) + qc_warnings(edit),
        shots=shots, **({"groups": [g.model_dump() for g in plan.groups]} if plan.groups else {}),
        **({"voices": voices} if (voices := voices_used(loaded.spec)) else {}),
        **({"sound": sound} if (sound := sound_summary(shots, outputs.get("mix"))) else {}),
        **({"speech": speech} if (speech := speech_summary(edit)) else {}),
        **({"music": {k: v for k, v in edit.music.items() if k != "path"}} if edit.music else {}))


def music_spent(edit: Edit) -> float:
    """What this run paid for its bed (a made one, not from the store)."""
    return 0.0 if not edit.music or edit.music.get("cache_hit", True) else float(edit.music.get("cost_usd") or 0.0)


def speech_summary(edit: Edit) -> dict[str, Any]:
    """Lines synthesised through TTS routes: each line's stem and voice, and what they cost."""
    if not edit.speech:
        return {}
    lines = [{"shot": shot, "line": k + 1, "route": v["route"], "voice": v["voice"], "seconds": v["seconds"],
              "sha256": v["sha256"], "cache_hit": v["cache_hit"], "cost_usd": v["cost_usd"],
              **({"note": v["note"]} if v.get("note") else {})}
             for (shot, k), v in sorted(edit.speech.items(), key=lambda kv: (edit.ids.index(kv[0][0]), kv[0][1]))]
    return {"lines": lines, "synthesised": sum(not v["cache_hit"] for v in edit.speech.values()),
            "cost_usd": edit.speech_spent_usd()}


def sound_summary(shots: list[ShotEntry], mix: dict[str, Any] | None) -> dict[str, Any]:
    """The sound editor's figures: dialogue over music while someone speaks, and each speaking
    shot's lip sync (where the clip's mouth is known: the animatic's speaking face)."""
    lipsync = {s.id: s.lipsync for s in shots if s.lipsync}
    out: dict[str, Any] = {}
    if mix and mix.get("dialogue_to_music_db") is not None:
        out["dialogue_to_music_db"] = mix["dialogue_to_music_db"]
    if lipsync:
        out["lipsync"] = lipsync
        out["lipsync_min_r"] = min(v["r"] for v in lipsync.values())
    return out
