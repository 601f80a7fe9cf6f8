"""Takes to choose from (pure): a shot may ask for several draft takes (other seeds) and for
models drafted side by side (`compare:`). Each take carries what its final would be (model, seed,
specs), so the take a reviewer picks is the one the final renders from."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from reelflow.errors import RoutingError
from reelflow.plan.catalog import Catalog
from reelflow.spec.shotlist import Shot, ShotList

SEED_STEP = 7919  # takes of one model: seeds far apart (a prime, so they never meet another shot's)


class TakeOption(BaseModel):
    """One draft take of a shot, and the final it leads to."""

    model_config = ConfigDict(frozen=True)

    label: str  # "take 2 (seed 123)", "kling-3.0"
    model: str  # the final model
    seed: int
    draft: "RenderSpec"
    final: "RenderSpec"


def take_options(shot: Shot, index: int, spec: ShotList, catalog: Catalog, today: dt.date, plan,
                 reach=None) -> list[TakeOption]:
    """The takes of a shot: the routed model at ``takes`` seeds, then each compared model.
    Empty for a shot with one take. Raises RoutingError for a compared model that is unknown,
    retired or cannot render the shot."""
    from reelflow.plan.routing import feasible, spec_pair

    if shot.takes == 1 and not shot.compare:
        return []
    seed = shot.effective_seed
    options = [TakeOption(label=f"take {k + 1} ({plan.model}, seed {seed + k * SEED_STEP})", model=plan.model,
                          seed=seed + k * SEED_STEP, draft=plan.draft, final=plan.final)
               for k in range(shot.takes)]
    for j, model_id in enumerate(shot.compare):
        where = ("shots", index, "compare", j)
        model = catalog.models.get(model_id)
        if model is None or model.tier != "final":
            finals = sorted(m for m, s in catalog.models.items() if s.tier == "final"
                            and not s.lifecycle.retired_on(today))
            raise RoutingError([(where, f"compare: '{model_id}' is not a final model in the catalog "
                                        f"(finals: {', '.join(finals)})")])
        if model.lifecycle.retired_on(today):
            raise RoutingError([(where, f"compare: {model_id} is retired"
                                        + (f"; its successor is {model.lifecycle.successor}"
                                           if model.lifecycle.successor else ""))])
        why_not = feasible(model, shot, spec)
        if why_not:
            raise RoutingError([(where, f"compare: {why_not}")])
        if model_id == plan.model:
            continue  # already the routed takes
        fin, draft = spec_pair(model, catalog, shot, spec, today, reach)
        options.append(TakeOption(label=f"take {len(options) + 1} ({model_id}, seed {seed})", model=model_id,
                                  seed=seed, draft=draft, final=fin))
    return options if len(options) > 1 else []


from reelflow.plan.routing import RenderSpec  # noqa: E402 - the spec type, once routing (which imports us) has loaded

TakeOption.model_rebuild()


def parse_picks(values: list[str] | dict[str, int] | None, plan) -> dict[str, int]:
    """Chosen takes as {shot id: 0-based index} from `SHOT=N` strings or {shot: N} (1-based, as
    the review and the plan number them). Raises InputError naming the bad entry."""
    from reelflow.errors import InputError

    if not values:
        return {}
    pairs = values.items() if isinstance(values, dict) else [v.partition("=")[::2] for v in values]
    picks: dict[str, int] = {}
    for shot_id, number in pairs:
        shot_id = str(shot_id).strip()
        sp = next((s for s in plan.shots if s.shot_id == shot_id), None)
        if sp is None:
            raise InputError(f"--take names no shot: '{shot_id}' (shots: {', '.join(s.shot_id for s in plan.shots)})")
        count = len(sp.options) or 1
        try:
            k = int(number)
        except (TypeError, ValueError):
            raise InputError(f"--take {shot_id}={number}: the take is a number from 1 to {count}") from None
        if not 1 <= k <= count:
            raise InputError(f"--take {shot_id}={k}: shot '{shot_id}' has {count} take(s)")
        picks[shot_id] = k - 1
    return picks
