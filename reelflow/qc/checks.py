"""The QC checks (pure: arrays in, findings out). Each is one small class registered under the
`reelflow.qc` entry point group, with its thresholds and severity as defaults a shot list may
override (`qc: {checks: {frozen: {max_still: 0.6}, cast: {severity: off}}}`)."""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np

from reelflow.qc.measure import ClipSignals, load_image
from reelflow.qc.report import Expectation, Finding


class Check(abc.ABC):
    """One check: its name, default severity and thresholds, and what it finds in a clip."""

    name = "check"
    severity = "fail"
    params: dict[str, Any] = {}
    about = ""

    @abc.abstractmethod
    def run(self, sig: ClipSignals, expect: Expectation, p: dict[str, Any]) -> list[Finding]:
        """Findings for this clip under settings ``p`` (its params with the overrides applied)."""

    def finding(self, p: dict, value, threshold, message: str, *, at_s: float | None = None,
                severity: str | None = None) -> Finding:
        return Finding(check=self.name, severity=severity or p.get("severity", self.severity), value=value,
                       threshold=threshold, message=message, at_s=at_s)


def frame_diffs(sig: ClipSignals) -> np.ndarray:
    """Mean absolute luma change between consecutive frames (0..255)."""
    luma = sig.luma
    if len(luma) < 2:
        return np.zeros(0, dtype=np.float32)
    return np.abs(np.diff(luma, axis=0)).mean(axis=(1, 2))


def black_frames(sig: ClipSignals, mean_luma: float = 16.0, peak_luma: float = 32.0) -> np.ndarray:
    """Which frames are black: dark on average and at the 98th percentile (derived once per clip
    and thresholds: three checks ask)."""
    key = ("black", mean_luma, peak_luma)
    if key not in sig.memo:
        flat = sig.luma.reshape(len(sig.frames), -1)
        sig.memo[key] = np.zeros(0, dtype=bool) if not flat.size else \
            (flat.mean(axis=1) < mean_luma) & (np.percentile(flat, 98, axis=1) < peak_luma)
    return sig.memo[key]


class Duration(Check):
    name, about = "duration", "the clip is as long as asked, within a frame (a longer clip is trimmed: warn)"
    params = {"long_warn_s": 1.0}

    def run(self, sig, expect, p):
        if not expect.seconds or not sig.fps:
            return []
        frame = 1.0 / sig.fps
        if sig.seconds < expect.seconds - frame - 1e-6:
            return [self.finding(p, round(sig.seconds, 3), expect.seconds, "shorter than asked")]
        if sig.seconds > expect.seconds + max(frame, p["long_warn_s"]):
            return [self.finding(p, round(sig.seconds, 3), expect.seconds, "longer than asked (trimmed in the conform)",
                                 severity="warn")]
        return []


class Size(Check):
    name, about = "size", "aspect as asked (fail); size and rate as asked (warn: the conform scales)"
    params = {"aspect_tolerance": 0.02, "fps_tolerance": 0.5}

    def run(self, sig, expect, p):
        out = []
        if expect.width and expect.height:
            asked, got = expect.width / expect.height, sig.width / max(sig.height, 1)
            if abs(got / asked - 1) > p["aspect_tolerance"]:
                out.append(self.finding(p, f"{sig.width}x{sig.height}", f"{expect.width}x{expect.height}",
                                        f"aspect {got:.3f}, asked {asked:.3f}"))
            elif (sig.width, sig.height) != (expect.width, expect.height):
                out.append(self.finding(p, f"{sig.width}x{sig.height}", f"{expect.width}x{expect.height}",
                                        "size differs (scaled in the conform)", severity="warn"))
        if expect.fps and sig.fps and abs(sig.fps - expect.fps) > p["fps_tolerance"]:
            out.append(self.finding(p, round(sig.fps, 3), expect.fps, "frame rate differs (resampled in the conform)",
                                    severity="warn"))
        return out


class Black(Check):
    name, about = "black", "share of frames that are black (mean luma and 98th percentile both dark)"
    params = {"max_fraction": 0.25, "mean_luma": 16.0, "peak_luma": 32.0}

    def run(self, sig, expect, p):
        if not len(sig.frames):
            return [self.finding(p, 0, 1, "no frames decoded")]
        black = black_frames(sig, p["mean_luma"], p["peak_luma"])
        share = float(black.mean())
        if share > p["max_fraction"]:
            first = int(np.argmax(black))
            return [self.finding(p, round(share, 3), p["max_fraction"], f"{share:.0%} of frames are black",
                                 at_s=first / sig.fps if sig.fps else None)]
        return []


class Frozen(Check):
    name = "frozen"
    about = ("where the camera moves: the share of frames repeating the one before (a freeze, or a "
             "slideshow of stills)")
    # static_warn: a share of repeated frames above which a static shot warns (off by default)
    params = {"max_still": 0.5, "still_change": 0.01, "static_warn": None}

    def run(self, sig, expect, p):
        diffs = frame_diffs(sig)[~black_frames(sig)[1:]]  # black is the black check's
        if not len(diffs):
            return []
        still = float((diffs < p["still_change"]).mean())
        if expect.moving_camera and still > p["max_still"]:
            return [self.finding(p, round(still, 3), p["max_still"],
                                 f"{still:.0%} of frames repeat the one before though the camera moves")]
        if not expect.moving_camera and p["static_warn"] is not None and still > p["static_warn"]:
            return [self.finding(p, round(still, 3), p["static_warn"], "the picture never changes (a still)",
                                 severity="warn")]
        return []


class NearStatic(Check):
    name, severity = "static", "warn"
    about = ("where the camera moves: the median change between frames half the clip apart "
             "(near-static). A warning by default: a pan across a plain sky changes little")
    params = {"min_motion": 1.5}

    def run(self, sig, expect, p):
        if not expect.moving_camera:
            return []
        motion = half_apart_change(sig, black_frames(sig))
        if motion is not None and motion < p["min_motion"]:
            return [self.finding(p, round(motion, 3), p["min_motion"],
                                 "the picture hardly changes though the camera moves (near-static)")]
        return []


def half_apart_change(sig: ClipSignals, black: np.ndarray) -> float | None:
    """Median mean-absolute luma change between frames half the clip apart (0..255), black frames
    left out: a camera move builds up over the clip (the animatic's slowest moves change the
    picture by 3 or more), a static shot hardly (its slate alone: under 1)."""
    lag = len(sig.frames) // 2
    if lag < 1:
        return None
    luma = sig.luma
    keep = ~(black[lag:] | black[:-lag])
    if not keep.any():
        return None
    return float(np.median(np.abs(luma[lag:][keep] - luma[:-lag][keep]).mean(axis=(1, 2))))


def flash_spans(mean_luma: np.ndarray, fps: float, jump: float) -> list[tuple[int, int]]:
    """(first, last) frame-change indices of each flash: brightness jumps by ``jump`` and comes
    back within a quarter second (a cut, or a light switched on, does not come back)."""
    d = np.diff(mean_luma)
    back = max(1, round(fps / 4))
    spans: list[tuple[int, int]] = []
    for i in np.flatnonzero(np.abs(d) > jump):
        if spans and i <= spans[-1][1]:
            continue  # inside the flash already found
        if i < back and not np.any(np.abs(d[:i]) > jump * 0.6):
            spans.append((0, int(i)))  # the clip opens inside a flash: this is its way back
            continue
        later = d[i + 1: i + 1 + back]
        returns = np.flatnonzero((np.sign(later) == -np.sign(d[i])) & (np.abs(later) > jump * 0.6))
        if len(returns):
            spans.append((int(i), int(i + 1 + returns[0])))
    return spans


class Flash(Check):
    name = "flash"
    about = "brightness flashes (up and back within 0.25 s); more than max_per_second in any second fails"
    params = {"jump": 40.0, "max_per_second": 3}

    def run(self, sig, expect, p):
        if not sig.fps or len(sig.frames) < 3:
            return []
        mean = sig.luma.mean(axis=(1, 2))
        hits = [a for a, _ in flash_spans(mean, sig.fps, p["jump"])]
        if not hits:
            return []
        window = max(1, round(sig.fps))
        worst = max(sum(1 for h in hits if s <= h < s + window) for s in hits)
        if worst > p["max_per_second"]:
            return [self.finding(p, worst, p["max_per_second"], f"{worst} flashes in one second (strobing)",
                                 at_s=hits[0] / sig.fps)]
        return [self.finding(p, len(hits), 0, f"{len(hits)} flash(es)", at_s=hits[0] / sig.fps, severity="warn")]


class InnerCut(Check):
    name, about = "cut", "a hard cut inside what should be one shot (colour histogram change between frames)"
    params = {"score": 0.45, "over_median": 4.0, "spike": 2.5}

    def run(self, sig, expect, p):
        if len(sig.frames) < 3:
            return []
        small = (sig.frames // 32).astype(np.int32)  # 8 levels per channel
        codes = small[..., 0] * 64 + small[..., 1] * 8 + small[..., 2]
        hists = np.stack([np.bincount(c.ravel(), minlength=512) for c in codes]).astype(np.float32)
        hists /= hists.sum(axis=1, keepdims=True)
        scores = 0.5 * np.abs(np.diff(hists, axis=0)).sum(axis=1)
        median = float(np.median(scores))
        mean = sig.luma.mean(axis=(1, 2))
        spans = flash_spans(mean, sig.fps or 24, 40.0)
        hold = max(1, round((sig.fps or 24) / 4))  # a cut stays cut for a quarter second at least
        for i in np.flatnonzero(scores > max(p["score"], p["over_median"] * median)):
            if any(a <= i <= b for a, b in spans) or i + 1 + hold > len(hists):
                continue  # a flash comes back; a cut does not (and one at the very end cannot be told)
            neighbours = [scores[j] for j in (i - 1, i + 1) if 0 <= j < len(scores)]
            if neighbours and max(neighbours) * p["spike"] > scores[i]:
                continue  # a fast dissolve changes over several frames; a cut in one
            after = 0.5 * np.abs(hists[i + 1: i + 1 + hold] - hists[i]).sum(axis=1)
            if after.min() < 0.7 * scores[i]:
                continue
            return [self.finding(p, round(float(scores[i]), 3), p["score"], "a hard cut inside the shot",
                                 at_s=(i + 1) / sig.fps if sig.fps else None)]
        return []


def _dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return -math.inf if rms <= 0 else 20 * math.log10(rms)


class AudioPresent(Check):
    name, about = "audio", "a sound track where native audio was asked"

    def run(self, sig, expect, p):
        if expect.audio and sig.audio is None:
            return [self.finding(p, "none", "a sound track", "no audio though native audio was asked")]
        return []


class Silence(Check):
    name, about = "silence", "the sound track is silent where native audio was asked (RMS in dBFS)"
    params = {"min_dbfs": -60.0}

    def run(self, sig, expect, p):
        if not expect.audio or sig.audio is None:
            return []
        level = _dbfs(sig.audio)
        if level < p["min_dbfs"]:
            shown = -200.0 if level == -math.inf else round(level, 1)
            return [self.finding(p, shown, p["min_dbfs"], "the sound is silent")]
        return []


class Clipping(Check):
    name, about = "clipping", "share of samples at full scale (the sound was clipped)"
    # after AAC a clipped wave overshoots and ripples around full scale: count from 0.98
    params = {"max_fraction": 0.001, "level": 0.98}

    def run(self, sig, expect, p):
        if sig.audio is None or not sig.audio.size:
            return []
        share = float((np.abs(sig.audio) >= p["level"]).mean())
        if share > p["max_fraction"]:
            return [self.finding(p, round(share, 5), p["max_fraction"], f"{share:.2%} of samples clipped")]
        return []


class FirstFrame(Check):
    name = "first_frame"
    about = "the clip opens on the frame a continuous cut must start on (PSNR at the QC size)"
    params = {"min_psnr": 24.0}

    def run(self, sig, expect, p):
        if not expect.first_frame or not len(sig.frames):
            return []
        h, w = sig.frames.shape[1:3]
        ref = load_image(expect.first_frame, (w, h)).astype(np.float64)
        mse = float(np.mean((sig.frames[0].astype(np.float64) - ref) ** 2))
        value = 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
        if value < p["min_psnr"]:
            return [self.finding(p, round(value, 2), p["min_psnr"], "does not open on the continuity frame", at_s=0.0)]
        return []


def colour_signature(rgb: np.ndarray) -> np.ndarray:
    """A 4x4x4 colour histogram (normalised): a cheap proxy for who or what is in the picture."""
    q = (rgb.reshape(-1, 3) // 64).astype(np.int32)
    hist = np.bincount(q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2], minlength=64).astype(np.float64)
    return hist / max(hist.sum(), 1.0)


class CastLook(Check):
    name, severity = "cast", "warn"
    about = ("the cast's reference colours present in the clip: the share of a reference image's "
             "pixels whose colour (4x4x4 bins) covers at least min_share of the clip's; a proxy, "
             "not a face or identity check")
    params = {"min_present": 0.5, "min_share": 0.001}

    def run(self, sig, expect, p):
        if not expect.cast_images or not len(sig.frames):
            return []
        h, w = sig.frames.shape[1:3]
        picks = sig.frames[np.linspace(0, len(sig.frames) - 1, num=min(8, len(sig.frames))).astype(int)]
        present = colour_signature(picks) >= p["min_share"]
        out = []
        for image in expect.cast_images:
            ref = colour_signature(load_image(image, (w, h)))
            share = float(ref[present].sum())
            if share < p["min_present"]:
                out.append(self.finding(p, round(share, 3), p["min_present"],
                                        f"few of the colours of {image.rsplit('/', 1)[-1]} appear"))
        return out
