"""Where a key comes from: the environment, else a Prefect Secret block named reelflow-<env>.

Secrets are read here only, never logged: callers get the value, the rest of reelflow the name.
"""

from __future__ import annotations

import os
import sys
import threading


def secret_block_name(env: str) -> str:
    return "reelflow-" + env.lower().replace("_", "-")


_SECRETS: dict[str, str | None] = {}
_SECRETS_LOCK = threading.Lock()


def credential(env: str) -> str | None:
    """The key from the environment, else from a Prefect Secret block named reelflow-<env>.

    Blocks are looked up only against a configured Prefect server (PREFECT_API_URL), never by
    starting a temporary one, and each name once per process."""
    value = os.environ.get(env)
    if value:
        return value
    if os.environ.get("REELFLOW_SECRET_BLOCKS", "1") == "0" or not _prefect_api_configured():
        return None
    with _SECRETS_LOCK:
        if env not in _SECRETS:
            try:
                from prefect.blocks.system import Secret

                _SECRETS[env] = str(Secret.load(secret_block_name(env), _sync=True).get())  # type: ignore[call-arg]
            except Exception:  # noqa: BLE001 - no block: simply not configured
                _SECRETS[env] = None
        return _SECRETS[env]


def _prefect_api_configured() -> bool:
    if os.environ.get("PREFECT_API_URL"):
        return True
    if "prefect" not in sys.modules:  # a CLI that never imported Prefect has no server to ask
        return False
    try:
        from prefect.settings import get_current_settings

        return bool(get_current_settings().api.url)
    except Exception:  # noqa: BLE001
        return False
