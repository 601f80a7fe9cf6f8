"""Where dialogue sits inside a shot (pure): one rule for the mix, the captions and the animatic.

A line with a recorded stem starts at its ``at`` or, by default, one after another: the first
``LEAD_IN`` seconds into the shot, each next one ``GAP`` seconds after the previous ends. A
generated line is where the provider says it spoke (its speech spans), in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

LEAD_IN = 0.4  # the animatic and most models start speech a moment into the shot
GAP = 0.35  # between one line's end and the next line's start
CHARS_PER_SECOND = 15.0  # typical speaking rate, for lines no one timed


@dataclass(frozen=True)
class PlacedLine:
    speaker: str
    text: str
    start: float | None  # seconds into the shot; None: the provider reported no time for it
    end: float | None
    file: str | None = None  # a recorded stem (repo-relative), mixed from the file
    gain_db: float = 0.0


def place_lines(dialogue: Sequence, stem_seconds: Callable[[str], float],
                speech_spans: Sequence[tuple[float, float]] = ()) -> list[PlacedLine]:
    """Each line of a shot's ``dialogue`` placed in the shot; ``stem_seconds(file)`` is a stem's
    length, ``speech_spans`` what the provider reported for the generated lines, in order."""
    placed, cursor, generated = [], LEAD_IN, iter(speech_spans)
    for line in dialogue:
        if line.file:
            start = line.at if line.at is not None else cursor
            end = start + stem_seconds(line.file)
            cursor = end + GAP
            placed.append(PlacedLine(line.speaker, line.line, start, end, line.file, line.gain_db))
        else:
            span = next(generated, None)
            start, end = (span[0], span[1]) if span is not None else (None, None)
            placed.append(PlacedLine(line.speaker, line.line, start, end))
    return placed


def estimate_spans(lines: Sequence[str]) -> list[tuple[float, float]]:
    """Lines read one after another at a typical rate (captions of lines no one timed)."""
    spans, t = [], LEAD_IN
    for text in lines:
        d = max(0.8, len(text) / CHARS_PER_SECOND)
        spans.append((t, t + d))
        t += d + GAP
    return spans


def caption_spans(placed: Sequence[PlacedLine]) -> list[tuple[float, float]]:
    """Known times of every line, or estimates for all when any line's time is unknown."""
    if all(p.start is not None for p in placed):
        return [(p.start, p.end) for p in placed]
    return estimate_spans([p.text for p in placed])
