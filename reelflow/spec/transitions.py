"""Transitions (pure): each is one small class that knows its picture (blend weights and the
colour it passes through), its sound (a crossfade, or out-then-in through silence) and its NLE
form (the OTIO transition type). Registered under the `reelflow.spec.transitions` entry point group;
the shot list accepts every registered name. editly's transition registry is the model."""

from __future__ import annotations

from functools import lru_cache

from reelflow.plugins import load, targets

GROUP = "reelflow.transitions"


class Transition:
    name = "transition"
    overlaps = True  # a cut overlaps nothing: it takes no time
    colour: str | None = None  # "black" or "white" shows through the middle
    sound = "crossfade"  # or "through": fade out over the first half, in over the second
    otio_type = "SMPTE_Dissolve"  # OTIO's TransitionTypes name; "Custom" for the rest

    def weights(self, p: float) -> tuple[float, float, float]:
        """(outgoing, incoming, colour) weights at progress ``p`` in [0, 1]."""
        return 1.0 - p, p, 0.0


class Cut(Transition):
    name, overlaps, sound = "cut", False, "cut"

    def weights(self, p: float) -> tuple[float, float, float]:
        return (1.0, 0.0, 0.0) if p < 0.5 else (0.0, 1.0, 0.0)


class Crossfade(Transition):
    name = "crossfade"


class _Through(Transition):
    sound = "through"

    def weights(self, p: float) -> tuple[float, float, float]:
        if p < 0.5:
            a = 1.0 - 2 * p
            return a, 0.0, 1.0 - a
        b = 2 * p - 1.0
        return 0.0, b, 1.0 - b


class FadeBlack(_Through):
    name, colour = "fade_black", "black"


class DipWhite(_Through):
    name, colour = "dip_white", "white"


@lru_cache(maxsize=None)
def _load(name: str, target: str) -> Transition:
    return load(target)()


def get(name) -> Transition:
    """The registered transition called ``name`` (an enum member's value works too)."""
    key = getattr(name, "value", name)
    found = targets(GROUP).get(key)
    if found is None:
        raise KeyError(f"unknown transition {key!r}; use {', '.join(targets(GROUP))}")
    return _load(key, found)
