"""The edit (pure): one object that every stage after routing reads.

Per shot it holds the shot as written, its plan (models, costs, reason), its place on the
timeline (start, frames, joins in and out) and its takes (one per tier rendered so far: a draft,
a final). Finishing, the review, the manifest and every deliverable read this object; nothing
joins parallel per-shot lists. Like OpenTimelineIO's timeline, it is one structure that small
pure functions read, built once before anything is paid for (``Edit.planned``) and extended with
takes as they arrive (``with_takes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping

from reelflow.edit.dialogue import PlacedLine, caption_spans, place_lines
from reelflow.edit.clip import ClipResult
from reelflow.plan.routing import Plan, RenderSpec, ShotPlan
from reelflow.spec.shotlist import LoadedShotList, Shot
from reelflow.edit.timeline import Timeline, TimelineClip, build_timeline

TIERS = ("draft", "final")


@dataclass(frozen=True)
class Take:
    """One rendered clip of a shot, and whether this run got it without paying."""

    clip: ClipResult
    cache_hit: bool = False

    @property
    def billed_usd(self) -> float:
        """What this run paid for the take: its clip, and the clips QC rejected before it."""
        rejected = sum(r.get("billed_usd", 0.0) for r in self.clip.qc_rejected)
        return (0.0 if self.cache_hit else self.clip.cost_usd) + rejected


@dataclass(frozen=True)
class EditShot:
    shot: Shot
    plan: ShotPlan
    place: TimelineClip
    takes: Mapping[str, Take] = field(default_factory=dict)
    options: tuple[Take, ...] = ()  # every draft take when the shot has several (plan.options)
    chosen: int = 0  # the option the final renders from (0-based)

    @property
    def id(self) -> str:
        return self.shot.id

    @property
    def final_from(self) -> tuple[RenderSpec, int | None]:
        """What the final renders: the chosen take's final spec and seed (None: the shot's own)."""
        if not self.plan.options:
            return self.plan.final, None
        option = self.plan.options[self.chosen]
        return option.final, option.seed

    @property
    def take(self) -> Take | None:
        """The take the edit shows: the final when there is one, else the draft."""
        return self.takes.get("final") or self.takes.get("draft")

    def head_skip(self, fps: float) -> float:
        """Seconds of the shown take's clip left out at its start: a clip asked to end on a
        keyframe is shown up to its last frame (the conform and the NLE exports agree on it)."""
        clip = self.take.clip if self.take else None
        return round(max(0.0, clip.seconds - self.place.frames / fps), 6) if clip and clip.ends_on_frame else 0.0

    def lines(self, stem_seconds: Callable[[str], float]) -> list[PlacedLine]:
        spans = self.take.clip.speech_spans if self.take else []
        return place_lines(self.shot.dialogue, stem_seconds, spans)

    def caption_lines(self, stem_seconds: Callable[[str], float]) -> list[tuple[PlacedLine, tuple[float, float]]]:
        placed = self.lines(stem_seconds)
        return list(zip(placed, caption_spans(placed))) if placed else []


@dataclass(frozen=True)
class Edit:
    title: str
    stem: str
    timeline: Timeline
    shots: tuple[EditShot, ...]
    approved: tuple[str, ...] = ()
    music: Mapping | None = None  # the bed as fitted: its path and facts (flows/music.py)
    speech: Mapping[tuple[str, int], Mapping] = field(default_factory=dict)
    """Synthesised lines: (shot id, line index) -> the spoken line's facts (path, cost, cache hit)."""

    @classmethod
    def planned(cls, loaded: LoadedShotList, plan: Plan) -> "Edit":
        """The edit before anything is rendered: shots, plans and timeline places."""
        plans = {sp.shot_id: sp for sp in plan.shots}
        # a continuing shot no model could start on a frame is joined by the default transition
        timeline = build_timeline(loaded.spec, crossfade_into={i for i, sp in plans.items()
                                                               if sp.continuity == "crossfade"})
        shots = tuple(EditShot(shot, plans[shot.id], timeline.clips[i])
                      for i, shot in enumerate(loaded.spec.shots))
        return cls(loaded.spec.title, loaded.stem, timeline, shots)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.shots]

    def shot(self, shot_id: str) -> EditShot:
        return next(s for s in self.shots if s.id == shot_id)

    def with_takes(self, tier: str, takes: Mapping[str, Take]) -> "Edit":
        """The edit with these shots' takes of ``tier`` added (or replaced)."""
        shots = tuple(replace(s, takes={**s.takes, tier: takes[s.id]}) if s.id in takes else s
                      for s in self.shots)
        return replace(self, shots=shots)

    def with_options(self, options: Mapping[str, tuple[Take, ...]]) -> "Edit":
        """Shots' draft takes to choose from; the chosen one is the shot's draft."""
        shots = tuple(replace(s, options=tuple(options[s.id]),
                              takes={**s.takes, "draft": options[s.id][min(s.chosen, len(options[s.id]) - 1)]})
                      if s.id in options else s for s in self.shots)
        return replace(self, shots=shots)

    def choose(self, picks: Mapping[str, int]) -> "Edit":
        """Pick a take per shot (0-based); the final renders from it, the prototype shows it."""
        shots = []
        for s in self.shots:
            if s.id in picks and s.plan.options:
                k = picks[s.id]
                takes = {**s.takes, "draft": s.options[k]} if s.options else s.takes
                s = replace(s, chosen=k, takes=takes)
            shots.append(s)
        return replace(self, shots=tuple(shots))

    def without(self, tier: str) -> "Edit":
        return replace(self, shots=tuple(replace(s, takes={t: k for t, k in s.takes.items() if t != tier})
                                         for s in self.shots))

    def followers(self, shot_ids) -> set[str]:
        """``shot_ids`` and every shot continuing from one of them (through the chain): what must
        be rendered again when they change."""
        out = set(shot_ids)
        groups = {s.plan.group for s in self.shots if s.id in out and s.plan.group}
        out |= {s.id for s in self.shots if s.plan.group in groups}  # a group is one call: all of it
        for before, after in zip(self.shots, self.shots[1:]):
            if before.id in out and after.plan.continuity in ("last_frame", "keyframe"):
                out.add(after.id)
        return out

    def split_cuts(self) -> list[str]:
        """Continuous cuts the approvals split: one side gets a final, the other keeps its draft."""
        return [f"shot '{after.id}' continues '{before.id}' but only '{(before if before.id in self.approved else after).id}'"
                f" is approved: the cut between a final and a draft is not continuous (approve both)"
                for before, after in zip(self.shots, self.shots[1:])
                if after.plan.continuity in ("last_frame", "keyframe")
                and (before.id in self.approved) != (after.id in self.approved)]

    def with_speech(self, spoken: Mapping[tuple[str, int], Mapping]) -> "Edit":
        """Synthesised lines become stems of their shots (``store:<path>``), mixed and captioned
        like recorded lines; what an earlier call recorded (its cost) is kept."""
        from reelflow.plan.speech import as_stems

        speech = {**spoken, **self.speech}
        paths = {k: v["path"] for k, v in speech.items()}
        shots = []
        for s in self.shots:
            lines = as_stems(s.id, s.shot.dialogue, paths)
            shots.append(replace(s, shot=s.shot.model_copy(update={"dialogue": lines})) if lines != list(s.shot.dialogue)
                         else s)
        return replace(self, shots=tuple(shots), speech=speech)

    def speech_spent_usd(self) -> float:
        return round(sum(v["cost_usd"] for v in self.speech.values() if not v["cache_hit"]), 6)

    def cuts(self, min_seconds: float = 0.5) -> list:
        """Every hard cut that may move (reelflow.spec.music.Cut): how far earlier (the next clip's
        spare tail) and later (this clip's), keeping each clip ``min_seconds`` long. A cut into a
        continuous shot or inside a scene group, or beside a clip that ends on a keyframe, stays."""
        from reelflow.spec.music import Cut

        fps = self.timeline.fps
        keep = int(round(min_seconds * fps))
        out = []
        for a, b in zip(self.shots, self.shots[1:]):
            pa, pb = a.place, b.place
            if (pa.join_out and pa.join_out.frames) or b.plan.continuity in ("last_frame", "keyframe") \
                    or (a.plan.group and a.plan.group == b.plan.group) or not (a.take and b.take) \
                    or a.take.clip.ends_on_frame or b.take.clip.ends_on_frame:
                continue
            spare_a = int(a.take.clip.seconds * fps + 1e-6) - int(round(a.head_skip(fps) * fps)) - pa.frames
            spare_b = int(b.take.clip.seconds * fps + 1e-6) - int(round(b.head_skip(fps) * fps)) - pb.frames
            out.append(Cut(index=pa.index, frame=pb.start, earlier=max(0, min(spare_b, pa.frames - keep)),
                           later=max(0, min(spare_a, pb.frames - keep))))
        return out

    def with_timeline(self, timeline: Timeline) -> "Edit":
        """The edit on a re-cut timeline (the same clips, cuts moved)."""
        places = {c.shot_id: c for c in timeline.clips}
        return replace(self, timeline=timeline, shots=tuple(replace(s, place=places[s.id]) for s in self.shots))

    def approve(self, shot_ids) -> "Edit":
        return replace(self, approved=tuple(i for i in self.ids if i in set(shot_ids)))

    def takes(self, tier: str) -> dict[str, Take]:
        return {s.id: s.takes[tier] for s in self.shots if tier in s.takes}

    def clips(self, tier: str | None = None) -> list[ClipResult]:
        """One clip per shot in edit order: of ``tier``, or the take each shot shows."""
        picked = [s.takes.get(tier) if tier else s.take for s in self.shots]
        missing = [s.id for s, t in zip(self.shots, picked) if t is None]
        if missing:
            raise ValueError(f"no {tier or 'rendered'} take for {', '.join(missing)}")
        return [t.clip for t in picked]

    def spent_usd(self) -> float:
        paid = [t for s in self.shots for tier, t in s.takes.items() if not (tier == "draft" and s.options)]
        paid += [t for s in self.shots for t in s.options]
        return round(sum(t.billed_usd for t in paid), 4)

    def replan(self, loaded: LoadedShotList, plan: Plan, redo: set[str]) -> "Edit":
        """A revised shot list and plan: shots in ``redo`` lose their takes, others keep them."""
        fresh = Edit.planned(loaded, plan)
        kept = {s.id: s for s in self.shots if s.id not in redo}
        return replace(fresh, shots=tuple(replace(s, takes=kept[s.id].takes, options=kept[s.id].options,
                                                  chosen=kept[s.id].chosen) if s.id in kept else s
                                          for s in fresh.shots), approved=self.approved).with_speech(
            {k: v for k, v in self.speech.items() if k[0] not in redo})
