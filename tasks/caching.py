"""Prefect cache policies that know the store.

A task's result names files in the store; Prefect's cache may only answer while those files are
there and hold the bytes they were written with. `StoredArtifacts` keys a task on the content key
its ``parts`` function derives from the task's inputs (content hashes and the recipe's version,
never a path) and returns no key, so the task runs and repairs the store, when an artifact is
missing or changed. The store path is not part of any key: a moved or copied store keeps its
cache hits. The task body names its files with the same key (``StoredArtifacts.key_of``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from prefect.cache_policies import CachePolicy

from reelflow.store.local import Store

# (inputs, content key) -> the store files the result names, each with its expected sha256
# (None: the hash recorded when it was written); None instead of a list: never cached by Prefect
Artifacts = Callable[[dict[str, Any], str], Optional[Iterable[tuple[str, Optional[str]]]]]


def content_key(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StoredArtifacts(CachePolicy):
    """Cache on ``parts(inputs)`` while every artifact (store-relative name, expected sha256 or
    None for the recorded one) named by ``artifacts(inputs, key)`` verifies in this run's store."""

    prefix: str = "task"
    parts: Optional[Callable[[dict[str, Any]], Any]] = None
    artifacts: Optional[Artifacts] = None

    def key_of(self, **inputs: Any) -> str:
        return content_key(self.parts(inputs) if self.parts else None)

    def compute_key(self, task_ctx, inputs: dict[str, Any], flow_parameters: dict[str, Any],
                    **kwargs: Any) -> Optional[str]:
        key = self.key_of(**inputs)
        if self.artifacts is not None:
            named = self.artifacts(inputs, key)
            if named is None:
                return None
            store = Store(inputs["store_root"])
            for ref, sha in named:
                if not store.verified(ref, sha):
                    return None  # run the task: it re-derives or re-fetches what is missing
        return f"{self.prefix}-{key}"
