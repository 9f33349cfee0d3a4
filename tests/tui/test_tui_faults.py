"""The interactive view against a misbehaving simulated API server: it keeps retrying through a spell of
401s and says so, and it shows how far the first listing is while a slow server sends it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.options import SourceSpec
from ktrace.requestpath import FRONT
from ktrace.sim.handle import Simulator
from ktrace.sources.live import LIVE_KINDS, open_live
from ktrace.tui.app import KtraceApp
from tests.live.test_live_source import cluster
from tests.tui.test_tui_app import SIZE, loaded, until


def app_for(sim: Simulator, kubeconfig: Path) -> KtraceApp:
    """As `ktrace --kubeconfig K` builds it: every (re)load opens the context afresh."""
    spec = SourceSpec(kubeconfig=str(kubeconfig))
    return KtraceApp(spec, source_factory=open_live, debounce=0.05, retry=(0.3, 0.6))


@pytest.mark.slow
async def test_a_401_spell_is_retried_until_the_token_is_taken_again(sim_factory: Callable[..., Simulator],
                                                                     tmp_path: Path) -> None:
    sim = sim_factory(cluster(), tokens={"good"}, bookmark_interval=0.2)
    app = app_for(sim, sim.write_kubeconfig(tmp_path / "k"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: "live" in str(app.status_bar.line()))
        sim.refuse_credentials(2.5)
        sim.break_watches()  # the watches reconnect into the 401s: the app rebuilds its client, and fails
        await until(pilot, lambda: app.error is not None and "401" in app.error)
        await until(pilot, lambda: str(app.status_bar.line()).startswith("retrying"))
        bar = str(app.status_bar.line())
        assert "rejected the credentials" in bar and "r retry now" in bar
        first_store = app.store
        # The token is taken again: a retry (not `r`) brings the view back, live.
        await until(pilot, lambda: app.error is None and app.store is not first_store, timeout=8)
        await until(pilot, lambda: "live" in str(app.status_bar.line()))
        assert app.store.count("Pod") == 6 and "retrying" not in str(app.status_bar.line())


@pytest.mark.slow
async def test_the_status_bar_counts_the_kinds_read_while_loading(sim_factory: Callable[..., Simulator],
                                                                  tmp_path: Path) -> None:
    sim = sim_factory(cluster())
    sim.trickle(0.01)  # an empty list takes about a second, the pods longer
    app = app_for(sim, sim.write_kubeconfig(tmp_path / "k"))
    async with app.run_test(size=SIZE) as pilot:
        counted = re.compile(rf"loading (\S+ )?\(\d+ of {len(LIVE_KINDS)} kinds\)")
        await until(pilot, lambda: counted.search(str(app.status_bar.line())) is not None)
        assert app.store is None
        sim.trickle(None)
        await loaded(pilot)
        assert "loading" not in str(app.status_bar.line())


@pytest.mark.slow
async def test_with_host_the_path_is_drawn_before_the_whole_listing_is_in(sim_factory: Callable[..., Simulator],
                                                                           tmp_path: Path) -> None:
    """A big cluster's list of every pod is slow; one namespace's pods are not. `--host` reads only what
    the path needs first, so its path is on screen while the status bar still says what is loading; the
    whole listing then replaces it with the same path."""
    from ktrace.options import ViewOptions
    from tests.tui.test_tui_app import text_of

    sim = sim_factory(cluster())
    sim.slow_lists(3.0, kind="Pod")
    source = open_live(SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k"))))
    app = KtraceApp(view=ViewOptions(host="team-a.example.com"), source_factory=lambda _: source)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.path is not None, timeout=2.5)
        assert app.store is None  # the whole listing is not in
        routes = app.table("rules")
        assert len(routes.rows()) == 2 and set(routes.problems.values()) == {"unknown"}  # no verdict yet: not "ok"
        first = app.path
        assert first is not None and [h.kind for h in first.hops if h.level != FRONT][:2] == ["Ingress", "Service"]
        await pilot.pause()
        drawn = " ".join(text_of(app.path_panel.query_one("#path-body")).split())
        assert "Service web:80 -> 8080" in drawn and "Pods 3/3 ready" in drawn, drawn
        waiting = f"loading pods ({len(LIVE_KINDS) - 1} of {len(LIVE_KINDS)} kinds)"
        await until(pilot, lambda: waiting in str(app.status_bar.line()), timeout=2)
        await loaded(pilot)
        assert app.path is not None and app.path.to_dict() == first.to_dict()


@pytest.mark.slow
async def test_without_host_the_routes_show_first_marked_unknown_until_their_verdicts_are_in(
        sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(cluster())
    sim.slow_lists(3.0, kind="Pod")
    app = app_for(sim, sim.write_kubeconfig(tmp_path / "k"))
    async with app.run_test(size=SIZE) as pilot:
        routes = app.table("rules")
        await until(pilot, lambda: len(routes.rows()) == 2, timeout=2.5)
        assert app.store is None and set(routes.problems.values()) == {"unknown"}
        assert str(routes.border_title).endswith("Routes 2")
        assert "checking..." in str(app.status_bar.line())
        await loaded(pilot)
        assert "unknown" not in routes.problems.values()  # the verdicts replaced the unknown marks


@pytest.mark.slow
async def test_the_panes_show_the_listing_before_the_findings_and_verdicts_are_computed(
        sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    """At 60,000 pods the check and every route's trace take seconds after the listing is in: the panes
    show what was listed at once (routes marked unknown, the status bar "checking..."), then the verdicts."""
    from ktrace.tui import app as app_module
    from ktrace.tui.app import Listed

    seen: list[tuple[int, bool, set[str], str]] = []

    class Watched(KtraceApp):
        CSS_PATH = str(Path(app_module.__file__).parent / KtraceApp.CSS_PATH)  # relative to the subclass's file

        def on_listed(self, message: Listed) -> None:
            super().on_listed(message)
            seen.append((len(self.table("pods").rows()), self.analysis is None,
                         set(self.table("rules").problems.values()), str(self.status_bar.line())))

    sim = sim_factory(cluster())
    spec = SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "k")))
    app = Watched(spec, source_factory=open_live)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        [(pods, unchecked, marks, status)] = seen
        assert pods == 6 and unchecked and marks == {"unknown"}
        assert "checking..." in status and "context ktrace-sim" in status
        assert "unknown" not in app.table("rules").problems.values()
