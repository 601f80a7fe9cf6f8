"""Shot-list schema (pydantic v2): the typed, frozen shot list every later stage reads.

Pure: no I/O. Parsing with file:line errors lives in reelflow/loader.py.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from reelflow.spec.group_rules import group_problem
from reelflow.spec.qc import QC
from reelflow.spec.music import MusicBed, MusicPrompt  # noqa: F401 - MusicBed is part of the schema
from reelflow.spec.voices import Voice
from reelflow.spec.schema_types import MAX_PATH_CHARS, SLUG, AssetPath, ModelId, Seconds, ShortText, Strict, Text  # noqa: F401

RESOLUTIONS = {"720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}


MAX_SHOTS = 1000


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
    """reelflow's own transitions; a plugin registers more (reelflow.spec.transitions)."""

    crossfade = "crossfade"
    cut = "cut"
    fade_black = "fade_black"  # fade through black
    dip_white = "dip_white"  # dip to white


def even(n: float) -> int:
    return int(round(n / 2.0)) * 2


def frame_size(short_side: int, aspect: str) -> tuple[int, int]:
    """Width and height (even numbers) for a short side and an aspect such as '9:16'."""
    aw, ah = ASPECTS[aspect]
    if aw >= ah:
        return even(short_side * aw / ah), even(short_side)
    return even(short_side), even(short_side * ah / aw)


def _registered_transition(name: str) -> str:
    from reelflow.spec.transitions import GROUP
    from reelflow.plugins import names

    if name not in names(GROUP):
        raise ValueError(f"unknown transition {name!r}; use {', '.join(names(GROUP))}")
    return name


TransitionName = Annotated[str, AfterValidator(_registered_transition),
                           Field(json_schema_extra={"examples": [t.value for t in TransitionType]})]


class Transition(Strict):
    type: TransitionName = "crossfade"  # any registered transition (reelflow.spec.transitions)
    seconds: Annotated[float, Field(ge=0, le=10)] = 0.5

    @property
    def overlap(self) -> float:
        """Seconds the two neighbouring shots share on screen (0 for a cut)."""
        from reelflow.spec.transitions import get

        return self.seconds if get(self.type).overlaps else 0.0


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
    deliverables: Annotated[list[str], Field(max_length=20)] = DEFAULT_DELIVERABLES
    """Companions to write beside the MP4 (otio, fcpxml, edl, srt, vtt, contact_sheet) and extra
    aspect versions cut from the same render ('9:16', '1:1', ...)."""
    lut: AssetPath | None = None
    """A .cube LUT inside the repository, applied to every frame on export (grade consistency)."""
    prototype_resolution: Literal["half", "output", "360p", "540p", "720p", "1080p"] = "half"
    """The prototype edit's size: a review proxy of the drafts (which render at 360-720 lines),
    by default half the output's ('output' for the full size)."""

    @field_validator("loudness_lufs", mode="before")
    @classmethod
    def _preset(cls, v):
        if isinstance(v, str) and v.strip().lower() in LOUDNESS_PRESETS:
            return LOUDNESS_PRESETS[v.strip().lower()]
        return v

    @field_validator("deliverables")
    @classmethod
    def _deliverables(cls, v: list[str]) -> list[str]:
        from reelflow.plugins import names

        known = ["mp4", *names("reelflow.deliverables")]  # a plugin may add a deliverable
        bad = [d for d in v if d not in known and d not in ASPECT_VERSIONS]
        if bad:
            raise ValueError(f"unknown deliverable {bad[0]!r}; use {', '.join(known)} "
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

    @property
    def prototype_size(self) -> tuple[int, int]:
        short = {"output": RESOLUTIONS[self.resolution], "half": RESOLUTIONS[self.resolution] // 2}.get(
            self.prototype_resolution) or int(self.prototype_resolution[:-1])
        return frame_size(short, self.aspect)

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
    model: ModelId = "auto"
    handles: Annotated[float, Field(ge=0, le=5)] = 0.0
    """Extra source seconds requested after each shot, for re-trimming in an NLE."""
    fit: Fit = "auto"
    """How a source of another aspect fills the frame: crop, pad (bars), blur (blurred fill) or
    auto (crop when that keeps most of the picture, blurred fill otherwise)."""
    upscale: Upscaler = "lanczos"


class ShotAudio(Strict):
    native: bool = True
    cue: ShortText | None = None
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class DialogueLine(Strict):
    speaker: Annotated[Text, Field(min_length=1, max_length=60)]
    line: Annotated[Text, Field(min_length=1, max_length=500)]
    file: AssetPath | None = None
    """A recorded voice-over/dialogue stem inside the repository, mixed instead of generated."""
    at: Seconds | None = None
    """Seconds into the shot where the stem starts (default: one after another from 0.4 s)."""
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class SoundEffect(Strict):
    file: AssetPath
    at: Seconds = 0.0
    gain_db: Annotated[float, Field(ge=-60, le=24)] = 0.0


class Shot(Strict):
    id: Annotated[str, Field(pattern=SLUG, max_length=64)]
    prompt: Annotated[Text, Field(min_length=1, max_length=4000)]
    duration: Annotated[float, Field(gt=0, le=120)]
    kind: Kind = Kind.environment
    camera: ShortText = "static"
    model: ModelId | None = None
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    negative_prompt: Annotated[Text, Field(max_length=2000)] | None = None
    image: AssetPath | None = None
    """Reference image (first frame) inside the repository; needs an image-to-video model."""
    audio: ShotAudio = ShotAudio()
    dialogue: Annotated[list[DialogueLine], Field(max_length=50)] = []
    lipsync: bool | None = None
    """Lip-sync the final to the shot's stems (default: on for kind dialogue with recorded or
    TTS lines, where the model does not already follow the dialogue track)."""
    sfx: Annotated[list[SoundEffect], Field(max_length=50)] = []
    transition: Transition | None = None
    fit: Fit | None = None
    focus: FocusName | tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]] = "center"
    """Where to keep the picture when cropping: a name, or [x, y] as fractions of the frame."""
    upscale: Upscaler | None = None
    refs: Annotated[list[CastName], Field(max_length=14)] = []
    """Cast entries (characters, locations, props, styles) this shot shows."""
    continues: bool = False
    """Continuous with the previous shot across a cut: this shot starts on the previous one's last
    frame (or on the shared keyframe); the boundary is a cut."""
    keyframe: AssetPath | None = None
    """With continues: an image both shots share, the previous shot's last frame and this one's
    first (first+last-frame models render both at once instead of one after the other)."""
    takes: Annotated[int, Field(ge=1, le=4)] = 1
    """Draft takes to choose from (different seeds); the review picks one for the final."""
    compare: Annotated[list[ModelId], Field(max_length=3)] = []
    """Models to draft side by side with the routed one; the chosen take's model renders the final."""
    scene: Annotated[str, Field(pattern=SLUG, max_length=64)] | None = None
    """The scene (or page) this shot belongs to: the review groups shots by it and approves a whole
    scene at once (`approve_groups`). Not part of any render key."""
    qc: QC | None = None
    """This shot's QC settings over the list's `qc:` (see QC)."""
    group: Annotated[str, Field(pattern=SLUG, max_length=64)] | None = None
    """Consecutive shots rendered by one multi-shot call where the model can (see reelflow.plan.groups)."""
    alternate_prompt: Annotated[Text, Field(min_length=1, max_length=4000)] | None = None
    """Your prompt for when a safety filter refuses this shot (`on_flag`); never rewritten for you."""

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


class CastKind(str, Enum):
    character = "character"
    location = "location"
    prop = "prop"
    style = "style"


class CastEntry(Strict):
    """A recurring character, location, prop or style: what it looks like, in words and images."""

    kind: CastKind = CastKind.character
    description: Annotated[Text, Field(min_length=1, max_length=1000)]
    images: Annotated[list[AssetPath], Field(max_length=14)] = []
    voice: Voice | None = None
    """How the character sounds in every shot (reelflow.spec.voices)."""


CastName = Annotated[str, Field(pattern=SLUG, max_length=64)]


class ShotList(Strict):
    version: Literal[1] = 1
    title: Annotated[Text, Field(min_length=1, max_length=200)]
    output: Output = Output()
    defaults: Defaults = Defaults()
    budget_usd: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    audio: MusicBed = MusicBed()
    cast: Annotated[dict[CastName, CastEntry], Field(max_length=200)] = {}
    qc: QC = QC()
    """Automatic checks of every clip, re-rolls, safety refusals; a shot's own `qc:` overrides."""
    shots: Annotated[list[Shot], Field(min_length=1, max_length=MAX_SHOTS)]

    @model_validator(mode="after")
    def _unique_ids(self) -> "ShotList":
        seen: set[str] = set()
        for i, shot in enumerate(self.shots):
            if shot.id in seen:
                raise ValueError(f"@shots.{i}.id@duplicate shot id '{shot.id}'")
            seen.add(shot.id)
            unknown = [r for r in shot.refs if r not in self.cast]
            if unknown:
                raise ValueError(f"@shots.{i}.refs@unknown cast entry '{unknown[0]}' "
                                 f"(cast: {', '.join(self.cast) or 'none declared'})")
            self._check_continuity(i, shot)
        problem = group_problem(self.shots)
        if problem:
            raise ValueError(problem)
        return self

    def _check_continuity(self, i: int, shot: Shot) -> None:
        if shot.keyframe and not shot.continues:
            raise ValueError(f"@shots.{i}.keyframe@a keyframe is the frame shared with the previous shot; "
                             f"set continues: true")
        if not shot.continues:
            return
        if i == 0:
            raise ValueError("@shots.0.continues@the first shot has no previous shot to continue")
        if shot.image:
            raise ValueError(f"@shots.{i}.image@a continuing shot starts on the previous shot's last frame "
                             f"(or its keyframe); remove image")
        before = self.shots[i - 1].transition
        if before is not None and before.type != "cut":
            raise ValueError(f"@shots.{i - 1}.transition@shot '{shot.id}' continues this one across a cut; "
                             f"a {before.type} would show both shots at once (remove it)")

    def cast_of(self, shot: Shot) -> list[tuple[str, CastEntry]]:
        """The cast entries a shot names, in its order."""
        return [(name, self.cast[name]) for name in shot.refs]

    def assets(self) -> list[tuple[tuple, str, str]]:
        """(location, repo-relative path, kind) of every file the list uses: kind is audio
        (music, dialogue stems, effects), image (first frames) or lut."""
        found: list[tuple[tuple, str, str]] = []
        if isinstance(self.audio.music, str):
            found.append((("audio", "music"), self.audio.music, "audio"))
        if self.output.lut:
            found.append((("output", "lut"), self.output.lut, "lut"))
        for i, shot in enumerate(self.shots):
            if shot.image:
                found.append((("shots", i, "image"), shot.image, "image"))
            if shot.keyframe:
                found.append((("shots", i, "keyframe"), shot.keyframe, "image"))
            found += [(("shots", i, "dialogue", j, "file"), d.file, "audio") for j, d in enumerate(shot.dialogue)
                      if d.file]
            found += [(("shots", i, "sfx", j, "file"), fx.file, "audio") for j, fx in enumerate(shot.sfx)]
        for name, entry in self.cast.items():
            found += [(("cast", name, "images", j), img, "image") for j, img in enumerate(entry.images)]
        return found

    def transition_after(self, index: int) -> Transition:
        """Transition from shot ``index`` into the next one (a cut where the next continues it)."""
        if index + 1 < len(self.shots) and (self.shots[index + 1].continues or
                                            (self.shots[index].group and self.shots[index].group == self.shots[index + 1].group)):
            return Transition(type="cut", seconds=0)  # one take across the cut, or one call's hard cut
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


def resolve_inside(root: Path, rel: str) -> Path:
    """Resolve ``rel`` against ``root``; refuse absolute paths and paths that escape it."""
    if Path(rel).is_absolute():
        raise ValueError(f"'{rel}' must be a path relative to the repository, not absolute")
    root = root.resolve()
    full = (root / rel).resolve()
    if full != root and root not in full.parents:
        raise ValueError(f"'{rel}' points outside the repository ({root})")
    return full
