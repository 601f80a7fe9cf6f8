"""Hostile input, moved stores and half-written files (#13).

The first half is pure and fast (no Prefect): the loader and the asset decoder meet hostile
files and answer with one located line each. The second half renders for real and then damages
the store between runs: nothing is used that is not what was written, nothing is paid twice.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import string
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from reelflow.store import local as store_module
from reelflow.errors import ShotListError
from reelflow.load.loader import load_shotlist
from reelflow.store.local import Store, sha256_file, sweep_partials, temp_prefix

from .conftest import make_repo

OK = """\
title: Hostile
shots:
  - id: a
    prompt: harbour at dawn
    duration: 2
"""


def problems_of(path: Path) -> list[str]:
    from reelflow.load.asset_checks import decode_problems

    try:
        loaded = load_shotlist(path)
    except ShotListError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in decode_problems(loaded)]


@pytest.mark.parametrize("text, expect", [
    ("title: t\nshots: " + "[" * 600 + "]" * 600 + "\n", "nested"),
    ("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 2\n    seed: " + "9" * 5000 + "\n", "unreadable value"),
    ("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 2\n    seed: 99999999999\n", "seed"),
    ("title: \"Cut \\a here\"\nshots:\n  - id: a\n    prompt: p\n    duration: 2\n", "control character"),
    ("title: t\x00x\nshots: []\n", "NUL byte"),
    ("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 2\n    image: " + "x" * 300 + ".png\n", "255 bytes"),
    ("title: t\nshots:\n  - id: a\n    prompt: " + "p" * 5000 + "\n    duration: 2\n", "at most 4000"),
    ("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: 2\n    dialogue:\n      - {speaker: A, line: hi, at: 1e308}\n", "at"),
    ("title: t\ntitle: u\nshots: []\n", "duplicate key 'title'"),
])
def test_hostile_yaml_is_one_located_line(tmp_path, text, expect):
    path = make_repo(tmp_path, text, music=False)
    found = problems_of(path)
    assert found and all("\n" not in p and "Traceback" not in p for p in found)
    assert any(expect in p for p in found), found
    assert all(p.startswith("shotlists/cut.yaml") or p.startswith(str(path)) for p in found)


def test_too_many_shots_and_huge_files_are_refused_quickly(tmp_path):
    shots = "".join(f"  - {{id: s{i}, prompt: p, duration: 1}}\n" for i in range(1001))
    path = make_repo(tmp_path, "title: t\nshots:\n" + shots, music=False)
    assert any("at most 1000" in p for p in problems_of(path))
    big = tmp_path / "shotlists" / "big.yaml"
    with open(big, "w") as fh:  # 50 MB: refused from its size, before it is read
        fh.write("title: t\nshots: []\n# " + "x" * (50 << 20) + "\n")
    assert any("file too large" in p for p in problems_of(big))


def test_symlink_loop_and_missing_paths_are_one_line(tmp_path):
    path = make_repo(tmp_path, OK.replace("    duration: 2\n", "    duration: 2\n    image: assets/loop.png\n"),
                     music=False)
    os.symlink("loop.png", tmp_path / "assets" / "loop.png")
    found = problems_of(path)
    assert len(found) == 1 and "image" in found[0], found


def _wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    data = b"\x00\x00" * int(seconds * rate)
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def _non_media(tmp_path: Path) -> dict[str, tuple[str, bytes]]:
    from io import BytesIO

    from PIL import Image

    png = BytesIO()
    Image.new("RGB", (32, 32), "red").save(png, format="PNG")
    huge = BytesIO()
    Image.new("1", (20000, 200)).save(huge, format="PNG")
    return {
        "text as music": ("music", b"this is not sound\n"),
        "truncated wav": ("music", _wav_bytes()[:4000]),
        "png renamed wav": ("music", png.getvalue()),
        "empty wav": ("music", b""),
        "empty png": ("image", b""),
        "truncated png": ("image", png.getvalue()[:60]),
        "text as png": ("image", b"hello"),
        "too wide png": ("image", huge.getvalue()),
        "malformed lut": ("lut", b"LUT_3D_SIZE 2\n0 0 0\n1 1\n"),
        "lut short of rows": ("lut", b"LUT_3D_SIZE 2\n0 0 0\n1 1 1\n"),
        "text as lut": ("lut", b"hello world\n"),
        "stem as png": ("stem", png.getvalue()),
        "sfx truncated": ("sfx", _wav_bytes()[:100]),
    }


@pytest.mark.parametrize("case", list(_non_media(Path("."))))
def test_every_non_media_asset_fails_validation(tmp_path, case):
    """Found by `validate` (and by render before the first submission), never after drafts."""
    field, data = _non_media(tmp_path)[case]
    name = {"music": "m.wav", "image": "i.png", "lut": "g.cube", "stem": "s.wav", "sfx": "f.wav"}[field]
    text = {
        "music": f"title: t\naudio: {{music: assets/{name}}}\n" + OK.split("\n", 1)[1],
        "image": OK + f"    image: assets/{name}\n",
        "lut": f"title: t\noutput: {{lut: assets/{name}}}\n" + OK.split("\n", 1)[1],
        "stem": OK + f"    dialogue: [{{speaker: A, line: hi, file: assets/{name}}}]\n",
        "sfx": OK + f"    sfx: [{{file: assets/{name}}}]\n",
    }[field]
    path = make_repo(tmp_path, text, music=False)
    (tmp_path / "assets" / name).write_bytes(data)
    found = problems_of(path)
    assert len(found) == 1, found
    assert f"assets/{name}" in found[0] and found[0].split(" ")[0].endswith("cut.yaml:2:" if field in ("music", "lut") else "cut.yaml:6:")


def test_a_good_wav_and_png_pass(tmp_path):
    path = make_repo(tmp_path, OK + "    image: assets/images/ref.png\n"
                     "    sfx: [{file: assets/s.wav}]\n")
    (tmp_path / "assets" / "s.wav").write_bytes(_wav_bytes())
    assert problems_of(path) == []


def _random_yaml(rng: random.Random, depth: int = 0):
    kind = rng.random()
    if depth > 4 or kind < 0.35:
        return rng.choice([
            None, True, rng.randint(-10**12, 10**12), rng.uniform(-1e9, 1e9), float("nan"), float("inf"),
            "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 30))), "auto", "veo-3.1",
            "assets/music/bed.wav", "../../etc/passwd", "/abs/path.png", "crossfade", "16:9", 24, 2.5,
        ])
    if kind < 0.7:
        keys = ["title", "shots", "id", "prompt", "duration", "model", "audio", "output", "dialogue", "sfx",
                "transition", "seconds", "type", "image", "budget_usd", "defaults", "lut", "music", "at",
                "seed", "fps", "aspect", "kind", "camera", "focus", "x" * rng.randint(1, 5)]
        return {rng.choice(keys): _random_yaml(rng, depth + 1) for _ in range(rng.randint(0, 6))}
    return [_random_yaml(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def _mutate(rng: random.Random, base: dict) -> dict:
    doc = json.loads(json.dumps(base))
    for _ in range(rng.randint(1, 4)):
        shots = [x for x in doc.get("shots") or [] if isinstance(x, dict)] if isinstance(doc.get("shots"), list) else []
        target = rng.choice(shots) if shots and rng.random() > 0.3 else doc
        target[rng.choice(list(target) + ["extra"])] = _random_yaml(rng, 2)
    return doc


def test_fuzzed_documents_never_give_a_traceback(tmp_path):
    """Property: whatever YAML arrives, the loader answers with one-line problems or a shot list
    (seeded, so a failure reproduces)."""
    rng = random.Random(1307)
    path = make_repo(tmp_path, OK, music=False)
    base = yaml.safe_load(OK)
    for i in range(400):
        doc = _random_yaml(rng) if i % 2 else _mutate(rng, base)
        text = yaml.safe_dump(doc, allow_unicode=True) if i % 7 else yaml.safe_dump(doc)[: rng.randint(0, 200)]
        path.write_text(text, encoding="utf-8")
        try:
            load_shotlist(path)
        except ShotListError as exc:
            assert exc.problems and all(str(p).strip() and "\n" not in str(p) for p in exc.problems), text


def test_partials_of_dead_processes_are_swept(tmp_path):
    mine = tmp_path / f"{temp_prefix('x.mp4')}abc.part"
    mine.write_text("live")
    dead = tmp_path / f".x.mp4.rf-{store_module._HOST}-999999999.abc.part"
    dead.write_text("left by kill -9")
    keep = tmp_path / "x.mp4"
    keep.write_text("final")
    assert sweep_partials(tmp_path) == 1
    assert mine.exists() and keep.exists() and not dead.exists()


def test_store_names_are_relative_and_survive_a_move(tmp_path):
    a = Store(tmp_path / "a")
    part = a.tmp_path(".wav")
    part.write_bytes(b"sound")
    sha = a.commit(part, "derived/k.wav")
    assert a.verified("derived/k.wav") and a.ref(a.file("derived/k.wav")) == "derived/k.wav"
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    b = Store(tmp_path / "b")
    assert b.verified("derived/k.wav", sha)
    # an absolute name written before the move is found where the store is now
    assert b.file(str(tmp_path / "a" / "derived" / "k.wav")) == b.root / "derived" / "k.wav"
    (b.root / "derived" / "k.wav").write_bytes(b"SOUND")  # same size, other bytes
    assert not b.verified("derived/k.wav")


def test_cli_fails_fast_with_one_line_and_documented_codes(tmp_path):
    """Bad arguments are found before anything is generated (the store stays empty)."""
    from .test_cli import run

    path = make_repo(tmp_path, OK.replace("title: Hostile", 'title: "Cut [/] here"'), music=False)
    bad = tmp_path / "shotlists" / "bad.yaml"
    bad.write_text("title: t\nshots:\n  - id: a\n    prompt: p\n    duration: -1\n")
    (tmp_path / "afile").write_text("")
    store = ["--store", str(tmp_path / "store")]
    cases = [
        (["validate", str(bad), str(path)], 1, "bad.yaml:5: shot 'a': duration"),
        (["render", str(path), "--approve-all", "--out", str(tmp_path / "afile"), *store], 1, "is a file"),
        (["render", str(path), "--approve", "nosuchshot", *store], 1, "nosuchshot"),
        (["render", str(path), "--date", "someday"], 1, "--date"),
        (["no-such-command"], 1, "No such command"),
        (["plan", str(path)], 0, "Cut [/] here"),
    ]
    with ThreadPoolExecutor(len(cases)) as pool:  # independent commands: run them side by side
        results = list(pool.map(lambda case: run(*case[0], cwd=tmp_path), cases))
    for (args, code, text), r in zip(cases, results):
        assert r.returncode == code, (args, r.stdout, r.stderr)
        assert text in r.stdout + r.stderr and "Traceback" not in r.stdout + r.stderr, (args, r.stderr)
    ok = run("validate", str(bad), str(path), cwd=tmp_path)
    assert f"ok {path}" in ok.stdout  # the good file after the bad one is still reported
    assert not list((tmp_path / "store" / "clips").glob("*")) if (tmp_path / "store").exists() else True


def test_concurrent_publishes_never_leave_half_a_file(tmp_path):
    import threading

    from reelflow.tasks.finishing import publish

    sources = []
    for i in range(2):
        src = tmp_path / f"src{i}.mp4"
        src.write_bytes(bytes([i + 1]) * (3 << 20))
        sources.append(src)
    dest = tmp_path / "out" / "edit.mp4"
    digests = {sha256_file(s) for s in sources}
    seen, errors = set(), []

    def worker(src):
        try:
            for _ in range(15):
                publish(src, dest)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def reader():
        for _ in range(60):
            if dest.exists():
                seen.add(sha256_file(dest))

    threads = [threading.Thread(target=worker, args=(s,)) for s in sources] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and seen <= digests and sha256_file(dest) in digests
    assert [p.name for p in dest.parent.iterdir()] == ["edit.mp4"]  # no temp left behind


def test_a_lock_left_by_a_killed_process_does_not_block_the_rerun(tmp_path):
    """kill -9 while submitting leaves the clip's lock file: its holder (this machine, a pid that
    no longer exists) is broken at once; another machine's lock is waited for, then expires."""
    import socket
    import time as clock

    from reelflow.errors import JobPendingError
    from reelflow.runtime.locks import submission

    store = Store(tmp_path / "store")
    (store.root / "locks").mkdir()
    (store.root / "locks" / "dead.lock").write_text(json.dumps({"holder": f"{socket.gethostname()}:999999999:1",
                                                                "expiration": None}))
    t0 = clock.monotonic()
    with submission(store.root, "dead", wait=30):
        assert (store.root / "locks" / "dead.lock").exists()  # now ours
    assert clock.monotonic() - t0 < 10 and not (store.root / "locks" / "dead.lock").exists()
    (store.root / "locks" / "far.lock").write_text(json.dumps({"holder": "another-host:1:1", "expiration": None}))
    with pytest.raises(JobPendingError, match="another worker"):
        with submission(store.root, "far", wait=0.5):
            pass
