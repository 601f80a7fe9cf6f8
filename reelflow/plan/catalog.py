"""The model catalog: typed view over catalog.yaml (data users can edit without Python)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reelflow.errors import CatalogError

Status = Literal["available", "preview", "deprecated", "retired"]


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Lifecycle(Frozen):
    status: Status = "available"
    date: dt.date | None = None
    successor: str | None = None
    note: str | None = None

    def retired_on(self, today: dt.date) -> bool:
        """Retired once the status says so and its date (if any) has passed."""
        return self.status == "retired" and (self.date is None or self.date <= today)


class References(Frozen):
    """How many identity references one request takes, and what they cannot be combined with."""

    images: Annotated[int, Field(ge=0)] = 0
    videos: Annotated[int, Field(ge=0)] = 0
    audio: Annotated[int, Field(ge=0)] = 0
    note: str | None = None  # limits and exclusions, e.g. "8 s and 16:9 only; not with a first frame"


class Extension(Frozen):
    """Extending a clip: seconds added per call and the longest clip reachable."""

    step: Annotated[int, Field(ge=1)]
    total: Annotated[int, Field(ge=1)]
    routes: list[str] = []
    """Routes whose adapter sends the extension (the clip so far goes in, the longer clip comes
    back); empty: reelflow renders this model's long takes by last-frame continuation."""
    resolutions: list[int] = []
    """Resolutions the extension is offered at (empty: every one the model has)."""
    note: str | None = None


class DraftMode(Frozen):
    """A vendor-native draft of the same model (e.g. Seedance 2.5 `draft: true`), promotable to
    the final while it lives."""

    field: str
    resolution: int
    expires_days: Annotated[int, Field(ge=1)]
    note: str | None = None


class Evidence(Frozen):
    """One public data point behind a model's routing scores (an arena Elo per pool)."""

    pool: str  # e.g. "Artificial Analysis T2V", "LMArena I2V"
    elo: float | None = None
    rank: int | None = None
    as_of: dt.date
    source: str
    confidence: Literal["H", "M", "L"] = "L"

    def age_days(self, today: dt.date) -> int:
        return (today - self.as_of).days

    @property
    def prior(self) -> float | None:
        """The Elo scaled to a 0-10 prior (1000 -> 0, 1500 -> 10): what the arena alone says,
        before the per-kind adjustments the catalog states in `score_basis`."""
        return None if self.elo is None else round(min(10.0, max(0.0, (self.elo - 1000) / 50)), 1)


class DurationRange(Frozen):
    min: Annotated[int, Field(ge=1)]
    max: Annotated[int, Field(ge=1)]


class ModelRoute(Frozen):
    model_config = ConfigDict(extra="allow", frozen=True)
    id: str
    status: Status = "available"
    date: dt.date | None = None

    def retired_on(self, today: dt.date) -> bool:
        return self.status == "retired" and (self.date is None or self.date <= today)


class RouteInfo(Frozen):
    kind: Literal["local", "official", "aggregator"]
    env: list[str] = []
    any_env: bool = False
    """True: one of env is enough (e.g. an API key *or* a project); False: all are needed."""
    concurrency: Annotated[int, Field(ge=1)] = 2
    rpm: Annotated[int, Field(ge=0)] = 0
    retention_hours: float | None = None
    """How long the provider keeps a finished output: download before it closes."""
    source: str | None = None

    def configured(self, environ: dict[str, str]) -> bool:
        if not self.env:
            return True
        have = [bool(environ.get(name)) for name in self.env]
        return any(have) if self.any_env else all(have)


class MultiShot(Frozen):
    """Several shots in one call, each with its own prompt and length (Kling 3.0 `multi_prompt`)."""

    max_shots: Annotated[int, Field(ge=2, le=12)]
    routes: list[str]
    """Routes whose adapter sends the multi-shot request; elsewhere the group renders shot by shot."""
    note: str | None = None


class AudioInput(Frozen):
    """The model takes a driving audio track (lip sync, music-driven motion) through a field."""

    routes: list[str]
    """Routes whose input template sends it (`{driving_audio}`); elsewhere the lines are mixed only."""
    field: str
    note: str | None = None


class ModelSpec(Frozen):
    id: str
    name: str
    family: str
    tier: Literal["draft", "final", "upscale", "lipsync"]
    draft: str | None = None
    auto_route: bool = True
    durations: list[int] | DurationRange
    resolutions: Annotated[list[int], Field(min_length=1)]
    fps: Annotated[list[int], Field(min_length=1)]
    aspects: list[str]
    native_audio: bool
    image_to_video: bool
    price_per_second: dict[int, float]
    scores: dict[str, float] = {}
    strengths: list[str] = []
    routes: dict[str, ModelRoute]
    lifecycle: Lifecycle = Lifecycle()
    # capabilities beyond a plain text-to-video clip
    first_last_frame: bool = False
    references: References = References()
    extension: Extension | None = None
    draft_mode: DraftMode | None = None
    multi_shot: MultiShot | None = None
    audio_input: AudioInput | None = None
    price_per_second_silent: dict[int, float] = {}
    """$/s without native audio where the vendor prices it separately."""
    # where the facts and scores come from
    source: str | None = None
    checked: dt.date | None = None
    evidence: list[Evidence] = []
    score_basis: str | None = None
    """How the per-kind scores were set (what is evidence, what is a stated adjustment)."""

    @property
    def does(self) -> str:
        """What the entry makes: "video" (a draft or final generation tier, the only kind a shot's
        `model:`, `compare:` or a review answer may name), "upscale" or "lipsync"."""
        return "video" if self.tier in ("draft", "final") else self.tier

    def stale_evidence(self, today: dt.date, days: int = 90) -> bool:
        """No data point younger than ``days``: the scores may no longer reflect the field."""
        return not any(e.age_days(today) <= days for e in self.evidence)

    def evidence_note(self, today: dt.date) -> str:
        if not self.evidence:
            return "scores hand-set, no public evidence recorded"
        best = max(self.evidence, key=lambda e: e.as_of)
        what = f"{best.pool} " + (f"Elo {best.elo:g} (prior {best.prior:g}/10)" if best.elo is not None
                                  else f"#{best.rank}" if best.rank else "listed")
        stale = " (stale: older than 90 days)" if self.stale_evidence(today) else ""
        return f"evidence: {what} as of {best.as_of}{stale}"

    @property
    def max_duration(self) -> int:
        return self.durations.max if isinstance(self.durations, DurationRange) else max(self.durations)

    def clip_seconds(self, need: float) -> int | None:
        """Shortest length this model allows that covers ``need`` seconds (None if none does)."""
        if isinstance(self.durations, DurationRange):
            secs = max(self.durations.min, math.ceil(need - 1e-9))
            return secs if secs <= self.durations.max else None
        fits = [d for d in sorted(self.durations) if d >= need - 1e-9]
        return fits[0] if fits else None

    def resolution_for(self, short_side: int) -> int:
        """Smallest native resolution covering ``short_side``; else the largest it has."""
        fits = [r for r in sorted(self.resolutions) if r >= short_side]
        return fits[0] if fits else max(self.resolutions)

    def price(self, resolution: int) -> float:
        if resolution in self.price_per_second:
            return self.price_per_second[resolution]
        # nearest listed resolution at or above, else the top price
        above = [r for r in sorted(self.price_per_second) if r >= resolution]
        key = above[0] if above else max(self.price_per_second)
        return self.price_per_second[key]

    def describe_durations(self) -> str:
        if isinstance(self.durations, DurationRange):
            return f"{self.durations.min}-{self.durations.max}s"
        return "/".join(str(d) for d in self.durations) + "s"


class InputSchema(Frozen):
    """A route's documented input fields and the template mapping a request onto them (see
    providers.common.build_input). ``source`` says where the field list comes from."""

    fields: Annotated[list[str], Field(min_length=1)]
    template: dict[str, Any]
    source: str


class Catalog(Frozen):
    version: int = 1
    routes: dict[str, RouteInfo]
    route_preference: list[str]
    inputs: dict[str, InputSchema] = {}
    models: dict[str, ModelSpec]

    def route_extras(self, model_id: str, route: str) -> dict[str, Any]:
        """A model route's extras (mode, input template, documented fields) for the adapter."""
        mroute = self.models[model_id].routes[route]
        extras = {k: v for k, v in mroute.model_dump().items() if k not in ("id", "status", "date", "schema")}
        schema = (mroute.model_extra or {}).get("schema")
        if schema:
            spec = self.inputs[schema]
            template = {**spec.template, **(extras.get("input") or {})}  # a route may add constants (mode)
            extras.update(input=template, fields=list(spec.fields))
        return extras

    @model_validator(mode="before")
    @classmethod
    def _ids(cls, data):
        models = data.get("models") or {}
        for key, entry in models.items():
            if isinstance(entry, dict):
                entry.setdefault("id", key)
        return data

    @model_validator(mode="after")
    def _links(self) -> "Catalog":
        problems = []
        for mid, m in self.models.items():
            if m.draft and m.draft not in self.models:
                problems.append(f"{mid}: draft '{m.draft}' is not in the catalog")
            if m.lifecycle.successor and m.lifecycle.successor not in self.models:
                problems.append(f"{mid}: successor '{m.lifecycle.successor}' is not in the catalog")
            for r, mr in m.routes.items():
                if r not in self.routes:
                    problems.append(f"{mid}: route '{r}' is not declared under routes:")
                schema = (mr.model_extra or {}).get("schema")
                if schema and schema not in self.inputs:
                    problems.append(f"{mid}: route '{r}': input schema '{schema}' is not declared under inputs:")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self.models[model_id]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(model_id, list(self.models), n=3, cutoff=0.4)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise CatalogError(f"unknown model '{model_id}'{hint}") from None

    def successor_chain(self, model_id: str, today: dt.date) -> list[str]:
        """model, its successor, that one's successor ... stopping at a live model or a loop."""
        chain = [model_id]
        while True:
            m = self.models[chain[-1]]
            if not m.lifecycle.retired_on(today) or not m.lifecycle.successor:
                return chain
            if m.lifecycle.successor in chain:
                return chain
            chain.append(m.lifecycle.successor)
