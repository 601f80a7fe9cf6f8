"""Shot-list schema (pydantic v2) and loader with file:line error messages.

Pure: reads only the YAML file it is given and checks that referenced assets exist.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import Problem, ShotListError

SLUG = r"^[a-z0-9][a-z0-9_-]*$"

RESOLUTIONS = {"720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}


class Kind(str, Enum):
    environment = "environment"
    physics = "physics"
    character = "character"
    dialogue = "dialogue"
    product = "product"
    stylized = "stylized"
    action = "action"
    social = "social"


class TransitionType(str, Enum):
    crossfade = "crossfade"
    cut = "cut"
    fade_black = "fade_black"  # fade through black
    dip_white = "dip_white"  # dip to white


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


def even(n: float) -> int:
    return int(round(n / 2.0)) * 2


def frame_size(short_side: int, aspect: str) -> tuple[int, int]:
    """Width and height (even numbers) for a short side and an aspect such as '9:16'."""
    aw, ah = ASPECTS[aspect]
    if aw >= ah:
        return even(short_side * aw / ah), even(short_side)
    return even(short_side), even(short_side * ah / aw)


class Transition(Strict):
    type: TransitionType = TransitionType.crossfade
    seconds: Annotated[float, Field(ge=0, le=10)] = 0.5

    @property
    def overlap(self) -> float:
        """Seconds the two neighbouring shots share on screen (0 for a cut)."""
        return 0.0 if self.type == TransitionType.cut else self.seconds


FPS_RATIONAL = {23.976: "24000/1001", 29.97: "30000/1001", 59.94: "60000/1001"}
LOUDNESS_PRESETS = {"web": -14.0, "broadcast": -23.0}
ASPECT_VERSIONS = ("16:9", "9:16", "1:1", "4:5")
COMPANIONS = ("mp4", "otio", "fcpxml", "edl", "srt", "vtt", "contact_sheet")
DEFAULT_DELIVERABLES = ["mp4", "otio", "fcpxml", "edl", "srt", "vtt", "contact_sheet"]


def fps_arg(fps: float) -> str:
    """ffmpeg's exact spelling of a frame rate (NTSC rates as rationals)."""
    return FPS_RATIONAL.get(round(float(fps), 3), f"{fps:g}")


def fps_value(fps: float) -> float:
    """The exact numeric rate (23.976 -> 24000/1001) for frame maths."""
    r = FPS_RATIONAL.get(round(float(fps), 3))
    if r:
        a, b = r.split("/")
        return int(a) / int(b)
    return float(fps)


class Output(Strict):
    resolution: Literal["720p", "1080p", "1440p", "2160p"] = "1080p"
    aspect: Literal["16:9", "9:16", "1:1", "4:5"] = "16:9"
    fps: Literal[23.976, 24, 25, 29.97, 30, 50, 59.94, 60] = 24
    loudness_lufs: Annotated[float, Field(ge=-36, le=-6)] = -14.0
    """Integrated loudness target; also accepts the presets 'web' (-14) and 'broadcast' (-23)."""
    deliverables: list[str] = DEFAULT_DELIVERABLES
    """Companions to write beside the MP4 (otio, fcpxml, edl, srt, vtt, contact_sheet) and extra
    aspect versions cut from the same render ('9:16', '1:1', ...)."""
    lut: str | None = None
    """A .cube LUT inside the repository, applied to every frame on export (grade consistency)."""

    @field_validator("loudness_lufs", mode="before")
    @classmethod
    def _preset(cls, v):
        if isinstance(v, str) and v.strip().lower() in LOUDNESS_PRESETS:
            return LOUDNESS_PRESETS[v.strip().lower()]
        return v

    @field_validator("deliverables")
    @classmethod
    def _deliverables(cls, v: list[str]) -> list[str]:
        bad = [d for d in v if d not in COMPANIONS and d not in ASPECT_VERSIONS]
        if bad:
            raise ValueError(f"unknown deliverable {bad[0]!r}; use {', '.join(COMPANIONS)} "
                             f"or an aspect version {', '.join(ASPECT_VERSIONS)}")
        return list(dict.fromkeys(["mp4", *v]))

    @field_validator("lut")
    @classmethod
    def _lut(cls, v: str | None) -> str | None:
        if v is not None and not v.lower().endswith(".cube"):
            raise ValueError("must be a .cube file")
        return v

    @property
    def size(self) -> tuple[int, int]:
        return frame_size(RESOLUTIONS[self.resolution], self.aspect)

    def size_for(self, aspect: str) -> tuple[int, int]:
        return frame_size(RESOLUTIONS[self.resolution], aspect)

    @property
    def versions(self) -> list[str]:
        return [d for d in self.deliverables if d in ASPECT_VERSIONS and d != self.aspect]


Fit = Literal["auto", "crop", "pad", "blur"]
Upscaler = Literal["lanczos", "realesrgan", "cloud", "none"]
FocusName = Literal["center", "left", "right", "top", "bottom"]


class Defaults(Strict):
    transition: Transition = Transition()
    model: str = "auto"
    handles: Annotated[float, Field(ge=0, le=5)] = 0.0
    """Extra source seconds requested after each shot, for re-trimming in an NLE."""
    fit: Fit = "auto"
    """How a source of another aspect fills the frame: crop, pad (bars), blur (blurred fill) or
    auto (crop when that keeps most of the picture, blurred fill otherwise)."""
    upscale: Upscaler = "lanczos"


class MusicBed(Strict):
    music: str | None = None
    music_gain_db: Annotated[float, Field(ge=-60, le=12)] = -6.0
    duck_db: Annotated[float, Field(ge=-60, le=0)] = -12.0
    fade_in: Annotated[float, Field(ge=0, le=30)] = 1.0
    fade_out: Annotated[float, Field(ge=0, le=30)] = 2.0


class ShotAudio(Strict):
    native: bool = True
    cue: str | None = None
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class DialogueLine(Strict):
    speaker: Annotated[str, Field(min_length=1, max_length=60)]
    line: Annotated[str, Field(min_length=1, max_length=500)]
    file: str | None = None
    """A recorded voice-over/dialogue stem inside the repository, mixed instead of generated."""
    at: Annotated[float, Field(ge=0)] | None = None
    """Seconds into the shot where the stem starts (default: one after another from 0.4 s)."""
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class SoundEffect(Strict):
    file: str
    at: Annotated[float, Field(ge=0)] = 0.0
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class Shot(Strict):
    id: Annotated[str, Field(pattern=SLUG, max_length=64)]
    prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    duration: Annotated[float, Field(gt=0, le=120)]
    kind: Kind = Kind.environment
    camera: str = "static"
    model: str | None = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    negative_prompt: str | None = None
    image: str | None = None
    """Reference image (first frame) inside the repository; needs an image-to-video model."""
    audio: ShotAudio = ShotAudio()
    dialogue: list[DialogueLine] = []
    sfx: list[SoundEffect] = []
    transition: Transition | None = None
    fit: Fit | None = None
    focus: FocusName | tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]] = "center"
    """Where to keep the picture when cropping: a name, or [x, y] as fractions of the frame."""
    upscale: Upscaler | None = None

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @property
    def effective_seed(self) -> int:
        """The seed, or a stable one derived from the id so re-runs match."""
        if self.seed is not None:
            return self.seed
        import hashlib

        return int(hashlib.sha256(self.id.encode()).hexdigest()[:7], 16)


class ShotList(Strict):
    version: Literal[1] = 1
    title: Annotated[str, Field(min_length=1, max_length=200)]
    output: Output = Output()
    defaults: Defaults = Defaults()
    budget_usd: Annotated[float, Field(ge=0)] | None = None
    audio: MusicBed = MusicBed()
    shots: Annotated[list[Shot], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> "ShotList":
        seen: set[str] = set()
        for i, shot in enumerate(self.shots):
            if shot.id in seen:
                raise ValueError(f"@shots.{i}.id@duplicate shot id '{shot.id}'")
            seen.add(shot.id)
        return self

    def transition_after(self, index: int) -> Transition:
        """Transition from shot ``index`` into the next one."""
        shot = self.shots[index]
        return shot.transition or self.defaults.transition

    def model_for(self, shot: Shot) -> str:
        return shot.model or self.defaults.model

    def fit_for(self, shot: Shot) -> str:
        return shot.fit or self.defaults.fit

    def upscaler_for(self, shot: Shot) -> str:
        return shot.upscale or self.defaults.upscale


class LoadedShotList(BaseModel):
    """A validated shot list plus where it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    spec: ShotList
    path: Path
    repo_root: Path
    lines: dict[str, int]  # "shots.0.duration" -> line number
    commit: str | None = None  # last commit that changed the shot list ("+dirty": edited since)
    repo_commit: str | None = None  # HEAD of its repository when loaded ("+dirty" likewise)

    @property
    def stem(self) -> str:
        return self.path.stem

    def resolve_asset(self, rel: str) -> Path:
        return resolve_inside(self.repo_root, rel)

    def line_of(self, dotted: str) -> int | None:
        parts = dotted.split(".")
        while parts:
            key = ".".join(parts)
            if key in self.lines:
                return self.lines[key]
            parts.pop()
        return None


# ---------------------------------------------------------------- loading


def find_repo_root(path: Path) -> Path:
    """Nearest ancestor holding .git; otherwise the parent of a 'shotlists' folder or the folder."""
    path = path.resolve()
    for parent in [path.parent, *path.parent.parents]:
        if (parent / ".git").exists():
            return parent
    if path.parent.name == "shotlists":
        return path.parent.parent
    return path.parent


def git_commit(path: Path) -> str | None:
    """Commit of the last change to ``path`` (None outside git or with uncommitted edits noted)."""
    try:
        out = subprocess.run(
            ["git", "log", "-n1", "--format=%H", "--", path.name],
            cwd=path.parent, capture_output=True, text=True, timeout=10,
        )
        commit = out.stdout.strip() or None
        if commit:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--", path.name],
                cwd=path.parent, capture_output=True, text=True, timeout=10,
            ).stdout.strip()
            if dirty:
                commit += "+dirty"
        return commit
    except (OSError, subprocess.SubprocessError):
        return None


def head_commit(path: Path) -> str | None:
    """HEAD of the repository holding ``path``, marked +dirty when the file has local edits."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path.parent, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
        if head:
            dirty = subprocess.run(["git", "status", "--porcelain", "--", path.name], cwd=path.parent,
                                   capture_output=True, text=True, timeout=10).stdout.strip()
            if dirty:
                head += "+dirty"
        return head
    except (OSError, subprocess.SubprocessError):
        return None


def resolve_inside(root: Path, rel: str) -> Path:
    """Resolve ``rel`` against ``root``; refuse absolute paths and paths that escape it."""
    if Path(rel).is_absolute():
        raise ValueError(f"'{rel}' must be a path relative to the repository, not absolute")
    root = root.resolve()
    full = (root / rel).resolve()
    if full != root and root not in full.parents:
        raise ValueError(f"'{rel}' points outside the repository ({root})")
    return full


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
    except ValueError:
        return path


MAX_FILE_CHARS = 2_000_000
MAX_NODES = 200_000


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


def parse_shotlist(path: Path) -> tuple[ShotList, dict[str, int], Any]:
    """Parse and schema-validate one file; raise ShotListError with located problems."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ShotListError([Problem(str(shown), None, None, None, "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ShotListError([Problem(str(shown), None, None, None, f"cannot read: {exc}")]) from None
    if len(text) > MAX_FILE_CHARS:
        raise ShotListError([Problem(str(shown), None, None, None,
                                     f"file too large ({len(text):,} characters; the limit is {MAX_FILE_CHARS:,})")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
        spec = ShotList.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
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

    def check(rel: str | None, loc: tuple) -> None:
        if rel is None:
            return
        try:
            full = resolve_inside(root, rel)
        except ValueError as exc:
            problems.append(problem_at(shown, data, lines, loc, str(exc)))
            return
        if not full.is_file():
            problems.append(problem_at(shown, data, lines, loc, f"file not found: {rel}"))

    check(spec.audio.music, ("audio", "music"))
    check(spec.output.lut, ("output", "lut"))
    for i, shot in enumerate(spec.shots):
        check(shot.image, ("shots", i, "image"))
        for j, line in enumerate(shot.dialogue):
            check(line.file, ("shots", i, "dialogue", j, "file"))
            if line.at is not None and line.at >= shot.duration:
                problems.append(problem_at(shown, data, lines, ("shots", i, "dialogue", j, "at"),
                                           f"{line.at:g}s is past the end of the {shot.duration:g}s shot"))
        for j, fx in enumerate(shot.sfx):
            check(fx.file, ("shots", i, "sfx", j, "file"))
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


def load_shotlist(path: str | Path, *, check_files: bool = True) -> LoadedShotList:
    """Load, schema-validate and check a shot list (assets, transitions). Raises ShotListError."""
    path = Path(path)
    spec, lines, data = parse_shotlist(path)
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
