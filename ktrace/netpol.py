"""NetworkPolicy evaluation, pure: does traffic from a source reach a pod on a port?

Kubernetes semantics (networking.k8s.io/v1):
- a connection needs both sides: the source pod's egress and the destination pod's ingress;
- a pod is isolated for ingress (egress) once any policy with type Ingress (Egress) selects it;
  then only what some rule of some selecting policy admits gets in (out): a union, one admitting
  rule is enough;
- a policy lists its types; without `policyTypes` it has Ingress, and Egress when it has egress
  rules: an egress-only policy never isolates ingress; type Egress with no egress rules denies all;
- a rule admits when one of its ports matches (none listed: every port) and one of its peers
  matches (none listed: every peer); an ingress rule's peers are sources (`from`), an egress
  rule's destinations (`to`);
- a peer is pods by podSelector in the policy's namespace, every pod of the namespaces a
  namespaceSelector picks, both combined (AND), or an ipBlock minus its `except` ranges;
- a named port is resolved against the destination pod's container ports, for egress rules too;
  `endPort` makes a range.

What ktrace does not know (a source pod's labels, a namespace's labels, a pod IP) makes a match
unknown (None), never false: an unknown never becomes a reported block.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from ktrace import selectors
from ktrace.model import NetworkPolicy, Pod, PolicyPeer, PolicyPort, PolicyRule
from ktrace.selectors import Selector


class PolicyVerdict(StrEnum):
    ALLOWED = "allowed"
    BLOCKED = "blocked"
    PARTIAL = "partial"  # over several pods or sources: some blocked, others allowed
    UNKNOWN = "unknown"


ALLOWED, BLOCKED, PARTIAL, UNKNOWN = PolicyVerdict.ALLOWED, PolicyVerdict.BLOCKED, PolicyVerdict.PARTIAL, \
    PolicyVerdict.UNKNOWN
NAME_LABEL = "kubernetes.io/metadata.name"  # the API server puts it on every namespace

Tri = bool | None  # True, False, or None for "cannot tell"


@dataclass(frozen=True, slots=True)
class Peer:
    """Where traffic comes from. `labels` None: some pod whose labels are unknown; `namespace` ""
    when even that is unknown."""
    namespace: str = ""
    labels: Mapping[str, str] | None = None
    ip: str = ""


# Namespace name -> (labels, complete). Incomplete: only the name label is known.
NamespaceLabels = Callable[[str], tuple[Mapping[str, str], bool]]


@dataclass
class Verdict:
    state: PolicyVerdict  # ALLOWED, BLOCKED or UNKNOWN
    selecting: list[str] = field(default_factory=list)  # policies that (may) isolate the pod ([]: not isolated)
    allowed_by: list[str] = field(default_factory=list)
    why_not: dict[str, str] = field(default_factory=dict)  # policy -> why it admits nothing here


def _and(*values: Tri) -> Tri:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or(values: Iterable[Tri]) -> Tri:
    seen_unknown = False
    for v in values:
        if v is True:
            return True
        seen_unknown |= v is None
    return None if seen_unknown else False


def selecting(policies: Iterable[NetworkPolicy], labels: Mapping[str, str], direction: str = "Ingress"
              ) -> list[NetworkPolicy]:
    """The policies that isolate a pod with these labels for `direction` (Ingress or Egress)."""
    return [p for p in policies if direction in p.types and selectors.matches(p.pod_selector, labels)]


def port_matches(pp: PolicyPort, port: int | None, protocol: str, pod: Pod) -> Tri:
    if pp.protocol != protocol:
        return False
    if pp.port is None:
        return True
    if port is None:
        return None
    if isinstance(pp.port, str):
        named = pod.find_port(pp.port, protocol)
        return named is not None and named.port == port
    if pp.end_port is not None:
        return pp.port <= port <= pp.end_port
    return pp.port == port


def _namespace_matches(sel: Selector, namespace: str, ns_labels: NamespaceLabels) -> Tri:
    if not namespace:
        return True if sel == () else None
    labels, complete = ns_labels(namespace)
    if complete or all(r.key == NAME_LABEL for r in sel):
        return selectors.matches(sel, labels)
    return None


def _ip_matches(peer: PolicyPeer, ip: str) -> Tri:
    try:
        block = ipaddress.ip_network(peer.cidr, strict=False)
        if not ip:  # "everything" admits any source, whatever its address
            return True if block.prefixlen == 0 and not peer.except_cidrs else None
        addr = ipaddress.ip_address(ip)
        if addr.version != block.version or addr not in block:
            return False
        return not any(addr in ipaddress.ip_network(c, strict=False) for c in peer.except_cidrs
                       if ipaddress.ip_network(c, strict=False).version == addr.version)
    except ValueError:
        return False  # the API server rejects malformed CIDRs: such a peer admits nothing


def peer_matches(peer: PolicyPeer, policy_ns: str, source: Peer, ns_labels: NamespaceLabels) -> Tri:
    if peer.cidr:
        return _ip_matches(peer, source.ip)
    if peer.pods is None and peer.namespaces is None:
        return False  # an empty peer is rejected by the API server
    if peer.namespaces is None:
        in_ns: Tri = (source.namespace == policy_ns) if source.namespace else None
    else:
        in_ns = _namespace_matches(peer.namespaces, source.namespace, ns_labels)
    if not peer.pods:  # absent or {}: every pod of those namespaces
        pod_ok: Tri = True
    elif source.labels is None:
        pod_ok = None
    else:
        pod_ok = selectors.matches(peer.pods, source.labels)
    return _and(in_ns, pod_ok)


def rule_admits(rule: PolicyRule, policy_ns: str, source: Peer, port: int | None, protocol: str, pod: Pod,
                ns_labels: NamespaceLabels) -> Tri:
    ports = _or(port_matches(pp, port, protocol, pod) for pp in rule.ports) if rule.ports else True
    if ports is False:
        return False
    peers = _or(peer_matches(p, policy_ns, source, ns_labels) for p in rule.peers) if rule.peers else True
    return _and(ports, peers)


def evaluate(policies: Iterable[NetworkPolicy], pod: Pod, port: int | None, source: Peer,
             ns_labels: NamespaceLabels, protocol: str = "TCP") -> Verdict:
    """The ingress side: whether the policies selecting `pod` admit `source` on `port` (the container port)."""
    chosen: list[tuple[NetworkPolicy, Tri]] = [(p, True) for p in selecting(policies, pod.meta.labels)]
    return _judge(chosen, "Ingress", source, pod, port, protocol, ns_labels)


def evaluate_egress(policies: Iterable[NetworkPolicy], source: Peer, pod: Pod, port: int | None,
                    ns_labels: NamespaceLabels, protocol: str = "TCP") -> Verdict:
    """The egress side: whether the policies selecting `source` (a pod of their namespace) let it
    open a connection to `pod` on `port` (the container port). A source whose labels are unknown may
    be selected by any policy but one that selects every pod: such policies stay unknown."""
    chosen: list[tuple[NetworkPolicy, Tri]] = []
    for p in policies:
        if "Egress" in p.types:
            picked: Tri = selectors.matches(p.pod_selector, source.labels) if source.labels is not None \
                else (True if p.pod_selector == () else None)
            if picked is not False:
                chosen.append((p, picked))
    return _judge(chosen, "Egress", Peer(pod.meta.namespace, pod.meta.labels, pod.ip), pod, port, protocol,
                  ns_labels)


def _judge(chosen: list[tuple[NetworkPolicy, Tri]], direction: str, peer: Peer, pod: Pod, port: int | None,
           protocol: str, ns_labels: NamespaceLabels) -> Verdict:
    """One side's verdict over the policies that select (True) or may select (None) its pod: `peer` is
    the other end, `pod` the destination (named ports are its container ports)."""
    verdict = Verdict(ALLOWED, [p.meta.name for p, _ in chosen])
    results: list[Tri] = []
    for policy, _ in chosen:
        rules = policy.ingress if direction == "Ingress" else policy.egress
        result = _or(rule_admits(r, policy.meta.namespace, peer, port, protocol, pod, ns_labels) for r in rules)
        results.append(result)
        if result is True:
            verdict.allowed_by.append(policy.meta.name)
        elif result is False:
            verdict.why_not[policy.meta.name] = why_not(policy, port, protocol, pod, direction)
    if all(r is True for r in results):  # whichever of them select the pod, one admits (or none isolates)
        return verdict
    isolated = _or(picked for _, picked in chosen)
    admitted = _or(_and(picked, r) for (_, picked), r in zip(chosen, results, strict=True))
    allowed = _or([None if isolated is None else not isolated, admitted])
    verdict.state = ALLOWED if allowed else UNKNOWN if allowed is None else BLOCKED
    return verdict


def why_not(policy: NetworkPolicy, port: int | None, protocol: str, pod: Pod, direction: str = "Ingress") -> str:
    """One phrase: why a policy that selects one end admits nothing to or from the other (`pod` is
    the destination)."""
    rules = policy.ingress if direction == "Ingress" else policy.egress
    if not rules:
        return f"no {direction.lower()} rules (denies all {direction.lower()})"
    on_port = [r for r in rules
               if not r.ports or any(port_matches(pp, port, protocol, pod) is not False for pp in r.ports)]
    if not on_port:
        listed = sorted({port_text(pp) for r in rules for pp in r.ports})
        return f"admits only port(s) {', '.join(listed)}"
    peers = sorted({peer_text(p) for r in on_port for p in r.peers})
    return f"admits on port {port}/{protocol} only {'from' if direction == 'Ingress' else 'to'} {'; '.join(peers)}"


def port_text(pp: PolicyPort) -> str:
    if pp.port is None:
        return f"any/{pp.protocol}"
    span = f"{pp.port}-{pp.end_port}" if pp.end_port is not None else str(pp.port)
    return f"{span}/{pp.protocol}"


def selector_text(sel: Selector) -> str:
    return selectors.text(sel) if sel else "{}"


def peer_text(peer: PolicyPeer) -> str:
    if peer.cidr:
        return f"ipBlock {peer.cidr}" + (f" except {', '.join(peer.except_cidrs)}" if peer.except_cidrs else "")
    bits = []
    if peer.namespaces is not None:
        bits.append(f"namespaceSelector {selector_text(peer.namespaces)}")
    if peer.pods is not None:
        bits.append(f"podSelector {selector_text(peer.pods)}")
    return " + ".join(bits) or "(empty peer)"
