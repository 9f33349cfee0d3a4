"""Shared fixtures. `sim`: a running simulator (empty cluster: only the `default` namespace)
on a free loopback port; apply objects with `sim.apply(...)`. `sim_factory(objects, **options)`
starts more, with content or options (tokens, bookmark_interval, pod_grace)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ktrace.sim.handle import Simulator


@pytest.fixture
def sim_factory() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def make(objects=(), **options) -> Simulator:
        sim = Simulator(objects, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., Simulator]) -> Simulator:
    return sim_factory()


@pytest.fixture(autouse=True)
def _colour_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see a colour terminal unless they ask otherwise: a NO_COLOR or COLUMNS inherited from the
    machine running them must not change snapshots or wrapped text."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)
