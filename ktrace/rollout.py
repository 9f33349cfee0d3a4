"""Revisions of the pods behind a path: during a Deployment rollout the pods of a Service come from
two or more ReplicaSets of one Deployment; each is a revision with its own ready count, version
and share of the traffic. Pure: reads pods (and the Deployment when the source has it).

The ReplicaSet is the pod's controller owner; its Deployment is the ReplicaSet's name without the
`-<pod-template-hash>` suffix (live sources do not list ReplicaSets, so the name is the link).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ktrace.backends import READY, PodBackend
from ktrace.model import POD_TEMPLATE_HASH, Container, Pod, Workload
from ktrace.store import ClusterStore

# Labels that name a version of the same app, most specific first (also used to rank preview candidates).
VERSION_LABELS = ("app.kubernetes.io/version", "version", "track", "color", "colour", "slot", "stage")


def image_tag(image: str) -> str:
    """`registry:5000/shop:1.5.0` -> `1.5.0`; a digest -> its first 12 hex digits; no tag -> `latest`."""
    if "@" in image:
        return image.rpartition(":")[2][:12]
    name = image.rpartition("/")[2]
    return name.partition(":")[2] or "latest" if name else ""


def version_of(labels: Mapping[str, str], containers: Iterable[Container]) -> str:
    """The version label when the pod has one, else the image tag(s) of its containers."""
    for key in VERSION_LABELS:
        if labels.get(key):
            return labels[key]
    return ",".join(dict.fromkeys(image_tag(c.image) for c in containers if c.image))


@dataclass
class Revision:
    deployment: str
    replicaset: str
    hash: str
    version: str
    images: tuple[str, ...]
    pods: int = 0
    ready: int = 0  # pods whose endpoint is ready: they receive traffic
    terminating: int = 0
    current: bool | None = None  # matches the Deployment's template (None: Deployment not in the source)

    @property
    def serving(self) -> bool:
        return self.ready > 0

    def to_dict(self) -> dict[str, Any]:
        return {"deployment": self.deployment, "replicaSet": self.replicaset, "podTemplateHash": self.hash,
                "version": self.version or None, "images": list(self.images), "pods": self.pods,
                "ready": self.ready, "terminating": self.terminating, "receivesTraffic": self.serving,
                "current": self.current}


def _replicaset(pod: Pod) -> tuple[str, str] | None:
    """(Deployment, ReplicaSet) of a pod a Deployment's ReplicaSet controls."""
    return (pod.deployment, pod.meta.owners[0][1]) if pod.deployment else None


def _is_current(rev: Revision, pod: Pod, dep: Workload | None) -> bool | None:
    if dep is None:
        return None
    labels = {k: v for k, v in pod.meta.labels.items() if k != POD_TEMPLATE_HASH}
    return labels == dict(dep.template_labels) and rev.images == tuple(c.image for c in dep.containers)


def revisions(store: ClusterStore, pods: list[PodBackend]) -> list[Revision]:
    """The revisions of one Deployment behind these backends, current first, then by name; empty
    unless at least two revisions of one Deployment are present (nothing is being replaced)."""
    found: dict[str, Revision] = {}
    sample: dict[str, Pod] = {}
    for p in pods:
        owner = _replicaset(p.pod)
        if owner is None:
            continue
        dep, rs = owner
        rev = found.get(rs)
        if rev is None:
            pod = p.pod
            rev = found[rs] = Revision(dep, rs, pod.meta.labels[POD_TEMPLATE_HASH],
                                       version_of(pod.meta.labels, pod.containers),
                                       tuple(c.image for c in pod.containers))
            sample[rs] = pod
        rev.pods += 1
        rev.ready += p.state == READY
        rev.terminating += p.pod.meta.deleting
    by_deployment: dict[str, list[Revision]] = {}
    for rev in found.values():
        by_deployment.setdefault(rev.deployment, []).append(rev)
    out: list[Revision] = []
    for name, revs in sorted(by_deployment.items()):
        if len(revs) < 2:
            continue
        ns = sample[revs[0].replicaset].meta.namespace
        dep = store.get("Deployment", ns, name)
        for rev in revs:
            rev.current = _is_current(rev, sample[rev.replicaset], dep if isinstance(dep, Workload) else None)
        out += sorted(revs, key=lambda r: (not r.current, r.terminating == r.pods, r.replicaset))
    return out
