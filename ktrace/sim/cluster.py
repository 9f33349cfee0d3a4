"""The simulated cluster: the store plus what the API server and the controllers do on every
write (completion, namespaces, EndpointSlices, workloads, pod start-up and termination)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from ktrace.kinds import BY_KIND, Kind
from ktrace.sim import complete, endpointslices, workloads
from ktrace.sim.ingress_controller import MANAGER as INGRESS_CONTROLLER
from ktrace.sim.ingress_controller import admitted_status
from ktrace.sim.kubelet import Kubelet
from ktrace.sim.patch import apply_patch
from ktrace.sim.state import DEFAULT_HISTORY, ApiError, Store, clone, not_found

# kinds whose changes can change what the controllers publish in that namespace
_CONTROLLED = {"Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}

Scheduler = Callable[[float, Callable[[], None]], None]
# The field managers the simulator's own writers use, as a real cluster's components do.
LOADER = "kubectl-client-side-apply"  # load() and apply(): what `kubectl apply` of the files would be
CONTROLLER_MANAGER = "kube-controller-manager"  # the workload and EndpointSlice controllers
KUBELET = "kubelet"
API_SERVER = "kube-apiserver"  # namespaces it creates on the fly


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_now() -> str:
    return rfc3339(datetime.now(UTC))


def kind_for(name: str) -> Kind:
    try:
        return BY_KIND[name]
    except KeyError:
        raise ApiError(400, "BadRequest", f"unknown kind {name!r}") from None


class Cluster:
    def __init__(self, *, clock: Callable[[], str] = utc_now, nodes: int = 3, history: int = DEFAULT_HISTORY,
                 pod_grace: float = 0.0):
        self.store = Store(history)
        self.clock = clock
        self.kubelet = Kubelet(nodes)
        self.service_ips = complete.ServiceIPs()
        self.pod_grace = pod_grace  # seconds a deleted pod stays Terminating (needs a scheduler)
        self.schedule: Scheduler | None = None  # set by the server: run a callable later on its loop
        self._dirty: set[str] = set()
        self._settling = False
        self._bulk = False
        self._ensure_namespace("default")

    # reads
    def get(self, kind: str, namespace: str | None, name: str) -> dict:
        k = kind_for(kind)
        entry = self.store.get(kind, namespace if k.namespaced else None, name)
        if entry is None:
            raise not_found(k, name)
        return entry.obj

    # writes
    def load(self, objects: Iterable[dict]) -> None:
        """Create or replace many objects, running the controllers once at the end."""
        gc_was_enabled = gc.isenabled()
        gc.disable()  # building ~50 MB of small dicts: the cyclic GC would triple the time
        self._bulk = True
        try:
            for obj in clone(list(objects)):  # type: ignore[arg-type]
                self._apply(obj, LOADER)
        finally:
            self._bulk = False
            if gc_was_enabled:
                gc.enable()
            # The loaded objects live as long as the server: keep them out of every later
            # collection, or each full GC walks them all and stalls watch streams for ~1 s.
            gc.freeze()
        self._settle()

    def apply(self, obj: dict, manager: str = LOADER) -> dict:
        """Create, or replace an existing object of that name (test-facing upsert)."""
        return self._apply(clone(obj), manager)

    def _apply(self, obj: dict, manager: str) -> dict:
        k = self._check(obj)
        meta = obj["metadata"]
        old = self.store.get(k.kind, meta.get("namespace") if k.namespaced else None, meta["name"])
        if old is not None:
            meta.pop("resourceVersion", None)
        return self._write(obj, old.obj if old else None, manager)

    def create(self, obj: dict, manager: str = CONTROLLER_MANAGER) -> dict:
        k = self._check(obj)
        meta = obj["metadata"]
        meta.pop("resourceVersion", None)
        if self.store.get(k.kind, meta.get("namespace") if k.namespaced else None, meta["name"]) is not None:
            group = f".{k.group}" if k.group else ""
            raise ApiError(409, "AlreadyExists", f'{k.plural}{group} "{meta["name"]}" already exists',
                           {"name": meta["name"], "group": k.group, "kind": k.plural})
        return self._write(obj, None, manager)

    def replace(self, obj: dict, manager: str = CONTROLLER_MANAGER, subresource: str = "") -> dict:
        k = self._check(obj)
        meta = obj["metadata"]
        old = self.store.get(k.kind, meta.get("namespace") if k.namespaced else None, meta["name"])
        if old is None:
            raise not_found(k, meta["name"])
        given = meta.get("resourceVersion")
        if given and given != old.meta["resourceVersion"]:
            group = f".{k.group}" if k.group else ""
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {k.plural}{group} "{meta["name"]}": '
                           "the object has been modified; please apply your changes to the latest version "
                           "and try again", {"name": meta["name"], "group": k.group, "kind": k.plural})
        return self._write(obj, old.obj, manager, subresource)

    def patch(self, kind: str, namespace: str | None, name: str, patch: object,
              content_type: str = "application/merge-patch+json", manager: str = CONTROLLER_MANAGER,
              subresource: str = "") -> dict:
        current = self.get(kind, namespace, name)
        patched = apply_patch(clone(current), patch, content_type)
        meta = patched.setdefault("metadata", {})
        meta["name"], meta["uid"] = current["metadata"]["name"], current["metadata"]["uid"]
        if "namespace" in current["metadata"]:
            meta["namespace"] = current["metadata"]["namespace"]
        patched["kind"], patched["apiVersion"] = current["kind"], current["apiVersion"]
        if meta.get("resourceVersion") == current["metadata"]["resourceVersion"]:
            meta.pop("resourceVersion")
        return self.replace(patched, manager, subresource)

    def delete(self, kind: str, namespace: str | None, name: str, grace: float | None = None) -> dict:
        obj = self.get(kind, namespace, name)
        k = kind_for(kind)
        ns = namespace if k.namespaced else None
        if kind == "Pod":
            wait = self.pod_grace if grace is None else grace
            if wait > 0 and self.schedule is not None:
                return self.terminate_pod(ns or "default", name, wait)
        if kind == "Namespace":
            for other in BY_KIND.values():
                if other.namespaced:
                    for entry in list(self.store.entries(other.kind, name)):
                        self._remove(other.kind, name, entry.meta["name"])
        self._remove(kind, ns, name)
        self._settle()
        return obj

    def terminate_pod(self, namespace: str, name: str, grace: float | None = None) -> dict:
        """Mark a pod Terminating now and remove it after the grace period (at once when
        there is no event loop to wait on)."""
        wait = self.pod_grace if grace is None else grace
        entry = self.store.get("Pod", namespace, name)
        if entry is None:
            raise not_found(BY_KIND["Pod"], name)
        if wait <= 0 or self.schedule is None:
            self._remove("Pod", namespace, name)
            self._settle()
            return entry.obj
        if entry.meta.get("deletionTimestamp"):
            return entry.obj
        pod = clone(entry.obj)
        deadline = datetime.now(UTC) + timedelta(seconds=wait)
        pod["metadata"]["deletionTimestamp"] = rfc3339(deadline)
        pod["metadata"]["deletionGracePeriodSeconds"] = int(wait)
        written = self._write(pod, entry.obj, KUBELET)
        uid = entry.meta["uid"]

        def remove() -> None:
            current = self.store.get("Pod", namespace, name)
            if current is not None and current.meta["uid"] == uid:
                self._remove("Pod", namespace, name)
                self._settle()

        self.schedule(wait, remove)
        return written

    def set_pod_ready(self, namespace: str, name: str, ready: bool) -> dict:
        """What the kubelet writes when a readiness probe starts or stops passing: the Ready and
        ContainersReady conditions and every container's `ready` (the slice controller follows)."""
        pod = clone(self.get("Pod", namespace, name))
        status = pod.setdefault("status", {})
        now = self.clock()
        for cond in status.get("conditions") or []:
            if cond.get("type") in ("Ready", "ContainersReady"):
                cond["status"] = "True" if ready else "False"
                cond["lastTransitionTime"] = now
        for cs in status.get("containerStatuses") or []:
            cs["ready"] = ready
        return self.write_status(pod, status, KUBELET)

    def write_status(self, obj: dict, status: dict, manager: str = CONTROLLER_MANAGER) -> dict:
        return self._write({**obj, "status": status, "metadata": dict(obj["metadata"])}, obj, manager, "status")

    def write_spec(self, obj: dict, spec: dict, manager: str = CONTROLLER_MANAGER) -> dict:
        return self._write({**obj, "spec": spec, "metadata": dict(obj["metadata"])}, obj, manager)

    # internals
    def _check(self, obj: dict) -> Kind:
        if not isinstance(obj, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        k = kind_for(obj.get("kind") or "")
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise ApiError(422, "Invalid", f"{k.kind} is invalid: metadata.name: Required value: name or "
                           "generateName is required")
        if k.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
        return k

    def _ensure_namespace(self, ns: str) -> None:
        if self.store.get("Namespace", None, ns) is None:
            self._write({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, None, API_SERVER)

    def _write(self, obj: dict, old: dict | None, manager: str, subresource: str = "") -> dict:
        """Store one write as the API server does: metadata completed, `manager`'s managedFields entry stamped
        (`subresource`: "status" for a status write), then the controllers that follow from it."""
        kind = obj["kind"]
        if BY_KIND[kind].namespaced:
            self._ensure_namespace(obj["metadata"]["namespace"])
        now = self.clock()
        complete.complete_metadata(obj, now, old)
        complete.manage_fields(obj, old, manager, now, subresource)
        if kind == "Service":
            complete.complete_service(obj, self.service_ips, old)
        elif kind == "Pod":
            complete.complete_pod(obj)
            if old is not None:
                self.kubelet.release(old)
            if not (obj.get("status") or {}).get("phase"):
                self.kubelet.start(obj, obj["metadata"]["creationTimestamp"])
            else:
                self.kubelet.claim(obj)
        elif kind == "Namespace":
            complete.complete_namespace(obj)
        elif kind == "EndpointSlice":
            complete.complete_slice(obj)
        elif kind == "Ingress":
            self._admit(obj)
        self.store.put(obj)
        if kind == "IngressClass":
            self._admit_pending()
        if kind in _CONTROLLED:
            self._dirty.add(obj["metadata"]["namespace"])
            self._settle()
        return obj

    def _admit(self, ingress: dict) -> None:
        status = admitted_status(ingress, (e.obj for e in self.store.entries("IngressClass")))
        if status is not None:
            ingress["status"] = status

    def _admit_pending(self) -> None:
        """A new class admits the Ingresses that were waiting for a controller."""
        classes = [e.obj for e in self.store.entries("IngressClass")]
        for entry in list(self.store.entries("Ingress")):
            status = admitted_status(entry.obj, classes)
            if status is not None:
                self.write_status(entry.obj, status, INGRESS_CONTROLLER)

    def _remove(self, kind: str, namespace: str | None, name: str) -> None:
        event = self.store.remove(kind, namespace, name)
        if event is None:
            return
        if kind == "Pod":
            self.kubelet.release(event.old.obj)
        if kind in _CONTROLLED and namespace:
            self._dirty.add(namespace)

    def _settle(self) -> None:
        """Run the controllers until nothing changes. Re-entrant writes only mark namespaces."""
        if self._settling or self._bulk:
            return
        self._settling = True
        try:
            while self._dirty:
                ns = min(self._dirty)
                self._dirty.discard(ns)
                workloads.reconcile(self, ns)
                self._reconcile_slices(ns)
        finally:
            self._settling = False

    def _reconcile_slices(self, ns: str) -> None:
        pods = [e.obj for e in self.store.entries("Pod", ns)]
        managed: dict[str, dict] = {}
        for entry in self.store.entries("EndpointSlice", ns):
            if (entry.meta.get("labels") or {}).get(endpointslices.MANAGED_BY_LABEL) == endpointslices.MANAGED_BY:
                managed[entry.meta["name"]] = entry.obj
        for svc_entry in self.store.entries("Service", ns):
            for want in endpointslices.compute_slices(svc_entry.obj, pods):
                have = managed.pop(want["metadata"]["name"], None)
                if have is not None and _same_slice(have, want):
                    continue
                self._write(want, have, CONTROLLER_MANAGER)
        for name in managed:
            self._remove("EndpointSlice", ns, name)


def _same_slice(have: dict, want: dict) -> bool:
    return (have.get("endpoints") == want["endpoints"] and have.get("ports") == want["ports"]
            and have.get("addressType") == want["addressType"]
            and have["metadata"].get("labels") == want["metadata"]["labels"]
            and have["metadata"].get("ownerReferences") == want["metadata"]["ownerReferences"])
