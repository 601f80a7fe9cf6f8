"""Shot-list loader: bounded YAML parsing, schema validation and file:line problems.

Reads only the YAML file it is given (and git metadata); whether assets decode is checked by
reelflow/asset_checks.py.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from reelflow.errors import Problem, ShotListError
from reelflow.load.gitinfo import find_repo_root, git_commit, head_commit
from reelflow.qc.runner import settings as qc_settings
from reelflow.spec.shotlist import LoadedShotList, ShotList, resolve_inside


def _line_index(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    out[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            k = f"{prefix}.{key.value}" if prefix else str(key.value)
            out[k] = key.start_mark.line + 1
            _line_index(value, k, out)
            out[k] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, f"{prefix}.{i}" if prefix else str(i), out)


_MESSAGES = {
    "missing": "is required",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "dict_type": "must be a mapping",
}


def _friendly(err: dict[str, Any], fields: list[str]) -> str:
    t = err["type"]
    ctx = err.get("ctx", {})
    if t in _MESSAGES:
        return _MESSAGES[t]
    if t == "greater_than":
        return f"must be > {ctx['gt']:g}"
    if t == "greater_than_equal":
        return f"must be >= {ctx['ge']:g}"
    if t == "less_than_equal":
        return f"must be <= {ctx['le']:g}"
    if t == "less_than":
        return f"must be < {ctx['lt']:g}"
    if t in ("literal_error", "enum"):
        return f"must be one of {ctx.get('expected')} (got {err.get('input')!r})"
    if t == "string_pattern_mismatch":
        return "must be a lowercase slug (letters, digits, '-' or '_')"
    if t == "too_short":
        return "must not be empty"
    if t == "string_too_long":
        return f"is too long (max {ctx.get('max_length')} characters)"
    if t == "extra_forbidden":
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, fields, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field{hint}"
    msg = err.get("msg", "invalid")
    return msg.removeprefix("Value error, ")


def _fields_of(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at ``loc`` (for 'did you mean' hints)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = getattr(current, "model_fields", {}).get(part)
        if f is None:
            return []
        ann = f.annotation
        for cand in getattr(ann, "__args__", ()) + (ann,):
            inner = getattr(cand, "__args__", None)
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                current = cand
                break
            if inner:
                hit = [a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)]
                if hit:
                    current = hit[0]
                    break
    return list(getattr(current, "model_fields", {}).keys())


def problem_at(path: Path, data: Any, lines: dict[str, int], loc: tuple, message: str) -> Problem:
    """Build a Problem for a location such as ('shots', 2, 'duration')."""
    loc = tuple(loc)
    shot = None
    fld_parts = list(loc)
    if len(loc) >= 2 and loc[0] == "shots" and isinstance(loc[1], int):
        try:
            shot = str(data["shots"][loc[1]].get("id") or f"#{loc[1] + 1}")
        except (KeyError, IndexError, TypeError, AttributeError):
            shot = f"#{loc[1] + 1}"
        fld_parts = list(loc[2:])
    dotted = ".".join(str(p) for p in loc)
    line = None
    parts = dotted.split(".")
    while parts:
        key = ".".join(parts)
        if key in lines:
            line = lines[key]
            break
        parts.pop()
    field = ".".join(str(p) for p in fld_parts) or None
    return Problem(str(path), line, shot, field, message)


def _display(path: Path) -> Path:
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError, RuntimeError):  # outside cwd, over-long name, symlink loop
        return path


MAX_FILE_CHARS = 2_000_000
MAX_NODES = 200_000
MAX_DEPTH = 32  # a shot list nests 6 deep; anything deeper is a mistake or an attack


def _depth(node: yaml.Node | None) -> int:
    """Deepest nesting of the node graph, computed without recursion."""
    deepest, stack, seen = 0, [(node, 1)] if node is not None else [], set()
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        if id(n) in seen or d > MAX_DEPTH:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            stack += [(c, d + 1) for c in n.value]
        elif isinstance(n, yaml.MappingNode):
            stack += [(c, d + 1) for kv in n.value for c in kv]
    return deepest


def _expanded_size(node: yaml.Node | None) -> int:
    """How many values the document holds once every alias is expanded, counted on the node
    graph (shared nodes counted once per use, each computed once), stopping early past the cap."""
    memo: dict[int, int] = {}

    def size(n: yaml.Node) -> int:
        if id(n) in memo:
            return memo[id(n)]
        total = 1
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                total += size(child)
                if total > MAX_NODES:
                    break
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                total += size(k) + size(v)
                if total > MAX_NODES:
                    break
        memo[id(n)] = total
        return total

    return size(node) if node is not None else 0


def _duplicate_keys(node: yaml.Node | None) -> list[tuple[int, str]]:
    """(line, key) of every key repeated within one mapping (a typo never passes silently)."""
    found, seen_nodes, stack = [], set(), [node] if node is not None else []
    while stack:
        n = stack.pop()
        if id(n) in seen_nodes:
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: set[str] = set()
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode) and k.value != "<<":
                    if k.value in keys:
                        found.append((k.start_mark.line + 1, k.value))
                    keys.add(k.value)
                stack += [k, v]
        elif isinstance(n, yaml.SequenceNode):
            stack += list(n.value)
    return sorted(found)


def validation_context(today: dt.date | None = None) -> dict[str, Any]:
    """What the pure schema needs from outside to check a list: the day (a TTS route's shutdown)
    and the registered QC checks' settings (their names, thresholds and severities)."""
    return {"today": today or dt.date.today(), "qc_settings": qc_settings}


def parse_shotlist(path: Path, today: dt.date | None = None) -> tuple[ShotList, dict[str, int], Any]:
    """Parse and schema-validate one file; raise ShotListError with located problems. ``today``
    (default: the clock) decides whether a voice's TTS route has shut down."""
    shown = _display(path)
    try:
        if path.is_file() and path.stat().st_size > 4 * MAX_FILE_CHARS:  # before reading it all
            raise ShotListError([Problem(str(shown), None, None, None, f"file too large ({path.stat().st_size:,} "
                                         f"bytes; the limit is {MAX_FILE_CHARS:,} characters)")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShotListError([Problem(str(shown), None, None, None, "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ShotListError([Problem(str(shown), None, None, None, f"not UTF-8 text (byte {exc.start})")]) from None
    except OSError as exc:
        raise ShotListError([Problem(str(shown), None, None, None, f"cannot read: {exc.strerror or exc}")]) from None
    if "\x00" in text:
        raise ShotListError([Problem(str(shown), text[:text.index("\x00")].count("\n") + 1, None, None,
                                     "contains a NUL byte (not a text file?)")])
    if len(text) > MAX_FILE_CHARS:
        raise ShotListError([Problem(str(shown), None, None, None,
                                     f"file too large ({len(text):,} characters; the limit is {MAX_FILE_CHARS:,})")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if _depth(node) > MAX_DEPTH:
            raise ShotListError([Problem(str(shown), None, None, None,
                                         f"YAML nested more than {MAX_DEPTH} levels deep")])
        expanded = _expanded_size(node)
        if expanded > MAX_NODES:
            raise ShotListError([Problem(str(shown), None, None, None,
                                         f"YAML aliases expand to over {MAX_NODES:,} values (an alias bomb?)")])
        dupes = _duplicate_keys(node)
        if dupes:
            raise ShotListError([Problem(str(shown), line, None, None,
                                         f"duplicate key '{key}' (YAML keeps only the last one; remove or rename one)")
                                 for line, key in dupes])
        data = yaml.safe_load(text)
    except RecursionError:
        raise ShotListError([Problem(str(shown), None, None, None, "YAML nested too deeply")]) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise ShotListError([Problem(str(shown), None, None, None, f"unreadable value: {str(exc)[:120]}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        why = getattr(exc, "problem", None) or str(exc)
        raise ShotListError([Problem(str(shown), line, None, None, f"malformed YAML: {why}")]) from None
    if not isinstance(data, dict):
        raise ShotListError(
            [Problem(str(shown), 1, None, None, "a shot list must be a YAML mapping with 'title' and 'shots'")]
        )
    lines: dict[str, int] = {}
    if node is not None:
        _line_index(node, "", lines)
    try:
        spec = ShotList.model_validate(data, context=validation_context(today))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            # audio.music is a file or a prompt: the union's tag is not a field the user wrote
            loc = tuple(p for i, p in enumerate(loc) if not (i and loc[i - 1] == "music" and p in ("made", "file")))
            msg = err.get("msg", "")
            # model validators encode their location as "@a.b.c@message"
            m = re.search(r"@([^@]+)@(.*)", msg)
            if m:
                loc = tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
                message = m.group(2)
            else:
                message = _friendly(err, _fields_of(ShotList, loc))
            problems.append(problem_at(shown, data, lines, loc, message))
        raise ShotListError(problems) from None
    return spec, lines, data


def check_assets(spec: ShotList, root: Path, shown: Path, data: Any, lines: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []

    for loc, rel, _ in spec.assets():
        try:
            full = resolve_inside(root, rel)
            exists = full.is_file()
        except ValueError as exc:
            problems.append(problem_at(shown, data, lines, loc, str(exc)))
            continue
        except (OSError, RuntimeError) as exc:  # over-long name, symlink loop
            problems.append(problem_at(shown, data, lines, loc, f"cannot use {rel[:80]}: {getattr(exc, 'strerror', None) or exc}"))
            continue
        if not exists:
            problems.append(problem_at(shown, data, lines, loc, f"file not found: {rel}"))
    for i, shot in enumerate(spec.shots):
        for j, line in enumerate(shot.dialogue):
            if line.at is not None and line.at >= shot.duration:
                problems.append(problem_at(shown, data, lines, ("shots", i, "dialogue", j, "at"),
                                           f"{line.at:g}s is past the end of the {shot.duration:g}s shot"))
        for j, fx in enumerate(shot.sfx):
            if fx.at >= shot.duration:
                problems.append(problem_at(shown, data, lines, ("shots", i, "sfx", j, "at"),
                                           f"{fx.at:g}s is past the end of the {shot.duration:g}s shot"))
    return problems


def check_transitions(spec: ShotList, shown: Path, data: Any, lines: dict[str, int]) -> list[Problem]:
    """A transition may not be longer than either neighbour, nor eat a whole shot."""
    problems: list[Problem] = []
    n = len(spec.shots)
    for i in range(n - 1):
        a, b = spec.shots[i], spec.shots[i + 1]
        t = spec.transition_after(i).overlap
        if t > a.duration or t > b.duration:
            loc = ("shots", i, "transition") if a.transition else ("defaults", "transition", "seconds")
            problems.append(
                problem_at(shown, data, lines, loc,
                           f"{t:g}s transition between '{a.id}' ({a.duration:g}s) and '{b.id}' "
                           f"({b.duration:g}s) is longer than a neighbouring shot")
            )
    for i in range(1, n - 1):
        shot = spec.shots[i]
        t_in = spec.transition_after(i - 1).overlap
        t_out = spec.transition_after(i).overlap
        if t_in + t_out > shot.duration + 1e-9:
            problems.append(
                problem_at(shown, data, lines, ("shots", i, "duration"),
                           f"{shot.duration:g}s is shorter than its transitions in and out "
                           f"({t_in:g}s + {t_out:g}s)")
            )
    return problems


def load_shotlist(path: str | Path, *, check_files: bool = True, today: dt.date | None = None) -> LoadedShotList:
    """Load, schema-validate and check a shot list (assets, transitions). Raises ShotListError."""
    path = Path(path)
    spec, lines, data = parse_shotlist(path, today)
    shown = _display(path)
    root = find_repo_root(path)
    problems = check_transitions(spec, shown, data, lines)
    if check_files:
        problems += check_assets(spec, root, shown, data, lines)
    if problems:
        raise ShotListError(problems)
    return LoadedShotList(spec=spec, path=path.resolve(), repo_root=root, lines=lines,
                          commit=git_commit(path.resolve()), repo_commit=head_commit(path.resolve()))


def json_schema() -> dict[str, Any]:
    schema = ShotList.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "reelflow shot list"
    return schema


def locate(loaded: LoadedShotList, loc: tuple, message: str) -> Problem:
    """A Problem for a location in an already-loaded shot list."""
    shot = None
    fld = list(loc)
    if len(loc) >= 2 and loc[0] == "shots" and isinstance(loc[1], int):
        shot = loaded.spec.shots[loc[1]].id
        fld = list(loc[2:])
    return Problem(str(_display(loaded.path)), loaded.line_of(".".join(str(p) for p in loc)),
                   shot, ".".join(str(p) for p in fld) or None, message)
