"""The simulator keeps `metadata.managedFields` as an API server does, and `ktrace trace` reads the last change
of every hop from them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from ktrace.cli import main
from ktrace.sim.handle import Simulator
from tests.live.test_live_source import cluster
from tests.sim.test_sim_kubectl import KUBECTL, kubectl

RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def entries(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e.get("subresource", "")): e for e in obj["metadata"]["managedFields"]}


def test_each_write_stamps_its_managers_entry_and_keeps_the_others(sim: Simulator) -> None:
    """ManagedFieldsEntry: `manager` "is an identifier of the workflow managing these fields", `operation` "is
    the type of operation which lead to this ManagedFieldsEntry being created. The only valid values for this
    field are 'Apply' and 'Update'", `time` "is the timestamp of when the ManagedFields entry was added",
    `fieldsType` "The only valid value is \"FieldsV1\""."""
    sim.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    sim.patch("Service", "shop", "web", {"spec": {"selector": {"app": "web2"}}}, manager="kubectl-edit")
    sim.patch("Service", "shop", "web", {"spec": {"selector": {"app": "web3"}}}, manager="kubectl-edit")
    got = entries(sim.get("Service", "shop", "web"))
    assert set(got) == {("kubectl-client-side-apply", ""), ("kubectl-edit", "")}  # one entry per manager
    edit = got[("kubectl-edit", "")]
    assert edit["operation"] == "Update" and edit["apiVersion"] == "v1" and edit["fieldsType"] == "FieldsV1"
    assert RFC3339_SECONDS.match(edit["time"]) and "f:spec" in edit["fieldsV1"]


def test_the_controllers_write_under_their_own_names(sim: Simulator) -> None:
    sim.load(cluster())
    pod = sim.list("Pod", "team-a")[0]
    slice_ = sim.list("EndpointSlice", "team-a")[0]
    ingress = sim.get("Ingress", "team-a", "web")
    assert ("kube-controller-manager", "") in entries(slice_)
    assert ("kubectl-client-side-apply", "") in entries(pod)
    sim.call(sim.cluster.set_pod_ready, "team-a", pod["metadata"]["name"], False)
    assert ("kubelet", "status") in entries(sim.get("Pod", "team-a", pod["metadata"]["name"]))
    assert ("kubectl-client-side-apply", "") in entries(ingress)


@pytest.mark.slow
@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_names_the_field_manager_and_trace_reports_it(sim_factory: Callable[..., Simulator], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl's `--field-manager`: "Name of the manager used to track field ownership"; without it kubectl
    patch writes as `kubectl-patch`. `--show-managed-fields` prints them."""
    sim = sim_factory(cluster())
    kc = str(sim.write_kubeconfig(tmp_path / "k"))
    kubectl(kc, "-n", "team-a", "patch", "service", "web", "--field-manager", "kubectl-edit",
            "-p", '{"spec":{"selector":{"app":null,"App":"web"}}}')
    kubectl(kc, "-n", "team-a", "label", "pod", sim.list("Pod", "team-a")[0]["metadata"]["name"], "tier=web")
    shown = kubectl(kc, "-n", "team-a", "get", "service", "web", "-o", "yaml", "--show-managed-fields").stdout
    assert "manager: kubectl-edit" in shown and "operation: Update" in shown
    assert "managedFields" not in kubectl(kc, "-n", "team-a", "get", "service", "web", "-o", "yaml").stdout
    pods = json.loads(kubectl(kc, "-n", "team-a", "get", "pods", "-o", "json", "--show-managed-fields").stdout)
    assert any(e["manager"] == "kubectl-label" for p in pods["items"] for e in p["metadata"]["managedFields"])
    code = main(["trace", "team-a.example.com", "--kubeconfig", kc, "-o", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the selector App=web matches no pod
    service = next(h for h in out["hops"] if h["kind"] == "Service")
    assert service["lastChange"]["manager"] == "kubectl-edit"
    assert RFC3339_SECONDS.match(service["lastChange"]["time"])
    assert out["changes"] == []  # a one-shot trace has seen no change
