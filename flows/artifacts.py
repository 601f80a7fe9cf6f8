"""Prefect artifacts for watching a render in the UI: the plan, live progress, a summary."""

from __future__ import annotations

import re
from pathlib import Path
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact,
)

from reelflow.routing import Plan


def _key(stem: str, what: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{stem}-{what}".lower()).strip("-")


def plan_table(stem: str, plan: Plan, manifest: dict | None = None) -> None:
    """The routing plan (shot, kind, model, reason, tiers, estimated cost); once the run is done,
    a new version adds the tier used, actual cost and cache hits."""
    done = {s["id"]: s for s in (manifest or {}).get("shots", [])}
    rows = []
    for s in plan.shots:
        row = {"shot": s.shot_id, "kind": s.kind, "model": s.model, "draft model": s.draft_model,
               "preferred": s.preferred, "reason": s.reason, "est. prototype $": s.draft.cost,
               "est. final $": s.final.cost}
        if s.shot_id in done:
            d = done[s.shot_id]
            row.update({"tier used": d.get("used_tier"), "used model": d.get("used_model"),
                        "actual $": round(sum((d.get(t) or {}).get("cost_usd", 0) for t in ("draft", "final")), 4),
                        "cache hit": d.get("cache_hit")})
        rows.append(row)
    create_table_artifact(key=_key(stem, "plan"), table=rows,
                          description=f"Routing plan: prototype ${plan.draft_cost:.2f} + final ${plan.final_cost:.2f}"
                          + (" (with actuals)" if manifest else ""))


class Progress:
    """One progress artifact per run, moved forward as clips finish."""

    def __init__(self, stem: str, total: int):
        self.total = max(1, total)
        self.done = 0
        self.id: UUID | None = create_progress_artifact(progress=0.0, key=_key(stem, "progress"),
                                                        description=f"{stem}: clips rendered")

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.id is not None:
            update_progress_artifact(self.id, progress=min(100.0, 100.0 * self.done / self.total))


def summary(stem: str, manifest: dict, out_dir: Path, links: dict[str, str] | None = None) -> None:
    """Markdown summary: output, loudness, cost, per-shot table, contact sheet and links."""
    o = manifest.get("output", {})
    lines = [f"# {manifest['title']}", ""]
    if manifest["status"] == "final":
        lines += [f"**Edit** `{o.get('path')}`: {o.get('duration', 0):.2f} s, {o.get('width')}x{o.get('height')} "
                  f"@ {o.get('fps')} fps, {o.get('integrated_lufs')} LUFS (target {o['target']['loudness_lufs']}), "
                  f"true peak {o.get('true_peak_dbtp')} dBTP", ""]
    else:
        lines += [f"**Prototype only** `{manifest['prototype']['path']}`", ""]
    cost = manifest["cost"]
    lines += [f"**Cost** actual ${cost['actual_usd']:.2f}, estimated ${cost['estimated_usd']['total']:.2f}"
              + (f", budget ${cost['budget_usd']:g}" if cost.get("budget_usd") is not None else ""), "",
              "| shot | model used | provider | tier | cache hit | $ | reason |", "|---|---|---|---|---|---|---|"]
    for s in manifest["shots"]:
        used = s.get("final") or s.get("draft") or {}
        lines.append(f"| {s['id']} | {s.get('used_model', '')} | {s.get('used_provider', '')} | "
                     f"{s.get('used_tier', '')} | {s.get('cache_hit', '')} | {used.get('cost_usd', 0):.2f} | "
                     f"{s['reason'][:120]} |")
    files = (manifest.get("deliverables") or {}).get("files", {})
    all_links = {**{k: str(out_dir / v) for k, v in files.items()}, **(links or {})}
    if all_links:
        lines += ["", "## Outputs", ""]
        for name, target in all_links.items():
            href = target if target.startswith(("http://", "https://")) else Path(target).resolve().as_uri()
            lines.append(f"- [{name}]({href})")
        sheet = all_links.get("contact_sheet")
        if sheet:
            href = sheet if sheet.startswith("http") else Path(sheet).resolve().as_uri()
            lines += ["", f"![contact sheet]({href})"]
    create_markdown_artifact(key=_key(stem, "summary"), markdown="\n".join(lines),
                             description=f"{manifest['title']}: render summary")
