"""Prefect artifacts for watching a render in the UI: the plan, live progress, a summary.

Every link and image here opens in a browser on the Prefect UI: http(s) or presigned URLs from
the asset store, data: URIs for small previews, or the durable path as plain text; never file://.
"""

from __future__ import annotations

import re
from pathlib import Path
from uuid import UUID

from prefect.artifacts import (
    create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact,
)

from reelflow.edit.qc_tally import line as qc_line
from reelflow.plan.routing import Plan


def artifact_key(stem: str, what: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{stem}-{what}".lower()).strip("-")


def short(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_table(stem: str, plan: Plan, manifest: dict | None = None) -> None:
    """The routing plan, costs first and the reason last (shortened; the manifest keeps it
    whole); once the run is done, a new version adds the model used, actual cost and cache hits."""
    done = {s["id"]: s for s in (manifest or {}).get("shots", [])}
    rows = []
    for s in plan.shots:
        row = {"shot": s.shot_id, "est. prototype $": s.draft_cost, "est. final $": s.final.cost, "clip": s.clip_note}
        if s.shot_id in done:
            d = done[s.shot_id]
            row.update({"actual $": round(sum((d.get(t) or {}).get("cost_usd", 0) for t in ("draft", "final")), 4),
                        "intended model": s.model, "used model": d.get("used_model"),
                        "tier used": d.get("used_tier"), "cache hit": d.get("cache_hit")})
        else:
            row.update({"model": s.model, "draft model": s.draft_model})
        row.update({"kind": s.kind, "reason": short(s.reason)})
        rows.append(row)
    create_table_artifact(key=artifact_key(stem, "plan"), table=rows,
                          description=f"Routing plan: prototype ${plan.draft_cost:.2f} + final ${plan.final_cost:.2f}"
                          + (" (with actuals)" if manifest else ""))


class Progress:
    """One progress artifact per run: each shot counts once per tier, however many takes."""

    def __init__(self, stem: str, shots: int, tiers: int):
        self.total = max(1, shots * tiers)
        self.done: set[tuple[str, str]] = set()
        self.id: UUID | None = create_progress_artifact(progress=0.0, key=artifact_key(stem, "progress"),
                                                        description=f"{stem}: shots rendered per tier")

    def step(self, tier: str, shot_id: str) -> None:
        if (tier, shot_id) in self.done:
            return
        self.done.add((tier, shot_id))
        if self.id is not None:
            update_progress_artifact(self.id, progress=min(100.0, 100.0 * len(self.done) / self.total))


def shot_qc(shot: dict) -> str:
    """The QC of the clip a shot shows (its final, else its draft), from the manifest."""
    from types import SimpleNamespace

    from reelflow.edit.qc_tally import cell

    clip = shot.get("final") or shot.get("draft") or {}
    return cell(SimpleNamespace(qc=clip.get("qc"), qc_rejected=clip.get("qc_rejected", [])))


def summary(stem: str, manifest: dict, hrefs: dict[str, str | None], sheet: str | None = None,
            player: str | None = None) -> None:
    """Markdown summary: the edit as a player and a link, loudness, cost, per-shot table, contact
    sheet. ``hrefs``: output file name -> browser href (None: shown as its durable path); ``sheet``:
    the contact sheet's image href; ``player``: the edit's (or its proxy's) href."""
    o = manifest.get("output", {})
    out_dir = manifest.get("out_dir", "")
    lines = [f"# {manifest['title']}", ""]
    if manifest["status"] == "final":
        edit = o.get("path")
        link = hrefs.get(edit or "")
        name = f"[{edit}]({link})" if link else f"`{Path(out_dir) / str(edit)}`"
        lines += [f"**Edit** {name}: {o.get('duration', 0):.2f} s, {o.get('width')}x{o.get('height')} "
                  f"@ {o.get('fps')} fps, {o.get('integrated_lufs')} LUFS (target {o['target']['loudness_lufs']}), "
                  f"true peak {o.get('true_peak_dbtp')} dBTP", ""]
        if player:
            lines += [f'<video src="{player}" width="640" controls playsinline preload="metadata"></video>', ""]
        if o.get("loudness_note"):
            lines += [f"**Loudness:** {o['loudness_note']}", ""]
    else:
        lines += [f"**Prototype only** `{manifest['prototype']['path']}`", ""]
        if player:
            lines += [f'<video src="{player}" width="640" controls playsinline preload="metadata"></video>', ""]
    cost = manifest["cost"]
    lines += [f"**Cost** actual ${cost['actual_usd']:.2f}, estimated ${cost['estimated_usd']['total']:.2f}"
              + (f", budget ${cost['budget_usd']:g}" if cost.get("budget_usd") is not None else ""), ""]
    if manifest.get("qc"):
        lines += [qc_line(manifest["qc"]), ""]
    for w in manifest.get("warnings", []):
        lines += [f"> **Warning:** {w}", ""]
    lines += ["| shot | $ | intended model | used model | provider | tier | cache hit | QC | reason |",
              "|---|---|---|---|---|---|---|---|---|"]
    for s in manifest["shots"]:
        spent = sum((s.get(t) or {}).get("cost_usd", 0) for t in ("draft", "final"))
        lines.append(f"| {s['id']} | {spent:.2f} | {s.get('intended_model', '')} | {s.get('used_model', '')} | "
                     f"{s.get('used_provider', '')} | {s.get('used_tier', '')} | {s.get('cache_hit', '')} | "
                     f"{short(shot_qc(s), 120)} | {short(s['reason'], 60)} |")
    if hrefs:
        lines += ["", "## Outputs", ""]
        for name, href in hrefs.items():
            lines.append(f"- [{name}]({href})" if href else f"- `{Path(out_dir) / name}`")
    if sheet:
        lines += ["", f"![contact sheet]({sheet})"]
    create_markdown_artifact(key=artifact_key(stem, "summary"), markdown="\n".join(lines),
                             description=f"{manifest['title']}: render summary")
