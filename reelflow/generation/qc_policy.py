"""What a failed QC costs and what is tried next (pure): re-rolls with new seeds, then the next
fallback model, then the clip is kept with its failure shown. A clip that failed was paid for:
it is recorded with its report (never served as good), and its price counts in the run's spend."""

from __future__ import annotations

from reelflow.errors import ProviderError
from reelflow.generation.generate import ClipJob
from reelflow.generation.qc_pipeline import reroll_seed


class QCFailedError(ProviderError):
    """Every re-roll of a clip failed QC (or the budget stopped them). Carries the last clip
    (``take``) and the rejected ones before it, so a fallback can keep the best of them."""

    def __init__(self, take, rejected: list[dict], seed: int):
        from reelflow.generation.qc_pipeline import summary

        self.take, self.rejected, self.seed = take, rejected, seed
        clip = take.clip
        tries = 1 + len(rejected)
        super().__init__(f"shot '{clip.shot_id}' {clip.tier} on {clip.model} failed QC "
                         f"{tries} time(s): {summary(clip)}")

    def paid(self) -> list[dict]:
        """Every clip this model rendered for the shot, rejected ones and the last."""
        return [*self.rejected, rejected_entry(self.take, self.seed)]


def rejected_entry(take, seed: int) -> dict:
    """A clip QC rejected, as the manifest, review and spend record it."""
    from reelflow.generation.qc_pipeline import summary

    clip = take.clip
    findings = [f for f in (clip.qc or {}).get("findings", []) if f.get("severity") == "fail"]
    return {"model": clip.model, "job_id": clip.job_id, "clip_sha256": clip.sha256, "seed": seed,
            "cost_usd": clip.cost_usd, "billed_usd": 0.0 if take.cache_hit else clip.cost_usd,
            "summary": summary(clip), "findings": findings}


def rerolled(job: ClipJob, k: int) -> ClipJob:
    """The job again with re-roll ``k``'s seed (recorded: the seed is part of the clip's key)."""
    seed = reroll_seed(job.request.seed, k)
    return job.model_copy(update={"request": job.request.model_copy(update={"seed": seed}),
                                  "notes": (*job.notes, f"seed {seed}: QC re-roll {k} of seed {job.request.seed}")})
