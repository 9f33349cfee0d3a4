"""Shared fixtures. `sim`: a running simulator (empty cluster: only the `default` namespace)
on a free loopback port; apply objects with `sim.apply(...)`. `sim_factory(objects, **options)`
starts more, with content or options (tokens, bookmark_interval, pod_grace)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ktrace.loader import load_paths
from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.store import ClusterStore

SCENARIOS = Path(__file__).parent / "scenarios"


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


@pytest.fixture
def served(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Iterator[Callable[..., ClusterStore]]:
    """`served(name, namespace=None)`: the scenario file tests/scenarios/NAME served by a simulator and read
    through the live source over HTTP, as `ktrace check -A` (or `-n NAMESPACE`) would read it."""
    from ktrace.sources.live import open_live

    sources = []

    def serve(name: str, namespace: str | None = None) -> ClusterStore:
        sim = sim_factory(load_paths([str(SCENARIOS / name)]).objects)
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
        source = open_live(SourceSpec(kubeconfig=str(kubeconfig), namespace=namespace))
        sources.append(source)
        assert source.live
        return source.load()

    yield serve
    for s in sources:
        s.close()
