"""Prefect tasks: load and route a shot list, generate one shot at one tier."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE, CachePolicy

from reelflow import providers
from reelflow.catalog import Catalog, load_catalog
from reelflow.generate import ClipResult, build_request, generate_clip, is_transient
from reelflow.providers.base import GenerationRequest, cache_key, clip_key
from reelflow.routing import Plan, RenderSpec, plan_shotlist
from reelflow.shotlist import LoadedShotList
from reelflow.store import Store


def retry_if_transient(task, task_run, state) -> bool:
    """Prefect retry condition: retry timeouts, 429s, 5xx and failed jobs; never bad input."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - classify whatever the task raised
        return is_transient(exc)
    return False


@task(name="load-shotlist", cache_policy=NO_CACHE)
def load(path: str) -> LoadedShotList:
    """Parse and validate. Not cached: its only input is the file, so a cache key would cost
    the same read and hash as the load itself."""
    from reelflow.asset_checks import decode_problems
    from reelflow.errors import ShotListError
    from reelflow.shotlist import load_shotlist

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
                        str(parameters["today"])])
    return "route-" + hashlib.sha256(payload.encode()).hexdigest()


@task(name="route", cache_key_fn=route_key, persist_result=True)
def route(loaded: LoadedShotList, catalog_path: str | None, today: dt.date) -> tuple[Plan, Catalog]:
    catalog = load_catalog(catalog_path)
    return plan_shotlist(loaded.spec, catalog, today), catalog


@dataclass
class GeneratedClip(CachePolicy):
    """Cache on exactly what determines the clip (provider, its version and the request:
    prompt, model, tier, seed, seconds, size, fps, audio, reference-image hash) while the clip
    is in this run's store with the bytes it was downloaded with. The tier and shot stay in the
    key: an identical request of another tier is a hit in the store (paid once) but reported for
    the tier and shot that asked. No store path: a moved store keeps its hits."""

    def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs) -> str | None:
        req: GenerationRequest = inputs["request"]
        key = clip_key(providers.get(inputs["route"]), req)
        if Store(inputs["store_root"]).clip_meta(key) is None:
            return None  # run: generate_clip restores it from the ledger's job or the asset store
        return f"generate-{key}-{req.tier}-{req.shot_id}"


def generation_request(loaded: LoadedShotList, shot_id: str, spec: RenderSpec,
                       route_model: str | None, route_params: dict | None = None) -> GenerationRequest:
    shot = next(s for s in loaded.spec.shots if s.id == shot_id)
    return build_request(loaded, shot, spec, route_model, route_params)


@task(name="generate", cache_policy=GeneratedClip(), persist_result=True,
      retry_condition_fn=retry_if_transient)
def generate(request: GenerationRequest, route: str, store_root: str, cost_usd: float,
             notes: list[str], concurrency: int) -> ClipResult:
    provider = providers.get(route)
    with prefect_limit(route):
        return generate_clip(request, provider, Store(store_root), cost_usd=cost_usd,
                             notes=tuple(notes), concurrency=concurrency)


def prefect_limit(route: str):
    """Across workers and machines: the Prefect global concurrency limit `reelflow-<route>`
    (created from the catalog by `reelflow deploy` and by each render for its routes), always
    enforced; a missing limit is an error, never silently unlimited. Within one process the
    per-provider semaphore and rate limiter apply too."""
    import contextlib

    from reelflow.limits import limit_name

    if route == "animatic":
        return contextlib.nullcontext()
    from prefect.concurrency.sync import concurrency

    return concurrency(limit_name(route), occupy=1, strict=True)


def stored_clip_exists(request: GenerationRequest, route: str, store_root: str) -> bool:
    prov = providers.get(route)
    store = Store(store_root)
    return any(store.clip_meta(k) is not None
               for k in (clip_key(prov, request), cache_key(prov.name, prov.version, request)))


__all__ = ["load", "route", "generate", "generation_request", "stored_clip_exists"]
