"""What a clip is expected to be, what QC found, and the limits it judged by (pure)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Severity = Literal["fail", "warn", "off"]


class Expectation(BaseModel):
    """What was asked of the clip: the request's duration, size, rate and sound, whether the
    camera moves, the frame a continuous cut must start on, the cast's reference images."""

    model_config = ConfigDict(frozen=True)

    seconds: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    audio: bool = False  # native audio was asked
    moving_camera: bool = False
    first_frame: str | None = None  # path of the image the clip must open on
    cast_images: tuple[str, ...] = ()
    mouth: tuple[float, float, float, float] | None = None  # where a speaking mouth is (fractions of the frame)
    speech_audio: str | None = None  # the dialogue track the mouth must follow (else the clip's own sound)


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    severity: Literal["fail", "warn"]
    value: float | str
    threshold: float | str
    message: str
    at_s: float | None = None  # where in the clip, when it is a moment

    def line(self) -> str:
        at = f" at {self.at_s:.2f}s" if self.at_s is not None else ""
        return f"{self.severity}: {self.check}{at}: {self.message} (measured {_fmt(self.value)}, " \
               f"threshold {_fmt(self.threshold)})"


class QCReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    clip: str  # the file's name (never a path: reports travel into artifacts)
    sha256: str | None = None
    findings: tuple[Finding, ...] = ()
    measured: dict[str, Any] = {}
    seconds_spent: float = 0.0

    @property
    def failed(self) -> bool:
        return any(f.severity == "fail" for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "fail"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warn"]

    def summary(self) -> str:
        """"passed", or e.g. "failed: frozen; warnings: duration, size"."""
        fails = ", ".join(f.check for f in self.failures)
        warns = ", ".join(dict.fromkeys(f.check for f in self.warnings))
        if not fails and not warns:
            return "passed"
        if not fails:
            return f"passed; warnings: {warns}"
        return f"failed: {fails}" + (f"; warnings: {warns}" if warns else "")


def _fmt(v: float | str) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)
