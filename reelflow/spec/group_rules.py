"""What a scene group may be, as the shot list states it (pure): consecutive shots, two or more,
none of them with a take, comparison, continuation or keyframe of its own. The groups' plan
(one multi-shot call per group) is reelflow/plan/groups.py."""

from __future__ import annotations


def group_problem(shots: list) -> str | None:
    """The first rule a shot list breaks, as '@location@message' (the loader's form), else None."""
    first: dict[str, int] = {}
    for i, shot in enumerate(shots):
        if not shot.group:
            continue
        if shot.group in first and shots[i - 1].group != shot.group:
            return (f"@shots.{i}.group@group '{shot.group}' must be consecutive shots "
                    f"(it starts at shot '{shots[first[shot.group]].id}' and is interrupted before '{shot.id}')")
        first.setdefault(shot.group, i)
        for field, bad in (("takes", shot.takes > 1), ("compare", bool(shot.compare)),
                           ("continues", shot.continues), ("keyframe", bool(shot.keyframe))):
            if bad:
                return (f"@shots.{i}.{field}@shot '{shot.id}' is rendered in one call with group "
                        f"'{shot.group}': {field} applies to a shot of its own (remove it or the group)")
        if i + 1 < len(shots) and shots[i + 1].keyframe and shots[i + 1].group != shot.group:
            return (f"@shots.{i + 1}.keyframe@shot '{shot.id}' ends group '{shot.group}', whose one call cannot end "
                    f"on a given frame: continue from its last frame (remove keyframe) or end the group earlier")
        inside = i + 1 < len(shots) and shots[i + 1].group == shot.group
        if inside and shot.transition is not None and shot.transition.type != "cut":
            return (f"@shots.{i}.transition@group '{shot.group}' is one clip with hard cuts inside; "
                    f"a {shot.transition.type} needs two clips (remove it, or end the group here)")
    for name, i in first.items():
        if sum(1 for s in shots if s.group == name) < 2:
            return f"@shots.{i}.group@group '{name}' has one shot; a group is two or more consecutive shots"
    return None
