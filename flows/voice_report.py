"""Each character's voice measured on the finished film: every line it speaks (cut from the clip
at its speech span, or its stem), voiceprinted (reelflow/media/voiceprint.py), compared within
the character and across characters. One number to read: the separation, the lowest similarity
between two lines of one character over the highest between two characters (above 1: each keeps
its own voice). Measured once per set of lines (kept in the store)."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess

import numpy as np

from reelflow.media.ffmpeg import ffmpeg_exe
from reelflow.media.voiceprint import similarity, voiceprint
from reelflow.store.local import sha256_file
from reelflow.spec.voices import voice_for

VERSION = "voices-1"
RATE = 16000


def _lines(run, edit) -> list[tuple[str, str, float, float]]:
    """(speaker, file, start, end) of every line with a known place: a stem (whole) or a clip span."""
    from reelflow.flows.speech import resolve_stem

    out = []
    for s in edit.shots:
        if not s.take:
            continue
        for p in s.lines(run.stem_seconds):
            who = voice_for(p.speaker, run.loaded.spec.cast)[0]
            if p.file:
                out.append((who, str(resolve_stem(run, p.file)), 0.0, -1.0))
            elif p.start is not None and p.end is not None and p.end - p.start >= 0.3:
                out.append((who, str(run.store.file(s.take.clip.path)), p.start, p.end))
    return out


def _samples(path: str, start: float, end: float) -> np.ndarray:
    span = ["-ss", f"{start:.3f}", "-t", f"{end - start:.3f}"] if end > start else []
    raw = subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", *span, "-i", path, "-vn", "-ac", "1",
                          "-ar", str(RATE), "-f", "f32le", "-"], capture_output=True, check=True, timeout=120).stdout
    return np.frombuffer(raw, np.float32)


def measure(lines) -> dict:
    prints: dict[str, list] = {}
    for who, path, start, end in lines:
        try:
            prints.setdefault(who, []).append(voiceprint(_samples(path, start, end), RATE))
        except ValueError:  # too short to measure
            continue
    out: dict = {"characters": {}}
    for who, ps in prints.items():
        same = [similarity(a, b) for a, b in itertools.combinations(ps, 2)]
        out["characters"][who] = {"lines": len(ps), **({"similarity_min": round(min(same), 3)} if same else {})}
    between = [similarity(a, b) for x, y in itertools.combinations(prints, 2) for a in prints[x] for b in prints[y]]
    within = [v["similarity_min"] for v in out["characters"].values() if "similarity_min" in v]
    if between:
        out["between_max"] = round(max(between), 3)
    if between and within:
        out["separation"] = round(min(within) / max(max(between), 1e-6), 1)
    return out


def voice_report(run, edit) -> dict | None:
    """The film's voices, measured (None without two lines to compare)."""
    lines = _lines(run, edit)
    if len(lines) < 2:
        return None
    parts = [VERSION, [(who, sha256_file(path), start, end) for who, path, start, end in lines]]
    key = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
    report = run.store.made_once(f"voices-{key}", ".json",
                                 lambda tmp: tmp.write_text(json.dumps(measure(lines)), encoding="utf-8"))
    return json.loads(report.read_text(encoding="utf-8"))
