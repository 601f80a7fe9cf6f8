"""`reelflow qc CLIP|EDIT ...`: the pipeline's clip checks on any file, for a studio's CI.

An edit with its manifest beside it (``<stem>.manifest.json``, as `reelflow render` writes) is
checked against what the manifest says it should be, with the in-shot cut check off (an edit is
cut by design). Exit 1 when any file fails a check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from reelflow.cli.terminal import fail as _fail
from reelflow.errors import EXIT_INVALID, InputError
from reelflow.cli.terminal import out


def _size(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise _fail(InputError(f"--size must be WIDTHxHEIGHT, got {text!r}")) from None
    return w, h


def _settings(pairs: list[str], off: list[str]) -> dict:
    """--set CHECK.SETTING=VALUE and --off CHECK into the shot list's `qc.checks` form."""
    found: dict[str, dict] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        check, _, setting = name.partition(".")
        if not (check and setting and value):
            raise _fail(InputError(f"--set wants CHECK.SETTING=VALUE, got {pair!r}"))
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        found.setdefault(check, {})[setting] = parsed
    for check in off:
        found.setdefault(check, {})["severity"] = "off"
    return found


def _from_manifest(path: Path) -> tuple[dict, bool]:
    manifest = path.with_name(path.stem + ".manifest.json")
    if not manifest.is_file():
        return {}, False
    try:
        output = json.loads(manifest.read_text(encoding="utf-8")).get("output") or {}
    except ValueError:
        return {}, False
    if output.get("path") and Path(output["path"]).name != path.name:
        return {}, False
    return {"seconds": output.get("expected_duration") or output.get("duration"), "width": output.get("width"),
            "height": output.get("height"), "fps": output.get("fps"), "audio": bool(output.get("has_audio"))}, True


def qc(files: List[Path] = typer.Argument(..., help="Clips or edits to check."),
       duration: Optional[float] = typer.Option(None, help="Seconds the clip should last."),
       size: Optional[str] = typer.Option(None, help="WIDTHxHEIGHT the clip should have (the aspect must match)."),
       fps: Optional[float] = typer.Option(None, help="Frame rate it should have."),
       audio: bool = typer.Option(False, "--audio", help="Native audio was asked: no sound or silence fails."),
       moving: bool = typer.Option(False, "--moving", help="The camera moves: a frozen picture fails."),
       first_frame: Optional[Path] = typer.Option(None, help="Image the clip must open on (continuity)."),
       ref: List[Path] = typer.Option([], help="A cast reference image (colour proxy, warn only)."),
       set_: List[str] = typer.Option([], "--set", help="CHECK.SETTING=VALUE, e.g. black.max_fraction=0.5."),
       off: List[str] = typer.Option([], help="A check not to run."),
       as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON.")):
    """Check clips as the pipeline does: duration, size/aspect/rate, black, frozen, flashes, a cut
    inside the shot, sound present, silence, clipping, the opening frame, the cast's colours."""
    from reelflow.qc.report import Expectation
    from reelflow.qc.runner import check_clip, settings

    overrides = _settings(set_, off)
    w, h = _size(size)
    try:
        settings(overrides)
    except ValueError as exc:
        raise _fail(InputError(str(exc))) from None
    reports, failed = [], False
    for path in files:
        if not path.is_file():
            raise _fail(InputError(f"{path}: no such file"))
        known, is_edit = _from_manifest(path)
        asked = {"seconds": duration, "width": w, "height": h, "fps": fps}
        expect = Expectation(**{**{k: v for k, v in known.items() if v is not None},
                                **{k: v for k, v in asked.items() if v is not None},
                                "audio": audio or known.get("audio", False), "moving_camera": moving,
                                "first_frame": str(first_frame) if first_frame else None,
                                "cast_images": tuple(str(r) for r in ref)})
        mine = {**({"cut": {"severity": "off"}} if is_edit else {}), **overrides}
        try:
            report = check_clip(path, expect, mine)
        except Exception as exc:  # noqa: BLE001 - an undecodable file fails, in one line
            raise _fail(InputError(f"{path}: cannot be decoded: {exc}")) from None
        failed = failed or report.failed
        reports.append(report)
        if not as_json:
            head = "[red]FAIL[/]" if report.failed else "[green]ok[/]"
            out.print(f"{head} {escape(str(path))}: {escape(report.summary())}"
                      + (" (checked as an edit: its manifest)" if is_edit else ""))
            for f in report.findings:
                out.print("  " + escape(f.line()))
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
    raise typer.Exit(EXIT_INVALID if failed else 0)
