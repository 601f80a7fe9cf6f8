"""Shot-list schema and loader: real files, exact error lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reelflow.errors import ShotListError
from reelflow.spec.shotlist import ShotList, frame_size
from reelflow.load.loader import json_schema, load_shotlist

from .conftest import ROOT, make_repo

GOOD = """\
version: 1
title: Test
output: {resolution: 720p, aspect: "16:9", fps: 24}
audio: {music: assets/music/bed.wav}
shots:
  - id: a
    prompt: Harbor at dawn
    duration: 3
  - id: b
    prompt: Skipper speaks
    duration: 2
    kind: dialogue
    dialogue: [{speaker: S, line: "Hi."}]
"""


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ShotListError) as exc:
        load_shotlist(path)
    return [str(p) for p in exc.value.problems]


@pytest.fixture(autouse=True)
def _cwd(tmp_path):
    old = os.getcwd()
    os.chdir(tmp_path)
    yield
    os.chdir(old)


def test_examples_load():
    for name in ("harbor-teaser.yaml", "night-market-social.yaml"):
        loaded = load_shotlist(ROOT / "shotlists" / name)
        assert loaded.spec.shots
        assert loaded.repo_root == ROOT
        assert loaded.resolve_asset(loaded.spec.audio.music).is_file()


def test_good_minimal(tmp_path):
    loaded = load_shotlist(make_repo(tmp_path, GOOD))
    assert [s.id for s in loaded.spec.shots] == ["a", "b"]
    assert loaded.spec.output.size == (1280, 720)
    assert loaded.spec.transition_after(0).seconds == 0.5  # default crossfade


def test_duration_error_names_file_line_shot_field(tmp_path):
    path = make_repo(tmp_path, GOOD.replace("duration: 3", "duration: 0"))
    assert errors_of(path) == ["shotlists/cut.yaml:8: shot 'a': duration: must be > 0"]


def test_malformed_yaml_names_line(tmp_path):
    path = make_repo(tmp_path, GOOD.replace("prompt: Skipper speaks", "prompt: [Skipper speaks"))
    (err,) = errors_of(path)
    assert err.startswith("shotlists/cut.yaml:") and "malformed YAML" in err
    assert int(err.split(":")[1]) in (10, 11, 12, 13)


def test_unknown_field_suggests(tmp_path):
    path = make_repo(tmp_path, GOOD.replace("duration: 2", "duraton: 2"))
    errs = errors_of(path)
    assert "shotlists/cut.yaml:11: shot 'b': duraton: unknown field (did you mean 'duration'?)" in errs
    assert "shotlists/cut.yaml:9: shot 'b': duration: is required" in errs


def test_bad_enums_and_kind(tmp_path):
    text = GOOD.replace("kind: dialogue", "kind: documentary").replace("720p", "900p")
    errs = errors_of(make_repo(tmp_path, text))
    assert any(e.startswith("shotlists/cut.yaml:3: output.resolution: must be one of") for e in errs)
    assert any("shot 'b': kind: must be one of" in e and "documentary" in e for e in errs)


def test_duplicate_ids(tmp_path):
    errs = errors_of(make_repo(tmp_path, GOOD.replace("id: b", "id: a")))
    assert errs == ["shotlists/cut.yaml:9: shot 'a': id: duplicate shot id 'a'"]


def test_missing_and_out_of_tree_assets(tmp_path):
    text = GOOD.replace("assets/music/bed.wav", "assets/music/nope.wav").replace(
        "    duration: 3\n", "    duration: 3\n    image: ../../etc/passwd\n")
    errs = errors_of(make_repo(tmp_path, text))
    assert "shotlists/cut.yaml:4: audio.music: file not found: assets/music/nope.wav" in errs
    assert any(e.startswith("shotlists/cut.yaml:9: shot 'a': image: '../../etc/passwd' points outside")
               for e in errs)


def test_absolute_asset_path_refused(tmp_path):
    text = GOOD.replace("assets/music/bed.wav", "/etc/hostname")
    (err,) = errors_of(make_repo(tmp_path, text))
    assert "audio.music" in err and "relative to the repository" in err


def test_transition_longer_than_neighbour_names_both(tmp_path):
    text = GOOD.replace("    duration: 3\n", "    duration: 3\n    transition: {type: crossfade, seconds: 2.5}\n")
    (err,) = errors_of(make_repo(tmp_path, text))
    assert err.startswith("shotlists/cut.yaml:9: shot 'a': transition:")
    assert "'a'" in err and "'b'" in err and "longer than a neighbouring shot" in err


def test_middle_shot_shorter_than_its_transitions(tmp_path):
    text = """\
title: T
defaults: {transition: {type: crossfade, seconds: 1}}
shots:
  - {id: a, prompt: x, duration: 3}
  - {id: b, prompt: y, duration: 1.5}
  - {id: c, prompt: z, duration: 3}
"""
    (err,) = errors_of(make_repo(tmp_path, text))
    assert err == "shotlists/cut.yaml:5: shot 'b': duration: 1.5s is shorter than its transitions in and out (1s + 1s)"


def test_not_a_mapping_and_empty_shots(tmp_path):
    p = make_repo(tmp_path, "- just\n- a list\n")
    assert errors_of(p) == ["shotlists/cut.yaml:1: a shot list must be a YAML mapping with 'title' and 'shots'"]
    p.write_text("title: x\nshots: []\n")
    assert errors_of(p) == ["shotlists/cut.yaml:2: shots: must not be empty"]


def test_file_not_found(tmp_path):
    assert errors_of(tmp_path / "nope.yaml") == ["nope.yaml: file not found"]


def test_frame_sizes():
    assert frame_size(1080, "16:9") == (1920, 1080)
    assert frame_size(1080, "9:16") == (1080, 1920)
    assert frame_size(1080, "1:1") == (1080, 1080)
    assert frame_size(1080, "4:5") == (1080, 1350)
    assert frame_size(2160, "16:9") == (3840, 2160)


def test_prototype_size_is_a_proxy_of_the_output_unless_asked():
    def size(**output):
        return ShotList.model_validate({"title": "x", "output": output,
                                        "shots": [{"id": "a", "prompt": "p", "duration": 1}]}).output.prototype_size

    assert size() == (960, 540)
    assert size(resolution="720p", aspect="9:16") == (360, 640)
    assert size(prototype_resolution="output") == (1920, 1080)
    assert size(prototype_resolution="720p", aspect="1:1") == (720, 720)
    with pytest.raises(ValueError, match="prototype_resolution"):
        size(prototype_resolution="4k")


def test_json_schema_has_fields():
    schema = json_schema()
    text = json.dumps(schema)
    assert schema["title"] == "reelflow shot list"
    for name in ("shots", "duration", "kind", "transition", "loudness_lufs", "dialogue"):
        assert name in text
    # the schema is the model's own: a document valid for pydantic validates
    ShotList.model_validate({"title": "x", "shots": [{"id": "a", "prompt": "p", "duration": 1}]})


def test_alias_bomb_is_refused_in_under_a_second(tmp_path):
    import time

    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(rows) + "\ntitle: x\nshots: [{id: a, prompt: b, duration: 1}]\n")
    t0 = time.perf_counter()
    with pytest.raises(ShotListError, match="alias"):
        load_shotlist(path)
    assert time.perf_counter() - t0 < 1.0


def test_small_aliases_still_work(tmp_path):
    path = make_repo(tmp_path, "x: &base {duration: 1, kind: product}\ntitle: t\n"
                               "shots: [{id: a, prompt: p, <<: *base}, {id: b, prompt: q, <<: *base}]\n")
    with pytest.raises(ShotListError, match="x"):  # the anchor's holder is an unknown field, named
        load_shotlist(path)


def test_deep_nesting_is_one_line_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("title: x\nshots: " + "[" * 3000 + "]" * 3000 + "\n")
    with pytest.raises(ShotListError, match="nested too deeply"):
        load_shotlist(path)


def test_duplicate_keys_are_errors_with_their_line(tmp_path):
    path = make_repo(tmp_path, "title: t\nshots:\n  - id: a\n    prompt: first\n    duration: 2\n    prompt: second\n")
    with pytest.raises(ShotListError) as exc:
        load_shotlist(path)
    assert ":6:" in str(exc.value) and "duplicate key 'prompt'" in str(exc.value)
