"""Prefect task: one dialogue line synthesised through its character's TTS route, kept in the
store under its content key (clips/speech-<key>.wav, beside its provenance), so the same line in
the same voice is paid once, by whichever shot, run or worker asks first."""

from __future__ import annotations


from prefect import task
from prefect.tasks import exponential_backoff
from pydantic import BaseModel, ConfigDict

from reelflow.runtime.config import RetryPolicy
from reelflow.plan.speech import SpeechRequest
from reelflow.store.local import Store
from reelflow.tasks.caching import StoredArtifacts
from reelflow.tasks.generation import retry_if_transient


class SpokenLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str  # store-relative
    sha256: str
    seconds: float
    cost_usd: float  # what this call paid (0 when the store had it)
    cache_hit: bool


def speech_ref(request: SpeechRequest) -> str:
    return f"clips/speech-{request.key()}.wav"


RETRY = RetryPolicy.from_env()


@task(name="speak-line", persist_result=True, retries=RETRY.retries,
      retry_delay_seconds=exponential_backoff(RETRY.base_delay), retry_jitter_factor=RETRY.jitter,
      retry_condition_fn=retry_if_transient,
      cache_policy=StoredArtifacts(prefix="speech", parts=lambda i: ["speech-1", i["request"].key()],
                                   artifacts=lambda i, key: [(speech_ref(i["request"]), None)]))
def speak_line(request: SpeechRequest, store_root: str) -> SpokenLine:
    from reelflow.providers.speech.openai_tts import speaker_for

    store = Store(store_root)
    ref = speech_ref(request)
    meta = store.answer_meta(ref)
    if meta is not None:
        return SpokenLine(path=ref, sha256=meta["sha256"], seconds=meta["seconds"], cost_usd=0.0, cache_hit=True)
    data, seconds = speaker_for(request.route).synthesise_checked(request)  # a whole WAV with sound in it
    sha = store.put_answer(ref, data, {  # the provenance; never a key
        "seconds": round(seconds, 4), "route": request.route, "model": request.model, "voice": request.voice,
        "characters": len(request.text), "cost_usd": request.cost_usd()})
    return SpokenLine(path=ref, sha256=sha, seconds=round(seconds, 4), cost_usd=request.cost_usd(), cache_hit=False)
