"""NetworkPolicy checks: whether the policies that select a path's pods admit the ingress controller
(or the Gateway's data plane) and those that select the controller's pods let it out to them, and
policies whose selectors match nothing.

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
from ktrace.checks.ingress import backends_of, find_service_port
from ktrace.findings import Finding
from ktrace.gateway import attachments, grants_backend
from ktrace.model import Gateway, Namespace, NetworkPolicy, Pod, Service, redirect_of
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
    evaluate_egress,
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
    "NetworkPolicies block a path: none of those selecting its pods admits the ingress controller's (or "
    "Gateway's) pods on the target port, or none of those selecting the controller's pods lets them reach the "
    "path's pods (egress); the finding names the side (warning when only some pods or some controller pods are "
    "blocked).", needs=("NetworkPolicy",)))
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


def class_controller(store: ClusterStore, class_name: str) -> str:
    """The controller an ingress class names: its IngressClass's spec.controller, else the one its name is
    known for (classes named in the old annotation without an IngressClass object); "" when unknown."""
    cls = store.get("IngressClass", "", class_name) if class_name else None
    return getattr(cls, "controller", "") or _BY_CLASS_NAME.get(class_name, "")


def controller_pods(store: ClusterStore, class_name: str, hint: ControllerHint | None = None
                    ) -> tuple[list[Pod], str]:
    """The ingress controller's pods for a class (the hint's selector, else the well-known labels of its
    controller, in the hint's namespace when given), or none and why they are unknown."""
    hint = hint or ControllerHint()
    if hint.selector:
        pods = _hinted(store, hint)
        if pods:
            return pods, ""
    controller = class_controller(store, class_name)
    known = _KNOWN.get(controller)
    if known is not None and not hint.selector:
        for labels in known[1]:
            pods = _pods_with(store, labels, hint.namespace)
            if pods:
                return pods, ""
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
    return [], why


def find_controllers(store: ClusterStore, class_name: str, hint: ControllerHint | None = None) -> Controllers:
    pods, why = controller_pods(store, class_name, hint)
    if pods:
        return _controllers(pods)
    if hint is not None and hint.namespace:  # the user named the namespace: any pod of it (labels unknown)
        return Controllers([Peer(hint.namespace)], f"any pod in namespace {hint.namespace}")
    return Controllers([], "the ingress controller", why)


def could_be_controller(labels: Mapping[str, str], hint: ControllerHint | None = None) -> bool:
    """Whether a pod with these labels would be taken for an ingress controller by `find_controllers`
    or for a Gateway's data plane by `find_gateway_pods`."""
    if hint is not None and hint.selector:
        return selectors.matches(hint.selector, labels)
    return any(all(labels.get(k) == v for k, v in known.items()) for _, sets in _KNOWN.values() for known in sets) \
        or any(k in labels for k in (*_GATEWAY_POD_LABELS, _ENVOY_GATEWAY[0]))


def pod_namespaces_read(store: ClusterStore, hint: ControllerHint | None = None) -> frozenset[str]:
    """The namespaces whose pods `check_network_policies` reads (besides new controller pods, which
    `could_be_controller` tells): those with policies, those their peers' namespaceSelectors pick, and
    those where controller or Gateway pods are now; every namespace once an egress policy exists (it
    may judge the pods of any Service a path reaches)."""
    if store.count("NetworkPolicy") == 0:
        return frozenset()
    if _egress_anywhere(store):
        return frozenset(store.namespaces())
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
    out.update(s.namespace for gw in store.gateways() for s in find_gateway_pods(store, gw, hint).sources)
    return frozenset(out)


# Labels that Gateway implementations put on a Gateway's data-plane pods (Istio, NGINX Gateway Fabric,
# kgateway use the standard one; Envoy Gateway its own, in its controller's namespace).
_GATEWAY_POD_LABELS = ("gateway.networking.k8s.io/gateway-name", "istio.io/gateway-name")
_ENVOY_GATEWAY = ("gateway.envoyproxy.io/owning-gateway-name", "gateway.envoyproxy.io/owning-gateway-namespace")


def gateway_pods(store: ClusterStore, gateway: Gateway, hint: ControllerHint | None = None) -> tuple[list[Pod], str]:
    """The pods that carry a Gateway's traffic: the hint's, else those labelled with the Gateway's name; or
    none and why they are unknown."""
    hint = hint or ControllerHint()
    ns, name = gateway.meta.key
    if hint.selector:
        pods = _hinted(store, hint)
    else:
        pods = [p for key in _GATEWAY_POD_LABELS for p in store.pods_matching(ns, {key: name})]
        pods += _pods_with(store, {_ENVOY_GATEWAY[0]: name, _ENVOY_GATEWAY[1]: ns}, "")
        pods = [p for p in pods if not hint.namespace or p.meta.namespace == hint.namespace]
    if pods:
        return pods, ""
    return [], f"no pod in scope matches {selector_text(hint.selector)}" if hint.selector else \
        f"no pod in scope carries {_GATEWAY_POD_LABELS[0]}={name} (namespace {ns})"


def find_gateway_pods(store: ClusterStore, gateway: Gateway, hint: ControllerHint | None = None) -> Controllers:
    """The pods that carry a Gateway's traffic, as the traffic's source NetworkPolicies judge."""
    pods, why = gateway_pods(store, gateway, hint)
    if pods:
        return _controllers(pods, "gateway")
    if hint is not None and hint.namespace:
        return Controllers([Peer(hint.namespace)], f"any pod in namespace {hint.namespace}")
    return Controllers([], f"the pods of Gateway {gateway.meta.namespace}/{gateway.meta.name}", why)


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


@dataclass
class Side:
    """One side of the connection: the Ingress policies selecting the path's pods, or the Egress
    policies selecting the traffic's source pods (those of one namespace)."""
    direction: str  # "ingress" or "egress"
    namespace: str  # where its policies are
    state: PolicyVerdict = ALLOWED  # PARTIAL: for some pods or some source pods only
    policies: list[str] = field(default_factory=list)
    allowed_by: list[str] = field(default_factory=list)
    why_not: dict[str, str] = field(default_factory=dict)
    pod_states: dict[str, PolicyVerdict] = field(default_factory=dict)  # pod name -> this side's verdict
    reasons: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The policy the hop is titled with: the one that admits, else one that explains a denial."""
        return (self.allowed_by or sorted(self.why_not) or self.policies)[0]

    def add(self, pod: str, verdicts: list[Verdict]) -> None:
        state = _combine([v.state for v in verdicts])
        self.pod_states[pod] = _combine([self.pod_states[pod], state]) if pod in self.pod_states else state
        for v in verdicts:
            self.policies += [p for p in v.selecting if p not in self.policies]
            self.allowed_by += [p for p in v.allowed_by if p not in self.allowed_by]
            for name, why in v.why_not.items():
                self.why_not.setdefault(name, why)

    def blocked(self) -> list[str]:
        return sorted(n for n, s in self.pod_states.items() if s == BLOCKED)


@dataclass
class Reachability:
    """The verdict for one path's pods: whether the source's egress and the pods' ingress both let
    the controller (or Gateway) pods in."""
    state: PolicyVerdict  # both sides together; PARTIAL: some pods or some source pods blocked
    sides: list[Side]  # only those with selecting policies: the egress side(s) first, then the ingress side
    controllers: Controllers
    pod_states: dict[str, PolicyVerdict] = field(default_factory=dict)  # pod name -> its verdict, both sides
    port: int | None = None

    def decisive(self, side: Side) -> bool:
        """Whether the side's blocks break the path: it blocks everything, or the path is blocked only
        by the sides together (one side blocks some pods, the other the rest)."""
        return side.state == BLOCKED or (self.state == BLOCKED and side.state == PARTIAL
                                         and not any(s.state == BLOCKED for s in self.sides))


def _combine(states: list[PolicyVerdict]) -> PolicyVerdict:
    distinct = set(states)
    if len(distinct) == 1:
        return states[0]
    if distinct & {BLOCKED, PARTIAL}:  # a part already blocked stays so next to what is allowed
        return PARTIAL
    return UNKNOWN if UNKNOWN in distinct else ALLOWED


def _both(ingress: PolicyVerdict, egress: PolicyVerdict) -> PolicyVerdict:
    """One connection needs both sides: blocked when either blocks, unknown when either is."""
    if BLOCKED in (ingress, egress):
        return BLOCKED
    return UNKNOWN if UNKNOWN in (ingress, egress) else ALLOWED


def _egress_anywhere(store: ClusterStore) -> bool:
    return any("Egress" in p.types for p in store.objects("NetworkPolicy"))  # type: ignore[attr-defined]


def reachability(store: ClusterStore, pods: list[PodBackend], protocol: str, sources: Callable[[], Controllers]
                 ) -> Reachability | None:
    """Whether the traffic's source (the ingress controller or Gateway pods, found only when needed)
    reaches `pods` (a Service port's backends): the Egress policies selecting the source pods and the
    Ingress policies selecting `pods`. None when no policy isolates either end (or policies could not
    be read): nothing to say. The egress side is judged only where the source pods' namespace is known."""
    if not applies(store, BLOCKS_PATH) or not pods or store.count("NetworkPolicy") == 0:
        return None
    ns = pods[0].pod.meta.namespace
    policies = [p for p in store.network_policies(ns) if "Ingress" in p.types]
    egress_anywhere = _egress_anywhere(store)
    if not policies and not egress_anywhere:
        return None
    groups: dict[tuple, list[PodBackend]] = defaultdict(list)
    for b in pods:
        if b.state != EXCLUDED:
            groups[(frozenset(b.pod.meta.labels.items()), b.container_port)].append(b)
    isolated = any(selecting(policies, g[0].pod.meta.labels) for g in groups.values())
    if not groups or not (isolated or egress_anywhere):
        return None
    controllers = sources()
    egress = {s.namespace: [p for p in store.network_policies(s.namespace) if "Egress" in p.types]
              for s in controllers.sources if s.namespace}
    egress = {n: found for n, found in egress.items() if found}
    if not isolated and not egress:
        return None
    ns_labels = namespace_labels(store)
    peers = controllers.sources or [Peer()]
    ingress = Side("ingress", ns)
    egress_sides = {n: Side("egress", n) for n in egress}
    out = Reachability(ALLOWED, [], controllers)
    for (_, port), members in groups.items():
        ins = [evaluate(policies, members[0].pod, port, s, ns_labels, protocol) for s in peers]
        out.port = port if out.port is None else out.port
        for b in members:
            name = b.pod.meta.name
            ingress.add(name, ins)
            states = []
            for s, v in zip(peers, ins, strict=True):
                out_state = ALLOWED
                if s.namespace in egress:
                    verdict = evaluate_egress(egress[s.namespace], s, b.pod, port, ns_labels, protocol)
                    egress_sides[s.namespace].add(name, [verdict])
                    out_state = verdict.state
                states.append(_both(v.state, out_state))
            out.pod_states[name] = _combine(states)
    out.sides = [side for side in (*egress_sides.values(), ingress) if side.policies]
    if not out.sides:
        return None
    out.state = _combine(list(out.pod_states.values()))
    for side in out.sides:
        side.state = _combine(list(side.pod_states.values()))
        side.reasons = _reasons(side, out, protocol)
    return out


def _reasons(side: Side, r: Reachability, protocol: str) -> list[str]:
    # Short lines that do not repeat the hop's title (side.name); JSON's extra keeps the full controller text.
    port = f"{r.port}/{protocol}" if r.port is not None else "the target port"
    src = r.controllers.brief
    to = " to these pods" if side.direction == "egress" else ""
    head = f"{side.direction}: "
    others = ", ".join(p for p in (side.allowed_by if side.state == ALLOWED else side.policies) if p != side.name)
    if side.state == ALLOWED:
        return [f"{head}admits {src}{to} on {port}" + (f"; so do {others}" if others else "")] if side.allowed_by \
            else [f"{head}no NetworkPolicy isolates these pods"]
    why = [text if name == side.name else f"{name}: {text}" for name, text in sorted(side.why_not.items())]
    if side.state == BLOCKED:
        return [f"{head}blocks {src}{to} on {port}" + (f"; so do {others}" if others else ""), *why]
    also = f"; also selected by {others}" if others else ""
    if side.state == PARTIAL:
        blocked = side.blocked()
        return [f"{head}admits {src} only to some pods or from some of its pods "
                f"(blocked: {', '.join(blocked[:5]) or 'some of its pods'}){also}", *why]
    unknown = r.controllers.why_unknown or f"cannot tell whether the policies admit {src}{to}"
    allowed = f"; allowed by {', '.join(side.allowed_by)} for some" if side.allowed_by else ""
    return [f"{head}reachability unknown: {unknown}{allowed}{also}"]


def path_findings(r: Reachability, svc: Service, entry: tuple[str, str, str]) -> list[Finding]:
    """`networkpolicy-blocks-path` for each side that blocks (error; warning when only part is
    blocked), naming its policies and its side, or `networkpolicy-controller-unknown` (info, on
    `entry`: the IngressClass, or the Gateway, or the Service when the Ingress has no class)."""
    ns, name = svc.meta.key
    out = []
    port = f" on port {r.port}" if r.port is not None else ""
    for side in r.sides:
        if side.state not in (BLOCKED, PARTIAL):
            continue
        first = sorted(side.why_not)[0] if side.why_not else side.policies[0]
        named = ", ".join(f"{side.namespace}/{p}" for p in side.policies)
        whole = side.state == BLOCKED
        why = "; ".join(f"{n}: {w}" for n, w in sorted(side.why_not.items()))
        if side.direction == "ingress":
            src_ns = sorted({s.namespace for s in r.controllers.sources if s.namespace})
            fix = (f"namespaceSelector {NAME_LABEL}={src_ns[0]}" if src_ns else "the controller's namespace")
            message = (f"ingress: NetworkPolicy {named} select(s) the pods of Service {name} and "
                       f"{'none admits' if whole else 'not all admit'} {r.controllers.label}{port}: {why}")
            hint = f"add an ingress rule admitting the controller ({fix}){port} to one of them"
        else:
            pods = f" + podSelector {_labels_text(svc.selector)}" if svc.selector else ""
            message = (f"egress: NetworkPolicy {named} select(s) {r.controllers.label} and "
                       f"{'none lets them reach' if whole else 'not all let them reach'} the pods of Service "
                       f"{ns}/{name}{port}: {why}")
            hint = (f"add an egress rule to the Service's pods (namespaceSelector {NAME_LABEL}={ns}{pods}){port} "
                    "to one of them")
        out.append(BLOCKS_PATH.finding(
            "NetworkPolicy", side.namespace, first, message, hint,
            severity="error" if r.decisive(side) else "warning", side=side.direction, service=name,
            policies=side.policies, port=r.port, controller=r.controllers.label, why=side.why_not,
            blocked_pods=side.blocked()))
    ingress = next((s for s in r.sides if s.direction == "ingress"), None)
    if r.state == UNKNOWN and not r.controllers.sources and ingress is not None:
        out.append(CONTROLLER_UNKNOWN.finding(
            *entry,
            f"NetworkPolicy {', '.join(ingress.policies)} isolate(s) the pods of Service {ns}/{name}, but the "
            f"traffic's source is unknown: {r.controllers.why_unknown}",
            "check by hand that a rule admits the load balancer's addresses (ipBlock of the VPC or nodes)"
            if "cloud load balancer" in r.controllers.why_unknown else
            "name the controller's pods with --controller-namespace and/or --controller-selector",
            service=f"{ns}/{name}", policies=ingress.policies))
    return out


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
    """Every policy on its own, then every backend of an Ingress or an HTTPRoute whose pods, or whose
    traffic's source pods, policies isolate."""
    if store.count("NetworkPolicy") == 0:
        return []
    out: list[Finding] = []
    namespaces = _Namespaces(store)
    for policy in store.objects("NetworkPolicy"):
        out += policy_findings(store, policy, namespaces)  # type: ignore[arg-type]
    done: set[tuple] = set()
    found: dict[tuple[str, ...], Controllers] = {}

    def judge(svc: Service | None, port: int | str | None, source: tuple[str, ...],
              find: Callable[[], Controllers], entry: Callable[[Service], tuple[str, str, str]]) -> None:
        sport = find_service_port(svc, port) if svc is not None else None
        if svc is None or sport is None or (svc.meta.key, sport.name, sport.port, source) in done:
            return
        done.add((svc.meta.key, sport.name, sport.port, source))

        def controllers() -> Controllers:  # once per controller or Gateway
            if source not in found:
                found[source] = find()
            return found[source]
        r = reachability(store, service_backends(store, svc, sport).pods, sport.protocol, controllers)
        if r is not None:
            out.extend(f for f in path_findings(r, svc, entry(svc)) if f not in out)

    for ing in store.ingresses():
        ns = ing.meta.namespace
        cls = ingress_class(ing, default_class).name
        for backend in backends_of(ing):
            judge(store.service(ns, backend.service) if backend.service else None, backend.port, ("class", cls),
                  lambda c=cls: find_controllers(store, c, hint),  # type: ignore[misc]
                  lambda svc, c=cls: ingress_entry(c, svc))  # type: ignore[misc]
    for route in store.routes():
        # The Gateways whose listeners took the route (one that does not exist takes nothing, live or not).
        gateways = {a.gateway.meta.key: a.gateway for a in attachments(store, route, live=False)  # type: ignore[arg-type]
                    if a.gateway is not None and a.listeners}
        # The backendRefs requests are forwarded to: a redirect (the rule's or the backendRef's) reaches no pod.
        refs = [ref for rule in route.rules if rule.redirect is None  # type: ignore[attr-defined]
                for ref in rule.backends if redirect_of(ref.filters) is None]
        for ref in refs:
            if not ref.is_service or not grants_backend(store, route, ref):  # type: ignore[arg-type]
                continue
            for key, gw in sorted(gateways.items()):
                judge(store.service(ref.namespace, ref.name), ref.port, ("Gateway", *key),
                      lambda g=gw: find_gateway_pods(store, g, hint),  # type: ignore[misc]
                      lambda _, k=key: ("Gateway", *k))  # type: ignore[misc]
    return out
