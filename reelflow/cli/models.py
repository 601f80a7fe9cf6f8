"""`reelflow models <id>...`: one model's record in full, where the table has no room for it:
its source and the date it was checked, the basis and evidence of its scores, its routes."""

from __future__ import annotations

import datetime as dt

from reelflow.plan.catalog import Catalog
from reelflow.errors import InputError
from reelflow.cli.terminal import out


def model_details(cat: Catalog, ids: list[str], today: dt.date) -> None:
    unknown = [i for i in ids if i not in cat.models]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(cat.models), n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"unknown model '{unknown[0]}'{hint}; `reelflow models` lists them")
    for model_id in ids:
        m = cat.models[model_id]
        lc = m.lifecycle
        lines = [f"{m.id}: {m.name} ({m.family}, {m.tier}{', auto-routed' if m.auto_route else ', only when asked for'})",
                 f"  lifecycle: {lc.status}{f' since {lc.date}' if lc.date else ''}"
                 f"{' (retired on ' + str(today) + ')' if lc.retired_on(today) else ''}{f' - {lc.note}' if lc.note else ''}",
                 f"  durations {m.describe_durations()}, {'/'.join(map(str, m.resolutions))}p, "
                 f"{'/'.join(map(str, m.fps))} fps, audio {'yes' if m.native_audio else 'no'}",
                 "  $/s: " + ", ".join(f"{r}p {p:.3f}" for r, p in sorted(m.price_per_second.items()))]
        lines += [f"  route {r}: {mr.id}" + (" (retired)" if mr.retired_on(today) else "") for r, mr in m.routes.items()]
        if m.draft:
            lines.append(f"  draft: {m.draft}")
        if m.scores:
            lines.append("  scores: " + ", ".join(f"{k} {v}" for k, v in m.scores.items()))
        if m.score_basis:
            lines.append(f"  score basis: {m.score_basis}")
        lines += [f"  evidence: {e.pool} Elo {e.elo} as of {e.as_of} ({e.source}, {e.confidence})" for e in m.evidence]
        lines += [f"  source: {m.source or '-'}", f"  checked: {m.checked or '-'}"]
        out.print("\n".join(lines), markup=False, highlight=False)
