"""The render flow: shot list -> routed -> prototyped -> reviewed -> final -> finished edit.

    load + validate -> route -> draft every shot -> prototype edit -> review gate
    -> final renders -> upscale, conform, mix, export -> versions and companions -> manifest
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from prefect import flow, get_run_logger

from reelflow.plan.budget import Budget
from reelflow.runtime.config import output_dir, refuse_ephemeral, store_dir as resolve_store, writable_dir
from reelflow.edit.edit import Edit
from reelflow.errors import InputError
from reelflow.load.fingerprint import render_inputs
from reelflow.flows.artifacts import Progress, plan_table, summary
from reelflow.flows.finish import Finished, deliver, finish
from reelflow.flows.gate import prototype, review
from reelflow.flows.outputs import edit_player, links_for, publish_outputs, summary_sheet
from reelflow.flows.runtime import results_storage, run_name, task_runner
from reelflow.flows.tiers import RenderRun, render_tier
from reelflow.runtime.limits import ensure_provider_limits
from reelflow.edit.manifest import build_manifest
from reelflow.store.local import Store, sweep_partials, write_json_atomic
from reelflow.plan.takes import parse_picks
from reelflow.tasks.generation import load, route

Approval = Literal["all", "prototype-only", "listed", "review"]


@flow(name="render-shotlist", flow_run_name=run_name, task_runner=task_runner())
def render_shotlist(shotlist: str, out_dir: str | None = None, approval: Approval = "all",
                    approve: list[str] | None = None, store_dir: str | None = None,
                    catalog: str | None = None, today: dt.date | None = None,
                    review_timeout: int = 3600, review_mode: Literal["pause", "suspend"] = "pause",
                    takes: dict[str, int] | None = None) -> dict:
    """Render a shot list into ``<out>/<stem>.mp4`` plus ``<stem>.manifest.json``.

    out_dir / store_dir default to REELFLOW_OUT / REELFLOW_STORE (then ./out and <repo>/.reelflow);
    a deployed run refuses to write inside the checkout its worker deletes.
    approval: ``all`` renders every final; ``prototype-only`` stops after the prototype edit;
    ``listed`` renders finals only for the shot ids in ``approve`` (others stay drafts);
    ``review`` pauses for a person's decision in the Prefect UI (see flows/review.py).
    takes: {shot id: take number (1-based)} for shots with several takes; the final renders from it.
    """
    run = start(shotlist, out_dir, store_dir, catalog, today or dt.date.today(), approval)
    edit = Edit.planned(run.loaded, run.plan).choose(parse_picks(takes, run.plan))
    if approval == "listed" and set(approve or []) - set(edit.ids):
        raise InputError(f"--approve names unknown shots: {', '.join(sorted(set(approve or []) - set(edit.ids)))}")
    edit = render_tier(run, edit, "draft", edit.ids)
    proto = prototype(run, edit)
    edit = edit.approve({"all": edit.ids, "listed": approve or []}.get(approval, []))
    if approval == "review":
        reviewed, proto = review(run, edit, proto, timeout=review_timeout, mode=review_mode)
        run, edit = reviewed.run, reviewed.edit
    final = delivered = None
    if approval != "prototype-only":
        edit = render_tier(run, edit, "final", list(edit.approved))
        final = finish(run, edit, "final", publish_as=f"{run.loaded.stem}.mp4")
        edit = final.edit  # as cut: the bed fitted, cuts moved onto its beats
        delivered = deliver(run, edit, final)
    else:
        edit = proto.edit
    return write_manifest(run, edit, proto, final, delivered)


def start(shotlist: str, out_dir: str | None, store_dir: str | None, catalog: str | None, today: dt.date,
          approval: str) -> RenderRun:
    """Load, check where outputs go, sweep what a crash left, route, and make sure each
    provider's Prefect limits exist."""
    from prefect.runtime import deployment

    logger = get_run_logger()
    loaded = load(shotlist)
    if loaded.spec.audio.cut_on_beat:  # before anything is paid for, not at the finishing
        from reelflow.media.beats import librosa_or_error

        librosa_or_error()
    out, store_root = output_dir(out_dir), resolve_store(store_dir, loaded.repo_root)
    if deployment.id:
        refuse_ephemeral(loaded.repo_root, out, store_root)
    writable_dir(out, "output folder")
    store = Store(store_root)
    swept = store.sweep() + sweep_partials(out)
    if swept:
        logger.info("removed %d partial file(s) left by an interrupted run", swept)
    plan, cat = route.with_options(result_storage=results_storage(store))(loaded, catalog, today)
    for sp in plan.shots:
        logger.info("route %s: %s (draft %s) - %s", sp.shot_id, sp.model, sp.draft_model, sp.reason)
    routes = {plan.route_of(m, cat, today).route
              for sp in plan.shots for m in (sp.model, sp.draft_model, *sp.fallbacks)}
    ensure_provider_limits(cat, routes)
    plan_table(loaded.stem, plan)
    progress = Progress(loaded.stem, len(plan.shots), 1 if approval == "prototype-only" else 2)
    return RenderRun(loaded, plan, cat, store, out, today, Budget(plan.budget_usd), progress, links_for(store),
                     catalog)


def write_manifest(run: RenderRun, edit: Edit, proto: Finished, final: Finished | None,
                   delivered: dict | None) -> dict:
    """The manifest beside the edit, the summary artifact and the plan with actual costs."""
    facts = lambda f: f and {**f.exported.model_dump(mode="json"), "published": str(f.published)}  # noqa: E731
    outputs = {"final": facts(final), "prototype": facts(proto), "mix": (final or proto).mix.model_dump(mode="json"),
               "deliverables": delivered}
    manifest = build_manifest(run.loaded, run.plan, edit, outputs).model_dump(mode="json")
    from reelflow.flows.voice_report import voice_report

    voices = voice_report(run, edit)  # each character's lines against each other's, measured
    if voices:
        manifest.setdefault("sound", {})["voices"] = voices
    route_of = lambda m: run.plan.route_of(m, run.cat, run.today).route  # noqa: E731
    manifest.update(inputs=render_inputs(run.loaded, run.plan, route_of), out_dir=str(run.out),
                    store=str(run.store.root), checkout=str(run.loaded.repo_root))
    manifest["published"] = publish_outputs(run, manifest, edit)
    path = run.out / f"{run.loaded.stem}.manifest.json"
    write_json_atomic(path, manifest)
    summary(run.loaded.stem, manifest, manifest["published"]["hrefs"], summary_sheet(run, manifest),
            edit_player(run, manifest))
    plan_table(run.loaded.stem, run.plan, manifest)  # the plan again, now with actual cost and cache hits
    get_run_logger().info("wrote %s", path)
    return manifest


if __name__ == "__main__":
    import sys

    render_shotlist(sys.argv[1], *(sys.argv[2:3]))
