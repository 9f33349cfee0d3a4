"""The simulator driven by the official kubernetes client over real HTTP: lists, selectors,
paging, watches (resume, bookmarks, 410, selector transitions), metadata-only secrets, auth."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
import urllib3
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from ktrace.sim.handle import Simulator

META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def pod(ns: str, name: str, labels: dict | None = None, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}], **spec}}


SELECTOR_PODS = [
    pod("sel", "web-1", {"app": "web", "tier": "front", "canary": "true"}),
    pod("sel", "web-2", {"app": "web", "tier": "front"}),
    pod("sel", "api-1", {"app": "api", "tier": "back"}),
    pod("sel", "db-1", {"app": "db"}),
]


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Simulator:
    sim = Simulator([
        *SELECTOR_PODS,
        pod("other", "lonely", {"app": "web"}, nodeName="sim-node-2"),
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
         "metadata": {"name": "site-tls", "namespace": "sel"}, "data": {"tls.key": "U0VDUkVULUtFWQ=="}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": "db-password", "namespace": "sel"}, "data": {"password": "U0VDUkVULVBX"}},
    ], bookmark_interval=0.2)
    sim.start()
    yield sim
    sim.stop()


def api_client(sim: Simulator, path, token: str | None = None) -> client.ApiClient:
    kubeconfig = sim.write_kubeconfig(path / "kubeconfig", token=token)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


@pytest.fixture
def core(shared: Simulator, tmp_path) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(shared, tmp_path))


def names(items) -> list[str]:
    return sorted(i.metadata.name for i in items)


@pytest.mark.slow
def test_list_pods_all_namespaces_validates_as_models(core: client.CoreV1Api):
    pods = core.list_pod_for_all_namespaces()
    assert pods.kind == "PodList" and pods.api_version == "v1"
    assert int(pods.metadata.resource_version) > 0
    assert names(pods.items) == ["api-1", "db-1", "lonely", "web-1", "web-2"]
    web = next(p for p in pods.items if p.metadata.name == "web-1")
    assert web.status.phase == "Running" and web.status.pod_ip.startswith("10.244.")
    assert web.metadata.uid and web.metadata.creation_timestamp is not None


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["web-1", "web-2"]),
    ("app==web", ["web-1", "web-2"]),
    ("app!=web", ["api-1", "db-1"]),
    ("tier in (front,back)", ["api-1", "web-1", "web-2"]),
    ("tier notin (front)", ["api-1", "db-1"]),
    ("canary", ["web-1"]),
    ("!tier", ["db-1"]),
    ("app=web,!canary", ["web-2"]),
])
def test_label_selector_operators(core: client.CoreV1Api, selector: str, expected: list[str]):
    assert names(core.list_namespaced_pod("sel", label_selector=selector).items) == expected


def test_bad_label_selector_is_400(core: client.CoreV1Api):
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("sel", label_selector="app in (web")
    assert err.value.status == 400
    assert orjson.loads(err.value.body)["reason"] == "BadRequest"


def test_field_selectors(core: client.CoreV1Api):
    assert names(core.list_pod_for_all_namespaces(field_selector="metadata.name=web-2").items) == ["web-2"]
    assert names(core.list_pod_for_all_namespaces(field_selector="metadata.namespace=other").items) == ["lonely"]
    assert names(core.list_pod_for_all_namespaces(field_selector="spec.nodeName=sim-node-2,"
                                                  "metadata.namespace!=sel").items) == ["lonely"]
    assert len(core.list_pod_for_all_namespaces(field_selector="status.phase=Running").items) == 5
    assert core.list_pod_for_all_namespaces(field_selector="status.phase=Pending").items == []
    tls = core.list_secret_for_all_namespaces(field_selector="type=kubernetes.io/tls")
    assert names(tls.items) == ["site-tls"]


def test_unsupported_field_selector_is_400_like_the_real_server(core: client.CoreV1Api):
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(field_selector="spec.containers=x")
    body = orjson.loads(err.value.body)
    assert err.value.status == 400 and body["kind"] == "Status"
    assert body["message"] == "field label not supported: spec.containers"


def test_paging_with_limit_and_continue(core: client.CoreV1Api):
    seen, token, pages = [], None, 0
    first = core.list_pod_for_all_namespaces(limit=2)
    assert first.metadata.remaining_item_count == 3
    while True:
        page = core.list_pod_for_all_namespaces(limit=2, _continue=token)
        pages += 1
        seen += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert pages == 3
    assert sorted(seen) == names(core.list_pod_for_all_namespaces().items)
    assert len(seen) == len(set(seen))


def test_expired_continue_token_is_410(shared: Simulator, core: client.CoreV1Api):
    first = core.list_pod_for_all_namespaces(limit=1)
    shared.apply(pod("paging", "bump"))  # move the resourceVersion past the token's
    shared.compact()
    with pytest.raises(ApiException) as err:
        core.list_pod_for_all_namespaces(limit=1, _continue=first.metadata._continue)
    body = orjson.loads(err.value.body)
    assert err.value.status == 410 and body["reason"] == "Expired" and body["code"] == 410
    shared.delete("Pod", "paging", "bump")


def watch_events(core: client.CoreV1Api, ns: str | None = None, **kwargs) -> list[dict]:
    """Every event of one watch request, until the server ends it (timeoutSeconds)."""
    kwargs.setdefault("timeout_seconds", 2)
    if ns is None:
        resp = core.list_pod_for_all_namespaces(watch=True, _preload_content=False, **kwargs)
    else:
        resp = core.list_namespaced_pod(ns, watch=True, _preload_content=False, **kwargs)
    return [orjson.loads(line) for line in iter_resp_lines(resp) if line]


@pytest.mark.slow
def test_watch_resumes_from_a_resource_version(shared: Simulator, core: client.CoreV1Api):
    rv = core.list_namespaced_pod("resume").metadata.resource_version
    shared.apply(pod("resume", "a", {"v": "1"}))
    shared.patch("Pod", "resume", "a", {"metadata": {"labels": {"v": "2"}}})
    shared.delete("Pod", "resume", "a")
    events = watch_events(core, "resume", resource_version=rv, timeout_seconds=1)
    assert [(e["type"], e["object"]["metadata"]["labels"]["v"]) for e in events] == [
        ("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions) and versions[0] > int(rv)
    # resuming from the middle gives only what came after
    later = watch_events(core, "resume", resource_version=str(versions[0]), timeout_seconds=1)
    assert [e["type"] for e in later] == ["MODIFIED", "DELETED"]


@pytest.mark.slow
def test_client_watch_helper_gets_validated_models(core: client.CoreV1Api):
    events = list(watch.Watch().stream(core.list_namespaced_pod, "sel", timeout_seconds=1))
    assert {e["type"] for e in events} == {"ADDED"}
    assert all(isinstance(e["object"], client.V1Pod) for e in events)
    assert sorted(e["object"].metadata.name for e in events) == ["api-1", "db-1", "web-1", "web-2"]


@pytest.mark.slow
def test_watch_without_version_starts_with_the_current_state(core: client.CoreV1Api):
    events = watch_events(core, "sel", timeout_seconds=1)
    assert {e["type"] for e in events} == {"ADDED"}
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["api-1", "db-1", "web-1", "web-2"]


@pytest.mark.slow
def test_bookmarks_carry_only_a_resource_version(shared: Simulator, core: client.CoreV1Api):
    rv = core.list_namespaced_pod("sel").metadata.resource_version
    events = watch_events(core, "sel", resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=1)
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(marks) >= 2  # every 0.2 s for 1 s
    assert marks[-1]["object"] == {"kind": "Pod", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": str(shared.resource_version)}}
    assert not [e for e in watch_events(core, "sel", resource_version=rv, timeout_seconds=1)
                if e["type"] == "BOOKMARK"]


@pytest.mark.slow
def test_bookmarks_never_skip_events_under_churn(shared: Simulator, core: client.CoreV1Api):
    shared.apply(pod("churn", "c", {"n": "0"}))
    rv = core.list_namespaced_pod("churn").metadata.resource_version
    result: list[dict] = []
    reader = threading.Thread(target=lambda: result.extend(
        watch_events(core, "churn", resource_version=rv, allow_watch_bookmarks=True, timeout_seconds=2)))
    reader.start()
    for i in range(1, 151):
        shared.patch("Pod", "churn", "c", {"metadata": {"labels": {"n": str(i)}}})
        time.sleep(0.005)
    reader.join(5)
    changes = [e for e in result if e["type"] == "MODIFIED"]
    assert [e["object"]["metadata"]["labels"]["n"] for e in changes] == [str(i) for i in range(1, 151)]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in result]
    assert versions == sorted(versions)  # a bookmark never runs ahead of an event sent after it
    assert any(e["type"] == "BOOKMARK" for e in result)


@pytest.mark.slow
def test_watch_timeout_seconds_ends_the_stream(core: client.CoreV1Api):
    start = time.monotonic()
    watch_events(core, "sel", resource_version=core.list_namespaced_pod("sel").metadata.resource_version,
                 timeout_seconds=1)
    assert 0.9 < time.monotonic() - start < 3


def test_too_old_resource_version_gives_an_error_event(shared: Simulator, core: client.CoreV1Api):
    old = core.list_namespaced_pod("sel").metadata.resource_version
    shared.apply(pod("expire", "x"))
    shared.compact()
    events = watch_events(core, "sel", resource_version=old)
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


@pytest.mark.slow
def test_compaction_during_a_watch_ends_it_with_410(shared: Simulator, core: client.CoreV1Api):
    rv = core.list_namespaced_pod("sel").metadata.resource_version
    result: list[dict] = []
    reader = threading.Thread(target=lambda: result.extend(
        watch_events(core, "sel", resource_version=rv, timeout_seconds=10)))
    reader.start()
    time.sleep(0.3)
    shared.compact()
    reader.join(5)
    assert not reader.is_alive()
    assert [e["type"] for e in result] == ["ERROR"] and result[0]["object"]["code"] == 410


@pytest.mark.slow
def test_object_leaving_the_selection_is_deleted_and_entering_is_added(shared: Simulator,
                                                                        core: client.CoreV1Api):
    shared.apply(pod("moves", "m", {"app": "web"}))
    rv = core.list_namespaced_pod("moves").metadata.resource_version
    shared.patch("Pod", "moves", "m", {"metadata": {"labels": {"app": "other"}}})
    shared.patch("Pod", "moves", "m", {"metadata": {"labels": {"app": "web", "x": "1"}}})
    events = watch_events(core, "moves", resource_version=rv, label_selector="app=web", timeout_seconds=1)
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    assert events[0]["object"]["metadata"]["labels"]["app"] == "web"  # its last matching state
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_secrets_as_metadata_only(shared: Simulator, core: client.CoreV1Api):
    resp = core.list_secret_for_all_namespaces(field_selector="type=kubernetes.io/tls", _preload_content=False,
                                               _headers={"Accept": META_LIST})
    raw = resp.data
    body = orjson.loads(raw)
    assert body["kind"] == "PartialObjectMetadataList"
    assert [i["metadata"]["name"] for i in body["items"]] == ["site-tls"]
    assert all(set(i) == {"kind", "apiVersion", "metadata"} for i in body["items"])
    assert b"U0VDUkVU" not in raw


def test_discovery_and_openapi_fallback(shared: Simulator, core: client.CoreV1Api):
    versions = client.VersionApi(core.api_client).get_code()
    assert versions.major == "1"
    groups = {g.name for g in client.ApisApi(core.api_client).get_api_versions().groups}
    assert {"apps", "discovery.k8s.io", "networking.k8s.io", "gateway.networking.k8s.io"} <= groups
    resources = {r.name: r for r in core.get_api_resources().resources}
    assert resources["pods"].namespaced and "watch" in resources["pods"].verbs
    assert resources["pods"].short_names == ["po"] and not resources["namespaces"].namespaced
    net = client.NetworkingV1Api(core.api_client).get_api_resources()
    assert {r.name for r in net.resources} >= {"ingresses", "ingressclasses", "networkpolicies"}
    # kubectl asks for these and falls back when they are missing, as on older servers
    assert urllib3.request("GET", shared.url + "/openapi/v3").status == 404


def test_request_log_records_verbs_and_accept(shared: Simulator, core: client.CoreV1Api):
    shared.clear_requests()
    core.list_secret_for_all_namespaces(_preload_content=False, _headers={"Accept": META_LIST})
    core.list_namespaced_pod("sel")
    log = shared.requests
    assert [(r["method"], r["path"]) for r in log] == [("GET", "/api/v1/secrets"),
                                                        ("GET", "/api/v1/namespaces/sel/pods")]
    assert log[0]["accept"] == META_LIST


def test_bearer_tokens_and_refusals(sim_factory, tmp_path):
    sim = sim_factory([pod("team-a", "p"), pod("team-b", "q")], tokens={"good-token"})
    bad = client.CoreV1Api(api_client(sim, tmp_path, token="expired-token"))
    with pytest.raises(ApiException) as err:
        bad.list_namespaced_pod("team-a")
    assert err.value.status == 401 and orjson.loads(err.value.body)["reason"] == "Unauthorized"

    good = client.CoreV1Api(api_client(sim, tmp_path, token="good-token"))
    assert names(good.list_pod_for_all_namespaces().items) == ["p", "q"]
    sim.forbid("Pod", namespaces=["team-b"])
    assert names(good.list_namespaced_pod("team-a").items) == ["p"]
    for call in (good.list_pod_for_all_namespaces, lambda: good.list_namespaced_pod("team-b")):
        with pytest.raises(ApiException) as err:
            call()
        assert err.value.status == 403
    body = orjson.loads(err.value.body)
    assert body["reason"] == "Forbidden"
    assert body["message"] == ('pods is forbidden: User "ktrace-sim" cannot list resource "pods" in API group "" '
                               'in the namespace "team-b"')
    sim.forbid("Secret")
    with pytest.raises(ApiException) as err:
        good.list_secret_for_all_namespaces()
    assert "at the cluster scope" in orjson.loads(err.value.body)["message"]
    sim.allow()
    assert len(good.list_pod_for_all_namespaces().items) == 2
    sim.set_tokens({"rotated-token"})  # the token expires
    with pytest.raises(ApiException) as err:
        good.list_pod_for_all_namespaces()
    assert err.value.status == 401


@pytest.mark.slow
def test_broken_watch_is_cut_mid_stream(shared: Simulator, core: client.CoreV1Api):
    rv = core.list_namespaced_pod("sel").metadata.resource_version
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.extend(watch_events(core, "sel", resource_version=rv, timeout_seconds=10))
            outcome.append("clean end")
        except Exception as e:  # the point: the client sees a broken stream, not a clean end
            outcome.append(e)

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(0.3)
    assert shared.break_watches() == 1
    reader.join(5)
    assert not reader.is_alive() and isinstance(outcome[-1], Exception)


def test_restart_on_the_same_port(shared: Simulator, core: client.CoreV1Api):
    port = shared.port
    shared.stop_serving()
    with pytest.raises(Exception):  # noqa: B017 - any connection failure will do
        core.list_namespaced_pod("sel", _request_timeout=1)
    shared.start()
    assert shared.port == port
    assert len(core.list_namespaced_pod("sel").items) == 4
