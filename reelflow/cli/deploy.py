"""`reelflow deploy`: register the render-shotlist and nightly deployments, the work pool and the
per-provider concurrency limits with a Prefect server, in one process through Prefect's client.

The deployments are read from `prefect.yaml` in the current folder when there is one (this
repository's, or a studio's own shot-list repository), else from the copy shipped with reelflow.
Their entrypoints are module paths (`reelflow.flows.render.render_shotlist`), so a worker needs
reelflow installed and clones only the repository that holds the shot lists.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from reelflow.load.catalog_file import load_catalog
from reelflow.runtime.config import OUT_ENV, STORE_ENV

PACKAGED = Path(__file__).resolve().parent.parent / "prefect.yaml"
# settings a deployed run reads from its environment; passed on to the runs when set here
PASS_ON = (OUT_ENV, STORE_ENV, "REELFLOW_S3_BUCKET", "REELFLOW_S3_ENDPOINT", "REELFLOW_S3_PREFIX",
           "REELFLOW_ASSET_BASE_URL", "REELFLOW_RESULT_STORAGE", "REELFLOW_CATALOG")


@dataclass
class DeploySettings:
    repository: str
    branch: str
    pool: str
    env: dict[str, str] = field(default_factory=dict)
    spec_file: Path = PACKAGED

    def describe(self) -> list[str]:
        lines = [f"repository {self.repository} (branch {self.branch})", f"work pool {self.pool}",
                 f"deployments from {self.spec_file}"]
        lines += [f"{k}={v}" for k, v in self.env.items()]
        if OUT_ENV not in self.env or STORE_ENV not in self.env:
            lines.append(f"note: {OUT_ENV} and {STORE_ENV} must then be set on the workers (durable folders), "
                         f"or runs refuse to start")
        return lines


def _origin(cwd: Path) -> str | None:
    got = subprocess.run(["git", "-C", str(cwd), "remote", "get-url", "origin"], capture_output=True, text=True)
    return got.stdout.strip() or None


def settings(repository: str | None, branch: str | None, pool: str | None, out: str | None,
             store: str | None, cwd: Path | None = None) -> DeploySettings:
    """Flags first, then the documented environment variables, then defaults."""
    cwd = cwd or Path.cwd()
    env = {k: os.environ[k] for k in PASS_ON if os.environ.get(k)}
    if out:
        env[OUT_ENV] = str(Path(out).expanduser().resolve())
    if store:
        env[STORE_ENV] = str(Path(store).expanduser().resolve())
    local = cwd / "prefect.yaml"
    return DeploySettings(
        repository=repository or os.environ.get("REELFLOW_GIT_REPOSITORY") or _origin(cwd) or cwd.resolve().as_uri(),
        branch=branch or os.environ.get("REELFLOW_GIT_BRANCH") or "main",
        pool=pool or os.environ.get("REELFLOW_WORK_POOL") or "reelflow-process",
        env=env, spec_file=local if local.is_file() else PACKAGED)


def _schedules(entry: dict) -> list:
    from prefect.schedules import Cron

    return [Cron(s["cron"], timezone=s.get("timezone")) for s in entry.get("schedules") or [] if s.get("cron")]


def deploy_all(s: DeploySettings) -> list[str]:
    """Create the pool and limits if missing, then (re)register every deployment; returns
    "<flow>/<deployment>" names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.runner.storage import GitRepository
    from prefect.types.entrypoint import EntrypointType

    from reelflow.flows.nightly import nightly
    from reelflow.flows.render import render_shotlist
    from reelflow.runtime.limits import ensure_provider_limits

    flows = {"reelflow.flows.render.render_shotlist": render_shotlist, "reelflow.flows.nightly.nightly": nightly}
    spec = yaml.safe_load(s.spec_file.read_text(encoding="utf-8")) or {}
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(s.pool)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=s.pool, type="process"))
        ensure_provider_limits(load_catalog(), client=client)
    names = []
    for entry in spec.get("deployments") or []:
        flow = flows.get(entry["entrypoint"])
        if flow is None:
            raise ValueError(f"{s.spec_file}: deployment {entry.get('name')!r}: entrypoint must be one of "
                             f"{', '.join(flows)}")
        deployment = flow.to_deployment(
            name=entry["name"], description=entry.get("description"), parameters=entry.get("parameters") or {},
            tags=entry.get("tags") or [], schedules=_schedules(entry), work_pool_name=s.pool,
            job_variables={"env": s.env} if s.env else {}, entrypoint_type=EntrypointType.MODULE_PATH)
        # workers clone the shot lists' repository (Prefect's git_clone pull step) before each run
        deployment.storage = GitRepository(url=s.repository, branch=s.branch)
        deployment.entrypoint = entry["entrypoint"]
        deployment.apply(work_pool_name=s.pool)
        names.append(f"{flow.name}/{entry['name']}")
    return names
