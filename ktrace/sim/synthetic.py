"""A realistic large cluster for benchmarks and evaluation at scale: namespaces of 50 pods
(5 Deployments x 10 pods, one Service each, one Ingress per namespace), pods of about 4 KB
as real ones are (probes, env, volumes, managedFields, owner references, full status), and a
few deterministic defects for ktrace to find:

- namespace 1: a Service selecting `App: <name>` while its pods carry `app: <name>`
- namespace 2: an Ingress backend port the Service does not expose
- namespace 3: an Ingress TLS secret that does not exist
- about 2% of pods (chosen by `seed`) not ready
"""

from __future__ import annotations

import hashlib
import random

from ktrace.sim.complete import stable_uid
from ktrace.sim.workloads import pod_suffix, template_hash

PODS_PER_APP = 10
APPS_PER_NAMESPACE = 5
PODS_PER_NODE = 100
CREATED = "2026-01-10T08:00:00Z"
STARTED = "2026-01-10T08:00:05Z"
_IMAGES = ("nginx:1.27.3", "ghcr.io/acme/api:4.2.1", "ghcr.io/acme/worker:2.8.0", "redis:7.4.1",
           "ghcr.io/acme/web:1.19.4")


def _fields_spec() -> dict:
    """managedFields as kube-controller-manager writes them for a ReplicaSet's pod."""
    return {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {},
                                                             "f:team": {}},
                           "f:ownerReferences": {".": {}, 'k:{"uid":"owner"}': {}}},
            "f:spec": {"f:containers": {'k:{"name":"main"}': {
                ".": {}, "f:env": {".": {}, 'k:{"name":"LOG_LEVEL"}': {".": {}, "f:name": {}, "f:value": {}}},
                "f:image": {}, "f:imagePullPolicy": {}, "f:livenessProbe": {".": {}, "f:httpGet": {}},
                "f:name": {}, "f:ports": {".": {}, 'k:{"containerPort":8080,"protocol":"TCP"}': {}},
                "f:readinessProbe": {".": {}, "f:httpGet": {}}, "f:resources": {".": {}, "f:limits": {},
                                                                               "f:requests": {}},
                "f:volumeMounts": {".": {}}}},
                "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}, "f:volumes": {".": {}}}}


_FIELDS_STATUS = {"f:status": {"f:conditions": {'k:{"type":"ContainersReady"}': {}, 'k:{"type":"Ready"}': {},
                                                'k:{"type":"Initialized"}': {}, 'k:{"type":"PodScheduled"}': {}},
                               "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {}, "f:podIP": {},
                               "f:podIPs": {}, "f:startTime": {}}}


def _template(ns: str, app: str, image: str) -> dict:
    return {
        "metadata": {"labels": {"app": app, "team": ns}},
        "spec": {
            "containers": [{
                "name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                          {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "APP_NAME", "value": app},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                        "fieldPath": "metadata.name"}}},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db",
                                                                               "key": "password"}}}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "livenessProbe": {"httpGet": {"path": "/livez", "port": "http", "scheme": "HTTP"},
                                  "initialDelaySeconds": 10, "periodSeconds": 10, "timeoutSeconds": 1,
                                  "successThreshold": 1, "failureThreshold": 3},
                "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http", "scheme": "HTTP"},
                                   "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1,
                                   "failureThreshold": 3},
                "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                                 {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/"
                                  "serviceaccount", "readOnly": True}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            }],
            "volumes": [{"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
                        {"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt",
                                                                                  "path": "ca.crt"}]}}]}}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "securityContext": {}, "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
        },
    }


def _pod_status(ip: str, host_ip: str, image: str, ready: bool, name: str) -> dict:
    flag = "True" if ready else "False"
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {
        "phase": "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": STARTED},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": CREATED},
            {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": STARTED},
            {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": STARTED},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": CREATED},
        ],
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
        "startTime": CREATED, "qosClass": "Burstable",
        "containerStatuses": [{
            "name": "main", "image": image, "imageID": f"{image.split(':')[0]}@sha256:{digest}",
            "containerID": f"containerd://{digest[::-1]}", "ready": ready, "started": True,
            "restartCount": 0 if ready else 3, "state": {"running": {"startedAt": STARTED}}, "lastState": {},
        }],
    }


def synthetic_objects(pods: int, seed: int = 0) -> list[dict]:
    """About `pods` pods (rounded up to whole apps of 10) with everything around them."""
    rng = random.Random(seed)
    apps = max(1, -(-pods // PODS_PER_APP))
    namespaces = -(-apps // APPS_PER_NAMESPACE)
    nodes = max(3, -(-pods // PODS_PER_NODE))
    fields_spec = _fields_spec()
    objects: list[dict] = [{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                            "metadata": {"name": "nginx", "creationTimestamp": CREATED,
                                         "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
                            "spec": {"controller": "k8s.io/ingress-nginx"}}]
    pod_index = 0
    for n in range(namespaces):
        ns = f"team-{n:03d}"
        host = f"{ns}.synthetic.example"
        objects.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns,
                                                                              "creationTimestamp": CREATED}})
        if n != 3:  # defect: the Ingress names a TLS secret that does not exist
            objects.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                            "metadata": {"name": f"{ns}-tls", "namespace": ns, "creationTimestamp": CREATED},
                            "data": {"tls.crt": "c3ludGhldGlj", "tls.key": "c3ludGhldGlj"}})
        paths = []
        for a in range(min(APPS_PER_NAMESPACE, apps - n * APPS_PER_NAMESPACE)):
            app = f"app-{a}"
            image = _IMAGES[a % len(_IMAGES)]
            template = _template(ns, app, image)
            h = template_hash(template)
            dep_uid = stable_uid("Deployment", ns, app)
            rs_name = f"{app}-{h}"
            rs_uid = stable_uid("ReplicaSet", ns, rs_name)
            rs_template = {**template, "metadata": {"labels": {**template["metadata"]["labels"],
                                                               "pod-template-hash": h}}}
            objects.append({"apiVersion": "apps/v1", "kind": "Deployment",
                            "metadata": {"name": app, "namespace": ns, "uid": dep_uid, "creationTimestamp": CREATED,
                                         "labels": {"app": app}},
                            "spec": {"replicas": PODS_PER_APP, "selector": {"matchLabels": {"app": app}},
                                     "template": template}})
            objects.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                            "metadata": {"name": rs_name, "namespace": ns, "uid": rs_uid,
                                         "creationTimestamp": CREATED, "labels": rs_template["metadata"]["labels"],
                                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                              "name": app, "uid": dep_uid, "controller": True,
                                                              "blockOwnerDeletion": True}]},
                            "spec": {"replicas": PODS_PER_APP,
                                     "selector": {"matchLabels": {"app": app, "pod-template-hash": h}},
                                     "template": rs_template}})
            owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                      "controller": True, "blockOwnerDeletion": True}]
            managed = [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                 "time": CREATED, "fieldsType": "FieldsV1", "fieldsV1": fields_spec},
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": STARTED,
                 "fieldsType": "FieldsV1", "fieldsV1": _FIELDS_STATUS, "subresource": "status"},
            ]
            for p in range(PODS_PER_APP):
                node = pod_index % nodes
                slot = pod_index // nodes
                ip = f"10.{64 + node // 256}.{node % 256}.{slot + 2}"
                name = f"{rs_name}-{pod_suffix(rs_name, p)}"
                pod_index += 1
                spec = {**template["spec"], "nodeName": f"node-{node:04d}"}
                objects.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name, "namespace": ns, "generateName": f"{rs_name}-",
                                 "creationTimestamp": CREATED, "labels": rs_template["metadata"]["labels"],
                                 "ownerReferences": owner, "managedFields": managed},
                    "spec": spec,
                    "status": _pod_status(ip, f"172.20.{node // 256}.{node % 256}", image, rng.random() >= 0.02,
                                          name),
                })
            selector = {"App": app} if (n == 1 and a == 2) else {"app": app}  # defect: near-miss selector
            objects.append({"apiVersion": "v1", "kind": "Service",
                            "metadata": {"name": app, "namespace": ns, "creationTimestamp": CREATED,
                                         "labels": {"app": app}},
                            "spec": {"selector": selector, "ports": [
                                {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                                {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}]}})
            port = 8080 if (n == 2 and a == 0) else 80  # defect: a port the Service does not expose
            paths.append({"path": f"/{app}", "pathType": "Prefix",
                          "backend": {"service": {"name": app, "port": {"number": port}}}})
        objects.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                        "metadata": {"name": ns, "namespace": ns, "creationTimestamp": CREATED},
                        "spec": {"ingressClassName": "nginx", "tls": [{"hosts": [host], "secretName": f"{ns}-tls"}],
                                 "rules": [{"host": host, "http": {"paths": paths}}]}})
    return objects
