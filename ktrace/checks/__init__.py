"""Every check over the whole store: `run_checks(store, live=...)` -> sorted findings."""

from __future__ import annotations

from ktrace.checks.gateway import check_gateway_api
from ktrace.checks.ingress import check_ingress, host_conflicts
from ktrace.checks.networkpolicy import ControllerHint, check_network_policies
from ktrace.checks.service import check_service
from ktrace.findings import Finding, sort_key
from ktrace.routing import default_class
from ktrace.store import ClusterStore


def run_checks(store: ClusterStore, *, live: bool, controllers: ControllerHint | None = None) -> list[Finding]:
    default = default_class(store)
    out: list[Finding] = []
    for ing in store.ingresses():
        out += check_ingress(store, ing, live=live, default=default)
    out += host_conflicts(store, default)
    seen_pods: set[tuple[str, str]] = set()
    cache: dict = {}
    for svc in store.services():
        out += check_service(store, svc, seen_pods, cache)
    out += check_network_policies(store, default, controllers)
    out += check_gateway_api(store, live=live)
    return sorted(out, key=sort_key)
