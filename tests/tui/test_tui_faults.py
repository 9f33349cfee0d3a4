"""The interactive view against a misbehaving simulated API server: it keeps retrying through a spell of
401s and says so, and it shows how far the first listing is while a slow server sends it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live
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
        await until(pilot, lambda: re.search(r"loading: \d+ of 15 kinds", str(app.status_bar.line())) is not None)
        assert app.store is None
        sim.trickle(None)
        await loaded(pilot)
        assert "loading" not in str(app.status_bar.line())
