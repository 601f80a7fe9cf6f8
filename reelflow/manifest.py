"""The render manifest: provenance of every shot and of the finished edit (pure: builds a dict)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from . import __version__
from .routing import Plan
from .shotlist import LoadedShotList
from .timeline import Timeline


def clip_entry(clip, cache_hit: bool, intended_cost: float) -> dict[str, Any]:
    return {
        "model": clip.model,
        "provider": clip.provider,
        "tier": clip.tier,
        "cache_hit": cache_hit,
        "cost_usd": 0.0 if cache_hit else clip.cost_usd,
        "intended_cost_usd": intended_cost,
        "clip_sha256": clip.sha256,
        "job_id": clip.job_id,
        "seconds": round(clip.seconds, 3),
        "size": [clip.width, clip.height],
        "fps": clip.fps,
        "notes": list(clip.notes),
        "fallback_from": clip.fallback_from,
        "fallback_reason": clip.fallback_reason,
    }


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


def fallback_warnings(drafts: dict[str, tuple], finals: dict[str, tuple]) -> list[str]:
    """A fallback is never silent: one line per clip rendered by another model than planned."""
    out = []
    for tier, clips in (("draft", drafts), ("final", finals)):
        for shot_id, (clip, _) in clips.items():
            if clip.fallback_from:
                who = ("the offline animatic (no real model rendered it)" if clip.provider == "animatic"
                       else f"{clip.model} via {clip.provider}")
                out.append(f"shot '{shot_id}' {tier}: {clip.fallback_from} failed; rendered by {who} instead "
                           f"({clip.fallback_reason})")
            out += [f"shot '{shot_id}' {tier}: {n} (${clip.cost_usd:.2f})" for n in clip.notes
                    if n.startswith("generated again")]
    return out


def build_manifest(*, loaded: LoadedShotList, plan: Plan, timeline: Timeline, status: str,
                   drafts: dict[str, tuple], finals: dict[str, tuple], approved: list[str],
                   edit: dict | None, prototype: dict | None, out_dir: Path,
                   mix: dict | None, delivered: dict | None = None) -> dict[str, Any]:
    shots = []
    actual = 0.0
    for clip_pos, sp in zip(timeline.clips, plan.shots):
        shot = loaded.spec.shots[clip_pos.index]
        entry: dict[str, Any] = {
            "id": shot.id,
            "kind": shot.kind.value,
            "prompt": shot.prompt,
            "seed": shot.effective_seed,
            "requested_model": sp.requested,
            "preferred_model": sp.preferred,
            "intended_model": sp.model,
            "draft_model": sp.draft_model,
            "reason": sp.reason,
            "fallbacks": sp.fallbacks,
            "approved": shot.id in approved,
            "timeline": {"start": round(timeline.seconds(clip_pos.start), 4),
                         "duration": round(clip_pos.frames / timeline.fps, 4),
                         "start_frame": clip_pos.start, "frames": clip_pos.frames,
                         "transition_out": (clip_pos.join_out.type.value if clip_pos.join_out else None),
                         "transition_out_frames": (clip_pos.join_out.frames if clip_pos.join_out else 0)},
            "estimated_cost_usd": {"draft": sp.draft.cost, "final": sp.final.cost},
        }
        if shot.id in drafts:
            clip, hit = drafts[shot.id]
            entry["draft"] = clip_entry(clip, hit, sp.draft.cost)
            actual += entry["draft"]["cost_usd"]
        if shot.id in finals:
            clip, hit = finals[shot.id]
            entry["final"] = clip_entry(clip, hit, sp.final.cost)
            actual += entry["final"]["cost_usd"]
        used = entry.get("final") or entry.get("draft")
        if used:
            entry["used_model"] = used["model"] if used["provider"] != "animatic" else "animatic"
            entry["used_provider"] = used["provider"]
            entry["used_tier"] = used["tier"]
            entry["cache_hit"] = used["cache_hit"]
            entry["clip_sha256"] = used["clip_sha256"]
        shots.append(entry)
    try:
        rel = str(loaded.path.relative_to(loaded.repo_root))
    except ValueError:
        rel = str(loaded.path)
    return {
        "reelflow": __version__,
        "status": status,
        "title": loaded.spec.title,
        "shotlist": rel,
        "commit": loaded.commit,
        "repo_commit": loaded.repo_commit,
        "rendered_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "output": {
            **({"path": str(Path(edit["published"]).relative_to(out_dir))} if edit else {}),
            "target": {"resolution": loaded.spec.output.resolution, "aspect": loaded.spec.output.aspect,
                       "fps": loaded.spec.output.fps, "loudness_lufs": loaded.spec.output.loudness_lufs},
            **({k: edit[k] for k in ("duration", "frames", "width", "height", "fps", "has_audio",
                                     "integrated_lufs", "true_peak_dbtp", "sha256")} if edit else {}),
            "expected_duration": round(timeline.duration, 4),
            **({"loudness_note": note} if edit and (note := loudness_note(
                edit.get("integrated_lufs"), edit.get("true_peak_dbtp"), loaded.spec.output.loudness_lufs)) else {}),
        },
        "prototype": ({k: prototype[k] for k in ("duration", "frames", "width", "height", "fps",
                                                 "integrated_lufs", "sha256")}
                      | {"path": str(Path(prototype["published"]).relative_to(out_dir))}) if prototype else None,
        "mix": mix,
        "deliverables": delivered,
        "cost": {"estimated_usd": {"draft": plan.draft_cost, "final": plan.final_cost,
                                   "total": plan.total_cost},
                 "actual_usd": round(actual, 4), "budget_usd": plan.budget_usd},
        "notes": list(plan.notes),
        "warnings": fallback_warnings(drafts, finals),
        "shots": shots,
    }
