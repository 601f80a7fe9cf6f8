"""A route added by another package, without touching reelflow (#10 "one file per extension"):
a distribution on the path declares a `reelflow.providers` entry point; a catalog overlay names
the route; routing, resolution and never-pay-twice generation use it like a built-in one."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap

from reelflow import providers
from reelflow.load.catalog_file import load_catalog
from reelflow.generation.generate import generate_clip
from reelflow.providers.base import GenerationRequest
from reelflow.store.local import Store

PLUGIN = '''
from reelflow.providers.animatic.provider import AnimaticProvider


class EchoProvider(AnimaticProvider):
    """A third-party route: renders like the animatic, counts what it is sent."""

    name = "echo"
    submitted = []

    def submit(self, request):
        EchoProvider.submitted.append((request.route_model, request.tier, request.shot_id))
        return super().submit(request)
'''


def test_a_plugin_route_registers_itself_and_renders(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "reelflow_echo-0.1.dist-info").mkdir(parents=True)
    (site / "reelflow_echo.py").write_text(PLUGIN)
    (site / "reelflow_echo-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: reelflow-echo\nVersion: 0.1\n")
    (site / "reelflow_echo-0.1.dist-info" / "entry_points.txt").write_text(
        "[reelflow.providers]\necho = reelflow_echo:EchoProvider\n")
    monkeypatch.syspath_prepend(str(site))
    assert "echo" not in providers.available_routes()
    providers.refresh()
    assert "echo" in providers.available_routes()
    # forgotten again after the test
    monkeypatch.setitem(providers._FACTORIES, "echo", providers._FACTORIES.pop("echo"))
    monkeypatch.setattr(providers, "_INSTANCES", dict(providers._INSTANCES))

    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(textwrap.dedent("""\
        routes:
          echo: {kind: aggregator, env: [ECHO_KEY], concurrency: 2}
        route_preference: [echo, vertex, kling, openai, gemini, fal, replicate]
        models:
          echo-1:
            name: Echo 1
            family: echo
            tier: final
            durations: {min: 1, max: 10}
            resolutions: [720]
            fps: [24]
            aspects: ["16:9"]
            native_audio: true
            image_to_video: false
            price_per_second: {720: 0.01}
            routes:
              echo: {id: echo-v1}
            source: a test plugin
            checked: 2026-11-23
        """))
    cat = load_catalog(overlay)
    res = providers.resolve_route("echo-1", cat, dt.date(2026, 11, 23), environ={"ECHO_KEY": "k"})
    assert (res.route, res.route_model) == ("echo", "echo-v1")
    req = GenerationRequest(shot_id="a", prompt="a harbour", kind="environment", camera="static", model="echo-1",
                            route_model=res.route_model, tier="final", seed=1, seconds=2, width=640, height=360,
                            fps=24, aspect="16:9", audio=True)
    store = Store(tmp_path / "store")
    clip = generate_clip(req, providers.get("echo"), store)
    again = generate_clip(req, providers.get("echo"), store)
    plugin = sys.modules["reelflow_echo"].EchoProvider
    assert plugin.submitted == [("echo-v1", "final", "a")]  # paid once; the second is a store hit
    assert clip.provider == "echo" and again.cache_hit and store.verified(clip.path)
