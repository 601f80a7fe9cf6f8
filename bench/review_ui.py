"""Review benchmark: the moonshot list's review artifact opened in the Prefect UI, as a producer
opens it.

A real `prefect server start` (UI included, SQLite in a temporary PREFECT_HOME) on this machine;
the render flow with `approval: review` pauses after the prototype; then headless Chromium opens
the review artifact's page and reports what the producer waits for: the page's first paint, the
review's heading drawn, every image decoded, every shot's player with its first frame. Also the
artifact's size and its shots, sections and players. The run is then resumed with one scene
approved (`approve_groups`), as a producer would, and its finals timed.

    python bench/review_ui.py [--shotlist shotlists/moonshot.yaml] [--approve-group dawn]

Goals (issue 18): artifact under 2 MB, first paint under 3 s. Writes bench/results/review_ui.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from moonshot import project  # noqa: E402
from tests.integration_support import free_port, wait_http  # noqa: E402


def open_review(ui: str, artifact_id, shot: Path) -> dict:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        t0 = time.perf_counter()
        page.goto(f"{ui}/artifacts/artifact/{artifact_id}")
        page.wait_for_selector("text=Review: ", timeout=60_000)
        heading_s = time.perf_counter() - t0
        page.wait_for_function("document.images.length > 0 && Array.from(document.images).every(i => i.complete)",
                               timeout=60_000)
        images_s = time.perf_counter() - t0
        page.wait_for_function("Array.from(document.querySelectorAll('video')).every(v => v.readyState >= 1)",
                               timeout=120_000)
        players_s = time.perf_counter() - t0
        paint = page.evaluate("performance.getEntriesByType('paint').map(e => [e.name, e.startTime])")
        seen = {"images": page.evaluate("Array.from(document.images).map(i => i.naturalWidth)"),
                "players": page.evaluate("document.querySelectorAll('video').length"),
                "sections": page.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")}
        page.screenshot(path=str(shot))
        browser.close()
    return {"first_paint_s": round(dict(paint).get("first-contentful-paint", 0) / 1000, 2),
            "review_heading_s": round(heading_s, 2), "all_images_s": round(images_s, 2),
            "all_players_ready_s": round(players_s, 2), **seen}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shotlist", default=str(ROOT / "shotlists" / "moonshot.yaml"))
    ap.add_argument("--approve-group", default="dawn")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reelflow-review-") as tmp:
        work = Path(tmp)
        port = free_port()
        api, ui = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}"
        env = {**os.environ, "PREFECT_HOME": str(work / "home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_UI_API_URL": api}
        env.pop("PREFECT_API_URL", None)
        server = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                                   "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_http(f"{api}/health", 180)
            os.environ.update(PREFECT_API_URL=api, PREFECT_HOME=str(work / "home"), PREFECT_LOGGING_LEVEL="WARNING")
            results = measure(work, Path(args.shotlist), ui, args.approve_group)
        finally:
            server.terminate()
            server.wait(30)
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    results["goals_met"] = {"artifact < 2 MB": results["artifact_bytes"] < 2_000_000,
                            "first paint < 3 s": results["browser"]["first_paint_s"] < 3}
    print(json.dumps(results, indent=2))
    dest = ROOT / "bench" / "results"
    dest.mkdir(exist_ok=True)
    (dest / "review_ui.json").write_text(json.dumps(results, indent=2))
    shutil.rmtree(ROOT / "bench" / "__pycache__", ignore_errors=True)


def measure(work: Path, source: Path, ui: str, group: str) -> dict:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.flow_runs import resume_flow_run

    from reelflow.flows.render import render_shotlist

    shotlist = project(work, source)
    box: dict = {}

    def run() -> None:
        try:
            box["manifest"] = render_shotlist(str(shotlist), out_dir=str(work / "out"), approval="review",
                                              store_dir=str(work / "store"), review_timeout=1800)
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    async def paused():
        async with get_client() as client:
            for r in await client.read_flow_runs(limit=20):
                if r.state and r.state.is_paused():
                    arts = await client.read_artifacts(
                        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[r.id])))
                    return r.id, max((a for a in arts if a.key == f"{shotlist.stem}-review"), key=lambda a: a.created)
        return None

    t0 = time.perf_counter()
    threading.Thread(target=run, daemon=True).start()
    found = None
    while found is None and "error" not in box:
        time.sleep(1)
        found = asyncio.run(paused())
    if "error" in box:
        raise SystemExit(f"the render failed before its review: {box['error']}")
    to_review = time.perf_counter() - t0
    run_id, art = found
    markdown = art.data
    browser = open_review(ui, art.id, ROOT / "bench" / "results" / "review_ui.png")
    t1 = time.perf_counter()
    resume_flow_run(run_id, run_input={"approve_groups": [group], "reviewer": "bench"})
    while "manifest" not in box and "error" not in box:
        time.sleep(1)
    if "error" in box:
        raise SystemExit(f"the render failed after its review: {box['error']}")
    tiers = [s["used_tier"] for s in box["manifest"]["shots"]]
    return {"shots": len(tiers), "drafts_and_prototype_s": round(to_review, 1),
            "artifact_bytes": len(markdown.encode()), "inline_players": markdown.count("<video"),
            "sections": markdown.count("\n## "), "browser": browser,
            "after_approving": {"group": group, "finals": tiers.count("final"), "drafts": tiers.count("draft"),
                                "finals_and_finishing_s": round(time.perf_counter() - t1, 1)}}


if __name__ == "__main__":
    main()
