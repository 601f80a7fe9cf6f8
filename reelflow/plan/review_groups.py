"""How the review groups a shot list: by scene where the list names scenes, else in pages.

Pure: a long list is reviewed a group at a time, and a whole group can be approved at once
(`approve_groups` in the review form). A short list without scenes is one group, shown as today.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_SIZE = 10  # shots per page when the list names no scenes
UNGROUPED = "no-scene"


@dataclass(frozen=True)
class ReviewGroup:
    name: str  # what the reviewer types or picks in approve_groups
    shot_ids: tuple[str, ...]
    label: str  # the heading shown: "scene storm" or "page 2 (shots 11-20)"


def review_groups(shots: list[tuple[str, str | None]], page_size: int = PAGE_SIZE) -> list[ReviewGroup]:
    """``shots``: (shot id, scene or None) in edit order. Scenes keep the order they first appear
    in; shots without one (in a list that names scenes) form the group `no-scene`."""
    if any(scene for _, scene in shots):
        order: dict[str, list[str]] = {}
        for shot_id, scene in shots:
            order.setdefault(scene or UNGROUPED, []).append(shot_id)
        return [ReviewGroup(name, tuple(ids), f"scene {name}" if name != UNGROUPED else "shots without a scene")
                for name, ids in order.items()]
    if len(shots) <= page_size:
        return [ReviewGroup("all", tuple(i for i, _ in shots), "all shots")]
    pages = []
    for start in range(0, len(shots), page_size):
        ids = tuple(i for i, _ in shots[start:start + page_size])
        n = start // page_size + 1
        pages.append(ReviewGroup(f"page-{n}", ids, f"page {n} (shots {start + 1}-{start + len(ids)})"))
    return pages


def members(groups: list[ReviewGroup], names: list[str]) -> list[str]:
    """The shot ids of the named groups, in edit order, without repeats."""
    wanted = set(names)
    return [i for g in groups if g.name in wanted for i in g.shot_ids]
