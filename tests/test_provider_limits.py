"""Provider limits shared by every worker (#10): fan-out reaches each route's Prefect concurrency
limit and never goes above it, requests per minute through Prefect's rate_limit(), and the cloud
upscaler through the same provider layer."""

from __future__ import annotations

import os

import pytest

from reelflow.media.ffmpeg import run_ffmpeg
from reelflow.store.local import Store

from .test_providers import CAT, cloud, run_task, video_bytes  # noqa: F401 - shared fixtures

@pytest.mark.slow
@pytest.mark.parametrize("provider", ["vertex", "kling", "replicate", "fal"])
def test_fan_out_reaches_each_route_limit_and_never_above(prefect_harness, cloud, tmp_path, provider):
    """12 shots at 3 s provider latency: jobs in flight at the provider reach the route's
    concurrency limit (not the thread pool's size) and never exceed it; none is paid twice.
    The fake keeps jobs running until the limit is reached (30 s at most), so a slow machine's
    staggered starts cannot hide the peak, and a fan-out that cannot reach it still fails."""
    import asyncio
    import time

    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.task_runners import ThreadPoolTaskRunner

    from reelflow.generation.generate import ClipJob
    from reelflow.runtime.limits import ensure_provider_limits
    from reelflow.tasks.generation import generate

    fake, req = cloud(provider, latency=3.0)
    limit = CAT.routes[provider].concurrency
    fake.hold_until_in_flight = min(limit, 12)

    async def reset():  # another test may have shrunk this limit
        async with get_client() as client:
            try:
                await client.delete_global_concurrency_limit_by_name(f"reelflow-{provider}")
            except Exception:  # noqa: BLE001 - not there
                pass

    asyncio.run(reset())
    ensure_provider_limits(CAT, {provider})

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=16))
    def fan_out():
        futures = [generate.with_options(retries=2, retry_delay_seconds=0.05, refresh_cache=True,
                                         result_storage=tmp_path / "store" / "prefect-results").submit(
            job=ClipJob(request=req.model_copy(update={"seed": seed, "shot_id": f"s{seed}"}), route=provider,
                        cost_usd=1.0, concurrency=limit),
            store_root=str(tmp_path / "store")) for seed in range(12)]
        return [f.result() for f in futures]

    t0 = time.perf_counter()
    clips = fan_out()
    elapsed = time.perf_counter() - t0
    assert len({c.sha256 for c in clips}) >= 1 and fake.submissions == 12
    assert fake.peak_in_flight == min(limit, 12), (fake.peak_in_flight, limit)
    print(f"\nfan-out {provider}: limit {limit}, peak {fake.peak_in_flight}, 12 jobs in {elapsed:.1f}s")


def test_rate_limit_counts_submissions_not_polls(prefect_harness, cloud, monkeypatch, tmp_path):
    """Requests per minute go through Prefect's rate_limit() on `reelflow-<route>-rpm` and count
    what the provider counts: generation requests. Polls and downloads are not spaced by it
    (Vertex's 10/min once slowed every poll to 6 s)."""
    import asyncio

    from prefect import flow
    from prefect.client.orchestration import get_client

    from reelflow.generation.generate import ClipJob
    from reelflow.runtime.limits import ensure_provider_limits, rate_limit_name
    from reelflow.tasks.generation import generate

    fake, req = cloud("replicate", polls_until_done=4)
    monkeypatch.setenv("REELFLOW_RPM_REPLICATE", "60")  # one a second

    async def reset():  # made by another test with the catalog's sizes; 12 in flight: only the rate binds
        from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

        async with get_client() as client:
            for name in (rate_limit_name("replicate"), "reelflow-replicate"):
                try:
                    await client.delete_global_concurrency_limit_by_name(name)
                except Exception:  # noqa: BLE001 - not there
                    pass
            await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="reelflow-replicate",
                                                                                      limit=12))

    asyncio.run(reset())
    assert ensure_provider_limits(CAT, {"replicate"})[rate_limit_name("replicate")] == "created"

    @flow
    async def six():
        jobs = [ClipJob(request=req.model_copy(update={"seed": seed, "shot_id": f"s{seed}"}), route="replicate",
                        concurrency=12, rpm=int(os.environ["REELFLOW_RPM_REPLICATE"])) for seed in range(6)]
        return await asyncio.gather(*(generate.with_options(refresh_cache=True, result_storage=tmp_path / "results")(
            job=job, store_root=str(tmp_path / "store")) for job in jobs))

    asyncio.run(six())
    times = sorted(fake.submit_times)
    assert fake.submissions == 6 and fake.polls >= 18
    # six submissions at one a second: five seconds from the first to the last (about one unpaced)
    assert times[-1] - times[0] >= 4.5, [round(t - times[0], 2) for t in times]
    poll_gaps = [b - a for a, b in zip(sorted(fake.poll_times), sorted(fake.poll_times)[1:])]
    assert min(poll_gaps) < 0.1  # polls are not spaced


def test_cloud_upscale_goes_through_the_provider_layer(prefect_harness, cloud, tmp_path):
    """`upscale: cloud` sends the clip to Topaz on fal, once: a second call is a store hit."""
    from reelflow.edit.clip import ClipResult
    from reelflow.store.local import sha256_file
    from reelflow.tasks.finishing import upscale

    fake, _ = cloud("fal")
    src = tmp_path / "small.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=640x360:r=24:d=2", "-pix_fmt", "yuv420p", str(src)], what="src")
    sha = sha256_file(src)
    store = tmp_path / "store"

    clip = ClipResult(key="small", path=str(src), sha256=sha, shot_id="a", tier="final", model="m", provider="p",
                      job_id="j", seconds=2, width=640, height=360, fps=24, has_audio=False)

    def run():
        return upscale.with_options(result_storage=store / "prefect-results", refresh_cache=True)(
            clip=clip, size=(1920, 1080), fit="crop", backend="cloud", store_root=str(store))

    media = run()
    assert media.upscaled and media.backend == "cloud" and Store(store).file(media.path).is_file()
    (job,) = fake.jobs.values()
    assert job["endpoint"] == "fal-ai/topaz/upscale/video"
    assert job["body"]["upscale_factor"] == 3.0 and job["body"]["H264_output"] is True
    assert job["body"]["video_url"].startswith("data:video/mp4;base64,")
    again = run()
    assert again.path == media.path and fake.submissions == 1  # never paid twice


def test_prefect_global_concurrency_limit_guards_a_provider(prefect_harness, cloud, tmp_path, monkeypatch):
    """A job holds a slot of the `reelflow-<route>` limit (shared by every worker on the server),
    with no switch to turn it on; a missing limit is an error, not silently unlimited."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    fake, req = cloud("fal")

    async def drop():
        async with get_client() as client:
            try:
                await client.delete_global_concurrency_limit_by_name("reelflow-fal")
            except Exception:  # noqa: BLE001 - not there yet
                pass

    asyncio.run(drop())
    with pytest.raises(Exception, match="reelflow-fal"):
        run_task(req, "fal", tmp_path / "store0", retries=0, limits=False)
    assert fake.submissions == 0

    async def create():
        async with get_client() as client:
            await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="reelflow-fal", limit=1))

    asyncio.run(create())
    clip = run_task(req, "fal", tmp_path / "store1", limits=False)
    assert clip.provider == "fal" and fake.submissions == 1


