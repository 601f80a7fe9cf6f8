"""Contact sheet: one labelled frame per shot, taken from the finished edit, for review."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from reelflow.media.ffmpeg import run_ffmpeg
from reelflow.media.stills import EditStills
from reelflow.edit.timeline import Timeline

TILE_WIDTH = 480


def _font(size: int):
    path = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    return ImageFont.truetype(path, size) if Path(path).exists() else ImageFont.load_default(size)


def contact_picks(timeline: Timeline) -> list[int]:
    """Each shot's middle frame outside its transitions."""
    picks = []
    for clip in timeline.clips:
        lo = clip.start + (clip.join_in.frames if clip.join_in else 0)
        hi = clip.end - (clip.join_out.frames if clip.join_out else 0)
        picks.append((lo + hi) // 2 if hi > lo else clip.start + clip.frames // 2)
    return picks


def contact_sheet(edit: Path, timeline: Timeline, labels: list[tuple[str, str]], dest: Path,
                  tile_width: int = TILE_WIDTH, columns: int | None = None,
                  stills: EditStills | None = None) -> tuple[int, int]:
    """Lay each shot's middle frame (outside transitions) out in a labelled grid. ``labels`` =
    [(shot id, second line)] per shot; ``stills``: the edit's frames where they are read
    already. Returns the sheet's size."""
    picks = contact_picks(timeline)
    stills = stills or EditStills(edit, tiles=picks, tile_width=tile_width)
    got = stills.tiles(picks)
    tiles = [got[n] for n in picks]
    cols = columns or min(len(tiles), 4 if tiles[0].width >= tiles[0].height else 6)
    rows = math.ceil(len(tiles) / cols)
    tw, th = tiles[0].size
    label_h = max(36, tw // 9)
    pad = 8
    sheet = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + label_h + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    big, small = _font(max(12, label_h // 2 - 2)), _font(max(10, label_h // 3 - 1))
    for i, (tile, (name, detail)) in enumerate(zip(tiles, labels)):
        x = pad + (i % cols) * (tw + pad)
        y = pad + (i // cols) * (th + label_h + pad)
        sheet.paste(tile, (x, y))
        draw.text((x + 4, y + th + 2), f"{i + 1}. {name}", font=big, fill=(255, 255, 255))
        draw.text((x + 4, y + th + 2 + label_h // 2), detail, font=small, fill=(190, 190, 200))
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(dest, format="PNG")
    return sheet.size


SHEET_VERSION = 1


def stored_contact_sheet(store, edit_sha: str, edit: Path, timeline: Timeline, labels: list[tuple[str, str]],
                         dest: Path, stills: EditStills | None = None) -> Path:
    """The contact sheet made once per edit content and labels (it decodes the whole edit: 8 s
    for three minutes at 1080p), kept in the store and copied to ``dest``."""
    key = hashlib.sha256(json.dumps([SHEET_VERSION, edit_sha, timeline.frames, labels]).encode()).hexdigest()
    made = store.made_once(f"contact-{key[:32]}", ".png", lambda tmp: contact_sheet(edit, timeline, labels, tmp,
                                                                                   stills=stills))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(made, dest)
    return dest


class ContactSheet:
    """One labelled frame per shot of the finished edit: who rendered it, at which tier."""

    name, suffix = "contact_sheet", ".contact.png"

    def write(self, given, dest) -> list[str]:
        labels = [(s.id, f"{s.plan.model} ({s.take.clip.tier}, {s.take.clip.provider})") for s in given.edit.shots]
        stored_contact_sheet(given.store, given.edit_sha, given.edit_path, given.edit.timeline, labels, dest,
                             given.stills)
        return []


def takes_sheet(rows: list[tuple[str, list[tuple[str, Path]]]], dest: Path, tile_width: int = 320) -> tuple[int, int]:
    """The takes to choose from: a row per shot, a labelled middle frame per take (side by side)."""
    from reelflow.media.ffmpeg import probe

    grid: list[list[tuple[str, Image.Image]]] = []
    with tempfile.TemporaryDirectory(prefix="reelflow-takes-") as tmp:
        for r, (_, takes) in enumerate(rows):
            row = []
            for c, (label, clip) in enumerate(takes):
                out = Path(tmp) / f"{r}-{c}.png"
                middle = (probe(clip, count_frames=False).duration or 0) / 2
                run_ffmpeg(["-ss", f"{middle:.3f}", "-i", str(clip), "-frames:v", "1", "-vf", f"scale={tile_width}:-2",
                            str(out)], what=f"takes sheet frame of {clip.name}")
                row.append((label, Image.open(out).convert("RGB")))
            grid.append(row)
    tw, th = grid[0][0][1].size
    label_h, pad, head = max(28, tw // 10), 8, 140
    cols = max(len(row) for row in grid)
    sheet = Image.new("RGB", (head + cols * (tw + pad) + pad, len(grid) * (th + label_h + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    big, small = _font(max(12, label_h // 2)), _font(max(10, label_h // 3))
    for r, ((shot_id, _), row) in enumerate(zip(rows, grid)):
        y = pad + r * (th + label_h + pad)
        draw.text((pad, y + th // 2 - label_h // 2), shot_id, font=big, fill=(255, 255, 255))
        for c, (label, tile) in enumerate(row):
            x = head + c * (tw + pad)
            sheet.paste(tile.resize((tw, th)), (x, y))
            draw.text((x + 4, y + th + 2), label, font=small, fill=(190, 190, 200))
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(dest, format="PNG")
    return sheet.size
