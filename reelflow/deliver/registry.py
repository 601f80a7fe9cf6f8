"""Deliverables: each is one class (`name`, `suffix`, `write`) registered under the
`reelflow.deliverables` entry point group, reading one ``DeliveryInput`` (the edit object plus
where its files are). A plugin adds a deliverable without touching reelflow; the shot list's
`output.deliverables` accepts every registered name."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from reelflow.edit.dialogue import PlacedLine
from reelflow.edit.edit import Edit
from reelflow.plugins import load, targets
from reelflow.media.stills import EditStills
from reelflow.store.local import Store

GROUP = "reelflow.deliverables"


@dataclass(frozen=True)
class DeliveryInput:
    edit: Edit
    out_dir: Path
    edit_path: Path  # the finished MP4 in the store
    mix_wav: Path
    media: dict[str, Path]  # shot id -> the clip the edit shows
    captions: dict[str, list[tuple[PlacedLine, tuple[float, float]]]]  # shot id -> timed lines
    store: Store  # where a deliverable keeps what it made, keyed by content (made once)
    edit_sha: str  # the finished MP4's content hash
    stills: EditStills | None = None  # the edit's frames, read once for every companion that shows them
    stems: dict[str, Path] = field(default_factory=dict)  # the mix's parts (dialogue, effects, production, music)

    def path(self, suffix: str) -> Path:
        return self.out_dir / f"{self.edit.stem}{suffix}"

    def cues(self):
        from reelflow.deliver.captions import build_cues

        return build_cues(self.edit.timeline, self.captions)


class Deliverable(Protocol):
    """What a registered deliverable is: a name, the file suffix, and a writer."""

    name: str
    suffix: str

    def write(self, given: DeliveryInput, dest: Path) -> list[str]:
        """Write the file at ``dest``; return notes (e.g. why it could not be written)."""
        ...


def deliverable(name: str) -> Deliverable:
    found = targets(GROUP).get(name)
    if found is None:
        raise KeyError(f"unknown deliverable {name!r}; use {', '.join(targets(GROUP))}")
    return load(found)()
