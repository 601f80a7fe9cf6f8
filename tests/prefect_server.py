"""The tests' Prefect server: `prefect_test_harness`'s temporary server, on PostgreSQL.

Prefect's own harness keeps its database in SQLite. There, a slot request
(`POST /v2/concurrency_limits/increment-with-lease`) reads and then writes inside one deferred
transaction. When the task-run recorder writes at the same moment, SQLite answers "database is
locked" at once. The server returns 503, and the client waits 2 s before it tries again. That cost
about 2 s on most cloud-route jobs in the suite. A real PostgreSQL cluster (as a studio's server
runs) has no such lock. The harness below is Prefect's (prefect/testing/utilities.py, 3.9) with the
database URL as a parameter."""

from __future__ import annotations

import contextlib
import inspect
import os
import shutil

from tests.integration_support import PG_BIN, postgres_cluster


def postgres_available() -> bool:
    """initdb needs the `postgres` user, reached through `su` from root (CI and this machine)."""
    return (PG_BIN / "initdb").exists() and shutil.which("su") is not None and os.geteuid() == 0


@contextlib.contextmanager
def temporary_prefect_server(database_url: str, startup_timeout: int = 120):
    import prefect.context
    import prefect.settings
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.server.database.dependencies import temporary_database_interface
    from prefect.testing.utilities import _find_available_port
    from prefect.utilities.asyncutils import run_coro_as_sync

    with contextlib.ExitStack() as stack:
        stack.enter_context(temporary_database_interface())
        stack.enter_context(prefect.settings.temporary_settings(
            updates={prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL: database_url}))
        server = SubprocessASGIServer(port=_find_available_port())
        prior_default = SubprocessASGIServer._instances.get(None)
        SubprocessASGIServer._instances[None] = server  # flows find this server, not a new one
        server.start(timeout=startup_timeout)
        try:
            stack.enter_context(prefect.settings.temporary_settings(
                updates={prefect.settings.PREFECT_API_URL: server.api_url}))
            stack.enter_context(prefect.context._temporary_global_settings_context(
                prefect.context.get_settings_context()))
            yield server.api_url

            async def drain() -> None:  # logs and events first, or they hit a stopped server
                try:
                    result = APILogWorker.instance().drain()
                    if inspect.isawaitable(result):
                        await result
                except RuntimeError:
                    pass
                result = EventsWorker.drain_all()
                if inspect.isawaitable(result):
                    await result

            run_coro_as_sync(drain())
        finally:
            server.stop()
            if prior_default is not None:
                SubprocessASGIServer._instances[None] = prior_default
            else:
                SubprocessASGIServer._instances.pop(None, None)


@contextlib.contextmanager
def reelflow_test_server(startup_timeout: int = 120):
    """PostgreSQL where this machine has it; Prefect's SQLite harness elsewhere
    (REELFLOW_TEST_DATABASE=sqlite asks for that one)."""
    if os.environ.get("REELFLOW_TEST_DATABASE", "postgres") == "postgres" and postgres_available():
        with postgres_cluster() as url, temporary_prefect_server(url, startup_timeout) as api:
            yield api
        return
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=startup_timeout):
        yield None
