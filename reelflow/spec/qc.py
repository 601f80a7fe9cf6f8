"""The shot list's `qc:` section (pure): per list, overridden per shot."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator

from reelflow.spec.schema_types import Strict

FlagStep = Literal["reseed", "fallback", "alternate_prompt"]
CheckSetting = Union[Literal["off", "warn", "fail"], dict[str, Union[float, int, str, None]]]


class QC(Strict):
    """Automatic checks of every clip before it is used (see README, "Quality control")."""

    rerolls: Annotated[int, Field(ge=0, le=5)] | None = None
    """Re-rolls with a new seed when a clip fails a `fail` check, per shot and tier; each is paid
    (within budget_usd), then the next fallback model; default 1."""
    on_flag: Annotated[list[FlagStep], Field(max_length=3)] | None = None
    """What to try, in order, when a provider's safety filter refuses a shot: reseed, fallback
    (the next model), alternate_prompt (the shot's own `alternate_prompt`; never a rewritten
    prompt); default [reseed, fallback]."""
    checks: Annotated[dict[str, CheckSetting], Field(max_length=50)] = {}
    """Per check (duration, size, black, frozen, static, flash, cut, audio, silence,
    clipping, first_frame, cast): off, warn, fail, or a mapping of its thresholds and severity, e.g.
    {frozen: {max_still: 0.6}, cast: off}; `reelflow qc --help` and the README list them."""

    @field_validator("checks", mode="before")
    @classmethod
    def _known(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, dict):
            return v  # the type's own error
        # the registered checks are the QC layer's: the loader passes their settings() in
        settings = (info.context or {}).get("qc_settings")

        # YAML reads a bare off/on as a boolean: off is off, on is the check's own severity
        v = {name: ("off" if s is False else {} if s is True else s) for name, s in v.items()}
        if settings is not None:
            settings(v)  # unknown checks or settings are errors, with the known ones named
        return v


DEFAULT_REROLLS = 1
DEFAULT_ON_FLAG: tuple[str, ...] = ("reseed", "fallback")


def effective(list_qc: QC, shot_qc: QC | None) -> tuple[int, tuple[str, ...], dict[str, Any]]:
    """(rerolls, on_flag, check overrides) for one shot: the shot's settings over the list's."""
    shot_qc = shot_qc or QC()
    rerolls = next((r for r in (shot_qc.rerolls, list_qc.rerolls) if r is not None), DEFAULT_REROLLS)
    on_flag = next((tuple(f) for f in (shot_qc.on_flag, list_qc.on_flag) if f is not None), DEFAULT_ON_FLAG)
    checks = {**list_qc.checks, **shot_qc.checks}
    return rerolls, on_flag, checks


def worst_case_usd(plan, shotlist) -> float:
    """The plan's cost if every clip failed QC and every re-roll were paid (fallbacks aside)."""
    by_id = {s.id: s for s in shotlist.shots}
    total = 0.0
    for sp in plan.shots:
        rerolls = effective(shotlist.qc, by_id[sp.shot_id].qc)[0]
        total += (sp.draft_cost + sp.final.cost) * (1 + rerolls)
    return round(total, 2)
