"""What the user is shown: outputs published to the durable asset store, browser hrefs for them,
and the review page for a prototype round."""

from __future__ import annotations

from pathlib import Path

from reelflow.store.assets import Links, asset_store_from_env, data_uri
from reelflow.deliver.contact import contact_sheet, takes_sheet
from reelflow.edit.clip import ClipResult
from reelflow.media.previews import PLAYER_PROXY, jpeg_bytes, proxy_clip
from reelflow.edit.qc_tally import cell as qc_cell, line as qc_line, tally as qc_tally
from reelflow.store.local import Store, temp_prefix
from reelflow.flows.review import ReviewPage, ShotReview


def links_for(store: Store) -> Links:
    return Links(asset_store_from_env(store.root / "assets"))


def image_href(links: Links, png: Path) -> str | None:
    """A contact sheet as a JPEG: a URL where the asset store has one, else a data: URI."""
    jpg = png.with_suffix(".jpg")
    tmp = jpg.with_name(temp_prefix(jpg.name) + "part")
    tmp.write_bytes(jpeg_bytes(png))
    tmp.replace(jpg)
    return links.href(jpg, inline_mime="image/jpeg")


def clip_preview(links: Links, store: Store, clip: ClipResult) -> str | None:
    """A small inline player for one clip (cached per clip content in the store)."""
    proxy = store.derived(f"preview-{clip.sha256[:32]}", ".mp4")
    if not proxy.is_file():
        proxy_clip(store.file(clip.path), proxy)
    return links.href(proxy, inline_mime="video/mp4")


def draft_by(clip: ClipResult) -> str:
    if clip.provider == "animatic" and clip.model != "animatic":
        return f"animatic (for {clip.model})"
    return f"{clip.model} via {clip.provider}"


def billable(model: str, cost: float, run) -> float:
    return 0.0 if run.plan.route_of(model, run.cat, run.today).route == "animatic" else cost


def review_page(run, edit, proto_path: Path, round_no: int, changed: dict[str, str],
                problems: list[str], groups=()) -> ReviewPage:
    """The review artifact's content: prototype, contact sheet, per-shot previews and costs."""
    links = run.links
    sheet = run.out / f"{edit.stem}.prototype.contact.png"
    drafts = edit.takes("draft")
    contact_sheet(proto_path, edit.timeline, [(i, draft_by(drafts[i].clip)) for i in edit.ids], sheet)
    rows = []
    for s in edit.shots:
        clip, (final, _) = drafts[s.id].clip, s.final_from
        model, expires = final.model, run.draft_expiry(final, drafts[s.id])
        if expires:  # approve before then, or the final is generated afresh
            changed = {**changed, s.id: f"{changed.get(s.id, 'unchanged')}; native draft, promotable until "
                                        f"{expires.isoformat(timespec='minutes')}"}
        rows.append(ShotReview(
            shot_id=s.id, prompt=s.shot.prompt, draft_by=draft_by(clip), final_model=model,
            final_cost=billable(model, final.cost, run), list_price=final.cost,
            changed=changed.get(s.id, "unchanged"), preview=clip_preview(links, run.store, clip),
            takes=[(o.label + (" (chosen)" if k == s.chosen else ""), clip_preview(links, run.store, t.clip))
                   for k, (o, t) in enumerate(zip(s.plan.options, s.options))],
            qc=qc_cell(clip)))
    takes = None
    if any(s.options for s in edit.shots):  # a row per shot with takes, side by side
        png = run.out / f"{edit.stem}.takes.png"
        takes_sheet([(s.id, [(f"take {k + 1}: {t.clip.model}", run.store.file(t.clip.path))
                             for k, t in enumerate(s.options)]) for s in edit.shots if s.options], png)
        takes = image_href(links, png)
    return ReviewPage(title=edit.title, round_no=round_no, shots=rows,
                      prototype_href=links.href(proto_path), prototype_path=str(proto_path),
                      contact_sheet=image_href(links, sheet), spent=round(edit.spent_usd(), 2), problems=problems,
                      takes_sheet=takes, groups=list(groups), qc_line=qc_line(qc_tally(edit)))


def publish_outputs(run, manifest: dict, edit) -> dict:
    """Keep every generated clip and the finished outputs (edit, prototype, companions) in the
    durable asset store (local folder or S3), content-addressed; return the keys and, per output
    file name, a browser href (None where the store has no web address)."""
    assets, stem, out = run.links.assets, run.loaded.stem, run.out
    keys: dict[str, str] = {}
    for s in edit.shots:
        for tier, take in s.takes.items():
            keys[f"{tier}:{s.id}"] = assets.put(run.store.file(take.clip.path)).uri
    names = [f"{stem}.mp4", f"{stem}.prototype.mp4",
             *((manifest.get("deliverables") or {}).get("files") or {}).values()]
    hrefs: dict[str, str | None] = {}
    for name in names:
        path = out / name
        if path.is_file():
            stored = assets.put(path)
            keys[name] = stored.uri
            hrefs[name] = assets.url(stored.key)
    return {"store": type(assets).__name__, "objects": keys, "hrefs": hrefs,
            "edit_url": hrefs.get(f"{stem}.mp4")}


# The finished edit as an inline player where no web-reachable store holds it: a 256 px proxy of
# the whole edit; one bigger than this (as base64, Prefect's 1.5 MB event limit) shows its path.
PLAYER_LIMIT = 1_100_000


def edit_player(run, manifest: dict) -> str | None:
    """What the summary plays: the edit's own URL where the asset store has one, else a small
    proxy of it as a data: URI (cached per edit content)."""
    final = manifest["status"] == "final"
    name = ((manifest.get("output") if final else manifest.get("prototype")) or {}).get("path")
    if not name:
        return None
    path = run.out / name  # an absolute path stays itself
    url = manifest["published"]["hrefs"].get(path.name)
    if url or not path.is_file():
        return url
    from reelflow.store.local import sha256_file

    proxy = player_proxy(run.store, sha256_file(path))  # made beside the companions' stills, usually
    if not proxy.is_file():
        width, fps, crf, kbps = PLAYER_PROXY
        proxy_clip(path, proxy, width=width, fps=fps, seconds=24 * 3600, crf=crf, audio_kbps=kbps)
    data = proxy.read_bytes()
    return data_uri(data, "video/mp4") if len(data) <= PLAYER_LIMIT else None


def player_proxy(store: Store, edit_sha: str) -> Path:
    """Where the small player of an edit (by its content) is kept."""
    return store.derived(f"player-{PLAYER_PROXY[0]}-{edit_sha[:32]}", ".mp4")


def summary_sheet(run, manifest: dict) -> str | None:
    files = (manifest.get("deliverables") or {}).get("files") or {}
    png = run.out / files["contact_sheet"] if "contact_sheet" in files else None
    return image_href(run.links, png) if png and png.is_file() else None
