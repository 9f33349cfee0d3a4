"""The timeline: a Service's selector changed through the simulator by `kubectl-edit` shows in the live path panel
(the hop marked, the change listed with its manager) and in the path's JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.options import SourceSpec, ViewOptions
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live
from ktrace.tui.app import KtraceApp
from tests.live.test_live_source import cluster
from tests.tui.test_tui_app import loaded, text_of, until


@pytest.mark.slow
async def test_a_selector_change_shows_in_the_path_with_its_manager(sim_factory: Callable[..., Simulator],
                                                                    tmp_path: Path) -> None:
    sim = sim_factory(cluster())
    spec = SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k")))
    app = KtraceApp(spec, view=ViewOptions(host="team-a.example.com"), source_factory=open_live, debounce=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.path is not None and app.path.status == "ok")
        sim.patch("Service", "team-a", "web", {"spec": {"selector": {"app": None, "App": "web"}}},
                  manager="kubectl-edit")
        await until(pilot, lambda: app.path is not None and app.path.status == "broken" and bool(app.path.changes))
        await pilot.pause()
        panel = app.path_panel
        text = " ".join(text_of(panel.query_one("#path-body")).split())
        assert "Δ" in text and "kubectl-edit" in text  # the Service hop, changed in the last hour
        assert "selector App=web matches no pod" in text  # the cause, on screen at 80x24
        panel.scroll_end(animate=False)
        await pilot.pause()
        text = " ".join(text_of(panel.query_one("#path-body")).split())
        assert "Service team-a/web: spec.selector app=web → App=web (kubectl-edit)" in text
        changes = app.path.to_dict()["changes"]
        assert {(c["kind"], c["name"], c["field"], c["old"], c["new"], c["manager"]) for c in changes} >= {
            ("Service", "web", "spec.selector", "app=web", "App=web", "kubectl-edit")}
        service = next(h for h in app.path.to_dict()["hops"] if h["kind"] == "Service")
        assert service["lastChange"]["manager"] == "kubectl-edit"
