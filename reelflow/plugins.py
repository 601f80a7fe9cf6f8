"""Extension points found by entry point (OpenTimelineIO's adapter plugins are the model): a
provider, a deliverable or a transition is one module or class registered under its group;
reelflow's own are declared the same way in pyproject.toml and listed here for a bare checkout."""

from __future__ import annotations

import importlib
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Mapping

BUILT_IN: dict[str, dict[str, str]] = {
    "reelflow.deliverables": {
        "otio": "reelflow.deliver.nle:OTIO",
        "fcpxml": "reelflow.deliver.nle:FCPXML",
        "edl": "reelflow.deliver.nle:EDL",
        "srt": "reelflow.deliver.captions:SRT",
        "vtt": "reelflow.deliver.captions:VTT",
        "contact_sheet": "reelflow.deliver.contact:ContactSheet",
        "stems": "reelflow.deliver.stems:Stems",
    },
    "reelflow.qc": {
        "duration": "reelflow.qc.checks:Duration",
        "size": "reelflow.qc.checks:Size",
        "black": "reelflow.qc.checks:Black",
        "frozen": "reelflow.qc.checks:Frozen",
        "static": "reelflow.qc.checks:NearStatic",
        "flash": "reelflow.qc.checks:Flash",
        "cut": "reelflow.qc.checks:InnerCut",
        "audio": "reelflow.qc.checks:AudioPresent",
        "silence": "reelflow.qc.checks:Silence",
        "clipping": "reelflow.qc.checks:Clipping",
        "first_frame": "reelflow.qc.checks:FirstFrame",
        "cast": "reelflow.qc.checks:CastLook",
        "lipsync": "reelflow.qc.lipsync:LipSync",
    },
    "reelflow.transitions": {
        "cut": "reelflow.spec.transitions:Cut",
        "crossfade": "reelflow.spec.transitions:Crossfade",
        "fade_black": "reelflow.spec.transitions:FadeBlack",
        "dip_white": "reelflow.spec.transitions:DipWhite",
    },
}


@lru_cache(maxsize=None)
def _targets(group: str) -> MappingProxyType:
    """Read once per group (transitions are looked up per frame), read-only."""
    from importlib.metadata import entry_points

    found = dict(BUILT_IN.get(group, {}))
    for ep in entry_points(group=group):
        found[ep.name] = ep.value
    return MappingProxyType(found)


def refresh() -> None:
    """Look for plugins again (one installed while this process runs)."""
    _targets.cache_clear()


def targets(group: str) -> Mapping[str, str]:
    """{name: 'module:attr'} of every registration in ``group``: built-ins first, then plugins
    (which may add names or replace a built-in)."""
    return _targets(group)


def names(group: str) -> list[str]:
    return list(targets(group))


def load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
