"""Takes to choose from (#11): `takes: N` drafts a shot at N seeds, `compare: [...]` drafts other
models side by side; the review (or --take) picks one; the final renders from the chosen take's
model and seed, and the manifest says which."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time

import pytest

from reelflow.load.catalog_file import load_catalog
from reelflow.errors import InputError, ShotListError
from reelflow.plan.routing import plan_shotlist
from reelflow.spec.shotlist import ShotList
from reelflow.load.loader import load_shotlist
from reelflow.plan.takes import parse_picks

from .conftest import make_repo
from .test_providers import video_bytes  # noqa: F401 - shared fixture
from .test_review import _artifacts, _latest, wait_paused

TODAY = dt.date(2026, 11, 24)
CAT = load_catalog()

CUT = """\
title: Takes
output: {resolution: 720p, fps: 24, deliverables: [contact_sheet]}
shots:
  - {id: harbor, prompt: Harbor at dawn, duration: 1.5, kind: environment, takes: 2, compare: [kling-3.0]}
  - {id: tin, prompt: Sardine tin on a crate, duration: 1.5, kind: product, continues: true}
"""


def test_takes_and_compared_models_are_planned_with_their_costs():
    s = ShotList.model_validate({"title": "t", "shots": [
        {"id": "a", "prompt": "harbor", "duration": 4, "kind": "environment", "takes": 2, "compare": ["kling-3.0"]}]})
    sp = plan_shotlist(s, CAT, TODAY).shots[0]
    assert [o.model for o in sp.options] == [sp.model, sp.model, "kling-3.0"]
    assert len({o.seed for o in sp.options[:2]}) == 2 and sp.options[2].seed == sp.options[0].seed
    assert sp.draft_cost == pytest.approx(sum(o.draft.cost for o in sp.options))
    assert sp.cost == pytest.approx(sp.final.cost + sp.draft_cost)
    assert parse_picks(["a=3"], plan_shotlist(s, CAT, TODAY)) == {"a": 2}
    for bad, words in ((["a=4"], "has 3 take(s)"), (["b=1"], "names no shot"), (["a=x"], "a number from 1 to 3")):
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            parse_picks(bad, plan_shotlist(s, CAT, TODAY))


def test_an_unknown_compared_model_is_one_line_at_its_place(tmp_path):
    path = make_repo(tmp_path, CUT.replace("compare: [kling-3.0]", "compare: [kling-9]"))
    from reelflow.load.validate import check_shotlist

    with pytest.raises(ShotListError) as exc:
        check_shotlist(path, CAT, TODAY)
    msg = str(exc.value)
    assert "cut.yaml:4" in msg and "compare: 'kling-9' is not a final model" in msg, msg
    assert load_shotlist(path).spec.shots[0].compare == ["kling-9"]  # the schema itself accepts any id


def test_the_review_picks_a_take_and_the_final_renders_from_it(prefect_harness, tmp_path, counting_provider):
    from prefect.flow_runs import resume_flow_run

    from reelflow.flows.render import render_shotlist
    from reelflow.media.frames import frame_at, psnr

    path = make_repo(tmp_path, CUT, name="takes.yaml", music=False)
    box: dict = {}

    def run():
        try:
            box["manifest"] = render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval="review",
                                              store_dir=str(tmp_path / "store"), review_timeout=120, today=TODAY)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertions below
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    rid = wait_paused("takes-")
    drafts = sorted(s for s in counting_provider.submits if s.startswith("draft:"))
    assert drafts == ["draft:harbor"] * 3 + ["draft:tin"]
    review = _latest(asyncio.run(_artifacts(rid)), "takes-review")
    assert "Takes to choose from" in review and review.count("data:image/jpeg;base64,") == 2  # contact + takes
    assert "take 3 (kling-3.0" in review and review.count('<video src="data:video/mp4;base64,') == 3 + 1
    assert "file://" not in review
    sheet = tmp_path / "out" / "takes.takes.png"
    assert sheet.is_file()
    # a take that does not exist: asked again, nothing rendered
    resume_flow_run(rid, run_input={"approve_all": True, "takes": {"harbor": 5}, "reviewer": "qa"})
    time.sleep(1.0)
    assert wait_paused("takes-") == rid
    assert "has 3 take(s); 5 is not one of them" in _latest(asyncio.run(_artifacts(rid)), "takes-review")
    assert not [s for s in counting_provider.submits if s.startswith("final:")]
    # a pick alone: shown again, and 'tin' (continuing harbor) redrafted from take 2's last frame
    resume_flow_run(rid, run_input={"takes": {"harbor": 2}, "reviewer": "qa"})
    time.sleep(1.0)
    assert wait_paused("takes-") == rid
    tins = [r for r in counting_provider.requests if r.shot_id == "tin" and r.tier == "draft"]
    assert len(tins) == 2 and tins[0].image_sha256 != tins[1].image_sha256
    second_round = _latest(asyncio.run(_artifacts(rid)), "takes-review")
    assert "take 2 chosen" in second_round and "newly chosen take" in second_round
    assert not [s for s in counting_provider.submits if s.startswith("final:")]
    resume_flow_run(rid, run_input={"approve_all": True, "takes": {"harbor": 3}, "reviewer": "qa"})
    t.join(timeout=300)
    assert "error" not in box, box.get("error")
    harbor = next(s for s in box["manifest"]["shots"] if s["id"] == "harbor")
    assert harbor["chosen_take"] == 3 and harbor["intended_model"] == "kling-3.0"
    assert harbor["final"]["model"] == "kling-3.0" and harbor["seed"] == harbor["takes"][2]["seed"]
    assert [t["chosen"] for t in harbor["takes"]] == [False, False, True]
    assert sorted(s for s in counting_provider.submits if s.startswith("final:")) == ["final:harbor", "final:tin"]
    # the takes are visibly different clips
    from reelflow.store.local import Store

    store = Store(tmp_path / "store")
    shas = [t["clip_sha256"] for t in harbor["takes"]]
    assert len(set(shas)) == 3
    files = {json.loads(p.read_text())["sha256"]: p.with_suffix(".mp4") for p in (tmp_path / "store" / "clips").glob("*.json")}
    one, two = frame_at(files[shas[0]], 6), frame_at(files[shas[1]], 6)
    assert psnr(one, two) < 25
    assert store.root.is_dir()


PROMOTE = """\
title: Promote
output: {resolution: 720p, fps: 24, deliverables: []}
shots:
  - {id: dunes, prompt: Wind over the dunes at noon, duration: 4, kind: environment, model: seedance-2.5}
"""


def test_a_seedance_final_promotes_its_native_draft_until_it_expires(prefect_harness, tmp_path, monkeypatch,
                                                                      video_bytes):  # noqa: F811
    """Seedance 2.5 on ModelArk (official SDK, local fake): the draft is a `draft: true` task and the
    final is a `draft_task` part naming it; a draft older than 7 days is rendered afresh."""
    from reelflow.flows.render import render_shotlist

    from .fakes_byteplus import FakeBytePlus
    from .test_providers import KEYS

    fake = FakeBytePlus(video_bytes, KEYS["byteplus"]).start()
    for k, v in {"ARK_API_KEY": KEYS["byteplus"], "BYTEPLUS_BASE_URL": fake.url + "/api/v3",
                 "REELFLOW_POLL_INTERVAL": "0.01", "REELFLOW_SECRET_BLOCKS": "0", "REELFLOW_RPM_BYTEPLUS": "0"}.items():
        monkeypatch.setenv(k, v)
    try:
        path = make_repo(tmp_path, PROMOTE, name="promote.yaml", music=False)

        def render(store: str, approval: str) -> dict:
            return render_shotlist(str(path), out_dir=str(tmp_path / "out"), approval=approval,
                                   store_dir=str(tmp_path / store), today=TODAY)

        render("store", "prototype-only")  # the draft, reviewed later...
        m = render("store", "all")  # ...and approved: its final promotes it
        (draft_id, draft), (_, final) = ((k, j["body"]) for k, j in fake.jobs.items())
        assert draft["draft"] is True and draft["content"][0] == {"type": "text", "text": "Wind over the dunes at noon"}
        assert final["content"] == [{"type": "draft_task", "draft_task": {"id": draft_id}}] and not final.get("draft")
        dunes = m["shots"][0]
        assert dunes["draft"]["provider"] == "byteplus" and dunes["draft_model"] == "seedance-2.5-draft"
        assert any(f"promoting draft {draft_id}" in n for n in dunes["final"]["notes"])
        assert "native draft, promoted to the final" in dunes["reason"]

        # approved eight days after the draft: it has expired, the final is rendered afresh
        render("store2", "prototype-only")
        for meta in (tmp_path / "store2" / "clips").glob("*.json"):
            data = json.loads(meta.read_text())
            data["stored_at"] -= 8 * 86400
            meta.write_text(json.dumps(data))
        render("store2", "all")
        last = list(fake.jobs.values())[-1]["body"]
        assert last["content"][0]["type"] == "text" and fake.submissions == 4  # the old draft kept, a fresh final
    finally:
        fake.stop()
