"""QC across an edit (pure): what the manifest, the review and the summary count."""

from __future__ import annotations

from typing import Any


def _takes(edit) -> list[tuple[str, str, Any]]:
    """(shot id, tier, take) of every take in the edit, every draft take of a shot with several."""
    out = []
    for s in edit.shots:
        for tier, take in s.takes.items():
            if not (tier == "draft" and s.options):
                out.append((s.id, tier, take))
        out += [(s.id, "draft", t) for t in s.options]
    return out


def tally(edit) -> dict[str, Any]:
    checked = warned = kept = rerolls = refusals = 0
    rerolls_usd = 0.0
    for _, _, take in _takes(edit):
        clip = take.clip
        refusals += any(n.startswith("safety refusal") for n in clip.notes) or \
            "refused it" in (clip.fallback_reason or "")
        if clip.qc is None:
            continue
        checked += 1
        severities = {f.get("severity") for f in clip.qc.get("findings", ())}
        kept += "fail" in severities
        warned += severities == {"warn"}
        rerolls += len(clip.qc_rejected)
        rerolls_usd += sum(r.get("billed_usd", 0.0) for r in clip.qc_rejected)
    return {"clips_checked": checked, "clips_with_warnings": warned, "failed_kept": kept,
            "rerolls": rerolls, "rerolls_usd": round(rerolls_usd, 4), "refusals": refusals}


def warnings(edit) -> list[str]:
    """One line per clip in the edit that failed QC and was kept."""
    out = []
    for shot_id, tier, take in _takes(edit):
        fails = [f for f in (take.clip.qc or {}).get("findings", ()) if f.get("severity") == "fail"]
        if fails:
            what = "; ".join(f"{f['check']} {f['message']} (measured {f['value']}, threshold {f['threshold']})"
                             for f in fails)
            out.append(f"shot '{shot_id}' {tier}: kept though it failed QC: {what}")
    return out


def cell(clip) -> str:
    """A clip's QC in a table cell: its findings (measured value and threshold) and the re-rolls
    paid before it; "ok" when it passed at once."""
    if clip.qc is None:
        return ""
    parts = [f"{'**fail**' if f['severity'] == 'fail' else 'warn'} {f['check']} {_num(f['value'])} "
             f"(limit {_num(f['threshold'])})" for f in clip.qc.get("findings", ())]
    if clip.qc_rejected:
        paid = sum(r.get("billed_usd", 0.0) for r in clip.qc_rejected)
        why = ", ".join(dict.fromkeys(f["check"] for r in clip.qc_rejected for f in r.get("findings", ())))
        parts.append(f"{len(clip.qc_rejected)} clip(s) rejected ({why}), re-rolled for ${paid:.2f}")
    return "; ".join(parts) or "ok"


def line(counts: dict[str, Any]) -> str:
    return (f"**QC** {counts['clips_checked']} clips checked: {counts['failed_kept']} kept failing, "
            f"{counts['clips_with_warnings']} with warnings, {counts['rerolls']} re-rolled "
            f"(${counts['rerolls_usd']:.2f}), {counts.get('refusals', 0)} refused by a safety filter")


def _num(v) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
