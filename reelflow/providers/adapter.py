"""What every cloud adapter shares: the provider's status table read one way, failures translated
one way (a safety refusal is a rejection, never retried), the poll interval, the manifest note.
An adapter declares ``STATUS`` (its status words -> queued, running, succeeded, failed) and says
where a clip was rendered; the transport (SDK or HTTP) stays its own."""

from __future__ import annotations

from reelflow.errors import TransientProviderError
from reelflow.providers.base import GenerationRequest, JobState
from reelflow.providers.common import looks_rejected, poll_interval


class Adapter:
    name = "adapter"
    version = "1"
    STATUS: dict[str, str] = {}

    def state(self, status, *, error: str | None = None, progress: float | None = None) -> JobState:
        """The job's state from the provider's status word; an unknown word is transient (the
        job is paid for: polling goes on)."""
        kind = self.STATUS.get(str(status))
        if kind is None:
            raise TransientProviderError(f"{self.name}: unknown status {status!r}")
        if kind == "failed":
            return self.failed(str(error or status))
        if kind == "succeeded":
            return JobState(state="succeeded", progress=1.0)
        return JobState(state=kind, progress=progress)

    @staticmethod
    def failed(message: str, rejected: bool | None = None) -> JobState:
        return JobState(state="failed", error=message,
                        rejected=looks_rejected(message) if rejected is None else rejected)

    @staticmethod
    def rendered(request: GenerationRequest, where: str) -> dict:
        """What ``download`` returns: the manifest's note on who rendered the clip."""
        return {"notes": [f"rendered by {request.model} {where}"]}

    def poll_interval(self) -> float:
        return poll_interval()
