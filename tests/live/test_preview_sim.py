"""The preview fixture served by the simulator and read by the live source over real HTTP: the
same verdicts and diff as offline (EndpointSlices now come from the simulator's controller)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.errors import UsageError
from ktrace.loader import load_paths
from ktrace.options import SourceSpec
from ktrace.preview import pods_of, preview
from ktrace.sim.handle import Simulator
from ktrace.sources.live import open_live
from ktrace.store import ClusterStore

SHOP = Path(__file__).parent.parent / "preview" / "shop.yaml"


def live_store(sim: Simulator, tmp_path: Path) -> ClusterStore:
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
    source = open_live(SourceSpec(kubeconfig=str(kubeconfig)))
    try:
        return source.load()
    finally:
        source.close()


def test_preview_against_the_simulator(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    store = live_store(sim_factory(load_paths([str(SHOP)]).objects), tmp_path)
    p = preview(store, "shop.example.com/", "shop-blue", live=True)
    assert (p.today.status, p.would_be.status) == ("ok", "ok")
    assert pods_of(p.would_be) == ["shop-blue-1", "shop-blue-2"]
    assert (p.stop, p.start) == (["shop/shop-green-1", "shop/shop-green-2"], ["shop/shop-blue-1", "shop/shop-blue-2"])
    assert [f.code for f in preview(store, "shop.example.com/", "shop-canary", live=True).appear] == [
        "ingress-backend-port-missing"]
    assert [f.code for f in preview(store, "shop.example.com/", "shop-next", live=True).appear] == [
        "service-selector-no-match"]
    with pytest.raises(UsageError, match="never cross namespaces"):
        preview(store, "shop.example.com/", "staging/shop-blue", live=True)
    with pytest.raises(UsageError, match="closest: shop-blue"):
        preview(store, "shop.example.com/", "shop-blu", live=True)
