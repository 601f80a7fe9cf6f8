"""`reelflow` command line: validate, plan, render, models, schema."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reelflow.runtime.orphans import start_for
from reelflow import providers
from reelflow.load.catalog_file import load_catalog
from reelflow.errors import EXIT_BUDGET, EXIT_INTERRUPTED, EXIT_INVALID, InputError, ReelflowError, one_line

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Shot list in git -> routed, prototyped, rendered, finished AI video edit.")
from reelflow.cli.render import _ask_for_approval, _hint, _prefect_env, _run_flow  # noqa: E402
from reelflow.cli.terminal import err, out, say as _say  # noqa: E402
from reelflow.cli.terminal import fail as _fail  # noqa: E402
from reelflow.cli.qc import qc as qc_command  # noqa: E402
from reelflow.cli.signals import _stop_on_signals, _stop_provider_calls, end_interrupted  # noqa: E402


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="Show tracebacks and Prefect's own log lines.")):
    if debug:
        os.environ["REELFLOW_DEBUG"] = "1"




def _today(date: Optional[str]) -> dt.date:
    if not date:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(date)
    except ValueError:
        raise _fail(InputError(f"--date must be YYYY-MM-DD, got {date!r}")) from None


def _catalog(path: Optional[str]):
    try:
        return load_catalog(path)
    except (ReelflowError, OSError) as exc:
        raise _fail(exc if isinstance(exc, ReelflowError) else InputError(f"catalog {path}: {one_line(exc)}")) from None


@app.command()
def validate(paths: list[Path] = typer.Argument(..., help="Shot-list files or folders."),
             catalog: Optional[str] = typer.Option(None, help="Catalog overlay YAML."),
             date: Optional[str] = typer.Option(None, help="Evaluate model lifecycles on this date.")):
    """Check shot lists (schema, assets, transitions, routing). Exit 1 on any error."""
    from reelflow.load.validate import check_shotlist, find_shotlists, lifecycle_warnings

    cat = _catalog(catalog)
    today = _today(date)
    failed = 0
    try:
        files = find_shotlists([str(p) for p in paths])
    except OSError as exc:
        raise _fail(InputError(one_line(exc))) from None
    if not files:
        _say("error: no shot lists found")
        raise typer.Exit(EXIT_INVALID)
    for f in files:  # every file is reported, whatever happened to the one before
        try:
            loaded, plan = check_shotlist(f, cat, today, providers.reach_of(cat))
        except ReelflowError as exc:
            failed += 1
            for line in str(exc).splitlines():
                _say(line)
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must not hide the other files
            failed += 1
            _say(f"{f}: internal error: {one_line(exc)}")
            continue
        total = sum(s.duration for s in loaded.spec.shots)
        out.print(f"ok {f} ({len(loaded.spec.shots)} shots, {total:g}s of shots)", markup=False,
                  highlight=False)
        for warning in plan.notes:
            _say(f"{f}: note: {warning}")
        for warning in lifecycle_warnings(loaded, plan, cat, today):
            _say(warning)
    raise typer.Exit(EXIT_INVALID if failed else 0)


@app.command()
def plan(path: Path, as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
         catalog: Optional[str] = typer.Option(None, help="Catalog overlay YAML."),
         date: Optional[str] = typer.Option(None, help="Evaluate model lifecycles on this date."),
         otio_out: Optional[Path] = typer.Option(None, "--otio", help="Also write the planned edit as OpenTimelineIO "
                                                                     "(shots at their places, media missing)."),
         store: Optional[str] = typer.Option(None, help="Store whose native drafts to check for expiry "
                                                        "[env REELFLOW_STORE; default <repo>/.reelflow].")):
    """Show the routing table: model per shot, why, draft model and estimated costs."""
    from reelflow.load.validate import check_shotlist, lifecycle_warnings

    cat = _catalog(catalog)
    today = _today(date)
    try:
        loaded, pl = check_shotlist(path, cat, today, providers.reach_of(cat))
    except ReelflowError as exc:
        raise _fail(exc) from None
    warnings = lifecycle_warnings(loaded, pl, cat, today)
    from reelflow.runtime.config import store_dir
    from reelflow.generation.drafts import draft_warnings
    from reelflow.store.local import Store

    folder = store_dir(store, loaded.repo_root)
    warnings += draft_warnings(pl, cat, Store(folder)) if (folder / "clips").is_dir() else []
    if otio_out:
        import opentimelineio as otio

        from reelflow.deliver.nle import planned_otio
        from reelflow.edit.edit import Edit

        otio.adapters.write_to_file(planned_otio(Edit.planned(loaded, pl)), str(otio_out))
    rows = []
    for sp in pl.shots:
        res = sp.route
        rows.append({
            "shot": sp.shot_id, "kind": sp.kind, "model": sp.model, "preferred": sp.preferred,
            "draft_model": sp.draft_model, "route": res.route, "route_note": res.note,
            "draft_route": sp.draft_route.route,
            "reason": sp.reason, "fallbacks": sp.fallbacks,
            "final": sp.final.model_dump(), "draft": sp.draft.model_dump(), "continuity": sp.continuity,
            "takes": [o.model_dump(include={"label", "model", "seed"}) for o in sp.options],
            "prototype_cost_usd": sp.draft_cost, "final_cost_usd": sp.final.cost, "group": sp.group,
        })
    from reelflow.spec.qc import worst_case_usd

    worst = worst_case_usd(pl, loaded.spec)
    if as_json:
        print(json.dumps({"shotlist": str(path), "shots": rows, "prototype_cost_usd": pl.draft_cost,
                          "final_cost_usd": pl.final_cost, "total_cost_usd": pl.total_cost,
                          "worst_case_usd": worst,
                          "budget_usd": pl.budget_usd, "over_budget": pl.over_budget,
                          "groups": [g.model_dump() for g in pl.groups],
                          "notes": pl.notes, "warnings": warnings}, indent=2))
        return
    t = Table(title=escape(f"{loaded.spec.title} ({path})"), show_lines=False)  # user text is not markup
    for col in ("shot", "kind", "model", "draft", "clip", "reason", "proto $", "final $"):
        t.add_column(col, overflow="fold")
    for r, sp in zip(rows, pl.shots):
        t.add_row(r["shot"], r["kind"], f"{r['model']} @{r['route']}", f"{r['draft_model']} @{r['draft_route']}",
                  escape(sp.clip_note), escape(r["reason"] + (f" [{r['route_note']}]" if r["route_note"] else "")),
                  f"{sp.draft_cost:.2f}", f"{sp.final.cost:.2f}")
    out.print(t)
    budget = f" / budget ${pl.budget_usd:g}" if pl.budget_usd is not None else ""
    out.print(f"prototype ${pl.draft_cost:.2f} + final ${pl.final_cost:.2f} = "
              f"[bold]${pl.total_cost:.2f}[/]{budget}; worst case with every QC re-roll paid ${worst:.2f}")
    for g in pl.groups:
        out.print(f"[cyan]group:[/] {escape(g.reason)}")
    for n in pl.notes:
        out.print(f"[yellow]note:[/] {escape(n)}")
    for w in warnings:
        _say(w)


@app.command()
def models(ids: Optional[list[str]] = typer.Argument(None, help="Model ids: show each one in full (source, checked, scores' evidence)."),
           as_json: bool = typer.Option(False, "--json"),
           catalog: Optional[str] = typer.Option(None, help="Catalog overlay YAML."),
           date: Optional[str] = typer.Option(None, help="Evaluate lifecycles on this date."),
           check: list[Path] = typer.Option([], "--check", help="Shot lists or folders: list every one a "
                                                                "lifecycle event in the next --days touches."),
           days: int = typer.Option(30, help="Window for --check, in days.")):
    """List the model catalog with lifecycle status, limits and prices (or, with --check, the
    shot lists affected by deprecations and retirements)."""
    cat = _catalog(catalog)
    today = _today(date)
    if check:
        return _lifecycle_check(check, cat, today, days, as_json)
    if as_json:
        chosen = {k: m for k, m in cat.models.items() if not ids or k in ids}
        print(json.dumps({k: m.model_dump(mode="json") for k, m in chosen.items()}, indent=2))
        return
    if ids:
        from reelflow.cli.models import model_details

        try:
            return model_details(cat, ids, today)
        except InputError as exc:
            raise _fail(exc) from None
    t = Table(title=f"reelflow model catalog (as of {today})")
    for col in ("id", "family", "tier", "status", "durations", "res", "fps", "audio", "$/s", "routes", "checked"):
        t.add_column(col, overflow="fold")
    for m in cat.models.values():
        lc = m.lifecycle
        status = lc.status + (f" {lc.date}" if lc.date and lc.status != "available" else "")
        if lc.retired_on(today) and lc.successor:
            status += f" -> {lc.successor}"
        style = "dim" if lc.retired_on(today) else None
        prices = ", ".join(f"{r}p {p:.3f}" for r, p in sorted(m.price_per_second.items()))
        routes = ", ".join(r + ("(retired)" if mr.retired_on(today) else "") for r, mr in m.routes.items())
        t.add_row(m.id, m.family, m.tier, status, m.describe_durations(),
                  "/".join(f"{r}" for r in m.resolutions), "/".join(map(str, m.fps)),
                  "yes" if m.native_audio else "no", prices, routes, str(m.checked or "-"), style=style)
    out.print(t)


def _lifecycle_check(paths: list[Path], cat, today: dt.date, days: int, as_json: bool) -> None:
    from reelflow.plan.lifecycle import upcoming
    from reelflow.load.validate import lifecycle_report

    try:
        rows = lifecycle_report([str(p) for p in paths], cat, today, days)
    except OSError as exc:
        raise _fail(InputError(one_line(exc))) from None
    events = upcoming(cat, today, days)
    if as_json:
        print(json.dumps({"as_of": str(today), "days": days, "events": [{"model": m, "event": e} for m, e in events],
                          "affected": rows}, indent=2))
        return
    for m, e in events:
        _say(f"catalog: {m} {e}")
    for r in rows:
        who = f"shot '{r['shot']}': " if r["shot"] else ""
        out.print(f"{r['shotlist']}: {who}{r['message']}", markup=False, highlight=False)
    lists = len({r["shotlist"] for r in rows})
    _say(f"{lists} shot list(s) affected by lifecycle events in the next {days} days (as of {today})")


@app.command()
def schema():
    """Print the shot-list JSON Schema (for editor autocompletion)."""
    from reelflow.load.loader import json_schema

    print(json.dumps(json_schema(), indent=2))


@app.command()
def render(path: Path,
           out_dir: Optional[Path] = typer.Option(None, "--out", help="Where the edit and manifest go "
                                                                     "[env REELFLOW_OUT; default ./out]."),
           approve_all: bool = typer.Option(False, "--approve-all", help="Approve every prototype (unattended)."),
           prototype_only: bool = typer.Option(False, "--prototype-only", help="Stop after the prototype edit."),
           approve: list[str] = typer.Option([], "--approve", help="Approve one shot id (repeatable)."),
           take: list[str] = typer.Option([], "--take", help="SHOT=N: render the final from take N (repeatable)."),
           store: Optional[str] = typer.Option(None, help="Asset store / cache folder (default <repo>/.reelflow)."),
           catalog: Optional[str] = typer.Option(None, help="Catalog overlay YAML."),
           date: Optional[str] = typer.Option(None, help="Evaluate model lifecycles on this date.")):
    """Render a shot list: prototypes, review, finals, finishing, export."""
    from reelflow.load.validate import check_shotlist

    if approve_all and prototype_only:
        raise _fail(InputError("--approve-all and --prototype-only exclude each other"))
    cat = _catalog(catalog)
    today = _today(date)
    try:
        loaded, pl = check_shotlist(path, cat, today, providers.reach_of(cat))
        unknown = [a for a in approve if a not in {s.id for s in loaded.spec.shots}]
        if unknown:
            raise InputError(f"--approve names no shot of {path}: {', '.join(unknown)} "
                             f"(shots: {', '.join(s.id for s in loaded.spec.shots)})")
        from reelflow.plan.takes import parse_picks

        picks = {k: v + 1 for k, v in parse_picks(take, pl).items()}
        from reelflow.runtime.config import output_dir, store_dir, writable_dir

        out_dir = writable_dir(output_dir(str(out_dir) if out_dir else None), "--out")
        writable_dir(store_dir(store, loaded.repo_root), "--store")
    except ReelflowError as exc:
        raise _fail(exc) from None
    billable = sum(sp.cost for sp in pl.shots
                   if sp.route.route != "animatic")
    if pl.budget_usd is not None and billable > pl.budget_usd:
        _say(f"error: estimated cost ${billable:.2f} exceeds budget_usd ${pl.budget_usd:g}; see `reelflow plan {path}`")
        raise typer.Exit(EXIT_BUDGET)
    if approve_all:
        mode = "all"
    elif approve and not prototype_only:
        mode = "listed"
    else:
        mode = "prototype-only"
    try:
        params = {"shotlist": str(path), "out_dir": str(out_dir) if out_dir else None, "approval": mode,
                  "approve": approve or None, "store_dir": store, "catalog": catalog, "today": today,
                  "takes": picks or None}
        start_for()  # Prefect's temporary server (and any worker process) ends with us, even on SIGKILL
        manifest = _run_flow(params)
        if mode == "prototype-only" and not prototype_only:
            manifest = _ask_for_approval(manifest, out_dir, params)
    except BaseException as exc:  # noqa: BLE001 - every failure: one line and its exit code
        if isinstance(exc, (typer.Exit, SystemExit)):
            raise
        raise _fail(exc, _hint(exc)) from None
    o = manifest["output"]
    for warning in manifest.get("warnings", []):
        err.print(f"warning: {warning}", markup=False, highlight=False)
    if o.get("loudness_note"):
        err.print(f"warning: loudness: {o['loudness_note']}", markup=False, highlight=False)
    if manifest["status"] == "final":
        out.print("[green]done[/] " + escape(f"{out_dir / o['path']}: {o['duration']:.2f}s {o['width']}x{o['height']} "
                                             f"@{o['fps']:g} fps, {o['integrated_lufs']} LUFS; manifest "
                                             f"{out_dir / (loaded.stem + '.manifest.json')}"))
    else:
        out.print("[green]prototype[/] " + escape(f"{out_dir / manifest['prototype']['path']}; manifest "
                                                  f"{out_dir / (loaded.stem + '.manifest.json')}"))


@app.command()
def deploy(pool: Optional[str] = typer.Option(None, help="Work pool, created as a process pool if missing "
                                                       "[env REELFLOW_WORK_POOL; default reelflow-process]."),
           repository: Optional[str] = typer.Option(None, help="Git URL workers clone [env REELFLOW_GIT_REPOSITORY; "
                                                             "default: origin, else this folder]."),
           branch: Optional[str] = typer.Option(None, help="Branch workers render [env REELFLOW_GIT_BRANCH; default main]."),
           out: Optional[str] = typer.Option(None, help="Durable output folder for deployed runs [env REELFLOW_OUT]."),
           store: Optional[str] = typer.Option(None, help="Durable store (clips, ledger, cache) [env REELFLOW_STORE].")):
    """Register the render-shotlist and nightly deployments (prefect.yaml here, else reelflow's),
    the work pool and the per-provider concurrency limits with the Prefect server (PREFECT_API_URL)."""
    from reelflow.cli.deploy import deploy_all, settings

    chosen = settings(repository, branch, pool, out, store)
    for line in chosen.describe():
        err.print(f"using {line}" if not line.startswith("note:") else line, markup=False, highlight=False)
    try:
        names = deploy_all(chosen)
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        raise _fail(RuntimeError(f"deploy failed: {one_line(exc)}")) from None
    out_console = Console(soft_wrap=True)
    out_console.print(f"deployed {', '.join(names)} to pool {chosen.pool}; start a worker: "
                      f"prefect worker start --pool {chosen.pool}", markup=False, highlight=False)


@app.command("serve-assets")
def serve_assets(store: Optional[str] = typer.Option(None, help="The store whose assets/ to serve "
                                                                "[env REELFLOW_STORE; default ./.reelflow]."),
                 host: str = typer.Option("127.0.0.1", help="Address to listen on."),
                 port: int = typer.Option(8787, help="Port to listen on.")):
    """Serve the local asset store read-only over http, so the links in the Prefect UI's
    artifacts open in a browser (set REELFLOW_ASSET_BASE_URL to this server's address)."""
    from reelflow.store.assets import serve

    root = Path(store or os.environ.get("REELFLOW_STORE") or ".reelflow").expanduser().resolve() / "assets"
    root.mkdir(parents=True, exist_ok=True)
    err.print(f"serving {root} on http://{host}:{port}/ (REELFLOW_ASSET_BASE_URL=http://{host}:{port})",
              markup=False, highlight=False)
    serve(root, host, port)


app.command()(qc_command)  # `reelflow qc`: its own module, registered here


def main() -> None:
    from reelflow.runtime.memory import limit_arenas

    limit_arenas()  # first, before any thread: see reelflow/memory.py
    _prefect_env()
    _stop_on_signals()
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        _stop_provider_calls()
        _say("interrupted")
        end_interrupted()  # the children stopped, then out without finalization (exit 130)
    except Exception as exc:  # click's own errors (typer may vendor click, so match by name)
        kinds = {c.__name__ for c in type(exc).__mro__}
        if "Abort" in kinds:
            _say("interrupted")
            sys.exit(EXIT_INTERRUPTED)
        if "ClickException" not in kinds:
            raise
        exc.show()
        # a wrong option or argument is invalid input (1), not click's usage code 2
        sys.exit(0 if "NoArgsIsHelpError" in kinds else EXIT_INVALID if "UsageError" in kinds else exc.exit_code)
    if code == EXIT_INTERRUPTED:  # a command caught the interruption and said so: leave as Ctrl-C does
        _stop_provider_calls()
        end_interrupted()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # python -m reelflow.cli.app: run the module commands register on
    from reelflow.cli.app import main as _main

    _main()
