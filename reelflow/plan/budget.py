"""The spend guard of one render (pure)."""

from __future__ import annotations

from reelflow.errors import BudgetError


class Budget:
    """Spend guard for one flow run: reserves a job's price before it is submitted and refuses
    a submission that would cross ``budget_usd``. Cache hits and the animatic cost nothing."""

    def __init__(self, limit: float | None):
        self.limit = limit
        self.reserved = 0.0

    def affords(self, cost: float) -> bool:
        """Whether ``cost`` more stays within the budget (a QC re-roll asks before it is paid)."""
        return cost <= 0 or self.limit is None or self.reserved + cost <= self.limit + 1e-9

    def reserve(self, shot_id: str, cost: float) -> None:
        if cost <= 0:
            return
        if self.limit is not None and self.reserved + cost > self.limit + 1e-9:
            raise BudgetError(f"stopped before submitting '{shot_id}': ${self.reserved + cost:.2f} "
                              f"would cross the budget of ${self.limit:g} (spent ${self.reserved:.2f})")
        self.reserved += cost
