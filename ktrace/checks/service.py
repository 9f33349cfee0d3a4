"""Service checks: selector near misses, target ports, readiness of endpoints, pods not ready."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from ktrace.backends import EXCLUDED, NOT_READY, ServiceBackends, service_backends
from ktrace.findings import Finding
from ktrace.model import POD_TEMPLATE_HASH, WORKLOAD_KINDS, Pod, Service, Workload
from ktrace.nearmiss import Candidate, could_miss, near_key, near_misses
from ktrace.rules import Rule, applies, produces, register
from ktrace.store import ClusterStore

SELECTOR_NO_MATCH = register(Rule(
    "service-selector-no-match", "error", "A Service selector matches no pod in its namespace (near misses listed).",
    needs=("Pod",)))
NO_READY_ENDPOINTS = register(Rule(
    "service-no-ready-endpoints", "error", "A Service has no ready endpoint: every request through it fails."))
# A selector-less Service's endpoints are only known from the EndpointSlices (made by hand or by a controller).
_NO_HAND_MADE_ENDPOINTS = NO_READY_ENDPOINTS.needing("EndpointSlice")
PARTIALLY_READY = register(Rule("service-partially-ready", "warning", "Some of a Service's endpoints are not ready."))
TARGET_PORT_MISSING = register(Rule(
    "service-target-port-missing", "error",
    "Selected pods do not declare the Service's targetPort (error for a named port: the pods get no endpoint; "
    "warning for a number the pods' declared ports lack: traffic may still flow)."))
EXTERNALNAME = register(Rule(
    "service-externalname", "info", "An ExternalName Service: the path ends at a DNS name outside the cluster."))
POD_NOT_READY = register(Rule(
    "pod-not-ready", "warning",
    "A pod behind a Service is not ready (crash loop, image pull, probe, pending, terminating)."))

# Labels that differ between pods of one workload: ignored when grouping identical pods.
_VOLATILE_LABELS = (POD_TEMPLATE_HASH, "controller-revision-hash", "statefulset.kubernetes.io/pod-name",
                    "apps.kubernetes.io/pod-index", "batch.kubernetes.io/controller-uid", "controller-uid",
                    "batch.kubernetes.io/job-name", "job-name")


def _svc(svc: Service) -> tuple[str, str, str]:
    return ("Service", svc.meta.namespace, svc.meta.name)


def selector_text(selector: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (selector or {}).items())


def _owner(pod: Pod) -> tuple[str, str]:
    """The workload a user knows the pod by: people fix Deployments, not their ReplicaSets."""
    if pod.deployment:
        return ("Deployment", pod.deployment)
    return pod.meta.owners[0] if pod.meta.owners else ("Pod", pod.meta.name)


def candidates(store: ClusterStore, namespace: str, selector: Mapping[str, str]) -> list[Candidate]:
    """The candidates of the namespace that might be near misses of `selector` (`could_miss`): found through
    the label index, from the namespace's distinct labels, so the pods and workloads that share no label
    with the selector are never looked at. `group_candidates` orders and names them."""
    def labelled(pods: bool) -> set:
        found: set = set()
        for key, values in store.label_values(namespace, pods).items():
            if key in _VOLATILE_LABELS or not any(near_key(key, k) for k in selector):
                continue  # grouping leaves volatile labels out: nothing is compared on them
            for value in values:
                if could_miss(selector, key, value):
                    found |= (store.pods_with_label if pods else store.workloads_with_label)(namespace, key, value)
        return found

    pods = [store.get("Pod", namespace, name) for name in sorted(labelled(True))]
    order = {kind: i for i, kind in enumerate(WORKLOAD_KINDS)}  # as store.workloads() yields them
    workloads = [store.get(kind, namespace, name)
                 for kind, name in sorted(labelled(False), key=lambda w: (order[w[0]], w[1]))]
    return group_candidates(pods, workloads)  # type: ignore[arg-type]


def group_candidates(pods: Iterable[Pod], workloads: Iterable[Workload]) -> list[Candidate]:
    """Pods (by name) grouped by owner and labels, then workload pod templates whose labels
    no pod group already shows (a workload scaled to zero still counts)."""
    groups: dict[tuple, list[Pod]] = defaultdict(list)
    for pod in pods:
        labels = {k: v for k, v in pod.meta.labels.items() if k not in _VOLATILE_LABELS}
        owner = ("template", pod.template_of) if pod.template_of else _owner(pod)
        groups[(owner, frozenset(labels.items()))].append(pod)
    out, shown = [], set()
    for ((okind, oname), labels), group in groups.items():
        if okind == "template":
            kind, _, name = oname.partition("/")
            label = f"the pod template of {kind} {name}"
        elif len(group) == 1:
            label = f"pod {group[0].meta.name}"
        else:
            label = f"pods of {okind} {oname}"
        out.append(Candidate(label, dict(labels), len(group), tuple(p.meta.name for p in group)))
        shown.add(labels)
    for w in workloads:
        labels = frozenset((k, v) for k, v in w.template_labels.items() if k not in _VOLATILE_LABELS)
        if labels and labels not in shown:
            shown.add(labels)
            out.append(Candidate(f"the pod template of {w.meta.kind} {w.meta.name}", dict(labels)))
    return out


@produces(SELECTOR_NO_MATCH)
def selector_findings(store: ClusterStore, svc: Service, cache: dict[tuple, list[Candidate]] | None = None
                      ) -> list[Finding]:
    """`service-selector-no-match` with ranked near misses, or nothing when some pod matches."""
    if not svc.selector or svc.type == "ExternalName":
        return []
    ns = svc.meta.namespace
    if store.pods_matching(ns, svc.selector):
        return []
    if cache is None:
        cache = {}
    key = (ns, frozenset(svc.selector.items()))  # Services of one app often share a selector
    if key not in cache:
        cache[key] = candidates(store, ns, svc.selector)
    misses = near_misses(svc.selector, cache[key])
    sel = selector_text(svc.selector)
    other_ns = sorted({p.meta.namespace for p in store.pods_labelled(svc.selector)} - {ns})
    if misses:
        message = f"selector {sel} matches no pod; {misses[0].describe()}"
        best = misses[0]
        fixes = [f"{d.selector_key}={d.selector_value} -> {d.label_key}={d.label_value}" for d in best.diffs
                 if d.label_key]
        hint = (f"change the selector ({', '.join(fixes)}) or relabel the pods" if fixes else
                f"add the missing label to the pods or drop it from the selector ({best.diffs[0].selector_key})")
        if len(misses) > 1:
            hint += "; other near misses: " + "; ".join(m.describe() for m in misses[1:3])
    else:
        message = f"selector {sel} matches no pod in namespace {ns}"
        here = store.label_values(ns)
        values = sorted({f"{k}={v}" for k in svc.selector for v in here.get(k, ())})
        hint = (f"pods here have {', '.join(values[:5])}" if values else
                f"no pod in namespace {ns} has any of the selector's keys") + "; fix the selector or the pod labels"
    if other_ns:
        hint += f"; pods in namespace {', '.join(other_ns)} match, but a Service selects only in its own namespace"
    return [SELECTOR_NO_MATCH.finding(*_svc(svc), message, hint, selector=dict(svc.selector),
                    near_misses=[m.to_dict() for m in misses], namespaces_with_matches=other_ns)]


@produces(TARGET_PORT_MISSING)
def target_port_findings(store: ClusterStore, svc: Service) -> list[Finding]:
    if not svc.selector or svc.type == "ExternalName":
        return []
    pods = store.pods_matching(svc.meta.namespace, svc.selector)
    out = []
    for port in svc.ports:
        lacking = [p for p in pods if p.find_port(port.target, port.protocol) is None]
        if not lacking:
            continue
        names = _pod_names(lacking)
        if isinstance(port.target, str):
            declared = sorted({f"{cp.name or '-'}:{cp.port}" for p in pods for c in p.containers for cp in c.ports})
            out.append(TARGET_PORT_MISSING.finding(
                *_svc(svc),
                f"port {port.label()}: targetPort {port.target!r} is declared by no container of {names}",
                "the EndpointSlice controller leaves those pods out; name the container port "
                f"{port.target!r} or use the number as targetPort"
                + (f" (declared: {', '.join(declared)})" if declared else ""),
                port=port.label(), target_port=port.target, pods=[p.meta.name for p in lacking]))
        elif len(lacking) == len(pods) and any(c.ports for p in pods for c in p.containers):
            # Only when the pods declare other ports: many images simply declare none.
            out.append(TARGET_PORT_MISSING.finding(
                *_svc(svc),
                f"port {port.label()}: targetPort {port.target} is declared by no container of {names}",
                "traffic still reaches the pods if they listen on it; check the number",
                severity="warning", port=port.label(), target_port=port.target,
                pods=[p.meta.name for p in lacking]))
    return out


def _pod_names(pods: list[Pod], limit: int = 3) -> str:
    names = [p.meta.name for p in pods[:limit]]
    more = f" and {len(pods) - limit} more" if len(pods) > limit else ""
    return ", ".join(names) + more


@produces(NO_READY_ENDPOINTS, PARTIALLY_READY)
def readiness_findings(store: ClusterStore, svc: Service, backends: ServiceBackends) -> list[Finding]:
    """Counted over every endpoint of the Service; pods of unknown readiness (offline templates)
    and pods that cannot be endpoints (finished, named port missing) are left out of the counts.
    A Service whose pods all cannot be endpoints, or a selector-less Service that an Ingress uses
    and nobody gave endpoints, has none at all."""
    if svc.type == "ExternalName" or (backends.known == 0 and backends.unknown):
        return []
    if backends.known == 0:
        excluded = [p for p in backends.pods if p.state == EXCLUDED]
        if excluded:
            why = "; ".join(f"{p.pod.meta.name}: {p.reason}" for p in excluded[:4])
            return [NO_READY_ENDPOINTS.finding(*_svc(svc), f"no endpoints: {why}",
                            "no selected pod can receive traffic", ready=0, total=0,
                            not_ready=[{"pod": p.pod.meta.name, "reason": p.reason} for p in excluded])]
        if not svc.selector and store.ingresses_for_service(*svc.meta.key) and applies(store, _NO_HAND_MADE_ENDPOINTS):
            what = "its EndpointSlices are empty" if backends.slices else "no EndpointSlice"
            return [NO_READY_ENDPOINTS.finding(*_svc(svc), f"no selector and {what}: no "
                            "endpoints", "a selector-less Service needs EndpointSlices (label kubernetes.io/"
                            "service-name) made by hand or by a controller", ready=0, total=0, not_ready=[])]
        return []
    known = [p for p in backends.pods if p.state not in (EXCLUDED, "unknown")]
    bad = [p for p in known if p.state == NOT_READY]
    bad_orphans = [e for e in backends.orphans if not e.ready]
    total, ready = backends.known, backends.ready
    why = "; ".join(f"{p.pod.meta.name}: {p.reason}" for p in bad[:4]) + (" ..." if len(bad) > 4 else "")
    if bad_orphans:
        why = (why + "; " if why else "") + f"{len(bad_orphans)} endpoint(s) without a pod not ready"
    details = {"ready": ready, "total": total,
               "not_ready": [{"pod": p.pod.meta.name, "reason": p.reason} for p in bad]}
    if ready == 0:
        return [NO_READY_ENDPOINTS.finding(*_svc(svc), f"none of {total} backend(s) ready: {why}",
                        "requests through this Service fail; fix the pods (see pod-not-ready findings)", **details)]
    if bad or bad_orphans:
        return [PARTIALLY_READY.finding(*_svc(svc), f"{ready} of {total} backend(s) ready: {why}",
                        "traffic goes only to the ready pods; fix or remove the others", **details)]
    return []


@produces(POD_NOT_READY)
def pod_findings(backends: ServiceBackends, seen: set[tuple[str, str]]) -> list[Finding]:
    out = []
    for b in backends.pods:
        if b.state == NOT_READY and b.pod.meta.key not in seen:
            seen.add(b.pod.meta.key)
            svc = backends.service.meta.name
            out.append(POD_NOT_READY.finding("Pod", b.pod.meta.namespace, b.pod.meta.name,
                               f"not ready ({b.reason}), behind Service {svc}",
                               _POD_HINTS.get(_reason_key(b.reason), "see `kubectl describe pod`"),
                               reason=b.reason, service=svc, restarts=b.pod.restarts))
    return out


_POD_HINTS = {
    "CrashLoopBackOff": "the container keeps exiting: read `kubectl logs --previous`",
    "ImagePullBackOff": "the image cannot be pulled: check the image name, tag and pull secret",
    "ErrImagePull": "the image cannot be pulled: check the image name, tag and pull secret",
    "readiness": "the readiness probe fails: check the probe's path and port and the app's logs",
    "Pending": "the pod is not running: `kubectl describe pod` shows the scheduler's reason",
    "terminating": "the pod is shutting down; a replacement should appear",
}


def _reason_key(reason: str) -> str:
    for key in _POD_HINTS:
        if key in reason:
            return key
    return ""


@produces(EXTERNALNAME)
def externalname_findings(svc: Service) -> list[Finding]:
    if svc.type != "ExternalName":
        return []
    return [EXTERNALNAME.finding(*_svc(svc), f"ExternalName service: resolves to "
                                 f"{svc.external_name or '(no externalName)'}", "ktrace does not follow DNS names",
                                 external_name=svc.external_name)]


def check_service(store: ClusterStore, svc: Service, seen_pods: set[tuple[str, str]],
                  cache: dict[tuple, list[Candidate]]) -> list[Finding]:
    if svc.type == "ExternalName":
        return externalname_findings(svc)
    out = selector_findings(store, svc, cache) + target_port_findings(store, svc)
    # Readiness per port (a pod lacking a named targetPort serves the other ports); the worst port speaks.
    per_port = [service_backends(store, svc, port) for port in svc.ports or (None,)]
    readiness = [f for b in per_port for f in readiness_findings(store, svc, b)]
    if readiness:
        out.append(max(readiness, key=lambda f: f.rank))
    for b in per_port:
        out += pod_findings(b, seen_pods)
    return out
