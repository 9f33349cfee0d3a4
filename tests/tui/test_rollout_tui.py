"""A rollout in the simulator reaches the TUI's path panel live: both revisions while the old pods
linger, then one again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.options import SourceSpec, ViewOptions
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live
from ktrace.tui.app import KtraceApp
from tests.live.test_rollout_sim import WEB
from tests.tui.test_tui_app import loaded, text_of, until

pytestmark = pytest.mark.slow  # the app under Pilot over a simulated rollout


def panel(app: KtraceApp) -> str:
    return text_of(app.path_panel.query_one("#path-body"))  # the whole tree, not only the part in view


async def test_rollout_shows_in_the_path_panel_live(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(WEB, pod_grace=1.0, bookmark_interval=0.2)
    source = open_live(SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k"))))
    app = KtraceApp(view=ViewOptions(host="web.example.com/"), source_factory=lambda _: source, debounce=0.05)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: source.status is not None and source.status.state == "live")
        assert "rollout of" not in panel(app)
        sim.patch("Deployment", "web", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "registry.example:5000/web:2.0", "ports": [{"containerPort": 8080}]}]}}}})
        await until(pilot, lambda: "rollout of Deployment web: 2 revisions" in panel(app))
        text = panel(app)
        assert "current" in text and "2.0" in text and "old" in text and "1.0" in text
        await until(pilot, lambda: "rollout of" not in panel(app))
        assert app.path is not None
        assert not next(h for h in app.path.hops if h.kind == "Service").detail.revisions
        assert len([h for h in app.path.hops if h.kind == "Pod"]) == 2
