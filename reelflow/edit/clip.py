"""A clip as it came back (pure data): where it lives in the store, what it is, what it cost and
how it got there. Generation makes them; the edit, the manifest and the finishing read them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ClipResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    path: str  # store-relative ("clips/<key>.mp4"): resolve with Store.file()
    sha256: str
    shot_id: str
    tier: str
    model: str  # the catalog model the request was for
    provider: str  # the route that rendered it
    job_id: str
    seconds: float
    width: int
    height: int
    fps: float
    has_audio: bool
    speech_spans: list[tuple[float, float]] = []
    notes: list[str] = []
    cost_usd: float = 0.0
    cache_hit: bool = False
    submissions: int = 0
    fallback_from: str | None = None  # the model that refused or failed
    fallback_reason: str | None = None
    qc: dict | None = None  # the QC report (reelflow.qc.report.QCReport as JSON)
    qc_rejected: list[dict] = []  # clips of this shot and tier that failed QC before this one: paid, kept
    ends_on_frame: bool = False  # asked to end on a given frame (a keyframe): the edit shows its tail
