"""Captions (SRT, WebVTT) from dialogue lines, timed against the final timeline.

Each line's time comes from where its sound really is: a voice-over stem's offset and length, or
the speech spans a provider reported (the animatic reports them); otherwise an estimate at a
typical speaking rate. Times are clipped to the part of the shot that is on screen and rounded to
output frames, so captions agree with the picture to the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from reelflow.edit.timeline import Timeline


@dataclass(frozen=True)
class Cue:
    start_frame: int
    end_frame: int
    speaker: str
    text: str
    shot_id: str


def build_cues(timeline: Timeline, lines: dict) -> list[Cue]:
    """``lines[shot id]`` = [(placed line, (start, end) s in the shot)]: cues in edit frames,
    clipped to the part of each shot on screen."""
    cues: list[Cue] = []
    fps = timeline.fps
    for clip in timeline.clips:
        for line, (s, e) in lines.get(clip.shot_id, []):
            a = clip.start + int(round(s * fps))
            b = clip.start + int(round(e * fps))
            a, b = max(a, clip.start), min(b, clip.end)
            if b - a < 1:
                continue
            cues.append(Cue(a, b, line.speaker, line.text, clip.shot_id))
    cues.sort(key=lambda c: c.start_frame)
    # never overlap: a cue ends where the next begins
    for i in range(len(cues) - 1):
        if cues[i].end_frame > cues[i + 1].start_frame:
            c = cues[i]
            cues[i] = Cue(c.start_frame, cues[i + 1].start_frame, c.speaker, c.text, c.shot_id)
    return [c for c in cues if c.end_frame > c.start_frame]


def _ts(frame: int, fps: float, sep: str) -> str:
    ms = int(round(frame * 1000 / fps))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _one_line(text: str) -> str:
    """User text as one caption line: no line breaks (a blank line ends a cue), no control
    characters, and no "-->" (it would read as a timing line)."""
    text = "".join(ch if ch.isprintable() else " " for ch in " ".join(str(text).split()))
    return text.replace("-->", "->")


def _vtt_text(text: str) -> str:
    """WebVTT cue text escapes &, < and > (they start tags and entities)."""
    return _one_line(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_srt(cues: list[Cue], fps: float) -> str:
    blocks = []
    for i, c in enumerate(cues, 1):
        blocks.append(f"{i}\n{_ts(c.start_frame, fps, ',')} --> {_ts(c.end_frame, fps, ',')}\n"
                      f"{_one_line(c.speaker)}: {_one_line(c.text)}\n")
    return "\n".join(blocks)


def to_vtt(cues: list[Cue], fps: float) -> str:
    out = ["WEBVTT", ""]
    for c in cues:
        out.append(f"{_ts(c.start_frame, fps, '.')} --> {_ts(c.end_frame, fps, '.')}")
        speaker = _vtt_text(c.speaker).replace(">", "").replace("&gt;", "")
        out.append(f"<v {speaker}>{_vtt_text(c.text)}")
        out.append("")
    return "\n".join(out)


def parse_srt(text: str, fps: float) -> list[tuple[int, int, str]]:
    """(start frame, end frame, text) per cue: for reading captions back in tests and tools."""
    def frame(ts: str) -> int:
        hms, ms = ts.strip().split(",")
        h, m, s = (int(x) for x in hms.split(":"))
        return int(round(((h * 60 + m) * 60 + s + int(ms) / 1000) * fps))

    out = []
    for block in text.strip().split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) < 3:
            continue
        a, b = lines[1].split("-->")
        out.append((frame(a), frame(b), "\n".join(lines[2:])))
    return out


class SRT:
    name, suffix = "srt", ".srt"

    def write(self, given, dest) -> list[str]:
        from reelflow.store.local import write_text_atomic

        write_text_atomic(dest, to_srt(given.cues(), given.edit.timeline.fps))
        return []


class VTT:
    name, suffix = "vtt", ".vtt"

    def write(self, given, dest) -> list[str]:
        from reelflow.store.local import write_text_atomic

        write_text_atomic(dest, to_vtt(given.cues(), given.edit.timeline.fps))
        return []
