"""Offline manifests (`-f FILE|DIR|-`): what the files say, completed the way a cluster would.

- Workloads stand in for their pods through their pod templates (readiness unknown) unless the
  files hold pods of theirs; pods with a status are used as they are.
- EndpointSlices in the files are used; for other Services the simulator's EndpointSlice
  controller (ktrace.sim.endpointslices) says what it would publish, from the pods that have a status.
- Kinds absent from the files (Secrets, IngressClasses) are marked unreadable, so their checks
  are skipped instead of calling everything missing.
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from collections.abc import Callable

from ktrace import selectors
from ktrace.checks.source import DOCUMENT_SKIPPED, INPUT_UNREADABLE, KIND_UNREADABLE
from ktrace.errors import UsageError
from ktrace.findings import Finding
from ktrace.kinds import METADATA_ONLY
from ktrace.loader import ManifestError, load_paths
from ktrace.model import CLUSTER_SCOPED, REPLICAS_ANNOTATION, SERVICE_NAME_LABEL, TEMPLATE_ANNOTATION, WORKLOAD_KINDS
from ktrace.sim.endpointslices import compute_slices
from ktrace.sources.kubeapi import gc_paused
from ktrace.sources.protocol import CertificateReader, Change, WithoutCredentials
from ktrace.store import ClusterStore

# Kinds whose absence from the files would otherwise read as "missing" in the checks.
_NEEDED = {"Secret": "TLS secret checks skipped", "IngressClass": "ingress class checks skipped"}


def _meta(obj: dict) -> dict:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def _ns(obj: dict) -> str:
    ns = _meta(obj).get("namespace")
    return ns if isinstance(ns, str) and ns else "default"


def _spec(obj: dict) -> dict:
    s = obj.get("spec")
    return s if isinstance(s, dict) else {}


def _pod_template_spec(workload: dict) -> dict:
    spec = _spec(workload)
    if workload.get("kind") == "CronJob":
        jt = spec.get("jobTemplate")
        spec = jt.get("spec") if isinstance(jt, dict) and isinstance(jt.get("spec"), dict) else {}
    t = spec.get("template")
    return t if isinstance(t, dict) else {}


def workload_selector(workload: dict) -> selectors.Selector:
    """The workload's selector; Jobs and CronJobs usually have none: their template labels stand in."""
    sel = _spec(workload).get("selector")
    try:
        parsed = selectors.from_label_selector(sel) if isinstance(sel, dict) else ()
    except (selectors.SelectorError, AttributeError, TypeError):  # the selector module expects schema shapes
        parsed = ()
    if parsed:
        return parsed
    labels = _meta(_pod_template_spec(workload)).get("labels")
    return selectors.from_match_labels(labels if isinstance(labels, dict) else {})


def template_pod(workload: dict) -> dict:
    """A pod without status standing in for the pods of `workload`."""
    template = _pod_template_spec(workload)
    meta = _meta(workload)
    kind = workload["kind"]
    replicas = _spec(workload).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool):
        replicas = 1 if kind in ("Deployment", "StatefulSet", "ReplicaSet") else None
    annotations = {TEMPLATE_ANNOTATION: f"{kind}/{meta.get('name')}"}
    if replicas is not None:
        annotations[REPLICAS_ANNOTATION] = str(replicas)
    labels = _meta(template).get("labels")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": meta.get("name"), "namespace": _ns(workload),
                     "labels": dict(labels) if isinstance(labels, dict) else {}, "annotations": annotations,
                     "ownerReferences": [{"kind": kind, "name": meta.get("name"), "controller": True}]},
        "spec": copy.deepcopy(template.get("spec")) if isinstance(template.get("spec"), dict) else {},
    }


class _PodIndex:
    """The files' pods by namespace and by label key=value, in file order, so completing the files costs
    O(objects) rather than O(workloads x pods + services x pods)."""

    def __init__(self) -> None:
        self._by_ns: dict[str, list[dict]] = defaultdict(list)
        self._by_label: dict[tuple[str, str, str], list[dict]] = defaultdict(list)

    def add(self, pod: dict) -> None:
        ns = _ns(pod)
        self._by_ns[ns].append(pod)
        for k, v in _labels(pod).items():
            if isinstance(k, str) and isinstance(v, str):  # other values never equal a selector's strings
                self._by_label[(ns, k, v)].append(pod)

    def candidates(self, namespace: str, selector: selectors.Selector) -> list[dict]:
        """Pods of `namespace` that may match: those with the rarest of the selector's key=value pairs."""
        pairs = [(r.key, r.values[0]) for r in selector if r.op == "=" or (r.op == "in" and len(r.values) == 1)]
        if not pairs:
            return self._by_ns.get(namespace, [])
        return min((self._by_label.get((namespace, k, v), []) for k, v in pairs), key=len)


def complete(objects: list[dict]) -> list[dict]:
    """The files' objects plus template pods and derived EndpointSlices."""
    index = _PodIndex()
    for o in objects:
        if o.get("kind") == "Pod":
            index.add(o)
    present = {(o.get("kind"), _ns(o), _meta(o).get("name")) for o in objects}
    extra: list[dict] = []
    for w in objects:
        if w.get("kind") not in WORKLOAD_KINDS:
            continue
        owners = _meta(w).get("ownerReferences")
        if isinstance(owners, list) and any(isinstance(o, dict) and isinstance(o.get("name"), str) and
                                            (o.get("kind"), _ns(w), o["name"]) in present for o in owners):
            continue  # a ReplicaSet of a Deployment in the files, a Job of a CronJob: the owner stands in
        sel = workload_selector(w)
        if not sel or any(selectors.matches(sel, _labels(p)) for p in index.candidates(_ns(w), sel)):
            continue
        extra.append(template_pod(w))
    for pod in extra:
        index.add(pod)
    with_slices = {(_ns(o), str(_labels(o).get(SERVICE_NAME_LABEL))) for o in objects
                   if o.get("kind") == "EndpointSlice"}
    slices: list[dict] = []
    for svc in objects:
        if svc.get("kind") == "Service" and (_ns(svc), _meta(svc).get("name")) not in with_slices:
            # compute_slices checks namespace and selector itself: the index only narrows what it reads
            slices += compute_slices(svc, index.candidates(_ns(svc), _service_selector(svc)))
    return objects + extra + slices


def _service_selector(svc: dict) -> selectors.Selector:
    sel = _spec(svc).get("selector")
    return selectors.from_match_labels(sel) if isinstance(sel, dict) else ()


def _labels(obj: dict) -> dict:
    labels = _meta(obj).get("labels")
    return labels if isinstance(labels, dict) else {}


class ManifestSource(WithoutCredentials):
    live = False
    status = None  # files are not watched
    progress = None  # read in one go: nothing to count

    def __init__(self, paths: list[str], namespace: str | None = None, stdin_text: str | None = None) -> None:
        self.paths = paths
        self.namespace = namespace  # None: every namespace in the files
        self.stdin_text = stdin_text
        self.notes: list[Finding] = []
        self.origins: dict[tuple[str, str, str], str] = {}  # (kind, namespace, name) -> "file:line"
        self.lock = contextlib.nullcontext()  # nothing changes the store after load()

    def describe(self) -> str:
        return f"files: {', '.join('stdin' if p == '-' else p for p in self.paths)}"

    def watch(self, store: ClusterStore, on_change: Callable[[Change], None], *, deferred: bool = False) -> None:
        """Files do not change under ktrace: nothing to watch."""

    def apply_pending(self) -> list[Change]:
        return []  # nothing is ever queued

    def certificate_reader(self) -> CertificateReader | None:
        """The files' Secrets' data (read again: the store keeps none of it); stdin cannot be read twice."""
        if "-" in self.paths:
            return None
        from ktrace.certs import file_reader

        return file_reader(load_paths(self.paths).objects)

    def load(self) -> ClusterStore:
        # Parsing builds millions of dicts that all survive: the collector would scan them again and again
        # for nothing (measured: 5,000 pods' JSON parses 2.7x faster without it). Frozen afterwards.
        with gc_paused():
            return self._load()

    def _load(self) -> ClusterStore:
        result = load_paths(self.paths, self.stdin_text)
        for obj, origin in zip(result.objects, result.origins, strict=True):
            ns = "" if obj["kind"] in CLUSTER_SCOPED else _ns(obj)
            self.origins.setdefault((obj["kind"], ns, obj["metadata"]["name"]), origin)
        objects = [o for o in result.objects
                   if self.namespace is None or o["kind"] in CLUSTER_SCOPED or _ns(o) == self.namespace]
        if not any(o["kind"] not in CLUSTER_SCOPED for o in objects):
            if result.errors:  # nothing else to show: the first problem is the answer
                raise result.failure()
            where = f" in namespace {self.namespace}" if self.namespace and result.objects else ""
            raise UsageError(f"no Kubernetes objects{where} in {', '.join(self.paths)}")
        for error in result.errors:  # the rest is analysed; CI still fails on the error
            self.notes.append(INPUT_UNREADABLE.finding("File", "", error.where, error.problem,
                                                       "fix the file (or leave it out of -f); the rest was loaded"))
        if result.skipped:
            n = len(result.skipped)
            self.notes.append(DOCUMENT_SKIPPED.finding("File", "", "",
                                      f"{n} document(s) not used" + (f", e.g. {result.skipped[0]}" if n > 1 else
                                                                     f": {result.skipped[0]}"),
                                      "ktrace reads ingresses, services, pods, workloads and the kinds around them",
                                      skipped=result.skipped))
        store = ClusterStore(complete(objects))
        kinds = {o["kind"] for o in objects}
        needed = {**_NEEDED, **({"ConfigMap": "BackendTLSPolicy CA certificate checks skipped"}
                                if "BackendTLSPolicy" in kinds else {})}  # ConfigMaps matter only to those
        for kind, lost in needed.items():
            if kind not in kinds:
                store.unreadable.add(kind)
                self.notes.append(KIND_UNREADABLE.finding(kind, "", "",
                                          f"no {kind} in the files: {lost}",
                                          f"add the {kind} objects to the files to check them"))
        return store

    def document(self, kind: str, namespace: str, name: str) -> tuple[dict, str] | None:
        """The object as its file has it, and its file:line: re-read from the file (the store keeps a
        slim record; holding every parsed document would cost memory for a view opened now and then).
        None when it cannot be had (stdin, a file changed or gone since), and for a Secret: the view shows
        Secrets' metadata only, and that is in the store (so is a ConfigMap's, whose data is never read either)."""
        if kind in METADATA_ONLY:
            return None
        origin = self.origins.get((kind, namespace, name))
        path = origin.rpartition(":")[0] if origin else ""
        if not path or path == "<stdin>":
            return None
        try:
            result = load_paths([path])
        except ManifestError:  # gone since
            return None
        for obj, at in zip(result.objects, result.origins, strict=True):
            ns = "" if obj["kind"] in CLUSTER_SCOPED else _ns(obj)
            if at == origin and (obj["kind"], ns, obj["metadata"]["name"]) == (kind, namespace, name):
                return obj, origin
        return None

    def close(self) -> None:
        """Nothing to release: the files were read in full by load()."""
