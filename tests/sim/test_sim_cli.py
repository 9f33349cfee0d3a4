"""`ktrace sim` as a user runs it: a subprocess serving the online-boutique manifests, then
kubectl and the official client against it; and its one-line errors."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from kubernetes import client, config

from ktrace.sim import endpointslices

pytestmark = pytest.mark.slow  # each runs ktrace-sim in a subprocess

BOUTIQUE = Path("/work/shared/real-world/online-boutique")
if not BOUTIQUE.exists():  # the copy kept with the tests
    BOUTIQUE = Path(__file__).parent.parent / "scenarios" / "online-boutique"
MANIFESTS = BOUTIQUE / "kubernetes-manifests.yaml"
KUBECTL = shutil.which("kubectl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ktrace(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ktrace", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


@pytest.fixture(scope="module")
def boutique(tmp_path_factory):
    if not MANIFESTS.exists():
        pytest.skip("online-boutique manifests are not available")
    kubeconfig = tmp_path_factory.mktemp("cli") / "kubeconfig"
    port = free_port()
    proc = ktrace("sim", "-f", str(MANIFESTS), "--port", str(port), "--write-kubeconfig", str(kubeconfig))
    banner = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"ktrace sim exited: {proc.stderr.read()}")
        banner.append(line)
        if line.startswith("Ctrl-C"):
            break
    yield proc, port, kubeconfig, "".join(banner)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0


def test_banner_names_the_kubeconfig_and_a_kubectl_example(boutique):
    _, port, kubeconfig, banner = boutique
    assert f"http://127.0.0.1:{port}" in banner
    assert f"kubeconfig: {kubeconfig}" in banner
    assert f"kubectl --kubeconfig {kubeconfig} get pods -A -o wide" in banner


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_sees_a_running_boutique(boutique):
    _, _, kubeconfig, _ = boutique
    out = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", f"{kubeconfig}.cache",
                          "get", "pods", "-A", "-o", "wide"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = [line.split() for line in out.stdout.strip().splitlines()]
    assert lines[0][:6] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    pods = lines[1:]
    deployments = {d for d in ("frontend", "cartservice", "redis-cart", "checkoutservice", "adservice")}
    assert deployments <= {p[1].rsplit("-", 2)[0] for p in pods}
    assert all(p[2] == "1/1" and p[3] == "Running" and p[6].startswith("10.244.") and p[7].startswith("sim-node-")
               for p in pods)


def test_served_slices_match_the_controller_computation(boutique):
    _, _, kubeconfig, _ = boutique
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    api = client.ApiClient(cfg)
    core, disco = client.CoreV1Api(api), client.DiscoveryV1Api(api)

    def items(call) -> list[dict]:  # raw dicts, as a real cluster sends them
        return orjson.loads(call(_preload_content=False).data)["items"]

    pods, services = items(core.list_pod_for_all_namespaces), items(core.list_service_for_all_namespaces)
    served = items(disco.list_endpoint_slice_for_all_namespaces)
    want = [s for svc in services for s in endpointslices.compute_slices(svc, pods)]
    assert len(want) == len(served) >= 10
    key = lambda s: s["metadata"]["name"]  # noqa: E731
    for have, expected in zip(sorted(served, key=key), sorted(want, key=key), strict=True):
        assert (have["metadata"]["name"], have["endpoints"], have["ports"]) == (
            expected["metadata"]["name"], expected["endpoints"], expected["ports"])
    frontend = next(s for s in served if s["metadata"]["labels"][endpointslices.SERVICE_NAME_LABEL] == "frontend")
    assert frontend["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert frontend["endpoints"][0]["conditions"]["ready"] is True


def test_busy_port_is_one_clear_line(sim):
    proc = ktrace("sim", "--port", str(sim.port))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.strip() == f"ktrace: port {sim.port} is in use: choose another with --port, or 0 for a free one"


def test_malformed_yaml_and_unknown_kinds(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n")
    proc = ktrace("sim", "-f", str(bad))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and err.startswith(f"ktrace: {bad}:") and "Traceback" not in err

    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: settings}\n---\n"
                     "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x}]\n"
                     "---\nkind: Service\nmetadata:\n  name: [unclosed\n")  # one bad document: the rest is served
    proc = ktrace("sim", "-f", str(mixed), "--write-kubeconfig", str(tmp_path / "kc"),
                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "serving 1 pods" in first
    assert "ResourceQuota settings: kind not used by ktrace, skipped" in err
    assert f"ktrace sim: {mixed}:14:1: did not find expected ',' or ']'" in err  # where the flow list ends
