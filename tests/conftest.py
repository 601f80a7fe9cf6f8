from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")  # logs reach the API: the secret test reads them
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ["REELFLOW_RETRY_BASE_DELAY"] = "0.05"
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Side by side (make test), each worker's CLI runs keep their temporary server's SQLite
    # database apart (~/.prefect/prefect.db shared by two workers was the suspect when a stress
    # run once saw a signalled CLI run whose server never started: 1 in 162)
    os.environ.setdefault("PREFECT_HOME", str(Path("/tmp") / f"reelflow-tests-prefect-{os.environ['PYTEST_XDIST_WORKER']}"))
os.environ["REELFLOW_RETRY_JITTER"] = "0"
for _key in ("GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GEMINI_API_KEY", "OPENAI_API_KEY", "FAL_KEY",
             "REPLICATE_API_TOKEN", "KLING_ACCESS_KEY", "KLING_SECRET_KEY", "REELFLOW_CATALOG",
             "REELFLOW_STORE"):
    os.environ.pop(_key, None)


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server + database for the whole session (~10-15 s to start)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from tests.prefect_server import reelflow_test_server

    with reelflow_test_server(startup_timeout=120):
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield


def make_repo(tmp_path: Path, yaml_text: str, name: str = "cut.yaml", music: bool = True) -> Path:
    """A throwaway project folder: shotlists/<name> + assets/ (music bed, reference image)."""
    (tmp_path / "shotlists").mkdir(parents=True, exist_ok=True)
    (tmp_path / "assets" / "music").mkdir(parents=True, exist_ok=True)
    (tmp_path / "assets" / "images").mkdir(parents=True, exist_ok=True)
    if music:
        shutil.copy(ROOT / "assets" / "music" / "bed.wav", tmp_path / "assets" / "music" / "bed.wav")
    shutil.copy(ROOT / "assets" / "images" / "harbor-reference.png",
                tmp_path / "assets" / "images" / "ref.png")
    path = tmp_path / "shotlists" / name
    path.write_text(yaml_text)
    return path


class CountingProvider:
    """The real animatic provider, counting protocol calls; optionally failing on cue."""

    def __init__(self, fail_submits: int = 0, permanent: bool = False, fail_polls: int = 0,
                 corrupt_downloads: int = 0, refuse=None):
        from reelflow.providers.animatic.provider import AnimaticProvider

        self.inner = AnimaticProvider()
        self.name = self.inner.name
        self.version = self.inner.version
        self.submits: list[str] = []
        self.polls = 0
        self.downloads: list[str] = []
        self.requests: list = []  # every submitted request, for what it carried
        self.fail_submits = fail_submits
        self.fail_polls = fail_polls
        self.corrupt_downloads = corrupt_downloads
        self.permanent = permanent
        self.refuse = refuse  # request -> a safety filter's message (refused at submission), or None
        self.lock = threading.Lock()

    def submit(self, request):
        from reelflow.errors import PermanentProviderError, TransientProviderError

        with self.lock:
            if self.fail_submits > 0:
                self.fail_submits -= 1
                self.submits.append(f"FAILED:{request.model}:{request.shot_id}")
                if self.permanent:
                    raise PermanentProviderError(f"invalid parameters for {request.shot_id}")
                raise TransientProviderError("503 busy")
            refusal = self.refuse(request) if self.refuse else None
            if refusal:
                from reelflow.errors import ContentRejectedError

                self.submits.append(f"REFUSED:{request.tier}:{request.shot_id}")
                raise ContentRejectedError(f"animatic: 400 {refusal}")
            self.submits.append(f"{request.tier}:{request.shot_id}")
            self.requests.append(request)
        return self.inner.submit(request)

    def poll(self, request, job_id):
        from reelflow.errors import TransientProviderError

        with self.lock:
            self.polls += 1
            if self.fail_polls > 0:
                self.fail_polls -= 1
                raise TransientProviderError("connection reset while polling")
        return self.inner.poll(request, job_id)

    def download(self, request, job_id, dest):
        meta = self.inner.download(request, job_id, dest)
        with self.lock:
            self.downloads.append(f"{request.tier}:{request.shot_id}")
            if self.corrupt_downloads > 0:
                self.corrupt_downloads -= 1
                data = Path(dest).read_bytes()
                Path(dest).write_bytes(data[: len(data) // 3])  # truncated transfer
        return meta

    def poll_interval(self):
        return 0.0

    def delivers(self, request):
        return self.inner.delivers(request)


@pytest.fixture
def counting_provider():
    from reelflow import providers

    prov = CountingProvider()
    with providers.override("animatic", prov):
        yield prov


# The longest files first (measured), so that `pytest -n 2 --dist loadfile` starts them at once
# on both workers instead of leaving one running alone at the end.
LONGEST_FIRST = ("test_server_integration.py", "test_install.py", "test_race.py", "test_providers.py",
                 "test_provider_matrix.py", "test_continuity.py", "test_groups.py", "test_cast.py", "test_dask.py", "test_cloud_flow.py")


def pytest_collection_modifyitems(config, items):
    """A test that starts a Prefect server (the `prefect_harness` fixture) is `slow`: the fast
    lane, `pytest -m "not slow and not integration"`, keeps the pure rules and the fakes."""
    for item in items:
        if "prefect_harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: order within a file kept


def pytest_addoption(parser):
    parser.addoption("--repeat", type=int, default=1,
                     help="run each selected test N times (the stress run: .ci/stress)")


def pytest_generate_tests(metafunc):
    n = metafunc.config.getoption("repeat")
    if n > 1:  # a parameter of its own, so each repetition has its own id (xdist spreads them)
        metafunc.fixturenames.append("_repetition")
        metafunc.parametrize("_repetition", range(1, n + 1), ids=lambda i: f"rep{i}")
