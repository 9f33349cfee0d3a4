"""A plan's change files laid over a loaded source, as `kubectl apply` and the cluster's controllers would make
them, in memory (nothing is sent anywhere): what `ktrace.plan` applies to the store.

- An object of the files replaces the one of the same kind, namespace and name, or is added; `--delete` files name
  objects to remove. One whose file names no namespace goes where kubectl would put it: `-n`, else the context's
  namespace, else `default`. What the API server keeps from the live object on apply is kept: its creation time,
  and a Service's, an Ingress's or a Gateway's published addresses (status) when the file has no status. No
  admission runs (no webhook, no default the API server would add beyond those ktrace applies itself).
- A workload whose pod template changes (labels or container ports: what the analysis reads) stands in for its pods,
  as offline files do: its pods go and its template (readiness unknown) takes their place; one whose pods are a
  template's stand-in already (offline) gets the new one. A workload deleted takes its pods with it.
- The Services whose selection changes get the EndpointSlices the simulator's controller would publish
  (ktrace.sim.endpointslices) from the pods that have a status; slices in the files are used as they are.
"""

from __future__ import annotations

from dataclasses import replace

from ktrace.errors import UsageError
from ktrace.loader import LoadResult, load_paths
from ktrace.model import (
    CLUSTER_SCOPED,
    WORKLOAD_KINDS,
    Gateway,
    Ingress,
    Pod,
    Record,
    Service,
    Workload,
    record_from_dict,
)
from ktrace.plan import ObjectChange, same
from ktrace.selectors import from_match_labels, matches
from ktrace.sim.endpointslices import MANAGED_BY, MANAGED_BY_LABEL, compute_slices
from ktrace.sources.manifests import template_pod, workload_selector
from ktrace.store import ClusterStore

Key = tuple[str, str, str]


def read_files(paths: list[str], what: str) -> list[dict]:
    """The objects of change files; any file or document that cannot be read is a usage error: a plan of part of
    the changes would answer another question."""
    result: LoadResult = load_paths(paths)
    if result.errors:
        e = result.errors[0]
        more = f" (and {len(result.errors) - 1} more problem(s))" if len(result.errors) > 1 else ""
        raise UsageError(f"{what}: {e.where}: {e.problem}{more}")
    if not result.objects:
        raise UsageError(f"{what}: no Kubernetes objects in {', '.join(paths)}")
    return result.objects


def _key(r: Record) -> Key:
    return (r.meta.kind, r.meta.namespace, r.meta.name)


def _record(obj: dict) -> Record:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)  # a file exported from the cluster: a new version all the same
    r = record_from_dict({**obj, "metadata": meta})
    if r is None:
        name = meta.get("name") or "(no name)"
        raise UsageError(f"{obj.get('kind') or 'an object'} {name}: not an object ktrace can read (no name?)")
    return r


# A Service's spec fields the API server fills in when they are left out (the record's names): an apply that
# leaves them out keeps them.
_SERVER_FILLED = {"clusterIP": "cluster_ip", "ipFamilies": "ip_families", "ipFamilyPolicy": "ip_family_policy",
                  "externalTrafficPolicy": "external_traffic_policy"}


def _kept(old: Record | None, new: Record, obj: dict) -> Record:
    """What an apply keeps of the live object: its creation time (route precedence reads it), a Service's spec
    fields the API server filled in, and its status (a subresource the file does not write)."""
    if old is None:
        return new
    if getattr(new, "created", None) == "" and getattr(old, "created", ""):  # the server keeps creationTimestamp
        new = replace(new, created=old.created)  # type: ignore[call-arg]
    if isinstance(new, Service) and isinstance(old, Service):  # what the API server filled in stays where the
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}  # file leaves it out
        new = replace(new, **{field: getattr(old, field) for key, field in _SERVER_FILLED.items() if key not in spec})
    if obj.get("status"):
        return new
    if isinstance(new, Service) and isinstance(old, Service):
        return replace(new, lb_addresses=old.lb_addresses)
    if isinstance(new, Ingress | Gateway) and isinstance(old, Ingress | Gateway) and type(new) is type(old):
        return replace(new, addresses=old.addresses)
    return new


def _placed(obj: dict, namespace: str) -> dict:
    """The object in `namespace` when its file names none, as `kubectl apply -f` places it."""
    meta = obj.get("metadata")
    if obj.get("kind") in CLUSTER_SCOPED or not isinstance(meta, dict) or meta.get("namespace"):
        return obj
    return {**obj, "metadata": {**meta, "namespace": namespace}}


def overlay(store: ClusterStore, applied: list[dict], deleted: list[dict], namespace: str = "default") -> \
        list[ObjectChange]:
    """The changes that laying `applied` over the store (and removing `deleted`) makes, the controllers' included;
    `namespace`: where objects whose file names none go (`-n`, else the context's, else default)."""
    changes: dict[Key, ObjectChange] = {}
    docs: dict[Key, dict] = {}
    applied, deleted = [_placed(o, namespace) for o in applied], [_placed(o, namespace) for o in deleted]
    for obj in applied:
        new = _record(obj)
        docs[_key(new)] = obj
        old = store.get(*_key(new))
        new = _kept(old, new, obj)
        if old is None or not same(old, new):
            changes[_key(new)] = ObjectChange(old, new)
    for obj in deleted:
        r = _record(obj)
        old = store.get(*_key(r))
        if old is None:
            where = f"namespace {r.meta.namespace}" if r.meta.kind not in CLUSTER_SCOPED else "the cluster"
            raise UsageError(f"--delete: no {r.meta.kind} {r.meta.name} in {where} to delete")
        changes[_key(old)] = ObjectChange(old, None)
    pods = _pod_changes(store, list(changes.values()), docs)
    for c in pods:  # a pod of the files wins over one a workload would make
        changes.setdefault(_key(c.record), c)
    files_slices = {(c.record.meta.namespace, c.record.service) for c in changes.values()  # type: ignore[attr-defined]
                    if c.record.meta.kind == "EndpointSlice" and not c.cause}
    for c in _slice_changes(store, list(changes.values()), files_slices):
        changes.setdefault(_key(c.record), c)
    return list(changes.values())


# -- workloads stand in for their pods ---------------------------------------------------------------------


def _owned(store: ClusterStore, w: Workload) -> list[Pod]:
    """The workload's pods: its template's stand-in, or those it (its ReplicaSet, for a Deployment) controls."""
    kind, ns, name = w.meta.kind, w.meta.namespace, w.meta.name
    out = []
    for p in store.pods(ns):
        owner = p.meta.owners[0] if p.meta.owners else ("", "")
        if p.template_of == f"{kind}/{name}" or owner == (kind, name) or \
                (kind == "Deployment" and p.deployment == name) or \
                (kind == "CronJob" and owner[0] == "Job" and owner[1].startswith(f"{name}-")):
            out.append(p)
    return out


def _pods_look_same(old: Workload, new: Workload) -> bool:
    """Whether the pods a rollout would make look the same to the analysis (labels, container ports)."""
    return old.template_labels == new.template_labels and \
        [c.ports for c in old.containers] == [c.ports for c in new.containers]


def _pod_changes(store: ClusterStore, changes: list[ObjectChange], docs: dict[Key, dict]) -> list[ObjectChange]:
    files_pods = [c.new for c in changes if isinstance(c.new, Pod) and not c.cause]
    out: dict[Key, ObjectChange] = {}
    for c in changes:
        if c.record.meta.kind not in WORKLOAD_KINDS or c.cause:
            continue
        old, new = c.old, c.new
        assert isinstance(old, Workload | None) and isinstance(new, Workload | None)
        w = c.record
        owned = _owned(store, w)  # type: ignore[arg-type]
        if old is not None and new is not None and _pods_look_same(old, new) and \
                not any(p.template_of for p in owned):  # running pods stay; a stand-in takes the new template
            continue
        ref = f"{w.meta.kind} {w.meta.namespace}/{w.meta.name}"
        for pod in owned:
            out[_key(pod)] = ObjectChange(pod, None, f"pods of {ref}")
        if new is None:
            continue
        selector = workload_selector(docs[_key(new)])
        if any(p.meta.namespace == w.meta.namespace and matches(selector, p.meta.labels) for p in files_pods):
            continue  # the files hold its pods
        pod = record_from_dict(template_pod(docs[_key(new)]))
        assert isinstance(pod, Pod)
        before = out.pop(_key(pod), None)
        was = before.old if before is not None else store.get(*_key(pod))
        out[_key(pod)] = ObjectChange(was, pod, f"pod template of {ref}")
    return list(out.values())


# -- the EndpointSlice controller --------------------------------------------------------------------------

def _slice_facts(s: Service) -> tuple:
    return (s.type, s.selector, s.ports, s.ip_families, s.ip_family_policy, s.publish_not_ready, s.cluster_ip)


def _slice_changes(store: ClusterStore, changes: list[ObjectChange], given: set[tuple[str, str]]) -> list[ObjectChange]:
    """New EndpointSlices for every Service whose selection the changes move (not those whose slices the files
    give)."""
    services: dict[tuple[str, str], Service | None] = {}  # (ns, name) -> the Service after (None: deleted)
    gone: dict[str, set[str]] = {}  # namespace -> pods removed
    added: dict[str, list[Pod]] = {}
    for c in changes:
        r = c.record
        if isinstance(r, Service):
            if c.old is None or c.new is None or _slice_facts(c.old) != _slice_facts(c.new):  # type: ignore[arg-type]
                services[r.meta.key] = c.new  # type: ignore[assignment]
        elif isinstance(r, Pod):
            if c.old is not None:
                gone.setdefault(r.meta.namespace, set()).add(r.meta.name)
                for svc in store.services_selecting(c.old):  # type: ignore[arg-type]
                    services.setdefault(svc.meta.key, svc)
            if c.new is not None:
                added.setdefault(r.meta.namespace, []).append(c.new)  # type: ignore[arg-type]
    changed_services = {c.record.meta.key: c.new for c in changes if isinstance(c.record, Service)}
    for pods in added.values():
        for p in pods:
            for svc in store.services_selecting(p):
                services.setdefault(svc.meta.key, changed_services.get(svc.meta.key, svc))  # type: ignore[arg-type]
    out: list[ObjectChange] = []
    for (ns, name), svc in sorted(services.items()):
        if (ns, name) in given:
            continue
        old = {s.meta.name: s for s in store.slices_for(ns, name) if s.meta.labels.get(MANAGED_BY_LABEL) == MANAGED_BY}
        new: dict[str, Record] = {}
        if svc is not None and svc.selector:
            pods = [p for p in store.pods_matching(ns, svc.selector) if p.meta.name not in gone.get(ns, ())]
            pods += [p for p in added.get(ns, []) if matches(from_match_labels(svc.selector), p.meta.labels)]
            for doc in compute_slices(_service_document(svc), [_pod_document(p) for p in pods if p.phase]):
                s = record_from_dict(doc)
                if s is not None:
                    new[s.meta.name] = s
        for slice_name in sorted(old.keys() | new.keys()):
            before, after = old.get(slice_name), new.get(slice_name)
            if before is None or after is None or not same(before, after):
                out.append(ObjectChange(before, after, f"EndpointSlices of Service {ns}/{name}"))
    return out


def _service_document(s: Service) -> dict:
    """A Service record as the API object the slice controller reads."""
    spec: dict = {"type": s.type, "selector": dict(s.selector or {}), "publishNotReadyAddresses": s.publish_not_ready,
                  "ports": [{"name": p.name, "port": p.port, "targetPort": p.target, "protocol": p.protocol}
                            for p in s.ports]}
    if s.ip_families:
        spec["ipFamilies"] = list(s.ip_families)
    if s.ip_family_policy:
        spec["ipFamilyPolicy"] = s.ip_family_policy
    if s.cluster_ip:
        spec["clusterIP"] = s.cluster_ip
    return {"kind": "Service", "metadata": {"name": s.meta.name, "namespace": s.meta.namespace,
                                            "labels": dict(s.meta.labels), "uid": s.meta.uid}, "spec": spec}


def _pod_document(p: Pod) -> dict:
    """A pod record as the API object the slice controller reads (one address: the record keeps podIP)."""
    meta: dict = {"name": p.meta.name, "namespace": p.meta.namespace, "labels": dict(p.meta.labels), "uid": p.meta.uid}
    if p.meta.deleting:
        meta["deletionTimestamp"] = "deleting"
    status: dict = {"phase": p.phase, "conditions": [{"type": c.type, "status": c.status} for c in p.conditions]}
    if p.ip:
        status["podIP"] = p.ip
    return {"kind": "Pod", "metadata": meta, "status": status,
            "spec": {"nodeName": p.node, "containers": [
                {"name": c.name, "ports": [{"name": x.name, "containerPort": x.port, "protocol": x.protocol}
                                           for x in c.ports]} for c in p.containers]}}
