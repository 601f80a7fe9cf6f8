"""The review gate: after the prototype, a person approves, rejects or rewrites shots in the
Prefect UI (a typed form built from the shot list), or a policy decides for unattended runs.

A form entry can never fail the run nor approve nothing silently: unknown ids or models, an empty
submission or a rewrite that cannot be routed pause the run again, with the problem at the top of
the next review artifact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from prefect.artifacts import create_markdown_artifact
from prefect.input import RunInput
from pydantic import Field, create_model

from reelflow.plan.review_groups import ReviewGroup


class ReviewInput(RunInput):
    """The form the Prefect UI shows on a paused render (choices are narrowed per shot list)."""

    approve_all: bool = Field(False, description="Approve every shot for its final render")
    approve: list[str] = Field(default_factory=list, description="Shot ids to approve (others stay drafts)")
    approve_groups: list[str] = Field(default_factory=list, description="Scenes (or pages) to approve whole")
    reject: list[str] = Field(default_factory=list, description="Shot ids to prototype again (a new take)")
    prompts: dict[str, str] = Field(default_factory=dict, description="shot id -> replacement prompt")
    models: dict[str, str] = Field(default_factory=dict, description="shot id -> replacement model id")
    takes: dict[str, int] = Field(default_factory=dict, description="shot id -> take number to render the final from")
    reviewer: str = Field("", description="Who reviewed")


def review_form(shot_ids: list[str], model_ids: list[str], group_names: list[str] = ()) -> type[ReviewInput]:
    """ReviewInput whose shot ids, groups and models are choices (drop-downs in the UI). The
    entries are still checked by `problems_in`, so a client that bypasses the schema cannot slip
    through."""
    shot = Literal.__getitem__(tuple(shot_ids))  # type: ignore[attr-defined]
    model = Literal.__getitem__(tuple(model_ids))  # type: ignore[attr-defined]
    groups = {}
    if group_names:
        group = Literal.__getitem__(tuple(group_names))  # type: ignore[attr-defined]
        groups["approve_groups"] = (list[group], Field(default_factory=list, description=(
            "Scenes (or pages) to approve whole: every shot in them renders its final")))
    return create_model(  # type: ignore[call-overload]
        "ReviewInput", __base__=ReviewInput, **groups,
        approve=(list[shot], Field(default_factory=list, description="Shot ids to approve (others stay drafts)")),
        reject=(list[shot], Field(default_factory=list, description="Shot ids to prototype again (a new take)")),
        prompts=(dict[shot, str], Field(default_factory=dict, description="shot id -> replacement prompt")),
        models=(dict[shot, model], Field(default_factory=dict, description="shot id -> replacement model id")),
        takes=(dict[shot, int], Field(default_factory=dict, description="shot id -> take number (1, 2, ...) to "
                                                                        "render the final from; picked without "
                                                                        "approving, the prototype is shown again "
                                                                        "with it (shots continuing it redrafted)")),
    )


def problems_in(answer: ReviewInput, shot_ids: list[str], model_ids: list[str],
                takes: dict[str, int] | None = None, group_names: list[str] = ()) -> list[str]:
    """Why a submitted form cannot be acted on (empty list: it can). ``takes``: how many takes
    each shot has."""
    known = set(shot_ids)
    problems = []
    bad_groups = [g for g in answer.approve_groups if g not in set(group_names)]
    if bad_groups:
        problems.append(f"approve_groups: unknown group {', '.join(map(repr, bad_groups))} "
                        f"(groups: {', '.join(group_names) or 'none'})")
    for shot_id, k in answer.takes.items():
        have = (takes or {}).get(shot_id, 1)
        if shot_id in known and not 1 <= k <= have:
            problems.append(f"takes: shot '{shot_id}' has {have} take(s); {k} is not one of them")
    for what, ids in (("approve", answer.approve), ("reject", answer.reject),
                      ("prompts", list(answer.prompts)), ("models", list(answer.models)), ("takes", list(answer.takes))):
        bad = [i for i in ids if i not in known]
        if bad:
            problems.append(f"{what}: unknown shot id {', '.join(map(repr, bad))} (shots: {', '.join(shot_ids)})")
    bad_models = sorted({m for m in answer.models.values() if m not in set(model_ids)})
    if bad_models:
        problems.append(f"models: unknown model {', '.join(map(repr, bad_models))} (see `reelflow models`)")
    blank = [i for i, p in answer.prompts.items() if not p.strip()]
    if blank:
        problems.append(f"prompts: empty prompt for {', '.join(blank)}")
    if not (answer.approve_all or answer.approve or answer.approve_groups or answer.reject or answer.prompts
            or answer.models or answer.takes):
        problems.append("empty submission: nothing was approved, rejected or chosen; tick approve_all, "
                        "or list shots (or approve_groups) to approve, or shots to reject, or pick takes")
    return problems


class ReviewTimeout(RuntimeError):
    """Nobody answered the review gate in time."""


@dataclass
class ShotReview:
    """One row of the review: what the reviewer sees for a shot."""

    shot_id: str
    prompt: str
    draft_by: str  # who actually rendered the draft, e.g. "animatic (for veo-3.1-fast)"
    final_model: str
    final_cost: float  # what approving it will cost with the keys configured now
    list_price: float = 0.0  # the intended model's price (what it costs once its key is set)
    changed: str = "first round"
    preview: str | None = None  # href: data: URI or http(s) URL
    takes: list[tuple[str, str | None]] = field(default_factory=list)  # (label, preview href) per take
    qc: str = ""  # the draft's QC findings (measured value, threshold) and the re-rolls paid


@dataclass
class ReviewPage:
    title: str
    round_no: int
    shots: list[ShotReview]
    prototype_href: str | None = None
    prototype_path: str = ""
    contact_sheet: str | None = None  # href
    spent: float = 0.0
    problems: list[str] = field(default_factory=list)
    takes_sheet: str | None = None  # href: a row per shot with several takes
    groups: list[ReviewGroup] = field(default_factory=list)  # scenes or pages; one group: a flat table
    qc_line: str = ""  # the drafts' QC counted (checked, kept failing, warnings, re-rolls)

    @property
    def approve_all_cost(self) -> float:
        return round(sum(s.final_cost for s in self.shots), 2)

    def markdown(self) -> str:
        lines = [f"# Review: {self.title} (round {self.round_no})", ""]
        if self.problems:
            lines += ["> **The last submission could not be used; nothing was approved:**", ">"]
            lines += [f"> - {p}" for p in self.problems] + [""]
        lines += [f"**Spent so far** ${self.spent:.2f}. **Approving all** renders {len(self.shots)} finals "
                  f"for ${self.approve_all_cost:.2f}.", ""]
        if self.qc_line:
            lines += [self.qc_line, ""]
        if self.prototype_href:
            lines += [f"Prototype edit: [{self.prototype_path or 'prototype.mp4'}]({self.prototype_href})", ""]
        elif self.prototype_path:
            lines += [f"Prototype edit: `{self.prototype_path}`", ""]
        if self.contact_sheet:
            lines += [f"![prototype contact sheet]({self.contact_sheet})", ""]
        if self.takes_sheet:
            lines += ["Takes to choose from (pick one per shot with **takes**):", "",
                      f"![takes side by side]({self.takes_sheet})", ""]
        by_id = {s.shot_id: s for s in self.shots}
        groups = self.groups if len(self.groups) > 1 else []
        if groups:
            lines += ["**Scenes** (approve one whole with **approve_groups**): " + " · ".join(
                f"{g.name} ({len(g.shot_ids)} shots, ${sum(by_id[i].final_cost for i in g.shot_ids if i in by_id):.2f})"
                for g in groups), ""]
            for g in groups:
                rows = [by_id[i] for i in g.shot_ids if i in by_id]
                lines += [f"## {g.label}: {len(rows)} shots, finals ${sum(r.final_cost for r in rows):.2f}", ""]
                lines += _table(rows) + [""]
        else:
            lines += _table(self.shots)
        lines += ["", "Resume the run with the form: **approve_all**, or list shots to **approve** "
                      + ("or scenes to approve whole with **approve_groups** " if groups else "") + "(the others "
                      "keep their drafts) or **reject** (a new take), or give a new **prompt** or **model** for "
                      "a shot (it is prototyped again and you review again); for a shot with several takes, pick the "
                      "**takes** number its final renders from."]
        return "\n".join(lines)

    def publish(self, key: str) -> None:
        create_markdown_artifact(key=key, markdown=self.markdown(),
                                 description=f"Prototype round {self.round_no} ready for review")


def _table(shots: list[ShotReview]) -> list[str]:
    lines = ["| shot | preview | final $ | draft rendered by | final model | QC | changed | prompt |",
             "|---|---|---|---|---|---|---|---|"]
    for s in shots:
        preview = (f'<video src="{s.preview}" width="192" controls muted loop playsinline preload="metadata"></video>'
                   if s.preview else "")
        if s.takes:
            preview = "<br>".join(f'{label}<br><video src="{href}" width="192" controls muted loop playsinline '
                                  f'preload="metadata"></video>' for label, href in s.takes if href)
        cost = f"{s.final_cost:.2f}" + (f" (list {s.list_price:.2f})" if s.list_price != s.final_cost else "")
        lines.append(f"| {s.shot_id} | {preview} | {cost} | {s.draft_by} | {s.final_model} | "
                     f"{_cell(s.qc, 160)} | {s.changed} | {_cell(s.prompt, 90)} |")
    return lines


def _cell(text: str, limit: int) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def wait_for_review(form: type[ReviewInput], timeout: int, mode: str = "pause",
                    poll_interval: int = 2) -> ReviewInput:
    """Pause (keeps the worker) or suspend (frees it; the run restarts from the top with its
    cached tasks when resumed) until the form is submitted."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    try:
        if mode == "suspend":
            return suspend_flow_run(wait_for_input=form, timeout=timeout)
        return pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll_interval)
    except (TimeoutError, FlowPauseTimeout):
        raise ReviewTimeout(f"no review within {timeout}s: the prototype is in the run's artifacts; "
                            f"re-run with approval='all' or resume faster") from None
