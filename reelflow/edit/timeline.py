"""Timeline maths (pure): where each shot sits in the edit, in whole frames.

A shot's ``duration`` is its on-screen length. A transition of ``t`` seconds overlaps the end of
one shot with the start of the next, so the edit lasts sum(durations) - sum(overlaps); a cut
overlaps nothing. Everything is quantised to output frames once, here, so picture, sound,
captions and the OTIO export agree to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.spec.shotlist import ShotList, fps_value
from reelflow.spec.transitions import get as transition


@dataclass(frozen=True)
class Join:
    """The transition from one clip into the next."""

    type: str  # a registered transition's name
    frames: int


@dataclass(frozen=True)
class TimelineClip:
    index: int
    shot_id: str
    start: int  # first frame in the edit
    frames: int  # frames on screen, transitions included
    join_in: Join | None
    join_out: Join | None

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True)
class Timeline:
    fps: float  # exact rate: 23.976 is 24000/1001
    clips: tuple[TimelineClip, ...]

    @property
    def frames(self) -> int:
        return self.clips[-1].end if self.clips else 0

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    def seconds(self, frame: int) -> float:
        return frame / self.fps

    def active(self, frame: int) -> list[tuple[TimelineClip, int]]:
        """Clips visible at ``frame`` with the frame index inside each (at most two)."""
        out = []
        for clip in self.clips:
            if clip.start <= frame < clip.end:
                out.append((clip, frame - clip.start))
            elif clip.start > frame:
                break
        return out


def build_timeline(spec: ShotList, fps: float | None = None, crossfade_into=frozenset()) -> Timeline:
    """``crossfade_into``: continuing shots whose continuity was dropped (joined by the default
    transition instead of a cut)."""
    fps = fps_value(fps or spec.output.fps)
    clips: list[TimelineClip] = []
    start = 0
    n = len(spec.shots)
    joins: list[Join] = []
    for i in range(n - 1):
        t = spec.defaults.transition if spec.shots[i + 1].id in crossfade_into else spec.transition_after(i)
        joins.append(Join(getattr(t.type, "value", t.type), int(round(t.overlap * fps))))
    for i, shot in enumerate(spec.shots):
        frames = max(1, int(round(shot.duration * fps)))
        join_in = joins[i - 1] if i > 0 else None
        join_out = joins[i] if i < n - 1 else None
        if join_in is not None:
            start -= join_in.frames
        clips.append(TimelineClip(i, shot.id, start, frames, join_in, join_out))
        start += frames
    return Timeline(fps, tuple(clips))


def shift_cuts(timeline: Timeline, shifts: dict[int, int]) -> Timeline:
    """The timeline with the hard cut after clip ``i`` moved by ``shifts[i]`` frames (negative:
    earlier): clip i shows that many frames more (fewer), the next starts that much later
    (earlier) and shows fewer (more); the edit's length and every other cut stay."""
    clips = list(timeline.clips)
    for i, shift in sorted(shifts.items()):
        a, b = clips[i], clips[i + 1]
        if a.join_out and a.join_out.frames:
            raise ValueError(f"clip {i} ends in a transition, not a cut: it is not moved")
        if not (0 < a.frames + shift and 0 < b.frames - shift):
            raise ValueError(f"moving the cut after clip {i} by {shift} frames leaves a clip without frames")
        clips[i] = TimelineClip(a.index, a.shot_id, a.start, a.frames + shift, a.join_in, a.join_out)
        clips[i + 1] = TimelineClip(b.index, b.shot_id, b.start + shift, b.frames - shift, b.join_in, b.join_out)
    return Timeline(timeline.fps, tuple(clips))


def mix_weights(kind: str, progress: float) -> tuple[float, float, float]:
    """(outgoing, incoming, colour) weights at ``progress`` in [0, 1] through a transition
    (its registered class decides)."""
    return transition(kind).weights(min(1.0, max(0.0, progress)))


@dataclass(frozen=True)
class Segment:
    """A run of edit frames whose visible clips do not change: one clip alone, or two inside a
    transition. The export encodes each as its own closed GOP, so a changed shot re-encodes only
    the segments it appears in."""

    start: int  # first frame in the edit
    frames: int
    parts: tuple[tuple[int, int], ...]  # (clip index, its frame at `start`) per visible clip
    join: Join | None  # the transition blended here (two clips), else None


def segments(timeline: Timeline) -> list[Segment]:
    """The edit cut at every clip's first and last frame (pure; they tile the edit exactly)."""
    cuts = sorted({0, timeline.frames, *(c.start for c in timeline.clips), *(c.end for c in timeline.clips)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        if b <= a or a < 0:
            continue
        active = timeline.active(a)
        join = active[0][0].join_out if len(active) == 2 else None
        out.append(Segment(a, b - a, tuple((c.index, local) for c, local in active), join))
    return out
