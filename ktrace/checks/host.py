"""A traced host and path that nothing serves: the closest hosts and the paths the host does have."""

from __future__ import annotations

import difflib

from ktrace.findings import Finding
from ktrace.gateway import GatewayRoute, listeners_for_host
from ktrace.routing import wildcard_for
from ktrace.rules import Rule, produces, register
from ktrace.store import ClusterStore
from ktrace.targets import Target

NO_ROUTE = register(Rule(
    "host-no-route", "error", "No Ingress rule and no default backend serves the traced host and path."))


@produces(NO_ROUTE)
def no_route(store: ClusterStore, t: Target, g: GatewayRoute | None = None) -> list[Finding]:
    hosts = store.hosts()
    close = difflib.get_close_matches(t.host, hosts, n=3, cutoff=0.6)
    parent = t.host.partition(".")[2]
    close += [h for h in hosts if parent and h.endswith("." + parent) and h not in close][:3]
    paths = sorted({f"{r.host}{p.path} ({p.path_type})" for key in (t.host, wildcard_for(t.host))
                    for ing in store.ingresses_for_host(key) for r in ing.rules if r.host == key for p in r.paths})
    paths += g.paths if g is not None else []
    if paths:
        hint = f"host {t.host} has only these paths: {', '.join(paths[:6])}"
    elif close:
        hint = f"closest hosts: {', '.join(close[:4])}"
    else:
        hint = f"no Ingress names a similar host ({len(hosts)} host(s) in scope)"
    listeners = listeners_for_host(store, t.host) if not paths else []
    if listeners:
        hint += f"; Gateway listener(s) {', '.join(listeners[:3])} take this host, but no HTTPRoute there names it"
    what = "no Ingress rule, default backend or HTTPRoute rule" if g is not None else \
        "no Ingress rule or default backend"
    return [NO_ROUTE.finding("Host", "", t.host, f"{what} serves {t}", hint,
                             host=t.host, path=t.path, closest_hosts=close[:4], paths=paths)]
