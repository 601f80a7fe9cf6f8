"""Nightly: render every shot list whose output would change.

A list is rendered when the content that determines its output differs from what its last final
render recorded (the shot list's bytes, the bytes of every asset it uses, the routing decision:
see reelflow/load/fingerprint.py), or when it has no final render yet. No git history is needed, so a
shallow clone (Prefect's git_clone) decides correctly. Unchanged lists are skipped with the
reason logged; the run is named after what it rendered and publishes a summary artifact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from reelflow import providers
from reelflow.load.catalog_file import load_catalog
from reelflow.runtime.config import output_dir
from reelflow.errors import ReelflowError
from reelflow.load.fingerprint import read_manifest, render_inputs, what_changed
from reelflow.flows.render import render_shotlist
from reelflow.plan.routing import plan_shotlist
from reelflow.load.loader import load_shotlist


def shotlist_files(folder: Path) -> list[Path]:
    return sorted(p for pattern in ("*.yaml", "*.yml") for p in folder.glob(pattern) if p.is_file())


@task(name="decide-renders", cache_policy=NO_CACHE)
def decide(folder: str, out: str, catalog: str | None, today: dt.date) -> list[dict]:
    """[{path, render, reason}] for every shot list under ``folder``."""
    cat = load_catalog(catalog)
    decisions = []
    for path in shotlist_files(Path(folder)):
        try:
            loaded = load_shotlist(path)
            plan = plan_shotlist(loaded.spec, cat, today, providers.reach_of(cat))
            inputs = render_inputs(loaded, plan, lambda m: plan.route_of(m, cat, today).route)
        except ReelflowError as exc:
            decisions.append({"path": str(path), "render": False, "reason": f"invalid: {exc}"})
            continue
        last = read_manifest(Path(out) / f"{path.stem}.manifest.json")
        if last is None:
            render, reason = True, "never rendered"
        elif last.get("status") != "final":
            render, reason = True, "last render was not final"
        else:
            changes = what_changed(last.get("inputs"), inputs)
            render, reason = bool(changes), "; ".join(changes) or "unchanged since its last final render"
        decisions.append({"path": str(path), "render": render, "reason": reason})
    return decisions


@task(name="lifecycle-check", cache_policy=NO_CACHE)
def lifecycle_check(folder: str, catalog: str | None, today: dt.date, days: int) -> list[dict]:
    """Publish every committed shot list a deprecation or retirement in the next ``days``
    touches (the same list `reelflow models --check` prints)."""
    from reelflow.load.validate import lifecycle_report

    rows = lifecycle_report([folder], load_catalog(catalog), today, days)
    create_table_artifact(key="lifecycle-check", table=[
        {"shot list": r["shotlist"], "shot": r["shot"], "model": r["model"],
         "pinned": r["pinned"], "event": r["event"], "successor": r["successor"], "what to do": r["message"]}
        for r in rows] or [{"shot list": "(none)", "what to do": f"no lifecycle event in the next {days} days"}],
        description=f"Lifecycle events in the next {days} days as of {today}: "
                    f"{len({r['shotlist'] for r in rows})} shot list(s) affected")
    return rows


def generated(manifest: dict) -> int:
    """Clips this render paid for or made (not cache hits)."""
    return sum(1 for s in manifest.get("shots", []) for t in ("draft", "final")
               if s.get(t) and not s[t].get("cache_hit"))


def _rename(what: list[str], skipped: int) -> None:
    """Name the run after what it rendered, so the runs list reads as a history."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    if not flow_run.id:
        return
    name = f"nightly {dt.date.today()}: " + (", ".join(what) if what else "nothing to render")
    name += f" (skipped {skipped})" if skipped else ""
    with get_client(sync_client=True) as client:
        client.update_flow_run(flow_run.id, name=name[:200])


@flow(name="nightly")
def nightly(shotlists: str = "shotlists", out_dir: str | None = None, approval: str = "all",
            store_dir: str | None = None, review_timeout: int = 3600, catalog: str | None = None,
            lifecycle_days: int = 30) -> list[dict]:
    """Render what changed; return [{path, render, reason, status, clips_generated, cost_usd}].
    out_dir / store_dir default to REELFLOW_OUT / REELFLOW_STORE. The approval policy is `all`
    (auto-approve) or `review` (pause for the UI, failing clearly after review_timeout)."""
    logger = get_run_logger()
    out = output_dir(out_dir)
    results = []
    for row in lifecycle_check(shotlists, catalog, dt.date.today(), lifecycle_days):
        logger.warning("%s: shot '%s': %s", row["shotlist"], row["shot"], row["message"])
    for item in decide(shotlists, str(out), catalog, dt.date.today()):
        if not item["render"]:
            logger.info("skipping %s: %s", item["path"], item["reason"])
            results.append({**item, "status": "skipped", "clips_generated": 0, "cost_usd": 0.0})
            continue
        logger.info("rendering %s (%s)", item["path"], item["reason"])
        try:
            manifest = render_shotlist(item["path"], out_dir=str(out), approval=approval, store_dir=store_dir,
                                       review_timeout=review_timeout, catalog=catalog)
        except Exception as exc:  # noqa: BLE001 - one failing list must not stop the others
            logger.error("%s failed: %s", item["path"], exc)
            results.append({**item, "status": f"failed: {exc}", "clips_generated": 0, "cost_usd": 0.0})
            continue
        results.append({**item, "status": manifest["status"], "clips_generated": generated(manifest),
                        "cost_usd": manifest["cost"]["actual_usd"]})
    rendered = [Path(r["path"]).stem for r in results if r["render"]]
    create_table_artifact(key="nightly-summary", table=[
        {"shot list": r["path"], "rendered": r["render"], "status": r["status"],
         "clips generated": r["clips_generated"], "cost $": r["cost_usd"], "why": r["reason"]} for r in results],
        description=f"Nightly: rendered {len(rendered)}, skipped {len(results) - len(rendered)}")
    _rename(rendered, len(results) - len(rendered))
    failed = [r for r in results if r["status"].startswith("failed")]
    if failed:
        raise RuntimeError(f"{len(failed)} shot list(s) failed: {', '.join(r['path'] for r in failed)}")
    return results
