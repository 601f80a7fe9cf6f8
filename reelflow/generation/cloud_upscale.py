"""`upscale: cloud`: a super-resolution model on an aggregator (Topaz on fal or Replicate),
through the same provider layer as generation: job ids in the ledger before polling, verified
download, content-keyed cache, never paid twice."""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

from reelflow import providers
from reelflow.load.catalog_file import load_catalog
from reelflow.errors import MediaError
from reelflow.generation.generate import ClipFacts, generate_clip
from reelflow.edit.clip import ClipResult
from reelflow.media.ffmpeg import probe
from reelflow.providers.base import GenerationRequest
from reelflow.store.local import Store

DEFAULT_MODEL = "topaz-video-upscale"


def upscale_cloud(src: Path, src_sha: str, size: tuple[int, int], store: Store,
                  model_id: str | None = None, today: dt.date | None = None) -> ClipResult:
    width, height = size
    catalog = load_catalog()
    model_id = model_id or os.environ.get("REELFLOW_CLOUD_UPSCALER", DEFAULT_MODEL)
    model = catalog.get(model_id)
    res = providers.resolve_route(model_id, catalog, today or dt.date.today())
    if res.route == "animatic":
        raise MediaError(f"cloud upscale with {model_id}: no route configured ({res.note}); "
                         f"set FAL_KEY or REPLICATE_API_TOKEN, or use upscale: lanczos")
    info = probe(src, count_frames=False)
    sw, sh = info.display_size
    factor = round(max(width / sw, height / sh), 3)
    seconds = max(1, math.floor(info.duration))
    request = GenerationRequest(
        shot_id=f"upscale-{src_sha[:12]}", prompt="video upscale", kind="upscale", camera="static",
        model=model_id, route_model=res.route_model,
        route_params={**(res.params or {}), "upscale_factor": factor}, tier="final", seed=0,
        seconds=seconds, width=width, height=height, fps=int(round(info.fps or 24)),
        aspect=f"{width}:{height}", audio=info.has_audio, video_sha256=src_sha, video_path=str(src))
    cost = round(seconds * model.price(min(width, height)), 4)
    facts = ClipFacts(cost_usd=cost, notes=(f"upscaled x{factor:g} by {model_id} on {res.route}",))
    return generate_clip(request, providers.get(res.route), store, facts=facts)
