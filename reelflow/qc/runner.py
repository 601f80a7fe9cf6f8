"""One decode, then every registered check: ``check_clip(path, expect, overrides)`` is what the
pipeline and ``reelflow qc`` call. The checks are pure (checks.py) and found under the
`reelflow.qc` entry point group like transitions and deliverables."""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from reelflow.plugins import load, targets
from reelflow.qc.checks import Check
from reelflow.qc.measure import ClipSignals, read_clip
from reelflow.qc.report import Expectation, Finding, QCReport

GROUP = "reelflow.qc"
VERSION = 8  # of the built-in measurements: stored reports of an older version are measured again


@lru_cache(maxsize=None)
def _load(name: str, target: str) -> Check:
    return load(target)()


def registered() -> dict[str, Check]:
    return {name: _load(name, target) for name, target in targets(GROUP).items()}


def settings(overrides: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Each check's parameters and severity: its defaults, then the shot list's overrides
    (a check set to ``off`` or ``{severity: off}`` is not run). Unknown names are errors."""
    checks = registered()
    out = {name: {"severity": c.severity, **c.params} for name, c in checks.items()}
    for name, value in (overrides or {}).items():
        if name not in checks:
            raise ValueError(f"unknown QC check '{name}' (known: {', '.join(sorted(checks))})")
        if value in ("off", False, None):
            out[name]["severity"] = "off"
            continue
        if value in ("warn", "fail"):
            out[name]["severity"] = value
            continue
        if not isinstance(value, Mapping):
            raise ValueError(f"QC check '{name}': expected off, warn, fail or a mapping of its settings, "
                             f"got {value!r}")
        bad = [k for k, v in value.items() if k != "severity" and not (v is None or isinstance(v, (int, float)))]
        if bad:
            raise ValueError(f"QC check '{name}': {bad[0]} must be a number")
        unknown = set(value) - set(out[name])
        if unknown:
            raise ValueError(f"QC check '{name}': unknown setting(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(out[name]))})")
        if value.get("severity", "fail") not in ("fail", "warn", "off"):
            raise ValueError(f"QC check '{name}': severity must be fail, warn or off")
        out[name].update(value)
    return out


def run_checks(sig: ClipSignals, expect: Expectation, overrides: Mapping[str, Any] | None = None) -> list[Finding]:
    found: list[Finding] = []
    checks = registered()
    for name, params in settings(overrides).items():
        if params["severity"] == "off":
            continue
        found.extend(checks[name].run(sig, expect, params))
    return found


def check_clip(path: str | Path, expect: Expectation | None = None, overrides: Mapping[str, Any] | None = None,
               *, sha256: str | None = None) -> QCReport:
    t0 = time.perf_counter()
    sig = read_clip(path)
    findings = run_checks(sig, expect or Expectation(), overrides)
    measured = {"seconds": round(sig.seconds, 3), "width": sig.width, "height": sig.height, "fps": sig.fps,
                "audio": sig.audio is not None, **sig.memo.get("measured", {})}  # what checks measured
    return QCReport(clip=Path(path).name, sha256=sha256, findings=tuple(findings), measured=measured,
                    seconds_spent=round(time.perf_counter() - t0, 3))


__all__ = ["check_clip", "run_checks", "settings", "registered", "GROUP"]
