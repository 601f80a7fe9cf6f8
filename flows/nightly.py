"""Nightly: render every shot list changed since its last successful render.

"Changed" is `git diff` between the repository commit recorded in the shot list's last manifest
and HEAD, over the shot list and every asset it references. A shot list never rendered, or last
rendered from uncommitted edits, is rendered too.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from reelflow.flows.render import render_shotlist
from reelflow.shotlist import load_shotlist


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout.strip()


def referenced_paths(path: Path) -> list[str]:
    loaded = load_shotlist(path)
    spec = loaded.spec
    rels = [str(path.resolve().relative_to(loaded.repo_root))]
    rels += [p for p in (spec.audio.music, spec.output.lut) if p]
    for shot in spec.shots:
        rels += [p for p in (shot.image, *(d.file for d in shot.dialogue), *(f.file for f in shot.sfx)) if p]
    return rels


@task(name="changed-shotlists", cache_policy=NO_CACHE)
def changed_shotlists(folder: str, out_dir: str) -> list[dict]:
    """[{path, reason}] for every shot list that needs a render."""
    root = Path(_git(Path(folder), "rev-parse", "--show-toplevel"))
    head = _git(root, "rev-parse", "HEAD")
    todo = []
    for path in sorted([*Path(folder).glob("*.yaml"), *Path(folder).glob("*.yml")]):
        manifest = Path(out_dir) / f"{path.stem}.manifest.json"
        if not manifest.is_file():
            todo.append({"path": str(path), "reason": "never rendered"})
            continue
        data = json.loads(manifest.read_text())
        base = data.get("repo_commit")
        if data.get("status") != "final" or not base or base.endswith("+dirty"):
            todo.append({"path": str(path), "reason": "last render was not final from a clean commit"})
            continue
        try:
            diff = _git(root, "diff", "--name-only", base, head, "--", *referenced_paths(path))
        except subprocess.CalledProcessError:
            todo.append({"path": str(path), "reason": f"commit {base[:8]} not in this clone"})
            continue
        if diff:
            todo.append({"path": str(path), "reason": f"changed since {base[:8]}: {', '.join(diff.split())}"})
    return todo


@flow(name="nightly", log_prints=True)
def nightly(shotlists: str = "shotlists", out_dir: str = "out", approval: str = "all",
            store_dir: str | None = None, review_timeout: int = 3600) -> list[dict]:
    """Render what changed; return [{path, reason, status, output}]. The approval policy is
    `all` (auto-approve) or `review` (pause for the UI, failing clearly after review_timeout)."""
    logger = get_run_logger()
    results = []
    for item in changed_shotlists(shotlists, out_dir):
        logger.info("rendering %s (%s)", item["path"], item["reason"])
        manifest = render_shotlist(item["path"], out_dir=out_dir, approval=approval, store_dir=store_dir,
                                   review_timeout=review_timeout)
        results.append({**item, "status": manifest["status"], "output": manifest["output"].get("path")})
    if not results:
        logger.info("nothing changed under %s", shotlists)
    return results
