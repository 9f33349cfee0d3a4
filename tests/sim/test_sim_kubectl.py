"""kubectl against the simulator serving the demo scenario: real columns from server-side
tables, label/delete writes, and Secrets printed without their data ever being sent."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import urllib3

from ktrace.sim.demo import load_scenario
from ktrace.sim.handle import Simulator
from ktrace.sim.ingress_controller import address_for

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Simulator, str]:
    sim = Simulator(load_scenario("demo").objects)
    sim.start()
    kubeconfig = str(sim.write_kubeconfig(tmp_path_factory.mktemp("kubectl") / "kubeconfig"))
    yield sim, kubeconfig
    sim.stop()


def kubectl(kubeconfig: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "--cache-dir", kubeconfig + ".cache", *args],
                          capture_output=True, text=True, timeout=30)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def rows(output: str) -> tuple[list[str], dict[str, list[str]]]:
    """Header cells and rows keyed by NAME (columns split on runs of 2+ spaces)."""
    import re

    lines = [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()]
    header = lines[0]
    key = header.index("NAME")
    return header, {line[key]: line for line in lines[1:]}


def test_get_pods_wide_shows_real_columns(demo):
    sim, kubeconfig = demo
    header, by_name = rows(kubectl(kubeconfig, "get", "pods", "-A", "-o", "wide").stdout)
    assert header == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                      "READINESS GATES"]
    crash = by_name["payments-api-6d9c7b8f4d-q7w4z"]
    assert crash[2:4] == ["0/1", "CrashLoopBackOff"] and crash[4].startswith("9 (")
    assert crash[6:8] == ["10.244.3.32", "sim-node-3"]
    running = sim.list("Pod", "shop")[0]
    line = by_name[running["metadata"]["name"]]
    assert line[2:5] == ["1/1", "Running", "0"]
    assert line[6:8] == [running["status"]["podIP"], running["spec"]["nodeName"]]
    assert len(by_name) == len(sim.list("Pod"))


def test_get_ingress_and_services(demo):
    _, kubeconfig = demo
    header, by_name = rows(kubectl(kubeconfig, "get", "ingress", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    # ADDRESS: the simulator's stand-in controller admitted it (class nginx exists)
    assert by_name["aspnetapp"][1:6] == ["aspnetapp", "nginx", "aspnetapp.demo.example",
                                         address_for("nginx"), "80, 443"]
    assert by_name["shop"][2] == "<none>"  # no class named: the default class applies, kubectl shows none
    header, by_name = rows(kubectl(kubeconfig, "get", "svc", "-n", "shop").stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert by_name["docs"][1:5] == ["ExternalName", "<none>", "docs.vendor.example", "443/TCP"]
    assert by_name["shop-green"][2].startswith("10.")


def test_get_endpointslices(demo):
    sim, kubeconfig = demo
    header, by_name = rows(kubectl(kubeconfig, "get", "endpointslices", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    catalog = next(v for k, v in by_name.items() if k.startswith("catalog-"))
    assert catalog[2:4] == ["IPv4", "<unset>"]  # the named port matched no container port
    status = next(v for k, v in by_name.items() if k.startswith("status-page-"))
    ips = sorted(p["status"]["podIP"] for p in sim.list("Pod", "ops")
                 if p["metadata"]["name"].startswith("status-page-"))
    assert status[3] == "3000" and sorted(status[4].split(",")) == ips
    assert by_name["legacy-db-1"][3:5] == ["5432", "192.168.10.5"]


@pytest.mark.slow
def test_label_and_delete(demo):
    sim, kubeconfig = demo
    name = sim.list("Pod", "catalog")[0]["metadata"]["name"]
    kubectl(kubeconfig, "label", "pod", "-n", "catalog", name, "checked=yes")
    assert sim.get("Pod", "catalog", name)["metadata"]["labels"]["checked"] == "yes"
    assert rows(kubectl(kubeconfig, "get", "pods", "-n", "catalog", "-l", "checked=yes").stdout)[1].keys() == {name}
    kubectl(kubeconfig, "annotate", "svc", "-n", "catalog", "catalog", "note=hello")
    assert sim.get("Service", "catalog", "catalog")["metadata"]["annotations"] == {"note": "hello"}
    kubectl(kubeconfig, "patch", "svc", "-n", "catalog", "catalog", "-p",
            '{"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"}]}}')
    [eps] = sim.list("EndpointSlice", "catalog")
    assert [p["port"] for p in eps["ports"]] == [8080]  # the fix reached the EndpointSlice controller

    crash = "payments-api-6d9c7b8f4d-x2k9p"  # hand-written pod: nothing re-creates it
    out = kubectl(kubeconfig, "delete", "pod", "-n", "payments", crash).stdout
    assert f'pod "{crash}" deleted' in out
    gone = kubectl(kubeconfig, "get", "pod", "-n", "payments", crash, ok=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr


def test_get_secrets_never_sends_their_data(demo):
    sim, kubeconfig = demo
    sim.clear_requests()
    header, by_name = rows(kubectl(kubeconfig, "get", "secrets", "-A").stdout)
    assert header == ["NAMESPACE", "NAME", "TYPE", "DATA", "AGE"]
    assert by_name["aspnetapp-tls"][2:4] == ["kubernetes.io/tls", "2"]
    [request] = [r for r in sim.requests if r["path"] == "/api/v1/secrets"]
    assert "as=Table" in request["accept"]
    # the same request again: the table rows carry metadata only, no value leaves the server
    body = urllib3.request("GET", sim.url + "/api/v1/secrets", headers={"Accept": request["accept"]}).data
    assert b"ZGVtby1rZXk=" not in body and b'"data"' not in body
    meta = urllib3.request("GET", sim.url + "/api/v1/secrets", headers={
        "Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}).data
    assert b"ZGVtby1rZXk=" not in meta and b"PartialObjectMetadataList" in meta


def test_api_resources_and_discovery_fallback(demo):
    _, kubeconfig = demo
    out = kubectl(kubeconfig, "api-resources").stdout
    assert any(line.split()[:2] == ["pods", "po"] for line in out.splitlines())
    assert "endpointslices" in out and "httproutes" in out
    assert "v1.32" in kubectl(kubeconfig, "version").stdout


@pytest.mark.slow
def test_the_new_gateway_api_kinds_are_served_as_a_cluster_serves_them(demo):
    """GRPCRoute (v1), TLSRoute (v1) and BackendTLSPolicy (v1) through discovery, list and get, as kubectl asks
    for them."""
    _, kubeconfig = demo
    out = kubectl(kubeconfig, "api-resources", "--api-group", "gateway.networking.k8s.io").stdout
    assert {"grpcroutes", "tlsroutes", "backendtlspolicies"} <= {line.split()[0] for line in out.splitlines()[1:]}
    _, grpc = rows(kubectl(kubeconfig, "get", "grpcroutes", "-A").stdout)
    _, tls = rows(kubectl(kubeconfig, "get", "tlsroutes.gateway.networking.k8s.io", "-n", "ops").stdout)
    assert "cart" in grpc and "vault" in tls
    route = json.loads(kubectl(kubeconfig, "get", "grpcroute", "-n", "shop", "cart", "-o", "json").stdout)
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"]["rules"][0]["matches"] == [{"method": {"service": "shop.v1.Cart"}}]
    assert kubectl(kubeconfig, "get", "backendtlspolicies", "-A").returncode == 0
