"""OpenTimelineIO timeline of the final edit, plus FCP XML and CMX 3600 EDL through OTIO's
adapter plugins (otio-fcp-adapter, otio-cmx3600-adapter).

OTIO transitions overlap the neighbouring clips' handles instead of consuming time: the cut sits
inside our overlap (in_offset frames before it, out_offset after), the incoming clip's source range
starts ``in_offset`` frames into its media and the outgoing one ends ``out_offset`` frames before its
media ends. Summed, the record durations equal the MP4's frame count exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio

from reelflow.edit.timeline import Timeline
from reelflow.spec.transitions import get as transition


@dataclass(frozen=True)
class ShotRef:
    shot_id: str
    media: str  # absolute path of the rendered shot file
    media_frames: int  # frames available in the media at the edit's rate
    prompt: str
    model: str
    provider: str
    tier: str
    reason: str
    offset: int = 0  # frames of the media before the shot's first frame (a shot shown from its clip's tail)


def _rt(frames: int, fps: float) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, fps)


def _split(frames: int) -> tuple[int, int]:
    """(in_offset, out_offset) of a transition of ``frames``: the cut in its middle."""
    before = frames // 2
    return before, frames - before


def build_otio(timeline: Timeline, shots: list[ShotRef], mix_wav: str | None, title: str,
               stems: dict[str, str] | None = None) -> otio.schema.Timeline:
    """The edit as OTIO: V1 the shots and transitions, A1 the mix, then one track per stem of
    the mix (dialogue, effects, production, music), off: they add up to A1, so an editor who
    turns them on and A1 off can rebalance the sound."""
    fps = timeline.fps
    tl = otio.schema.Timeline(name=title, global_start_time=_rt(0, fps))
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(video)
    refs = {ref.shot_id: ref for ref in shots}
    for clip in timeline.clips:
        ref = refs[clip.shot_id]
        # the cut sits `before` frames into each overlap: this clip's source starts at the cut
        # into it and ends at the cut out of it; the transitions borrow the frames beyond
        start = ref.offset + (_split(clip.join_in.frames)[0] if clip.join_in else 0)
        end = ref.offset + clip.frames - (_split(clip.join_out.frames)[1] if clip.join_out else 0)
        duration = end - start
        available = otio.opentime.TimeRange(_rt(0, fps), _rt(max(ref.media_frames, ref.offset + clip.frames), fps))
        ref_media = (otio.schema.ExternalReference(target_url=Path(ref.media).resolve().as_uri(),
                                                   available_range=available)
                     if ref.media else otio.schema.MissingReference(available_range=available))
        item = otio.schema.Clip(
            name=ref.shot_id, media_reference=ref_media,
            source_range=otio.opentime.TimeRange(_rt(start, fps), _rt(duration, fps)),
        )
        item.metadata["reelflow"] = {"prompt": ref.prompt, "model": ref.model, "provider": ref.provider,
                                     "tier": ref.tier, "reason": ref.reason}
        item.markers.append(otio.schema.Marker(
            name=f"{ref.shot_id}: {ref.model}",
            marked_range=otio.opentime.TimeRange(_rt(start, fps), _rt(0, fps)),
            color=otio.schema.MarkerColor.GREEN if ref.provider != "animatic" else otio.schema.MarkerColor.YELLOW,
            metadata={"reelflow": {"prompt": ref.prompt, "model": ref.model, "provider": ref.provider}},
        ))
        if clip.join_in and clip.join_in.frames:
            before, after = _split(clip.join_in.frames)
            kind = transition(clip.join_in.type)
            video.append(otio.schema.Transition(
                name=kind.name,
                transition_type=getattr(otio.schema.TransitionTypes, kind.otio_type, kind.otio_type),
                in_offset=_rt(before, fps), out_offset=_rt(after, fps),
                metadata={"reelflow": {"type": kind.name}},
            ))
        video.append(item)
    whole = otio.opentime.TimeRange(_rt(0, fps), _rt(timeline.frames, fps))
    sound = ([("A1 mix", "mix", mix_wav)] if mix_wav else []) + [
        (f"A{k} {name}", name, path) for k, (name, path) in enumerate((stems or {}).items(), start=2)]
    for track_name, clip_name, path in sound:
        audio = otio.schema.Track(name=track_name, kind=otio.schema.TrackKind.Audio)
        audio.append(otio.schema.Clip(
            name=clip_name, media_reference=otio.schema.ExternalReference(
                target_url=Path(path).resolve().as_uri(), available_range=whole), source_range=whole))
        if clip_name != "mix":
            audio.enabled = False  # the mix plays; its stems are there to remix from
            audio.metadata["reelflow"] = {"stem": clip_name, "note": "adds up to A1 mix before its limiter"}
        tl.tracks.append(audio)
    return tl


def planned_otio(edit) -> otio.schema.Timeline:
    """The edit as planned, before anything is paid for: every shot at its place with its model,
    cost and reason, media still missing (an editor can block out the cut from it)."""
    refs = [ShotRef(shot_id=s.id, media="", media_frames=s.place.frames, prompt=s.shot.prompt, model=s.plan.model,
                    provider="planned", tier=f"final ${s.plan.final.cost:.2f}", reason=s.plan.reason)
            for s in edit.shots]
    return build_otio(edit.timeline, refs, None, edit.title)


def shot_refs(given) -> list[ShotRef]:
    """What an editor sees per clip, from the edit object."""
    fps = given.edit.timeline.fps

    return [ShotRef(shot_id=s.id, media=str(given.media[s.id]), media_frames=int(round(s.take.clip.seconds * fps)),
                    prompt=s.shot.prompt, model=s.final_from[0].model, provider=s.take.clip.provider,
                    tier=s.take.clip.tier, reason=s.plan.reason, offset=int(round(s.head_skip(fps) * fps)))
            for s in given.edit.shots]


class OTIO:
    name, suffix, adapter = "otio", ".otio", None

    def write(self, given, dest: Path) -> list[str]:
        tl = build_otio(given.edit.timeline, shot_refs(given), str(given.mix_wav), given.edit.title,
                        {name: str(path) for name, path in given.stems.items()})
        if self.adapter is None:
            otio.adapters.write_to_file(tl, str(dest))
            return []
        try:
            otio.adapters.write_to_file(self.prepare(tl), str(dest), adapter_name=self.adapter)
        except Exception as exc:  # noqa: BLE001 - a missing plugin must not lose the render
            return [f"{self.name} not written: {exc}"]
        return []

    def prepare(self, tl: otio.schema.Timeline) -> otio.schema.Timeline:
        return tl


class FCPXML(OTIO):
    """FCP XML has no switched-off track (the adapter writes none): with stems, it carries the
    stems alone, which add up to the mix, so the sound plays once and can be rebalanced."""

    name, suffix, adapter = "fcpxml", ".xml", "fcp_xml"

    def prepare(self, tl: otio.schema.Timeline) -> otio.schema.Timeline:
        stems = [t for t in tl.audio_tracks() if not t.enabled]
        if not stems:
            return tl
        out = otio.schema.Timeline(name=tl.name, global_start_time=tl.global_start_time)
        for track in [*tl.video_tracks(), *stems]:
            copy = track.deepcopy()
            copy.enabled = True
            out.tracks.append(copy)
        return out


class EDL(OTIO):
    """CMX 3600 holds one video track: the mix track is left out."""

    name, suffix, adapter = "edl", ".edl", "cmx_3600"

    def prepare(self, tl: otio.schema.Timeline) -> otio.schema.Timeline:
        video_only = otio.schema.Timeline(name=tl.name, global_start_time=tl.global_start_time)
        video_only.tracks.append(tl.video_tracks()[0].deepcopy())
        return video_only
