"""The review gate: after the prototype, a person approves, rejects or rewrites shots in the
Prefect UI (a typed RunInput form), or a policy decides for unattended runs."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import create_markdown_artifact
from prefect.input import RunInput
from pydantic import Field


class ReviewInput(RunInput):
    """The form the Prefect UI shows on a paused render."""

    approve_all: bool = Field(False, description="Approve every shot for its final render")
    approve: list[str] = Field(default_factory=list, description="Shot ids to approve")
    reject: list[str] = Field(default_factory=list, description="Shot ids to prototype again")
    prompts: dict[str, str] = Field(default_factory=dict, description="shot id -> replacement prompt")
    models: dict[str, str] = Field(default_factory=dict, description="shot id -> replacement model id")
    reviewer: str = Field("", description="Who reviewed")


class ReviewTimeout(RuntimeError):
    """Nobody answered the review gate in time."""


def prototype_artifact(stem: str, manifest_like: dict, proto_path: Path, sheet: Path | None, round_no: int) -> None:
    lines = [f"# Review: {manifest_like['title']} (round {round_no})", "",
             f"Prototype edit: [{proto_path.name}]({proto_path.resolve().as_uri()})", ""]
    if sheet is not None and sheet.is_file():
        lines += [f"![prototype contact sheet]({sheet.resolve().as_uri()})", ""]
    lines += ["| shot | draft clip | draft model | intended final | prompt |", "|---|---|---|---|---|"]
    for s in manifest_like["shots"]:
        clip = f"[{Path(s['clip']).name[:12]}]({Path(s['clip']).resolve().as_uri()})" if s.get("clip") else ""
        lines.append(f"| {s['id']} | {clip} | {s['draft_model']} | {s['model']} | {s['prompt'][:100]} |")
    lines += ["", "Resume this run with the form: approve all, approve or reject shots by id, or give a new "
                  "prompt or model for a shot (it is prototyped again)."]
    create_markdown_artifact(key=f"{stem}-review".lower().replace("_", "-"), markdown="\n".join(lines),
                             description="Prototype ready for review")


def wait_for_review(timeout: int, mode: str = "pause", poll_interval: int = 2) -> ReviewInput:
    """Pause (keeps the worker) or suspend (frees it; the run restarts from the top with its
    cached tasks when resumed) until the form is submitted."""
    from prefect.exceptions import FlowPauseTimeout
    from prefect.flow_runs import pause_flow_run, suspend_flow_run

    try:
        if mode == "suspend":
            return suspend_flow_run(wait_for_input=ReviewInput, timeout=timeout)
        return pause_flow_run(wait_for_input=ReviewInput, timeout=timeout, poll_interval=poll_interval)
    except (TimeoutError, FlowPauseTimeout):
        raise ReviewTimeout(f"no review within {timeout}s: the prototype is in the run's artifacts; "
                            f"re-run with approval='all' or resume faster") from None
