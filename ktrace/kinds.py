"""The Kubernetes kinds ktrace knows: API group, version, plural and scope.

One table shared by the simulator (discovery, routing), the live source (what to list)
and the manifest loader (what to keep).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    # Versions a cluster may serve the kind at instead of `version`, in order of preference: the live
    # source asks discovery which one is served (Gateway API CRDs of older releases serve only v1beta1).
    older: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The REST path of a collection or object, as the API server serves it."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "", "v1", "namespaces", namespaced=False, short_names=("ns",)),
    Kind("Pod", "", "v1", "pods", short_names=("po",)),
    Kind("Service", "", "v1", "services", short_names=("svc",)),
    Kind("Secret", "", "v1", "secrets"),
    Kind("ConfigMap", "", "v1", "configmaps", short_names=("cm",)),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", short_names=("ing",)),
    Kind("IngressClass", "networking.k8s.io", "v1", "ingressclasses", namespaced=False),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", short_names=("netpol",)),
    Kind("Deployment", "apps", "v1", "deployments", short_names=("deploy",)),
    Kind("ReplicaSet", "apps", "v1", "replicasets", short_names=("rs",)),
    Kind("StatefulSet", "apps", "v1", "statefulsets", short_names=("sts",)),
    Kind("DaemonSet", "apps", "v1", "daemonsets", short_names=("ds",)),
    Kind("Job", "batch", "v1", "jobs"),
    Kind("CronJob", "batch", "v1", "cronjobs", short_names=("cj",)),
    Kind("GatewayClass", "gateway.networking.k8s.io", "v1", "gatewayclasses", namespaced=False,
         short_names=("gc",), older=("v1beta1",)),
    Kind("Gateway", "gateway.networking.k8s.io", "v1", "gateways", short_names=("gtw",), older=("v1beta1",)),
    Kind("HTTPRoute", "gateway.networking.k8s.io", "v1", "httproutes", older=("v1beta1",)),
    Kind("GRPCRoute", "gateway.networking.k8s.io", "v1", "grpcroutes", older=("v1alpha2",)),
    # TLSRoute: v1 from Gateway API 1.5 (Standard), v1alpha3 and v1alpha2 before (Experimental).
    Kind("TLSRoute", "gateway.networking.k8s.io", "v1", "tlsroutes", older=("v1alpha3", "v1alpha2")),
    Kind("ReferenceGrant", "gateway.networking.k8s.io", "v1", "referencegrants", short_names=("refgrant",),
         older=("v1beta1",)),
    # BackendTLSPolicy: v1 from Gateway API 1.4, v1alpha3 before (Experimental).
    Kind("BackendTLSPolicy", "gateway.networking.k8s.io", "v1", "backendtlspolicies", short_names=("btlspolicy",),
         older=("v1alpha3",)),
)

# Kinds read as metadata only (PartialObjectMetadata): their data never crosses the wire. Secrets hold keys;
# of a ConfigMap (a BackendTLSPolicy's CA certificate) ktrace needs only to know that it exists.
METADATA_ONLY = frozenset({"Secret", "ConfigMap"})

BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
BY_PLURAL: dict[tuple[str, str], Kind] = {(k.group, k.plural): k for k in KINDS}


def kind_of(obj: dict) -> Kind | None:
    """The known Kind of a raw object, by its `kind` field (apiVersion versions are not enforced)."""
    k = obj.get("kind")
    return BY_KIND.get(k) if isinstance(k, str) else None
