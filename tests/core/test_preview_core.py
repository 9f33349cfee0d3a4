"""Previewing a switch offline (manifests): the would-be path, its diff against today's path, the
refusals, and the candidates' ranking. The same fixture runs against the simulator in
test_preview_sim.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ktrace.cli import main
from ktrace.errors import UsageError
from ktrace.preview import candidates, pods_of, preview
from ktrace.render import plain_text, preview_view
from ktrace.sources.manifests import ManifestSource
from ktrace.store import ClusterStore

SHOP = Path(__file__).parent.parent / "preview" / "shop.yaml"
DEMO = Path(__file__).parent.parent.parent / "ktrace" / "sim" / "scenarios" / "demo.yaml"


@pytest.fixture(scope="module")
def store() -> ClusterStore:
    return ManifestSource([str(SHOP)]).load()


def test_switch_to_the_idle_colour_is_healthy_and_moves_the_traffic(store: ClusterStore) -> None:
    p = preview(store, "shop.example.com/", "shop-blue", live=False)
    assert (p.today.status, p.would_be.status) == ("ok", "ok")
    assert [h.name for h in p.would_be.hops if h.kind == "Service"] == ["shop-blue"]
    assert pods_of(p.would_be) == ["shop-blue-1", "shop-blue-2"]
    assert p.stop == ["shop/shop-green-1", "shop/shop-green-2"]
    assert p.start == ["shop/shop-blue-1", "shop/shop-blue-2"] and p.keep == []
    # same port reference (by name), another named targetPort and container port
    assert p.ports_before == ["shop-green :80 (http) -> targetPort http -> container :8080"]
    assert p.ports_after == ["shop-blue :80 (http) -> targetPort web -> container :9090"]
    assert p.appear == [] and p.disappear == []
    assert [r.service for r in p.replaced] == ["shop-green"]
    # today's store is untouched: a plain trace still goes to green
    assert pods_of(p.today) == ["shop-green-1", "shop-green-2"]


def test_candidate_without_the_port_name_the_rule_references(store: ClusterStore) -> None:
    p = preview(store, "shop.example.com/", "shop-canary", live=False)
    assert p.would_be.status == "broken"
    assert [f.code for f in p.appear] == ["ingress-backend-port-missing"]
    assert "exposes 80/web" in p.appear[0].hint
    assert p.start == [] and p.stop == ["shop/shop-green-1", "shop/shop-green-2"]
    assert p.ports_after == ["shop-canary :http -> no such port"]


def test_candidate_whose_selector_matches_nothing_shows_the_near_miss(store: ClusterStore) -> None:
    p = preview(store, "shop.example.com/", "shop-next", live=False)
    assert p.would_be.status == "broken"
    [f] = p.appear
    assert f.code == "service-selector-no-match"
    text = plain_text(preview_view(p, details=True), width=200)
    assert "pod shop-blue-1 has version=blue (value differs)" in text
    assert "hint: change the selector (version=bleu -> version=blue)" in text
    assert "pods stop: shop/shop-green-1, shop/shop-green-2" in text


@pytest.mark.parametrize(("via", "words"), [
    ("staging/shop-blue", "backends never cross namespaces"),
    ("shop-blu", "no Service shop-blu in namespace shop; closest: shop-blue"),
    ("nothere", "no Service nothere in namespace shop"),
])
def test_refusals_say_why(store: ClusterStore, via: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        preview(store, "shop.example.com/", via, live=False)


def test_a_service_only_in_another_namespace_is_named_but_refused(store: ClusterStore) -> None:
    with pytest.raises(UsageError, match="a Service shop-preview exists in staging, but backends never cross"):
        preview(store, "shop.example.com/", "shop-preview", live=False)
    with pytest.raises(UsageError, match="nothing to preview"):
        preview(store, "nowhere.example.com/", "shop-blue", live=False)


def test_candidates_rank_other_versions_first(store: ClusterStore) -> None:
    got = candidates(store, "shop", "shop-green")
    assert [(c.name, c.sibling) for c in got] == [
        ("shop-blue", True), ("shop-canary", True), ("shop-next", True), ("db", False)]
    assert got[0].why == "version=blue (today green)"


def test_gateway_rule_with_several_backends_needs_backend() -> None:
    store = ManifestSource([str(DEMO)]).load()
    with pytest.raises(UsageError, match=r"several backendRefs \(shop-green, shop-blue\).*--backend"):
        preview(store, "store.demo.example/", "shop-blue", live=False)
    with pytest.raises(UsageError, match="no backendRef of that name"):
        preview(store, "store.demo.example/", "shop-blue", live=False, backend="shop-red")
    p = preview(store, "store.demo.example/", "shop-blue", live=False, backend="shop-green")
    route = next(h for h in p.would_be.hops if h.kind == "HTTPRoute")
    assert [(b.name, b.weight) for b in route.detail.backends] == [("shop-blue", 90), ("shop-blue", 10)]
    assert p.replaced[0].entry == "HTTPRoute shop/store rule 1"
    assert any(p.startswith("shop/shop-green") for p in p.stop)


def test_cli_text_json_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "shop.example.com", "-f", str(SHOP), "--via", "shop-blue"]) == 0
    out = capsys.readouterr().out
    assert "would-be path" in out and "pods start: shop/shop-blue-1, shop/shop-blue-2" in out
    assert main(["trace", "shop.example.com", "-f", str(SHOP), "--via", "shop-next", "-o", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "broken" and doc["todayStatus"] == "ok" and doc["candidate"] == "shop-next"
    assert doc["replaces"] == [{"entry": "Ingress shop/shop", "service": "shop-green"}]
    assert [f["code"] for f in doc["diff"]["findingsAppear"]] == ["service-selector-no-match"]
    assert doc["diff"]["podsStop"] == ["shop/shop-green-1", "shop/shop-green-2"]
    assert next(h for h in doc["path"]["hops"] if h["kind"] == "Service")["name"] == "shop-next"
    assert main(["trace", "shop.example.com", "-f", str(SHOP), "--via", "staging/shop-blue"]) == 2
    assert "never cross namespaces" in capsys.readouterr().err
    assert main(["trace", "shop.example.com", "-f", str(SHOP), "--backend", "x"]) == 2


def test_gateway_weights_preview_moves_the_split() -> None:
    store = ManifestSource([str(DEMO)]).load()
    p = preview(store, "store.demo.example/", None, live=False, weights={"shop-green": 0, "shop-blue": 100})
    assert p.candidate is None and p.replaced == [] and p.namespace == "shop"
    assert p.shares_before == ["shop-green weight 90 (90%)", "shop-blue weight 10 (10%)"]
    assert p.shares_after == ["shop-green weight 0 (0%)", "shop-blue weight 100 (100%)"]
    assert p.stop == ["shop/shop-green"] and p.keep == ["shop/shop-blue"]  # offline: the pod templates
    with pytest.raises(UsageError, match="has no backendRef shop-red"):
        preview(store, "store.demo.example/", None, live=False, weights={"shop-red": 1})
    with pytest.raises(UsageError, match=r"no HTTPRoute rule serves shop\.demo\.example/"):
        preview(store, "shop.demo.example/", None, live=False, weights={"shop-green": 1})
    with pytest.raises(UsageError, match="nothing to preview"):
        preview(store, "store.demo.example/", None, live=False)


def test_cli_weights(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["trace", "store.demo.example", "-f", str(DEMO), "-o", "json"]
    assert main([*argv, "--weights", "shop-green=0,shop-blue=100"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["weights"] == {"shop-green": 0, "shop-blue": 100} and doc["candidate"] is None
    assert doc["diff"]["sharesAfter"] == ["shop-green weight 0 (0%)", "shop-blue weight 100 (100%)"]
    assert main([*argv, "--weights", "shop-green"]) == 2
    assert "is not NAME=WEIGHT" in capsys.readouterr().err


def test_a_tlsroute_weights_preview_names_the_split_before_and_after() -> None:
    """A TLSRoute rule's backendRefs are weighted like an HTTPRoute's: the preview says the split today and then."""
    store = ManifestSource([str(Path(__file__).parent.parent / "scenarios" / "gateway-tlsroute.yaml")]).load()
    p = preview(store, "tls://db.tls.example.com", None, live=False, weights={"db": 0})
    assert p.shares_before == ["db weight 1 (100%)"] and p.shares_after == ["db weight 0 (0%)"]
