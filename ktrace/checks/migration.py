"""The Ingress -> Gateway API migration check: a host that both an Ingress and an HTTPRoute serve (both run while
DNS moves) reaches different backends, ports or certificates depending on which entry point DNS sends a client to
(ktrace.migration compares them). Shared with the tracer, which reports it on the host's path."""

from __future__ import annotations

from ktrace.findings import Finding
from ktrace.migration import compare
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore

DISAGREE = register(Rule(
    "entry-points-disagree", "warning",
    "A host served both by an Ingress and by an HTTPRoute (a migration to the Gateway API in progress) is treated "
    "differently by the two: backends or their weights, Service ports, TLS, path match types (an Ingress "
    "ImplementationSpecific path included) or paths only one has a rule for. The host reaches different pods, or "
    "fails differently, depending on which entry point DNS sends a client to.",
    needs=("Ingress", "HTTPRoute", "Gateway")))


@produces(DISAGREE)
def host_findings(store: ClusterStore, host: str, *, live: bool) -> list[Finding]:
    """One finding per (Ingress, HTTPRoute) pair of the host that differs, on the HTTPRoute."""
    c = compare(store, store, host, live=live)
    if c is None:
        return []
    out = []
    for (ingress, route), diffs in c.pairs().items():
        _, _, key = route.partition(" ")
        ns, _, name = key.partition("/")
        out.append(DISAGREE.finding(
            "HTTPRoute", ns, name, f"host {host}: {ingress} and {route} disagree: {'; '.join(d.text for d in diffs)}",
            f"align them before moving DNS for {host}: until then a client reaches different pods depending on "
            "which entry point its DNS answer names", host=host, ingress=ingress, route=route,
            differences=[{"aspect": d.aspect, "path": d.path or None, "text": d.text} for d in diffs]))
    return out


@produces(DISAGREE)
def check_entry_points(store: ClusterStore, *, live: bool) -> list[Finding]:
    """Every concrete host with an Ingress rule (its own or a wildcard's) and an HTTPRoute (wildcard hosts name no
    request of their own: a host under one is compared when the other side names it)."""
    out: list[Finding] = []
    for host in store.hosts():
        if not host.startswith("*."):
            out += host_findings(store, host, live=live)
    return out
