"""Prefect tasks: load and route a shot list, generate one shot at one tier."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.tasks import exponential_backoff

from reelflow import providers
from reelflow.plan.catalog import Catalog
from reelflow.load.catalog_file import load_catalog
from reelflow.runtime.config import RetryPolicy
from reelflow.generation.generate import ClipFacts, ClipJob, clip_keys, generate_clip_async, is_transient
from reelflow.edit.clip import ClipResult
from reelflow.providers.base import clip_key
from reelflow.plan.routing import Plan, plan_shotlist
from reelflow.spec.shotlist import LoadedShotList
from reelflow.store.local import Store


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry condition: retry timeouts, 429s, 5xx and failed jobs; never bad input."""
    try:
        state.result(_sync=True)  # the task is async: ask for the synchronous form
    except BaseException as exc:  # noqa: BLE001 - classify whatever the task raised
        return is_transient(exc)
    return False


@task(name="load-shotlist", cache_policy=NO_CACHE)
def load(path: str) -> LoadedShotList:
    """Parse and validate. Not cached: its only input is the file, so a cache key would cost
    the same read and hash as the load itself."""
    from reelflow.load.asset_checks import decode_problems
    from reelflow.errors import ShotListError
    from reelflow.load.loader import load_shotlist

    loaded = load_shotlist(path)
    problems = decode_problems(loaded)  # a bad asset stops the run before anything is paid for
    if problems:
        raise ShotListError(problems)
    return loaded


def route_key(context, parameters) -> str:
    """Routing depends on the shot list's content, the catalog's content and the date only."""
    loaded: LoadedShotList = parameters["loaded"]
    catalog = load_catalog(parameters["catalog_path"])
    payload = "|".join([loaded.spec.model_dump_json(), catalog.model_dump_json(),
                        str(parameters["today"]), providers.reach_of(catalog).key()])
    return "route-" + hashlib.sha256(payload.encode()).hexdigest()


@task(name="route", cache_key_fn=route_key, persist_result=True)
def route(loaded: LoadedShotList, catalog_path: str | None, today: dt.date) -> tuple[Plan, Catalog]:
    """The plan: every shot's model and route per tier, decided once from the catalog, the day
    and the routes this run can reach (keyed on them: a key set or removed plans again)."""
    catalog = load_catalog(catalog_path)
    return plan_shotlist(loaded.spec, catalog, today, providers.reach_of(catalog)), catalog


@dataclass
class GeneratedClip(CachePolicy):
    """Cache on exactly what determines the clip (provider, its version and the request:
    prompt, model, tier, seed, seconds, size, fps, audio, reference-image hash) while the clip
    is in this run's store with the bytes it was downloaded with. The tier and shot stay in the
    key: an identical request of another tier is a hit in the store (paid once) but reported for
    the tier and shot that asked. No store path: a moved store keeps its hits."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs) -> str | None:
        job: ClipJob = inputs["job"]
        key = clip_key(providers.get(job.route), job.request)
        if Store(inputs["store_root"]).clip_meta(key) is None:
            return None  # run: generate_clip restores it from the ledger's job or the asset store
        from reelflow.qc.runner import VERSION

        checks = hashlib.sha256(json.dumps(job.qc_checks, sort_keys=True).encode()).hexdigest()[:12]
        return f"generate-{key}-{job.request.tier}-{job.request.shot_id}-qc{VERSION}-{checks}"


RETRY = RetryPolicy.from_env()


@task(name="generate", cache_policy=GeneratedClip(), persist_result=True, retries=RETRY.retries,
      retry_delay_seconds=exponential_backoff(RETRY.base_delay), retry_jitter_factor=RETRY.jitter,
      retry_condition_fn=retry_if_transient)
async def generate(job: ClipJob, store_root: str) -> ClipResult:
    """One shot at one tier, checked (QC) before anything uses it. Async: a job waiting on its
    provider holds no thread, so a tier's fan-out is bounded by the provider's Prefect limit alone."""
    from reelflow.generation.qc_pipeline import checked

    provider, store = providers.get(job.route), Store(store_root)
    clip = await generate_clip_async(job.request, provider, store,
                                     facts=ClipFacts(notes=tuple(job.notes), cost_usd=job.cost_usd),
                                     pace=pace_for(job), slot=lambda: provider_slot(job.route, job.concurrency))
    return await asyncio.to_thread(checked, clip, job.request, provider, store, job.qc_checks)


_LOCAL_SLOTS: dict[tuple[int, str, int], asyncio.Semaphore] = {}


@contextlib.asynccontextmanager
async def provider_slot(route: str, limit: int):
    """A job's slot at its provider, held from submission until the provider reports it done.

    Cloud routes: the Prefect global concurrency limit `reelflow-<route>` shared by every worker
    (created from the catalog by deploy and by each render; strict: a missing limit is an
    error, never unlimited). Jobs of this process queue first on a local semaphore of the same
    size, which wakes the next one the moment a slot frees (Prefect's server answers a full limit
    with a Retry-After of about a job's length); the animatic renders on this machine's CPU and
    is bounded by the local semaphore alone."""
    from prefect.concurrency.asyncio import concurrency

    from reelflow.runtime.limits import limit_name

    key = (id(asyncio.get_running_loop()), route, max(1, limit))
    async with _LOCAL_SLOTS.setdefault(key, asyncio.Semaphore(key[2])):
        if route == "animatic":
            yield
            return
        async with concurrency(limit_name(route), occupy=1, strict=True):
            yield


def pace_for(job: ClipJob):
    """Requests per minute through Prefect's ``rate_limit`` on `reelflow-<route>-rpm` (a limit
    with slot decay, created beside the concurrency limit); called right before a submission."""
    from reelflow.runtime.limits import rate_limit_name

    if job.route == "animatic" or job.rpm <= 0:
        return None

    def pace() -> None:
        from prefect.concurrency.sync import rate_limit

        rate_limit(rate_limit_name(job.route), occupy=1, strict=True)

    return pace


def stored_clip_exists(job: ClipJob, store_root: str) -> bool:
    store = Store(store_root)
    return any(store.clip_meta(k) is not None for k in clip_keys(providers.get(job.route), job.request))


__all__ = ["load", "route", "generate", "stored_clip_exists"]
