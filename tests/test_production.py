"""The production path's pure rules, without a Prefect server: durable folders, content
fingerprints, the review form, links a browser can open, deploy settings, limits."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest

from .conftest import make_repo

LIST = """\
title: Prod
output: {resolution: 720p, deliverables: []}
audio: {music: assets/music/bed.wav}
shots:
  - {id: one, prompt: Lighthouse at night, duration: 1, kind: environment}
  - {id: two, prompt: Tin on a crate, duration: 1, kind: product}
"""


def test_deployed_run_refuses_outputs_or_store_inside_its_checkout(tmp_path):
    from reelflow.runtime.config import EphemeralPathError, refuse_ephemeral

    clone = tmp_path / "tmpabcprefect" / "films-main"
    clone.mkdir(parents=True)
    with pytest.raises(EphemeralPathError, match="REELFLOW_OUT"):
        refuse_ephemeral(clone, clone / "out", tmp_path / "store")
    with pytest.raises(EphemeralPathError, match="REELFLOW_STORE"):
        refuse_ephemeral(clone, tmp_path / "out", clone / ".reelflow")
    refuse_ephemeral(clone, tmp_path / "out", tmp_path / "store")  # durable: fine


def test_output_and_store_follow_parameter_then_environment(tmp_path, monkeypatch):
    from reelflow.runtime.config import output_dir, store_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REELFLOW_OUT", raising=False)
    assert output_dir(None) == tmp_path / "out"
    monkeypatch.setenv("REELFLOW_OUT", str(tmp_path / "durable"))
    monkeypatch.setenv("REELFLOW_STORE", str(tmp_path / "st"))
    assert output_dir(None) == tmp_path / "durable" and output_dir("x") == tmp_path / "x"
    assert store_dir(None, tmp_path / "repo") == tmp_path / "st"


def _fingerprint(path: Path, today=dt.date(2026, 11, 23)):
    from reelflow.load.catalog_file import load_catalog
    from reelflow.load.fingerprint import render_inputs
    from reelflow.plan.routing import plan_shotlist
    from reelflow.load.loader import load_shotlist

    loaded = load_shotlist(path)
    cat = load_catalog()
    return render_inputs(loaded, plan_shotlist(loaded.spec, cat, today), lambda m: "animatic")


def test_fingerprint_names_what_changed_and_ignores_where(tmp_path):
    import shutil

    from reelflow.load.fingerprint import what_changed

    path = make_repo(tmp_path / "a", LIST)
    first = _fingerprint(path)
    assert set(first["assets"]) == {"assets/music/bed.wav"}
    shutil.copytree(tmp_path / "a", tmp_path / "moved")  # another clone, same content
    assert what_changed(first, _fingerprint(tmp_path / "moved" / "shotlists" / "cut.yaml")) == []
    path.write_text(LIST.replace("Lighthouse at night", "Lighthouse at dusk"))
    assert what_changed(first, _fingerprint(path)) == ["shot list edited"]
    path.write_text(LIST)
    bed = tmp_path / "a" / "assets" / "music" / "bed.wav"
    bed.write_bytes(bed.read_bytes()[:-100])
    assert what_changed(first, _fingerprint(path)) == ["asset changed: assets/music/bed.wav"]
    assert what_changed(None, first)[0].startswith("no recorded inputs")


def test_routing_change_is_a_change(tmp_path):
    from reelflow.load.catalog_file import load_catalog
    from reelflow.load.fingerprint import routing_digest
    from reelflow.plan.routing import plan_shotlist
    from reelflow.load.loader import load_shotlist

    loaded = load_shotlist(make_repo(tmp_path, LIST))
    plan = plan_shotlist(loaded.spec, load_catalog(), dt.date(2026, 11, 23))
    assert routing_digest(plan, lambda m: "animatic") != routing_digest(plan, lambda m: "fal")


def test_review_form_offers_choices_and_problems_are_named():
    from reelflow.flows.review import problems_in, review_form

    form = review_form(["harbor", "tin"], ["kling-3.0", "veo-3.1"])
    schema = form.model_json_schema()
    assert "harbor" in str(schema["properties"]["reject"]) and "veo-3.1" in str(schema["properties"]["models"])
    with pytest.raises(Exception, match="Harbor"):
        form(reject=["Harbor"])
    ok = form(reject=["tin"])
    assert problems_in(ok, ["harbor", "tin"], ["kling-3.0", "veo-3.1"]) == []
    empty = form()
    assert "empty submission" in problems_in(empty, ["harbor", "tin"], ["veo-3.1"])[0]
    from reelflow.flows.review import ReviewInput# a client that bypassed the schema

    loose = ReviewInput(reject=["Bowl"], models={"tin": "veo-9"}, prompts={"harbor": " "})
    problems = " ".join(problems_in(loose, ["harbor", "tin"], ["veo-3.1"]))
    assert "'Bowl'" in problems and "'veo-9'" in problems and "empty prompt for harbor" in problems


def test_review_page_shows_problems_costs_and_players():
    from reelflow.flows.review import ReviewPage, ShotReview

    page = ReviewPage(title="T", round_no=2, shots=[
        ShotReview("a", "Prompt | with pipe", "animatic (for veo-3.1-fast)", "veo-3.1", 0.0, 3.2,
                   "new prompt", "data:video/mp4;base64,AAAA")],
        prototype_path="/srv/out/t.prototype.mp4", contact_sheet="data:image/jpeg;base64,BBBB", spent=1.5,
        problems=["empty submission: nothing was approved or rejected"])
    md = page.markdown()
    assert md.index("empty submission") < md.index("Spent so far")
    assert "$1.50" in md and '<video src="data:video/mp4;base64,AAAA"' in md and "(list 3.20)" in md
    assert "Prompt \\| with pipe" in md and "file://" not in md


def test_a_long_review_is_grouped_by_scene_or_page_and_a_group_is_approved_whole():
    from reelflow.flows.review import ReviewInput, ReviewPage, ShotReview, problems_in, review_form
    from reelflow.plan.review_groups import members, review_groups

    scenes = [("a", "dawn"), ("b", "dawn"), ("c", "storm"), ("d", None), ("e", "dawn")]
    groups = review_groups(scenes)
    assert [(g.name, g.shot_ids) for g in groups] == [("dawn", ("a", "b", "e")), ("storm", ("c",)),
                                                       ("no-scene", ("d",))]
    assert members(groups, ["storm", "dawn"]) == ["a", "b", "e", "c"]  # edit order, once each
    pages = review_groups([(f"s{i}", None) for i in range(23)])
    assert [g.name for g in pages] == ["page-1", "page-2", "page-3"] and pages[2].label == "page 3 (shots 21-23)"
    assert [g.name for g in review_groups([("x", None), ("y", None)])] == ["all"]  # short: one table

    names = [g.name for g in groups]
    form = review_form([i for i, _ in scenes], ["veo-3.1"], names)
    assert "storm" in str(form.model_json_schema()["properties"]["approve_groups"])
    with pytest.raises(Exception, match="stom"):
        form(approve_groups=["stom"])
    assert problems_in(form(approve_groups=["storm"]), [i for i, _ in scenes], ["veo-3.1"], None, names) == []
    problems = problems_in(ReviewInput(approve_groups=["night"]), [i for i, _ in scenes], ["veo-3.1"], None, names)
    assert "unknown group 'night'" in problems[0] and len(problems) == 1  # not also "empty submission"

    rows = [ShotReview(i, f"prompt {i}", "animatic", "veo-3.1", 1.0, 1.0, preview=f"data:video/mp4;base64,{i}")
            for i, _ in scenes]
    md = ReviewPage(title="T", round_no=1, shots=rows, groups=groups).markdown()
    assert md.index("## scene dawn: 3 shots, finals $3.00") < md.index("## scene storm") < md.index("base64,c")
    assert md.count("<video") == 5 and "approve_groups" in md
    flat = ReviewPage(title="T", round_no=1, shots=rows[:2], groups=review_groups([("a", None), ("b", None)]))
    assert "## " not in flat.markdown() and "approve_groups" not in flat.markdown()


def test_links_are_urls_or_inline_never_file(tmp_path):
    from reelflow.store.assets import Links, LocalAssets

    small = tmp_path / "s.jpg"
    small.write_bytes(b"\xff\xd8" + b"x" * 100)
    big = tmp_path / "b.mp4"
    big.write_bytes(b"y" * 500_000)
    local = Links(LocalAssets(tmp_path / "assets"))
    href = local.href(small, inline_mime="image/jpeg")
    assert href.startswith("data:image/jpeg;base64,") and base64.b64decode(href.split(",")[1]) == small.read_bytes()
    assert local.href(big, inline_mime="video/mp4") is None and local.href(big) is None
    served = Links(LocalAssets(tmp_path / "assets", "http://media.example:8787/"))
    url = served.href(big)
    assert url.startswith("http://media.example:8787/sha256/") and url.endswith(".mp4")
    assert (tmp_path / "assets" / url.split(":8787/")[1]).read_bytes() == big.read_bytes()


def test_deploy_settings_flags_then_environment(tmp_path, monkeypatch):
    from reelflow.cli.deploy import PACKAGED, settings

    for k in ("REELFLOW_GIT_REPOSITORY", "REELFLOW_GIT_BRANCH", "REELFLOW_WORK_POOL", "REELFLOW_OUT",
              "REELFLOW_STORE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("REELFLOW_GIT_REPOSITORY", "file:///srv/git/films.git")
    monkeypatch.setenv("REELFLOW_GIT_BRANCH", "release")
    monkeypatch.setenv("REELFLOW_STORE", str(tmp_path / "store"))
    s = settings(None, None, None, None, None, cwd=tmp_path)
    assert (s.repository, s.branch, s.pool) == ("file:///srv/git/films.git", "release", "reelflow-process")
    assert s.env == {"REELFLOW_STORE": str(tmp_path / "store")} and s.spec_file == PACKAGED
    assert any("REELFLOW_OUT" in line for line in s.describe())  # says what is still missing
    s = settings("https://git.example/x.git", "main", "gpu", str(tmp_path / "o"), None, cwd=tmp_path)
    assert (s.repository, s.branch, s.pool, s.env["REELFLOW_OUT"]) == (
        "https://git.example/x.git", "main", "gpu", str(tmp_path / "o"))


def test_packaged_deployments_match_the_repository(tmp_path):
    from reelflow.cli.deploy import PACKAGED

    from .conftest import ROOT

    assert PACKAGED.read_text() == (ROOT / "prefect.yaml").read_text()


def test_loudness_note_says_why_a_target_is_missed():
    from reelflow.edit.manifest import loudness_note

    assert loudness_note(-14.3, -1.2, -14) is None
    assert "1.1 LU from the -14 LUFS target" in loudness_note(-15.1, -1.2, -14)
    assert "true peak -0.4 dBTP" in loudness_note(-14.0, -0.4, -14)
    assert "silent" in loudness_note(float("-inf"), float("-inf"), -14)


def test_peaky_mix_reaches_the_target_with_true_peak_headroom():
    """No music bed, sparse loud transients (the case that landed at -15.1 for -14): the mix
    lands within 0.5 LU and leaves its true peak at -2.5 dBTP for the AAC encoder's overshoot."""
    import numpy as np

    from reelflow.media.mix import RATE, normalise, true_peak_db

    rng = np.random.default_rng(7)
    n = RATE * 8
    x = 0.02 * rng.standard_normal((n, 2))
    for start in range(0, n - RATE // 10, RATE // 2):  # a click every half second
        x[start:start + 200] += 0.9 * np.sin(np.linspace(0, 60, 200))[:, None]
    y, lufs, _ = normalise(x, -14.0)
    assert abs(lufs - (-14.0)) <= 0.5
    assert true_peak_db(y) <= -2.4


def test_a_lut_path_with_quotes_colons_and_brackets_reaches_ffmpeg(tmp_path):
    from reelflow.media.edit import filter_value
    from reelflow.media.ffmpeg import probe, run_ffmpeg

    folder = tmp_path / "it's [final], v2; a:b"
    folder.mkdir()
    cube = folder / "grade.cube"
    cube.write_text("LUT_3D_SIZE 2\n" + "\n".join(f"{r} {g} {b}" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    out = tmp_path / "o.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=64x64:d=0.2", "-vf",
                f"lut3d=file={filter_value(str(cube))}:interp=tetrahedral,format=yuv420p", str(out)], what="lut")
    assert probe(out).has_video


def test_caption_text_is_escaped_for_srt_and_vtt():
    from reelflow.deliver.captions import Cue, parse_srt, to_srt, to_vtt

    cues = [Cue(0, 24, "Ann <boss>", "Go --> now & <b>fast</b>\nplease\x07", "a"),
            Cue(30, 60, "Bo", "next", "b")]
    srt = to_srt(cues, 24)
    assert [c[:2] for c in parse_srt(srt, 24)] == [(0, 24), (30, 60)]  # still two well-formed cues
    assert srt.count("-->") == 2 and "\x07" not in srt
    vtt = to_vtt(cues, 24)
    assert "&lt;b&gt;fast&lt;/b&gt;" in vtt and "&amp;" in vtt and vtt.count("-->") == 2
    assert "<v Ann &lt;boss>" in vtt
