"""The provider protocol every model adapter implements: submit -> job id, poll, download.

The caller (reelflow.generation.generate) persists the job id before it polls, so a retry, a crashed
worker or a re-run resumes the same paid job instead of submitting again.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_serializer

from reelflow.spec.voices import OfflineVoice


class DialogueCue(BaseModel):
    model_config = ConfigDict(frozen=True)
    speaker: str
    line: str
    voice: OfflineVoice | None = None  # the offline speaker's settings (the animatic's requests only)

    @model_serializer(mode="wrap")
    def _without_unset_voice(self, handler):
        data = handler(self)
        if data.get("voice") is None:  # requests made before voices keep their keys
            data.pop("voice", None)
        return data


class GroupShot(BaseModel):
    """One shot of a multi-shot call: its own prompt and whole seconds, in order."""

    model_config = ConfigDict(frozen=True)
    shot_id: str
    prompt: str
    seconds: int


class GenerationRequest(BaseModel):
    """Everything that determines a generated clip. Never holds credentials."""

    model_config = ConfigDict(frozen=True)

    shot_id: str
    prompt: str
    negative_prompt: str | None = None
    kind: str
    camera: str
    model: str  # catalog id, e.g. veo-3.1
    route_model: str | None = None  # id at the route, e.g. veo-3.1-generate-001
    route_params: dict[str, Any] = {}  # the catalog route's extras (mode, input template)
    tier: Literal["draft", "final"]
    seed: int
    seconds: int
    width: int
    height: int
    fps: int
    aspect: str
    audio: bool
    audio_cue: str | None = None
    dialogue: tuple[DialogueCue, ...] = ()
    image_sha256: str | None = None  # content hash of the reference image (the path may move)
    image_path: str | None = None
    video_sha256: str | None = None  # video-to-video jobs (cloud upscale): the source's hash
    video_path: str | None = None
    # continuity (first+last frame, identity references, extending an earlier job)
    last_frame_sha256: str | None = None
    last_frame_path: str | None = None
    reference_sha256s: tuple[str, ...] = ()
    reference_paths: tuple[str, ...] = ()
    extend_from: str | None = None  # the provider's id of the job whose clip this one continues
    draft_task_id: str | None = None  # a native draft this final promotes (Seedance 2.5 on ModelArk)
    driving_audio_sha256: str | None = None  # the shot's dialogue track the clip must follow (lip sync)
    driving_audio_path: str | None = None
    group: tuple[GroupShot, ...] = ()  # a scene group in one call: the shots, in order (``seconds`` is their sum)
    frames_required: bool = False
    """The first/last frame is continuity (not a reference image a text-only endpoint may skip):
    a route that cannot send it refuses. Not part of the key (the frames' hashes are)."""

    def key_fields(self) -> dict:
        """What identifies the clip: content hashes, never paths. Fields added after stores
        were written are left out while empty, so those stores keep their keys."""
        exclude = {"image_path", "video_path", "last_frame_path", "reference_paths", "frames_required",
                   "driving_audio_path"}
        exclude |= {f for f in ("last_frame_sha256", "reference_sha256s", "extend_from", "draft_task_id", "group",
                                "driving_audio_sha256")
                    if not getattr(self, f)}
        return self.model_dump(mode="json", exclude=exclude)


class JobState(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: Literal["queued", "running", "succeeded", "failed"]
    progress: float | None = None
    error: str | None = None
    rejected: bool = False  # a safety/content-policy rejection
    retry_after: float | None = None


@runtime_checkable
class Provider(Protocol):
    """One model provider (a route in the catalog)."""

    name: str
    version: str  # bump when the same request would give a different clip

    def submit(self, request: GenerationRequest) -> str:
        """Start a job; return the provider's job id. May raise Transient/PermanentProviderError."""

    def poll(self, request: GenerationRequest, job_id: str) -> JobState: ...

    def download(self, request: GenerationRequest, job_id: str, dest: str) -> dict:
        """Write the finished clip to ``dest``; return metadata (e.g. speech spans, notes)."""

    def poll_interval(self) -> float: ...


def cache_key(provider: str, version: str, request: GenerationRequest) -> str:
    """Content key of a generated clip: the provider, its version and the request."""
    payload = json.dumps({"provider": provider, "version": version, **request.key_fields()},
                         sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def clip_key(provider: Provider, request: GenerationRequest) -> str:
    """Store key of a generated clip. Where the adapter can say what the provider receives
    (``identity``: route, model id, body), that is the key, so a draft identical to its final, or
    a repeated body, is paid once; otherwise the whole request (tier included)."""
    identity = getattr(provider, "identity", None)
    if identity is None:
        return cache_key(provider.name, provider.version, request)
    payload = json.dumps({"provider": provider.name, "version": provider.version, "sent": identity(request)},
                         sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
