"""BackendTLSPolicy (Gateway API v1): which policy configures the Gateway's TLS connection to a Service port.

- A targetRef names a Service (group "", kind Service) of the policy's own namespace, and maybe one of its ports
  by name (`sectionName`); without one, every port of the Service.
- On a port, the policies naming that port apply rather than those naming the whole Service: the two do not
  conflict (both are Accepted), the port's is the more specific.
- Among the policies on the same Service and sectionName only one applies: the oldest by creationTimestamp,
  then the first by name (GEP-713: by `{namespace}/{name}`; the namespace is the Service's for all of them). The
  others are not applied (their Accepted condition is false, reason Conflicted).
- BackendTLSPolicy is for Gateway API implementations: an Ingress controller does not read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from ktrace.model import BackendTLSPolicy, LocalRef, Service, ServicePort
from ktrace.rules import readable
from ktrace.store import ClusterStore

CA_KINDS = ("ConfigMap", "Secret")  # core kinds a caCertificateRef names (ConfigMap: Core support; Secret: most)


@dataclass(frozen=True)
class PolicyGroup:
    """The policies on one Service (`section`: one port of it by name; "": the whole Service), in precedence
    order: the first applies, the others conflict with it."""
    namespace: str
    service: str
    section: str
    policies: tuple[BackendTLSPolicy, ...]

    @property
    def applied(self) -> BackendTLSPolicy:
        return self.policies[0]

    @property
    def conflicted(self) -> tuple[BackendTLSPolicy, ...]:
        return self.policies[1:]


def precedence(p: BackendTLSPolicy) -> tuple[str, str, str]:
    """Sort key, the one that applies first: the oldest, then by namespace/name."""
    return (p.created, p.meta.namespace, p.meta.name)


def for_port(store: ClusterStore, svc: Service, port: ServicePort) -> PolicyGroup | None:
    """The policies that configure TLS to one port of a Service (None: no policy, plain connections)."""
    ns, name = svc.meta.key
    by_section: dict[str, list[BackendTLSPolicy]] = defaultdict(list)
    for p in store.backend_tls_policies(ns, name):
        ref = p.targets_service(name, port)
        if ref is not None:
            by_section[ref.section].append(p)
    section = port.name if port.name and by_section.get(port.name) else ""
    found = by_section.get(section)
    return PolicyGroup(ns, name, section, tuple(sorted(found, key=precedence))) if found else None


def groups(store: ClusterStore) -> Iterator[PolicyGroup]:
    """Every Service (and port) that policies target, with its policies in precedence order."""
    by_target: dict[tuple[str, str, str], list[BackendTLSPolicy]] = defaultdict(list)
    for p in store.objects("BackendTLSPolicy"):
        assert isinstance(p, BackendTLSPolicy)
        for t in dict.fromkeys(t for t in p.targets if t.group == "" and t.kind == "Service"):
            by_target[(p.meta.namespace, t.name, t.section)].append(p)
    for (ns, svc, section), found in sorted(by_target.items()):
        yield PolicyGroup(ns, svc, section, tuple(sorted(found, key=precedence)))


def ca_exists(store: ClusterStore, namespace: str, ref: LocalRef) -> bool | None:
    """Whether a caCertificateRef's object exists (metadata only); None when not judged: a kind other than a core
    ConfigMap or Secret (implementation-specific), or one the source could not read."""
    if ref.group != "" or ref.kind not in CA_KINDS or not readable(store, ref.kind):
        return None
    return store.get(ref.kind, namespace, ref.name) is not None
