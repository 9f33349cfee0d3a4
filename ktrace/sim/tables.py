"""Server-side printing (`as=Table`): the columns `kubectl get` shows for each kind, computed
the way the API server's printers do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from ktrace.sim.state import partial_metadata

Column = tuple[str, str, int]  # name, type, priority (1: only with -o wide)


def human_duration(seconds: float) -> str:
    """kubectl's short age format: 45s, 3m20s, 10m, 5h3m, 3d4h, 40d, 2y100d."""
    s = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    d = h // 24
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 365 * 2:
        return f"{d}d"
    y = d // 365
    return f"{y}y{d % 365}d" if y < 8 and d % 365 else f"{y}y"


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def age(text: str | None, now: datetime) -> str:
    moment = _parse_time(text)
    return human_duration((now - moment).total_seconds()) if moment else "<unknown>"


def _pod_status(pod: dict) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    running = False
    for cs in reversed(status.get("containerStatuses") or []):
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"] or {}
            reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                            else f"ExitCode:{term.get('exitCode', 0)}")
        elif "running" in state and cs.get("ready"):
            running = True
    if reason == "Completed" and running:
        reason = "Running"
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _pod_cells(pod: dict, now: datetime) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    last = max((((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt") or "" for cs in statuses),
               default="")
    restart_text = f"{restarts} ({age(last, now)} ago)" if restarts and last else str(restarts)
    gates = spec.get("readinessGates") or []
    gate_text = "<none>"
    if gates:
        true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        gate_text = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    return [pod["metadata"]["name"], f"{ready}/{len(spec.get('containers') or [])}", _pod_status(pod),
            restart_text, age(pod["metadata"].get("creationTimestamp"), now), status.get("podIP") or "<none>",
            spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gate_text]


def _service_cells(svc: dict, now: datetime) -> list:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    if kind == "ExternalName":
        external = spec.get("externalName") or "<none>"
    elif kind == "LoadBalancer":
        ingress = (svc.get("status") or {}).get("loadBalancer", {}).get("ingress") or []
        external = ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or "<pending>"
    else:
        external = ",".join(spec.get("externalIPs") or []) or "<none>"
    ports = []
    for p in spec.get("ports") or []:
        node = f":{p['nodePort']}" if p.get("nodePort") else ""
        ports.append(f"{p.get('port')}{node}/{p.get('protocol') or 'TCP'}")
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [svc["metadata"]["name"], kind, spec.get("clusterIP") or "<none>", external, ",".join(ports) or "<none>",
            age(svc["metadata"].get("creationTimestamp"), now), selector]


def _ingress_cells(ing: dict, now: datetime) -> list:
    spec = ing.get("spec") or {}
    hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
    lb = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    address = ",".join(i.get("ip") or i.get("hostname") or "" for i in lb)
    return [ing["metadata"]["name"], spec.get("ingressClassName") or "<none>", ",".join(hosts) or "*", address,
            "80, 443" if spec.get("tls") else "80", age(ing["metadata"].get("creationTimestamp"), now)]


def _slice_cells(eps: dict, now: datetime) -> list:
    ports = ",".join(str(p["port"]) if p.get("port") is not None else "<unset>" for p in eps.get("ports") or [])
    addresses = [a for e in eps.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
    return [eps["metadata"]["name"], eps.get("addressType", ""), ports or "<unset>", shown or "<unset>",
            age(eps["metadata"].get("creationTimestamp"), now)]


def _deployment_cells(dep: dict, now: datetime) -> list:
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    return [dep["metadata"]["name"], f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
            status.get("updatedReplicas", 0), status.get("availableReplicas", 0),
            age(dep["metadata"].get("creationTimestamp"), now)]


def _replicaset_cells(rs: dict, now: datetime) -> list:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    return [rs["metadata"]["name"], spec.get("replicas", 1), status.get("replicas", 0),
            status.get("readyReplicas", 0), age(rs["metadata"].get("creationTimestamp"), now)]


def _namespace_cells(ns: dict, now: datetime) -> list:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", "Active"),
            age(ns["metadata"].get("creationTimestamp"), now)]


def _secret_cells(secret: dict, now: datetime) -> list:
    # only the number of keys is printed, as the real server does; never any value
    return [secret["metadata"]["name"], secret.get("type") or "Opaque", len(secret.get("data") or {}),
            age(secret["metadata"].get("creationTimestamp"), now)]


def _ingressclass_cells(ic: dict, now: datetime) -> list:
    params = (ic.get("spec") or {}).get("parameters")
    return [ic["metadata"]["name"], (ic.get("spec") or {}).get("controller", ""),
            f"{params.get('kind')}/{params.get('name')}" if params else "<none>",
            age(ic["metadata"].get("creationTimestamp"), now)]


def _default_cells(obj: dict, now: datetime) -> list:
    return [obj["metadata"]["name"], age(obj["metadata"].get("creationTimestamp"), now)]


_NAME: Column = ("Name", "string", 0)
_AGE: Column = ("Age", "string", 0)
PRINTERS: dict[str, tuple[tuple[Column, ...], Callable[[dict, datetime], list]]] = {
    "Pod": ((_NAME, ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), _AGE,
             ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1),
             ("Readiness Gates", "string", 1)), _pod_cells),
    "Service": ((_NAME, ("Type", "string", 0), ("Cluster-IP", "string", 0), ("External-IP", "string", 0),
                 ("Port(s)", "string", 0), _AGE, ("Selector", "string", 1)), _service_cells),
    "Ingress": ((_NAME, ("Class", "string", 0), ("Hosts", "string", 0), ("Address", "string", 0),
                 ("Ports", "string", 0), _AGE), _ingress_cells),
    "EndpointSlice": ((_NAME, ("AddressType", "string", 0), ("Ports", "string", 0), ("Endpoints", "string", 0),
                       _AGE), _slice_cells),
    "Deployment": ((_NAME, ("Ready", "string", 0), ("Up-to-date", "integer", 0), ("Available", "integer", 0),
                    _AGE), _deployment_cells),
    "ReplicaSet": ((_NAME, ("Desired", "integer", 0), ("Current", "integer", 0), ("Ready", "integer", 0), _AGE),
                   _replicaset_cells),
    "Namespace": ((_NAME, ("Status", "string", 0), _AGE), _namespace_cells),
    "Secret": ((_NAME, ("Type", "string", 0), ("Data", "integer", 0), _AGE), _secret_cells),
    "IngressClass": ((_NAME, ("Controller", "string", 0), ("Parameters", "string", 0), _AGE), _ingressclass_cells),
}


def table(kind: str, objects: list[dict], version: str = "v1", include: str = "PartialObjectMetadata",
          resource_version: str | None = None, continue_token: str | None = None) -> dict:
    columns, cells = PRINTERS.get(kind, ((_NAME, _AGE), _default_cells))
    now = datetime.now(UTC)
    rows = []
    for obj in objects:
        row: dict = {"cells": cells(obj, now)}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = partial_metadata(obj)
        rows.append(row)
    meta: dict = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": meta,
            "columnDefinitions": [{"name": n, "type": t, "format": "name" if n == "Name" else "",
                                   "description": "", "priority": p} for n, t, p in columns],
            "rows": rows}
