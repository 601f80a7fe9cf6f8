"""Cloud adapters against local fakes of each provider's protocol, through the real SDKs.

Each fault is injected in the fake; the adapter runs inside the real Prefect `generate` task
(retries, ledger, verification), and the fake counts what was paid for: submissions.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from reelflow import providers
from reelflow.load.catalog_file import load_catalog
from reelflow.errors import ContentRejectedError, PermanentProviderError, TransientProviderError
from reelflow.providers.base import GenerationRequest
from reelflow.providers.common import AuthError
from reelflow.store.local import Store
from reelflow.media.ffmpeg import probe, run_ffmpeg

from .fakes import FakeFal, FakeGeminiOmni, FakeKling, FakeOpenAI, FakeReplicate, FakeVertex

TODAY = dt.date(2026, 11, 22)
CAT = load_catalog()
KEYS = {"vertex": "test-google-key-7f3a", "openai": "sk-test-openai-91b2", "kling": "kling-ak-5c1d",
        "kling_secret": "kling-sk-e0f4", "replicate": "r8_test_token_33aa", "fal": "fal-key-id:fal-secret-8d2c",
        "gemini": "test-gemini-key-4e9b", "byteplus": "ark-test-key-2b7c",
        "dashscope": "sk-test-dashscope-6a1e", "runway": "key_test_runway_0c9d",
        "ltx": "ltx-test-key-5e2a"}
ALL_SECRETS = list(KEYS.values())

# provider -> (catalog model routed there, env that unlocks it, base-url variable)
SETUP = {
    "vertex": ("veo-3.1", {"GOOGLE_API_KEY": KEYS["vertex"]}, "VERTEX_BASE_URL"),
    "openai": ("sora-2-pro", {"OPENAI_API_KEY": KEYS["openai"]}, "OPENAI_BASE_URL"),
    "kling": ("kling-3.0", {"KLING_ACCESS_KEY": KEYS["kling"], "KLING_SECRET_KEY": KEYS["kling_secret"]},
              "KLING_BASE_URL"),
    "replicate": ("seedance-2.0", {"REPLICATE_API_TOKEN": KEYS["replicate"]}, "REPLICATE_BASE_URL"),
    "fal": ("wan-2.7", {"FAL_KEY": KEYS["fal"]}, "FAL_QUEUE_URL"),
    "gemini": ("gemini-omni-1.2-flash", {"GEMINI_API_KEY": KEYS["gemini"]}, "GEMINI_BASE_URL"),
    "byteplus": ("seedance-2.5", {"ARK_API_KEY": KEYS["byteplus"]}, "BYTEPLUS_BASE_URL"),
    "dashscope": ("wan-3.0", {"DASHSCOPE_API_KEY": KEYS["dashscope"]}, "DASHSCOPE_HTTP_BASE_URL"),
    "runway": ("runway-gen-4.5", {"RUNWAYML_API_SECRET": KEYS["runway"]}, "RUNWAYML_BASE_URL"),
    "ltx": ("ltx-2.5-pro", {"LTX_API_KEY": KEYS["ltx"]}, "LTX_BASE_URL"),
}
# the LTX API answers with the clip itself: there is no job to poll (poll faults never happen)
# and no second download (a clip that arrives damaged is generated again)
SYNCHRONOUS = {"ltx"}
BASE_SUFFIX = {"openai": "/v1", "byteplus": "/api/v3", "dashscope": "/api/v1"}


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory) -> bytes:
    """A real 16 s MP4 with sound: long enough for any clip length the catalog allows."""
    p = tmp_path_factory.mktemp("fakevideo") / "v.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=16", "-f", "lavfi", "-i", "sine=d=16",
                "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-shortest", str(p)], what="fake")
    return p.read_bytes()


def make_fake(provider: str, video: bytes, **kw):
    if provider == "kling":
        return FakeKling(video, KEYS["kling"], KEYS["kling_secret"], **kw)
    from .fakes_byteplus import FakeBytePlus
    from .fakes_dashscope import FakeDashScope
    from .fakes_ltx import FakeLTX
    from .fakes_runway import FakeRunway

    cls = {"vertex": FakeVertex, "openai": FakeOpenAI, "replicate": FakeReplicate, "fal": FakeFal,
           "gemini": FakeGeminiOmni, "byteplus": FakeBytePlus, "dashscope": FakeDashScope,
           "runway": FakeRunway, "ltx": FakeLTX}[provider]
    return cls(video, KEYS[provider], **kw)


@pytest.fixture
def cloud(monkeypatch, video_bytes):
    """Start a provider's fake and point the adapter at it; yields (fake, request)."""
    started = []

    def start(provider: str, polls_until_done: int = 2, latency: float = 0.0):
        model, env, url_var = SETUP[provider]
        fake = make_fake(provider, video_bytes, polls_until_done=polls_until_done, latency=latency).start()
        started.append(fake)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv(url_var, fake.url + BASE_SUFFIX.get(provider, ""))
        monkeypatch.setenv("REELFLOW_POLL_INTERVAL", "0.01")
        monkeypatch.setenv("REELFLOW_SECRET_BLOCKS", "0")
        monkeypatch.setenv(f"REELFLOW_RPM_{provider.upper()}", "0")  # rate limits have their own test
        res = providers.resolve_route(model, CAT, TODAY, environ=dict(os.environ))
        assert res.route == provider, res
        m = CAT.models[model]
        req = GenerationRequest(
            shot_id="harbor", prompt="Fishing harbor at dawn", kind="environment", camera="static",
            model=model, route_model=res.route_model, route_params=res.params or {}, tier="final", seed=7,
            seconds=m.clip_seconds(4), width=1280, height=720, fps=24, aspect="16:9", audio=True)
        return fake, req

    yield start
    for f in started:
        f.stop()


def run_task(req: GenerationRequest, route: str, store: Path, retries: int = 4, limits: bool = True):
    from reelflow.load.catalog_file import load_catalog
    from reelflow.runtime.limits import ensure_provider_limits
    from reelflow.tasks.generation import generate

    if limits:  # as every render does for the routes it uses
        ensure_provider_limits(load_catalog(), {route})

    from prefect.utilities.asyncutils import run_coro_as_sync

    from reelflow.generation.generate import ClipJob

    task = generate.with_options(retries=retries, retry_delay_seconds=0.05, retry_jitter_factor=0,
                                 result_storage=store / "prefect-results", refresh_cache=True)
    return run_coro_as_sync(task(job=ClipJob(request=req, route=route, cost_usd=1.0, concurrency=2),
                                 store_root=str(store)))


PROVIDERS = list(SETUP)
# the fault matrix is the suite's longest file: half of it runs from tests/test_provider_matrix.py,
# so the two halves run side by side (pytest-xdist hands out whole files)
HALF = (len(PROVIDERS) + 1) // 2

FAULTS = {
    # name: (injections, outcomes, polls until done, expected submissions)
    "happy": ({}, [], 2, 1),
    "429-then-ok": ({"submit": [429]}, [], 2, 1),
    "500-storm": ({"poll": [500, 502, 503]}, [], 2, 1),
    "slow-job": ({}, [], 6, 1),
    "job-failed-resubmitted": ({}, ["fail", "ok"], 2, 2),
    "crash-after-submit": ({"poll": ["drop"]}, [], 2, 1),
    "truncated-download": ({"download": ["truncate"]}, [], 2, 1),
    "malformed-json": ({"poll": ["badjson"]}, [], 2, 1),
    # storms that once exhausted the task's retries and paid a second model (issue 9)
    "429x3-submit-then-5xx-x3-poll": ({"submit": [429, 429, 429], "poll": [500, 502, 503]}, [], 2, 1),
    "5xx-x5-on-one-job": ({"poll": [500, 503, 500, 502, 500]}, [], 2, 1),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("provider", PROVIDERS[:HALF])
def test_fault_matrix(prefect_harness, cloud, tmp_path, provider, fault):
    check_fault(cloud, tmp_path, provider, fault)


def check_fault(cloud, tmp_path, provider: str, fault: str) -> None:
    injections, outcomes, polls, expect_submissions = FAULTS[fault]
    fake, req = cloud(provider, polls_until_done=polls)
    for op, actions in injections.items():
        if provider in ("vertex", "gemini") and op == "download":
            actions = actions * 2  # inline delivery: the bytes come in the final poll and in the fetch
        fake.inject(op, *actions)
    fake.outcomes.extend(outcomes)
    clip = run_task(req, provider, tmp_path / "store")
    if provider in SYNCHRONOUS and fault == "truncated-download":
        expect_submissions = 2  # the answer was the only copy: generated again, once
    assert fake.submissions == expect_submissions  # never paid twice
    assert clip.provider == provider and clip.model == req.model and clip.submissions >= 0
    info = probe(Store(tmp_path / "store").file(clip.path))
    assert info.has_video and info.has_audio and info.duration >= req.seconds
    if fault == "truncated-download" and provider not in ("vertex", "gemini"):
        assert fake.downloads == 2  # re-downloaded, not re-generated (LTX: the second answer)
    if fault == "slow-job" and provider not in SYNCHRONOUS:
        assert fake.polls >= 6
    assert fake.auth_failures == 0


@pytest.mark.parametrize("provider", ["fal", "replicate", "vertex"])
def test_poll_deadline_leaves_the_paid_job_for_the_next_run(prefect_harness, cloud, tmp_path, provider,
                                                           monkeypatch):
    """Faults past the poll deadline end the run with the job pending (no fallback, no new
    submission); the next run resumes that same job."""
    from reelflow.errors import JobPendingError

    fake, req = cloud(provider, polls_until_done=2)
    # 500s: the Replicate client retries a 503 on GET itself for ~51 s (10 attempts), which only
    # delays the deadline; a 500 reaches reelflow's own loop at once
    fake.inject("poll", *([500] * 40))
    monkeypatch.setenv("REELFLOW_POLL_DEADLINE", "0.4")
    with pytest.raises(JobPendingError, match="re-run resumes it"):
        run_task(req, provider, tmp_path / "store")
    assert fake.submissions == 1
    fake.faults.clear()
    monkeypatch.setenv("REELFLOW_POLL_DEADLINE", "60")
    clip = run_task(req, provider, tmp_path / "store")
    assert fake.submissions == 1 and clip.provider == provider


@pytest.mark.parametrize("provider", ["fal", "replicate"])
def test_a_model_that_is_its_own_draft_is_paid_once(prefect_harness, cloud, tmp_path, provider):
    """wan-2.7 (draft = final): the final sends the very request the draft sent, so it is the
    draft's clip, reported as the final, paid once; a refused body is not sent again."""
    fake, req = cloud(provider)
    wan = CAT.models["wan-2.7"]
    res = providers.resolve_route("wan-2.7", CAT, TODAY, environ=dict(os.environ))
    req = req.model_copy(update={"model": "wan-2.7", "route_model": res.route_model, "route_params": res.params,
                                 "tier": "draft", "seconds": wan.clip_seconds(4)})
    draft = run_task(req, provider, tmp_path / "store")
    final = run_task(req.model_copy(update={"tier": "final"}), provider, tmp_path / "store")
    assert fake.submissions == 1 and final.sha256 == draft.sha256
    assert (final.tier, final.cache_hit, draft.tier) == ("final", True, "draft")

    fake.outcomes.append("reject")
    other = req.model_copy(update={"prompt": "something the provider refuses", "tier": "draft"})
    with pytest.raises(ContentRejectedError):
        run_task(other, provider, tmp_path / "store")
    with pytest.raises(ContentRejectedError, match="refused before"):
        run_task(other.model_copy(update={"tier": "final"}), provider, tmp_path / "store")
    assert fake.submissions == 2  # the refused body went out once


@pytest.mark.parametrize("provider", ["replicate", "fal"])
def test_bytes_held_in_the_asset_store_are_never_bought_again(prefect_harness, cloud, tmp_path, provider):
    """A clip deleted from the store (its provider output expired) comes back from the asset
    store by its content hash: no poll, no download, no submission."""
    from reelflow.store.assets import LocalAssets

    fake, req = cloud(provider)
    store = tmp_path / "store"
    clip = run_task(req, provider, store)
    LocalAssets(store / "assets").put(Store(store).file(clip.path))  # what every render publishes
    for f in (store / "clips").iterdir():
        f.unlink()
    polls, downloads = fake.polls, fake.downloads
    again = run_task(req, provider, store)
    assert fake.submissions == 1 and (fake.polls, fake.downloads) == (polls, downloads)
    assert again.sha256 == clip.sha256 and Store(store).file(again.path).is_file()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_safety_rejection_is_permanent(prefect_harness, cloud, tmp_path, provider):
    fake, req = cloud(provider)
    fake.outcomes.append("reject")
    with pytest.raises(ContentRejectedError):
        run_task(req, provider, tmp_path / "store")
    assert fake.submissions == 1  # a rejected prompt is not retried on the same model


@pytest.mark.parametrize("provider", PROVIDERS)
def test_auth_failure_names_the_variable_and_is_not_retried(prefect_harness, cloud, tmp_path, provider, monkeypatch):
    fake, req = cloud(provider)
    env = SETUP[provider][1]
    for k in env:
        monkeypatch.setenv(k, "wrong-key")
    with pytest.raises(AuthError) as exc:
        run_task(req, provider, tmp_path / "store")
    assert fake.submissions == 0
    assert any(k in str(exc.value) for k in env)  # names the variable to set
    assert "wrong-key" not in str(exc.value)


def test_sora_retired_answer_is_permanent(cloud, tmp_path):
    fake, req = cloud("openai")
    fake.retired = True
    with pytest.raises(PermanentProviderError, match="retired or not found"):
        providers.get("openai").submit(req)


def test_malformed_json_is_a_clear_error(cloud):
    fake, req = cloud("fal")
    job = providers.get("fal").submit(req)
    fake.inject("poll", "badjson")
    with pytest.raises(TransientProviderError, match="malformed JSON from GET .*/status"):
        providers.get("fal").poll(req, job)


def test_kling_sends_a_valid_jwt_and_string_duration(cloud):
    fake, req = cloud("kling")
    job = providers.get("kling").submit(req)
    body = fake.jobs[job]["body"]
    assert body["model_name"] == "kling-v3" and body["mode"] == "pro" and body["duration"] == "4"
    assert fake.auth_failures == 0


def test_fal_polls_owner_alias_urls(cloud):
    fake, req = cloud("fal")
    assert req.route_model == "fal-ai/wan/v2.7/text-to-video"
    job = providers.get("fal").submit(req)
    assert providers.get("fal").poll(req, job).state in ("queued", "running", "succeeded")
    assert fake.jobs[job]["body"]["prompt"] == "Fishing harbor at dawn"


def test_gemini_omni_speaks_the_interactions_protocol(cloud, tmp_path, monkeypatch):
    """Through the official SDK's client.interactions: the body the Gemini API documents, the
    first frame as inline image content, the 360p draft tier of the same model, uri delivery."""
    import base64
    import hashlib

    from reelflow.providers.common import verify_clip

    fake, req = cloud("gemini")
    prov = providers.get("gemini")
    job = prov.submit(req)
    body = fake.jobs[job]["body"]
    assert body["model"] == "gemini-omni-1.2-flash" and body["background"] is True
    assert body["response_format"] == {"type": "video", "aspect_ratio": "16:9", "duration": "4s",
                                       "resolution": "720p", "delivery": "inline"}
    assert body["generation_config"] == {"seed": 7, "video_config": {"task": "text_to_video"}}
    while prov.poll(req, job).state != "succeeded":
        pass
    prov.download(req, job, str(tmp_path / "a.mp4"))
    assert verify_clip(tmp_path / "a.mp4", req)["has_audio"]

    image = tmp_path / "first.png"
    from PIL import Image

    Image.new("RGB", (64, 36), "orange").save(image)
    res = providers.resolve_route("gemini-omni-1.2-flash-360p", CAT, TODAY, environ=dict(os.environ))
    draft = req.model_copy(update={"model": "gemini-omni-1.2-flash-360p", "route_params": res.params or {},
                                   "tier": "draft", "image_path": str(image), "width": 640, "height": 360})
    monkeypatch.setenv("REELFLOW_GEMINI_DELIVERY", "uri")
    job = prov.submit(draft)
    body = fake.jobs[job]["body"]
    assert body["response_format"]["resolution"] == "360p" and body["response_format"]["delivery"] == "uri"
    assert body["generation_config"]["video_config"]["task"] == "image_to_video"
    (turn,) = body["input"]  # the SDK sends content as one user_input step
    assert turn["type"] == "user_input"
    text, picture = turn["content"]
    assert text == {"type": "text", "text": req.prompt} and picture["mime_type"] == "image/png"
    assert hashlib.sha256(base64.b64decode(picture["data"])).hexdigest() == hashlib.sha256(image.read_bytes()).hexdigest()
    while prov.poll(draft, job).state != "succeeded":
        pass
    before = fake.downloads
    prov.download(draft, job, str(tmp_path / "b.mp4"))
    assert fake.downloads == before + 1 and (tmp_path / "b.mp4").read_bytes() == fake.video


def test_gemini_omni_last_frame_references_and_extension(cloud, tmp_path):
    """The continuity inputs reach the fake through the SDK: first + last frame as image content
    (task image_to_video), references (reference_to_video), and extension of an earlier
    interaction (task extend, previous_interaction_id); every image arrives byte for byte."""
    import base64
    import hashlib

    from PIL import Image

    fake, req = cloud("gemini")
    prov = providers.get("gemini")
    frames = []
    for i, colour in enumerate(("red", "blue", "green")):
        frames.append(tmp_path / f"f{i}.png")
        Image.new("RGB", (48, 27), colour).save(frames[-1])
    sha = [hashlib.sha256(f.read_bytes()).hexdigest() for f in frames]

    def sent(request):
        body = fake.jobs[prov.submit(request)]["body"]
        (turn,) = body["input"]
        images = [hashlib.sha256(base64.b64decode(c["data"])).hexdigest() for c in turn["content"] if c["type"] == "image"]
        return body, images

    body, images = sent(req.model_copy(update={"image_path": str(frames[0]), "image_sha256": sha[0],
                                               "last_frame_path": str(frames[1]), "last_frame_sha256": sha[1]}))
    assert body["generation_config"]["video_config"]["task"] == "image_to_video" and images == sha[:2]
    body, images = sent(req.model_copy(update={"reference_paths": tuple(map(str, frames)),
                                               "reference_sha256s": tuple(sha)}))
    assert body["generation_config"]["video_config"]["task"] == "reference_to_video" and images == sha
    first = prov.submit(req)
    body = fake.jobs[prov.submit(req.model_copy(update={"extend_from": first}))]["body"]
    assert body["generation_config"]["video_config"]["task"] == "extend" and body["previous_interaction_id"] == first


def test_new_request_fields_keep_old_store_keys():
    """Continuity fields joined the request after stores were written: left empty they are not
    part of the key, so every clip stored before keeps its key (and its cache hit)."""
    req = GenerationRequest(shot_id="a", prompt="p", kind="environment", camera="static", model="veo-3.1",
                            tier="final", seed=1, seconds=4, width=1280, height=720, fps=24, aspect="16:9", audio=True)
    before = {"shot_id", "prompt", "negative_prompt", "kind", "camera", "model", "route_model", "route_params", "tier",
              "seed", "seconds", "width", "height", "fps", "aspect", "audio", "audio_cue", "dialogue", "image_sha256",
              "video_sha256"}
    assert set(req.key_fields()) == before
    assert "reference_sha256s" in req.model_copy(update={"reference_sha256s": ("x",)}).key_fields()
