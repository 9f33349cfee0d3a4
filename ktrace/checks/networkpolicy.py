"""NetworkPolicy checks: whether the policies that select a path's pods admit the ingress controller,
and policies whose selectors match nothing.

The ingress controller's pods are the traffic's source: found from the IngressClass's controller
(well-known labels of common controllers), or given with --controller-namespace/--selector. Cloud
load balancers (ALB, GCE) send traffic from outside the cluster: their source is unknown here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ktrace import selectors
from ktrace.backends import EXCLUDED, PodBackend, service_backends
from ktrace.checks.ingress import find_service_port
from ktrace.findings import Finding
from ktrace.model import Gateway, Namespace, NetworkPolicy, Pod, Service
from ktrace.netpol import (
    ALLOWED,
    BLOCKED,
    NAME_LABEL,
    PARTIAL,
    UNKNOWN,
    Peer,
    PolicyVerdict,
    Verdict,
    evaluate,
    peer_text,
    selecting,
    selector_text,
)
from ktrace.routing import ingress_class
from ktrace.rules import Rule, applies, produces, register
from ktrace.selectors import Selector
from ktrace.store import ClusterStore

BLOCKS_PATH = register(Rule(
    "networkpolicy-blocks-path", "error",
    "NetworkPolicies select a path's pods and none admits the ingress controller's pods on the target port "
    "(warning when only some pods or some controller pods are blocked).", needs=("NetworkPolicy",)))
CONTROLLER_UNKNOWN = register(Rule(
    "networkpolicy-controller-unknown", "info",
    "NetworkPolicies isolate a path's pods but the ingress controller's pods are unknown: reachability not decided "
    "(use --controller-namespace / --controller-selector).", needs=("NetworkPolicy",)))
SELECTS_NOTHING = register(Rule(
    "networkpolicy-selects-nothing", "warning", "A NetworkPolicy's podSelector matches no pod in its namespace.",
    needs=("NetworkPolicy", "Pod")))
PEER_MATCHES_NOTHING = register(Rule(
    "networkpolicy-peer-matches-nothing", "warning",
    "A NetworkPolicy from/to peer selects no namespace or no pod: the rule admits nothing through it.",
    needs=("NetworkPolicy", "Pod")))
# A peer's namespaceSelector is decided over the Namespace objects' labels.
_PEER_NAMESPACES = PEER_MATCHES_NOTHING.needing("Namespace")

# IngressClass spec.controller -> (the namespace its installs usually use, pod labels of the data plane).
_KNOWN: dict[str, tuple[str, tuple[dict[str, str], ...]]] = {
    "k8s.io/ingress-nginx": ("ingress-nginx", (
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
        {"app.kubernetes.io/name": "ingress-nginx"})),
    "nginx.org/ingress-controller": ("nginx-ingress", (
        {"app.kubernetes.io/name": "nginx-ingress"}, {"app": "nginx-ingress"})),
    "traefik.io/ingress-controller": ("traefik", ({"app.kubernetes.io/name": "traefik"},)),
    "haproxy.org/ingress-controller/haproxy": ("haproxy-controller", (
        {"app.kubernetes.io/name": "kubernetes-ingress"},)),
    "projectcontour.io/ingress-controller": ("projectcontour", (
        {"app.kubernetes.io/component": "envoy"}, {"app": "envoy"})),
    "istio.io/ingress-controller": ("istio-system", ({"istio": "ingressgateway"},)),
}
# Classes named in the old annotation without an IngressClass object.
_BY_CLASS_NAME = {"nginx": "k8s.io/ingress-nginx", "traefik": "traefik.io/ingress-controller",
                  "haproxy": "haproxy.org/ingress-controller/haproxy",
                  "contour": "projectcontour.io/ingress-controller", "istio": "istio.io/ingress-controller"}
_CLOUD = ("ingress.k8s.aws/alb", "k8s.io/ingress-gce", "networking.gke.io/", "azure/application-gateway")


@dataclass(frozen=True, slots=True)
class ControllerHint:
    """--controller-namespace / --controller-selector."""
    namespace: str = ""
    selector: Selector = ()


@dataclass
class Controllers:
    sources: list[Peer]  # empty: unknown
    label: str  # what the sources are, for messages
    why_unknown: str = ""
    short: str = ""  # the same in a few words, for a hop's reason line (falls back to label)

    @property
    def brief(self) -> str:
        return self.short or self.label


def namespace_labels(store: ClusterStore):
    """A NamespaceLabels function over the store (Namespace objects, else only the name label)."""
    def labels(ns: str) -> tuple[Mapping[str, str], bool]:
        record = store.get("Namespace", "", ns)
        if isinstance(record, Namespace):
            return {**record.meta.labels, NAME_LABEL: ns}, True
        return {NAME_LABEL: ns}, False
    return labels


def _pods_with(store: ClusterStore, labels: Mapping[str, str], namespace: str) -> list[Pod]:
    """Pods carrying `labels` in `namespace` ("": in any)."""
    return store.pods_matching(namespace, labels) if namespace else store.pods_labelled(labels)


def _peers(pods: list[Pod]) -> list[Peer]:
    return [Peer(p.meta.namespace, p.meta.labels, p.ip) for p in pods]


def _describe(pods: list[Pod], what: str = "controller") -> str:
    where = sorted({p.meta.namespace for p in pods})
    names = ", ".join(p.meta.name for p in pods[:3]) + (f" and {len(pods) - 3} more" if len(pods) > 3 else "")
    return f"{what} pod(s) {names} (namespace {', '.join(where)})"


# A Deployment's pod name: <deployment>-<pod-template-hash>-<5 random characters>.
_GENERATED = re.compile(r"-[a-z0-9]{5,10}-[a-z0-9]{5}$")


def _brief(pods: list[Pod]) -> str:
    """`namespace/workload-...` (the generated suffix of Deployment pods cut), and how many more:
    short enough for a reason line under an indented tree at 80 columns."""
    groups = sorted({f"{p.meta.namespace}/{_GENERATED.sub('-...', p.meta.name)}" for p in pods})
    return groups[0] + (f" and {len(groups) - 1} more" if len(groups) > 1 else "")


def _controllers(pods: list[Pod], what: str = "controller") -> Controllers:
    return Controllers(_peers(pods), _describe(pods, what), short=_brief(pods))


def _hinted(store: ClusterStore, hint: ControllerHint) -> list[Pod]:
    return store.pods_selected(hint.selector, hint.namespace or None)


def find_controllers(store: ClusterStore, class_name: str, hint: ControllerHint | None = None) -> Controllers:
    hint = hint or ControllerHint()
    if hint.selector:
        pods = _hinted(store, hint)
        if pods:
            return _controllers(pods)
    cls = store.get("IngressClass", "", class_name) if class_name else None
    controller = getattr(cls, "controller", "") or _BY_CLASS_NAME.get(class_name, "")
    known = _KNOWN.get(controller)
    if known is not None and not hint.selector:
        for labels in known[1]:
            pods = _pods_with(store, labels, hint.namespace)
            if pods:
                return _controllers(pods)
    if hint.namespace:  # the user named the namespace: any pod of it (labels unknown)
        return Controllers([Peer(hint.namespace)], f"any pod in namespace {hint.namespace}")
    if hint.selector:
        why = f"no pod in scope matches --controller-selector {selector_text(hint.selector)}"
    elif not class_name:
        why = "the Ingress has no class"
    elif controller.startswith(_CLOUD):
        why = f"class {class_name} is served by {controller}: traffic comes from a cloud load balancer"
    elif not controller:
        why = f"no IngressClass {class_name!r} names a controller"
    elif known is None:
        why = f"controller {controller} of class {class_name} is not one ktrace recognises"
    else:
        why = f"no pod in scope carries the labels of {controller} (looked for {_labels_text(known[1][0])})"
    return Controllers([], "the ingress controller", why)


def could_be_controller(labels: Mapping[str, str], hint: ControllerHint | None = None) -> bool:
    """Whether a pod with these labels would be taken for an ingress controller by `find_controllers`."""
    if hint is not None and hint.selector:
        return selectors.matches(hint.selector, labels)
    return any(all(labels.get(k) == v for k, v in known.items()) for _, sets in _KNOWN.values() for known in sets)


def pod_namespaces_read(store: ClusterStore, hint: ControllerHint | None = None) -> frozenset[str]:
    """The namespaces whose pods `check_network_policies` reads (besides new controller pods, which
    `could_be_controller` tells): those with policies, those their peers' namespaceSelectors pick, and
    those where controller pods are now."""
    if store.count("NetworkPolicy") == 0:
        return frozenset()
    out = {ns for ns, _ in (p.meta.key for p in store.objects("NetworkPolicy"))}
    picker = _Namespaces(store)
    for policy in store.objects("NetworkPolicy"):
        for rule in (*policy.ingress, *policy.egress):  # type: ignore[attr-defined]
            for peer in rule.peers:
                if peer.namespaces is not None:
                    out.update(picker.picked(peer.namespaces) or ())
    if hint is not None and hint.namespace:
        out.add(hint.namespace)
    if hint is not None and hint.selector:
        out.update(p.meta.namespace for p in _hinted(store, hint))
    else:
        out.update(ns for ns in store.pod_namespaces() for _, sets in _KNOWN.values() for labels in sets
                   if store.pods_matching(ns, labels))
    return frozenset(out)


# Labels that Gateway implementations put on a Gateway's data-plane pods (Istio, NGINX Gateway Fabric,
# kgateway use the standard one; Envoy Gateway its own, in its controller's namespace).
_GATEWAY_POD_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name")
_ENVOY_GATEWAY = ("gateway.envoyproxy.io/owning-gateway-name", "gateway.envoyproxy.io/owning-gateway-namespace")


def find_gateway_pods(store: ClusterStore, gateway: Gateway, hint: ControllerHint | None = None) -> Controllers:
    """The pods that carry a Gateway's traffic: the hint's, else those labelled with the Gateway's name."""
    hint = hint or ControllerHint()
    ns, name = gateway.meta.key
    if hint.selector:
        pods = _hinted(store, hint)
    else:
        pods = [p for key in _GATEWAY_POD_LABELS for p in store.pods_matching(ns, {key: name})]
        pods += _pods_with(store, {_ENVOY_GATEWAY[0]: name, _ENVOY_GATEWAY[1]: ns}, "")
        pods = [p for p in pods if not hint.namespace or p.meta.namespace == hint.namespace]
    if pods:
        return _controllers(pods, "gateway")
    if hint.namespace:
        return Controllers([Peer(hint.namespace)], f"any pod in namespace {hint.namespace}")
    why = f"no pod in scope matches {selector_text(hint.selector)}" if hint.selector else \
        f"no pod in scope carries {_GATEWAY_POD_LABELS[0]}={name} (namespace {ns})"
    return Controllers([], f"the pods of Gateway {ns}/{name}", why)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


@dataclass
class Reachability:
    """The verdict for one path's pods: the policies selecting them and whether the controller gets in."""
    state: PolicyVerdict  # PARTIAL: some controller pods or some backend pods blocked, others allowed
    namespace: str
    policies: list[str]
    allowed_by: list[str]
    reasons: list[str]
    controllers: Controllers
    pod_states: dict[str, PolicyVerdict] = field(default_factory=dict)  # pod name -> its verdict
    why_not: dict[str, str] = field(default_factory=dict)
    port: int | None = None

    @property
    def name(self) -> str:
        """The policy the hop is titled with: the one that admits, else one that explains a denial."""
        return (self.allowed_by or sorted(self.why_not) or self.policies)[0]


def _combine(states: list[PolicyVerdict]) -> PolicyVerdict:
    distinct = set(states)
    if len(distinct) == 1:
        return states[0]
    if BLOCKED in distinct:
        return PARTIAL
    return UNKNOWN if UNKNOWN in distinct else ALLOWED


def reachability(store: ClusterStore, pods: list[PodBackend], protocol: str, sources: Callable[[], Controllers]
                 ) -> Reachability | None:
    """Whether the traffic's source (the ingress controller or Gateway pods, found only when needed)
    reaches `pods` (a Service port's backends). None when no NetworkPolicy isolates any of them (or
    policies could not be read): nothing to say."""
    if not applies(store, BLOCKS_PATH) or not pods:
        return None
    ns = pods[0].pod.meta.namespace
    policies = [p for p in store.network_policies(ns) if "Ingress" in p.types]
    if not policies:
        return None
    ns_labels = namespace_labels(store)
    groups: dict[tuple, list[PodBackend]] = defaultdict(list)
    for b in pods:
        if b.state != EXCLUDED:
            groups[(frozenset(b.pod.meta.labels.items()), b.container_port)].append(b)
    if not any(selecting(policies, g[0].pod.meta.labels) for g in groups.values()):
        return None
    controllers = sources()
    peers = controllers.sources or [Peer()]
    out = Reachability(ALLOWED, ns, [], [], [], controllers)
    states = []
    for (_, port), members in groups.items():
        verdicts = [evaluate(policies, members[0].pod, port, s, ns_labels, protocol) for s in peers]
        state = _combine([v.state for v in verdicts])
        states.append(state)
        _collect(out, verdicts)
        out.port = port if out.port is None else out.port
        for b in members:
            out.pod_states[b.pod.meta.name] = state
    out.state = _combine(states)
    out.reasons = _reasons(out, protocol)
    return out


def _collect(out: Reachability, verdicts: list[Verdict]) -> None:
    for v in verdicts:
        out.policies += [p for p in v.selecting if p not in out.policies]
        out.allowed_by += [p for p in v.allowed_by if p not in out.allowed_by]
        for name, why in v.why_not.items():
            out.why_not.setdefault(name, why)


def _reasons(r: Reachability, protocol: str) -> list[str]:
    # Short lines that do not repeat the hop's title (r.name); JSON's extra keeps the full controller text.
    port = f"{r.port}/{protocol}" if r.port is not None else "the target port"
    src = r.controllers.brief
    others = ", ".join(p for p in (r.allowed_by if r.state == ALLOWED else r.policies) if p != r.name)
    if r.state == ALLOWED:
        return [f"admits {src} on {port}" + (f"; so do {others}" if others else "")] if r.allowed_by else \
            ["no NetworkPolicy isolates these pods"]
    why = [text if name == r.name else f"{name}: {text}" for name, text in sorted(r.why_not.items())]
    if r.state == BLOCKED:
        return [f"blocks {src} on {port}" + (f"; so do {others}" if others else ""), *why]
    also = f"; also selected by {others}" if others else ""
    if r.state == PARTIAL:
        blocked = sorted(n for n, s in r.pod_states.items() if s == BLOCKED)
        return [f"admits {src} only to some pods or from some of its pods "
                f"(blocked: {', '.join(blocked[:5]) or 'some of its pods'}){also}", *why]
    unknown = r.controllers.why_unknown or f"cannot tell whether the policies admit {src}"
    allowed = f"; allowed by {', '.join(r.allowed_by)} for some" if r.allowed_by else ""
    return [f"reachability unknown: {unknown}{allowed}{also}"]


def path_findings(r: Reachability, svc: Service, entry: tuple[str, str, str]) -> list[Finding]:
    """`networkpolicy-blocks-path` (error; warning when only part is blocked) or
    `networkpolicy-controller-unknown` (info, on `entry`: the IngressClass, or the Gateway, or the
    Service when the Ingress has no class) for one path's verdict."""
    ns = r.namespace
    if r.state in (BLOCKED, PARTIAL):
        first = sorted(r.why_not)[0] if r.why_not else r.policies[0]
        src_ns = sorted({s.namespace for s in r.controllers.sources if s.namespace})
        fix = (f"namespaceSelector {NAME_LABEL}={src_ns[0]}" if src_ns else "the controller's namespace")
        port = f" on port {r.port}" if r.port is not None else ""
        return [BLOCKS_PATH.finding(
            "NetworkPolicy", ns, first,
            f"NetworkPolicy {', '.join(r.policies)} select(s) the pods of Service {svc.meta.name} and "
            f"{'none admits' if r.state == BLOCKED else 'not all admit'} {r.controllers.label}{port}: "
            + "; ".join(f"{n}: {w}" for n, w in sorted(r.why_not.items())),
            f"add an ingress rule admitting the controller ({fix}){port} to one of them",
            severity="error" if r.state == BLOCKED else "warning", service=svc.meta.name, policies=r.policies,
            port=r.port, controller=r.controllers.label, why=r.why_not,
            blocked_pods=sorted(n for n, s in r.pod_states.items() if s == BLOCKED))]
    if r.state == UNKNOWN and not r.controllers.sources:
        return [CONTROLLER_UNKNOWN.finding(
            *entry,
            f"NetworkPolicy {', '.join(r.policies)} isolate(s) the pods of Service {ns}/{svc.meta.name}, but the "
            f"traffic's source is unknown: {r.controllers.why_unknown}",
            "check by hand that a rule admits the load balancer's addresses (ipBlock of the VPC or nodes)"
            if "cloud load balancer" in r.controllers.why_unknown else
            "name the controller's pods with --controller-namespace and/or --controller-selector",
            service=f"{ns}/{svc.meta.name}", policies=r.policies)]
    return []


def ingress_entry(class_name: str, svc: Service) -> tuple[str, str, str]:
    """Where an Ingress path's `networkpolicy-controller-unknown` is reported."""
    return ("IngressClass", "", class_name) if class_name else ("Service", svc.meta.namespace, svc.meta.name)


# -- policies on their own --------------------------------------------------------------------


class _Namespaces:
    """Which namespaces a namespaceSelector picks, once per selector (the same selector usually repeats
    in every namespace), or None when the store cannot tell: some namespace in scope lacks its
    Namespace object (offline files rarely hold them all; a live source lists them all)."""

    def __init__(self, store: ClusterStore) -> None:
        self.store = store
        self._known: bool | None = None
        self._picked: dict[Selector, list[str]] = {}

    def picked(self, sel: Selector) -> list[str] | None:
        store = self.store
        if self._known is None:
            self._known = applies(store, _PEER_NAMESPACES) and store.count("Namespace") > 0 and all(
                store.get("Namespace", "", n) is not None for n in store.namespaces())
        if not self._known:
            return None
        if sel not in self._picked:
            labels = namespace_labels(store)
            self._picked[sel] = [n.meta.name for n in store.objects("Namespace")
                                 if selectors.matches(sel, labels(n.meta.name)[0])]
        return self._picked[sel]


@produces(SELECTS_NOTHING, PEER_MATCHES_NOTHING)
def policy_findings(store: ClusterStore, policy: NetworkPolicy, namespaces: _Namespaces | None = None
                    ) -> list[Finding]:
    """`networkpolicy-selects-nothing` and `networkpolicy-peer-matches-nothing`, only where the store
    can tell (a namespace's pods count only when the namespace holds pods in scope)."""
    ns, name = policy.meta.key
    out = []
    if policy.pod_selector and not any(selectors.matches(policy.pod_selector, p.meta.labels) for p in store.pods(ns)):
        out.append(SELECTS_NOTHING.finding("NetworkPolicy", ns, name,
                           f"podSelector {selector_text(policy.pod_selector)} matches no pod in namespace {ns}",
                           "the policy isolates nothing: fix the selector or the pod labels",
                           selector=selector_text(policy.pod_selector)))
    seen: set[str] = set()
    for direction, rules in (("from", policy.ingress), ("to", policy.egress)):
        for rule in rules:
            for peer in rule.peers:
                text = peer_text(peer)
                if peer.cidr or text in seen:
                    continue
                seen.add(text)
                why = _peer_matches_nothing(store, ns, peer, namespaces or _Namespaces(store))
                if why:
                    out.append(PEER_MATCHES_NOTHING.finding("NetworkPolicy", ns, name,
                                       f"{direction} peer {text} matches {why}",
                                       "the rule admits nothing through this peer: check the labels it names",
                                       peer=text, direction=direction))
    return out


def _peer_matches_nothing(store: ClusterStore, ns: str, peer, known: _Namespaces) -> str:
    """What the peer fails to match ("no namespace", "no pod in namespace X"), or "" when it matches
    something or the store cannot tell."""
    if peer.namespaces is None:
        namespaces = [ns]
    else:
        picked = known.picked(peer.namespaces)
        if picked is None:
            return ""
        namespaces = picked
        if not namespaces:
            return "no namespace"
    if not peer.pods:
        return ""
    with_pods = set(store.pod_namespaces())
    if not all(n in with_pods for n in namespaces):
        return ""  # a namespace without pods in scope: out of scope or empty, cannot tell
    if any(selectors.matches(peer.pods, p.meta.labels) for n in namespaces for p in store.pods(n)):
        return ""
    return f"no pod in namespace {', '.join(namespaces)}"


@produces(BLOCKS_PATH, CONTROLLER_UNKNOWN, SELECTS_NOTHING, PEER_MATCHES_NOTHING)
def check_network_policies(store: ClusterStore, default_class: str, hint: ControllerHint | None = None
                           ) -> list[Finding]:
    """Every policy on its own, then every Ingress backend whose pods policies isolate."""
    if store.count("NetworkPolicy") == 0:
        return []
    out: list[Finding] = []
    namespaces = _Namespaces(store)
    for policy in store.objects("NetworkPolicy"):
        out += policy_findings(store, policy, namespaces)  # type: ignore[arg-type]
    done: set[tuple] = set()
    controllers: dict[str, Controllers] = {}
    for ing in store.ingresses():
        ns = ing.meta.namespace
        if not store.network_policies(ns):
            continue
        cls = ingress_class(ing, default_class).name
        backends = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            backends.append(ing.default_backend)
        for backend in backends:
            svc = store.service(ns, backend.service) if backend.service else None
            sport = find_service_port(svc, backend.port) if svc is not None else None
            if svc is None or sport is None or (ns, svc.meta.name, sport.name, sport.port, cls) in done:
                continue
            done.add((ns, svc.meta.name, sport.name, sport.port, cls))
            if cls not in controllers:  # cheap enough to find eagerly once per class
                controllers[cls] = find_controllers(store, cls, hint)
            r = reachability(store, service_backends(store, svc, sport).pods, sport.protocol,
                             lambda c=cls: controllers[c])  # type: ignore[misc]
            if r is not None:
                out += [f for f in path_findings(r, svc, ingress_entry(cls, svc)) if f not in out]
    return out
