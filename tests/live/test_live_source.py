"""The live source against the simulator over real HTTP: what is read, from which context and
namespaces, what happens when access is refused, and that only GETs and no Secret data are sent."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ktrace.errors import SourceError
from ktrace.options import SourceSpec
from ktrace.sim.handle import Simulator
from ktrace.sources.live import LIVE_KINDS, LiveSource, open_live
from ktrace.sources.protocol import label
from ktrace.store import ClusterStore

TLS = "kubernetes.io/tls"


def pod(ns: str, name: str, app: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]}}


def service(ns: str, name: str, app: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}}


def ingress(ns: str, name: str, host: str, svc: str, tls: str | None = None) -> dict:
    spec: dict = {"rules": [{"host": host, "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": svc, "port": {"number": 80}}}}]}}]}
    if tls:
        spec["tls"] = [{"hosts": [host], "secretName": tls}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def secret(ns: str, name: str, type_: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": type_, "metadata": {"name": name, "namespace": ns},
            "data": {"key": "U0VDUkVULURBVEE="}}


def cluster(prefix: str = "") -> list[dict]:
    objs: list[dict] = []
    for ns in ("team-a", "team-b"):
        objs += [pod(ns, f"{prefix}web-{i}", "web") for i in range(3)]
        objs += [service(ns, f"{prefix}web", "web"), ingress(ns, f"{prefix}web", f"{ns}.example.com", "web", "site")]
        objs += [secret(ns, "site", TLS), secret(ns, "db-password", "Opaque")]
    return objs


def args(kubeconfig: str | Path | None = None, **kw: object) -> SourceSpec:
    return SourceSpec(kubeconfig=str(kubeconfig) if kubeconfig else None, **kw)


def snapshot(store: ClusterStore) -> dict[tuple[str, str, str], str]:
    return {(k.kind, r.meta.namespace, r.meta.name): r.meta.resource_version
            for k in LIVE_KINDS for r in store.objects(k.kind)}


def fresh(sim: Simulator, namespace: str | None = None) -> dict[tuple[str, str, str], str]:
    """What a fresh list of every kind returns, straight from the simulator's state."""
    out = {}
    for k in LIVE_KINDS:
        for obj in sim.list(k.kind):
            m = obj["metadata"]
            ns = m.get("namespace", "")
            if namespace is None or not k.namespaced or ns == namespace:
                out[(k.kind, ns, m["name"])] = m["resourceVersion"]
    return out


def assert_read_only(sim: Simulator) -> None:
    requests = sim.requests
    assert requests
    assert {r["method"] for r in requests} == {"GET"}
    for r in requests:
        if "/secrets" in r["path"] or "/configmaps" in r["path"]:  # only ever as metadata: no data on the wire
            assert "as=PartialObjectMetadata" in r["accept"], r


@pytest.fixture
def served(sim_factory: Callable[..., Simulator], tmp_path: Path) -> tuple[Simulator, Path]:
    sim = sim_factory(cluster())
    return sim, sim.write_kubeconfig(tmp_path / "kubeconfig", namespace="team-a")


def test_all_namespaces_equals_a_fresh_list_and_knows_tls_secrets(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served
    source = open_live(args(kubeconfig))
    store = source.load()
    assert snapshot(store) == fresh(sim)
    assert store.secret("team-b", "site").type == TLS
    assert store.secret("team-b", "db-password").type != TLS
    assert source.notes == [] and store.unreadable == set()
    assert label(source) == f"context ktrace-sim ({sim.url}), all namespaces"
    assert_read_only(sim)
    source.close()


def test_every_namespace_unless_n_names_one_whatever_the_context_says(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served  # the context's namespace is team-a: one scope rule ignores it, as the TUI always did
    store = open_live(args(kubeconfig)).load()
    assert snapshot(store) == fresh(sim)
    sim.clear_requests()
    store = open_live(args(kubeconfig, namespace="team-b")).load()
    assert snapshot(store) == fresh(sim, "team-b")
    cluster_scoped = ("/namespaces", "/ingressclasses", "/gatewayclasses")
    discovery = ("/v1", "/v1beta1")  # which version of the Gateway API kinds the server serves
    namespaced = [r["path"] for r in sim.requests if not r["path"].endswith(cluster_scoped + discovery)]
    assert namespaced and all("/namespaces/team-b/" in p for p in namespaced)


def test_kubeconfig_with_two_files_uses_the_first_current_context(sim_factory: Callable[..., Simulator],
                                                                  tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = sim_factory(cluster("one-")), sim_factory(cluster("two-"))
    k1 = first.write_kubeconfig(tmp_path / "one", context="one")
    k2 = second.write_kubeconfig(tmp_path / "two", context="two")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(k1), str(k2)]))
    store = open_live(args()).load()
    assert snapshot(store) == fresh(first)
    other = open_live(args(context="two"))
    assert snapshot(other.load()) == fresh(second)
    assert other.describe().startswith("context two (")
    assert second.requests and all(r["method"] == "GET" for r in second.requests)


def test_forbidden_secrets_become_a_note_not_an_error(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served
    sim.forbid("Secret")
    source = open_live(args(kubeconfig))
    store = source.load()
    assert store.unreadable == {"Secret"}
    assert [(n.code, n.severity, n.kind) for n in source.notes] == [("source-kind-unreadable", "info", "Secret")]
    assert "cannot list secrets" in source.notes[0].message and "TLS checks skipped" in source.notes[0].message
    assert store.count("Pod") == 6  # everything else was read


def test_cluster_wide_refusal_falls_back_to_the_context_namespace(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served
    sim.forbid("Pod", namespaces=["team-b"])  # a namespace-scoped role: cluster-wide lists are refused too
    source = open_live(args(kubeconfig))
    store = source.load()
    assert {p.meta.namespace for p in store.pods()} == {"team-a"}
    assert source.partial == {"Pod": ("team-a",)}
    assert store.count("Service") == 2  # other kinds still cluster-wide...
    # ...so team-b's services would select pods that were merely not read: pod checks are skipped.
    assert "Pod" in store.unreadable
    assert len(source.notes) == 1
    assert source.notes[0].message.startswith("cannot list pods in all namespaces: only namespace team-a is read; "
                                              "checks that need them are skipped")


def test_namespace_scoped_access_everywhere_is_one_note(served: tuple[Simulator, Path]) -> None:
    """A user bound to one namespace: cluster-scoped kinds refused, the rest read in that namespace."""
    sim, kubeconfig = served
    for kind in LIVE_KINDS:
        sim.forbid(kind.kind, namespaces=["team-b"])
    source = open_live(args(kubeconfig))  # every namespace it may
    store = source.load()
    assert snapshot(store) == {k: v for k, v in fresh(sim, "team-a").items() if k[0] not in ("Namespace",)}
    assert store.unreadable == {"Namespace", "IngressClass", "GatewayClass"}
    partial = [n.message for n in source.notes if "all namespaces" in n.message]
    assert len(partial) == 1 and "pods" in partial[0] and "secrets" in partial[0]
    assert len(source.notes) == 4  # one per cluster-scoped kind, one for the rest


def test_a_kind_refused_in_the_namespace_asked_for(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served
    sim.forbid("Service", namespaces=["team-b"])
    source = open_live(args(kubeconfig, namespace="team-b"))
    store = source.load()
    assert store.unreadable == {"Service"}
    assert source.notes[0].namespace == "team-b"
    assert "cannot list services in namespace team-b" in source.notes[0].message


def test_everything_refused_is_one_error_line(served: tuple[Simulator, Path]) -> None:
    sim, kubeconfig = served
    for kind in LIVE_KINDS:
        sim.forbid(kind.kind)
    with pytest.raises(SourceError) as e:
        open_live(args(kubeconfig)).load()
    assert "may not list anything ktrace reads" in str(e.value) and "\n" not in str(e.value)


def test_rejected_credentials_name_the_context(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(cluster(), tokens={"good-token"})
    kubeconfig = sim.write_kubeconfig(tmp_path / "k", token="expired-token", context="prod-eu")
    with pytest.raises(SourceError) as e:
        open_live(args(kubeconfig)).load()
    message = str(e.value)
    assert "401" in message and "'prod-eu'" in message and "log in again" in message and "\n" not in message
    good = sim.write_kubeconfig(tmp_path / "good", token="good-token")
    assert open_live(args(good)).load().count("Pod") == 6


def test_unreachable_server_is_one_line(tmp_path: Path, sim_factory: Callable[..., Simulator]) -> None:
    sim = sim_factory()
    kubeconfig = sim.write_kubeconfig(tmp_path / "k", context="gone")
    sim.stop_serving()  # the port is closed now
    with pytest.raises(SourceError) as e:
        open_live(args(kubeconfig)).load()
    assert str(e.value) == f"cannot reach the API server at {sim.url} (context 'gone'): connection refused"


@pytest.mark.slow
def test_slow_server_times_out_with_one_line(tmp_path: Path) -> None:
    """A server that accepts the connection and never answers (a stuck proxy)."""
    import socket

    from ktrace.sources.kubeconfig import resolve_context

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text(f"""
apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: stuck, context: {{cluster: c, user: u}}}}]
current-context: stuck
""")
    try:
        source = LiveSource(resolve_context(str(kubeconfig), None), None, read_timeout=0.3)
        with pytest.raises(SourceError) as e:
            source.load()
    finally:
        listener.close()
    assert "context 'stuck'" in str(e.value) and "read timed out" in str(e.value) and "\n" not in str(e.value)


def test_exec_credential_plugin_runs_through_the_client(sim_factory: Callable[..., Simulator],
                                                        tmp_path: Path) -> None:
    sim = sim_factory(cluster(), tokens={"from-plugin"})
    plugin = tmp_path / "plugin.py"
    plugin.write_text('import json; print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", '
                      '"kind": "ExecCredential", "status": {"token": "from-plugin"}}))\n')
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text(yaml.safe_dump({
        "clusters": [{"name": "c", "cluster": {"server": sim.url}}],
        "users": [{"name": "u", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                                                  "command": sys.executable, "args": [str(plugin)]}}}],
        "contexts": [{"name": "sso", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "sso"}))
    assert open_live(args(kubeconfig)).load().count("Pod") == 6
