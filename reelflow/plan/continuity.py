"""Continuity rules (pure): what a model can do for a shot's cast, a continuous cut and a long take.

- References: the cast's images a shot names, and what a model does with them.
- A continuous cut: the next shot starts on the previous shot's last frame (image-to-video), or
  both share a keyframe (the previous shot ends on it: first+last-frame models).
- A long take: a shot longer than the model's longest clip is rendered as segments: extensions
  of the clip so far where a route offers the model's extend API, else each segment starting on
  the last frame of the one before, joined without the repeated frame.
"""

from __future__ import annotations

from math import ceil
from typing import Literal

from reelflow.plan.catalog import DurationRange, ModelSpec
from reelflow.spec.shotlist import Shot, ShotList

MAX_SEGMENTS = 6  # a longer chain drifts visibly (each segment re-reads a compressed frame)

Continuity = Literal["last_frame", "keyframe", "crossfade"]


# ----------------------------------------------------------------- the cast's references


def reference_images(shot: Shot, spec: ShotList) -> list[str]:
    """The images of the cast a shot names, in order, each once."""
    return list(dict.fromkeys(img for _, entry in spec.cast_of(shot) for img in entry.images))


def references_note(model: ModelSpec, shot: Shot, spec: ShotList) -> str:
    """What happens to a shot's cast on this model: references sent, some dropped, or only the
    descriptions (folded into the prompt)."""
    if not shot.refs:
        return ""
    images, can = reference_images(shot, spec), model.references.images
    if not images or not can:
        return f"; {model.id} takes no reference images: the cast's descriptions are folded into the prompt"
    if len(images) > can:
        return f"; sends {can} of {len(images)} reference images ({model.id} takes {can}); descriptions in the prompt"
    return ""


# ----------------------------------------------------------------- long takes


def segment_lengths(model: ModelSpec, need: float) -> list[int] | None:
    """Clip lengths this model renders ``need`` seconds as: one clip when it can, else a chain of
    its longest clips and a last one covering the rest plus the frames the joins drop; None when
    out of reach (no image-to-video to continue from a frame, or more than MAX_SEGMENTS)."""
    one = model.clip_seconds(need)
    if one is not None:
        return [one]
    if not model.image_to_video:
        return None
    longest, parts, left = model.max_duration, [], need
    while left > longest - 1e-9:
        parts.append(longest)
        left -= longest - 0.25  # each join drops one repeated frame: keep a little in hand
        if len(parts) >= MAX_SEGMENTS:
            return None
    last = model.clip_seconds(max(left, 0.5))
    parts.append(last if last is not None else longest)
    return parts if len(parts) <= MAX_SEGMENTS else None


def extension_lengths(model: ModelSpec, need: float, resolution: int) -> list[int] | None:
    """Clip lengths of a long take by the model's extend API: its longest clip, then one
    extension after another (each call returns the clip so far, longer by ``step``); None
    where no route extends at this resolution or ``need`` is beyond the extended length."""
    ext = model.extension
    if ext is None or not ext.routes or (ext.resolutions and resolution not in ext.resolutions):
        return None
    firsts = (range(model.durations.min, model.durations.max + 1) if isinstance(model.durations, DurationRange)
              else sorted(model.durations))
    fits = [(first + k * ext.step, k, first) for first in firsts
            for k in range(1, max(1, ceil((need - first) / ext.step)) + 1)
            if need - 1e-9 <= first + k * ext.step <= ext.total]
    if not fits:
        return None
    _, calls, first = min(fits)  # the shortest clip that covers the take, then the fewest calls
    return [first] + [ext.step] * calls


def long_take(model: ModelSpec, need: float, resolution: int) -> tuple[list[int], bool] | None:
    """How this model renders ``need`` seconds at ``resolution``: clip lengths, and whether
    segments after the first extend the clip so far (True) or start on its last frame. The
    extension is preferred: the model sees the whole clip, not one compressed frame."""
    parts = segment_lengths(model, need)
    if parts is None or len(parts) == 1:
        return (parts, False) if parts else None
    extended = extension_lengths(model, need, resolution)
    return (extended, True) if extended else (parts, False)


def reach(model: ModelSpec) -> int:
    """The longest take this model can render (segments included). The extend API renders some
    of these takes better, never longer ones: 37 s of Veo extension < 6 x 8 s of segments."""
    return model.max_duration * (MAX_SEGMENTS if model.image_to_video else 1)


def segments_note(model: ModelSpec, parts: list[int], extends: bool = False) -> str:
    if len(parts) < 2:
        return ""
    ext = model.extension
    if extends:
        how = f"its extend API on {'/'.join(ext.routes)} (+{ext.step}s per call, up to {ext.total}s)"
    elif ext and ext.routes:
        how = f"last-frame continuation (its extend API takes {'/'.join(f'{r}p' for r in ext.resolutions)} only)"
    elif ext:
        how = f"last-frame continuation (reelflow does not send its extend API: {ext.note or 'no adapter'})"
    else:
        how = "last-frame continuation"
    return f"; long take: {len(parts)} segments ({'+'.join(str(p) for p in parts)}s) by {how}"


# ----------------------------------------------------------------- continuous cuts


def needs_first_frame(shot: Shot) -> bool:
    return bool(shot.image or shot.continues)


def continuity_of(shot: Shot, model: ModelSpec, prev_model: ModelSpec | None) -> tuple[Continuity | None, str]:
    """How the cut into a continuing shot is rendered on these models, with the reason."""
    if not shot.continues:
        return None, ""
    if not model.image_to_video:
        return "crossfade", (f"; continuity dropped: {model.id} cannot start on a given frame, "
                             f"so the cut into it is a crossfade")
    if shot.keyframe and prev_model is not None and prev_model.first_last_frame:
        return "keyframe", (f"; continues the previous shot through keyframe {shot.keyframe} "
                            f"({prev_model.id} ends on it, this starts on it: both render at once)")
    if shot.keyframe:
        who = prev_model.id if prev_model else "the previous model"
        return "last_frame", (f"; continues the previous shot from its last frame ({who} cannot end on "
                              f"the keyframe; this shot waits for it)")
    return "last_frame", "; continues the previous shot from its last frame (waits for it)"


def continuity_bonus(model: ModelSpec, shot: Shot, spec: ShotList, index: int) -> tuple[float, str | None]:
    """A shot the next one continues through a keyframe is better on a model that can end on it."""
    nxt = spec.shots[index + 1] if index + 1 < len(spec.shots) else None
    if nxt is None or not (nxt.continues and nxt.keyframe):
        return 0.0, None
    if model.first_last_frame:
        return 6.0, "can end on the next shot's keyframe"
    return -6.0, None
