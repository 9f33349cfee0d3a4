"""Malformed and random objects never crash the core: store.load/apply, trace and checks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktrace.checks import run_checks
from ktrace.routing import rule_targets
from ktrace.store import ClusterStore
from ktrace.targets import Target
from ktrace.trace import trace

pytestmark = pytest.mark.slow  # hypothesis: hundreds of generated examples per test

KINDS = ["Pod", "Service", "EndpointSlice", "Ingress", "IngressClass", "Secret", "Deployment", "CronJob",
         "Namespace", "NetworkPolicy", "HTTPRoute"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.text(max_size=8),
                    st.sampled_from(["app", "web", "http", "Prefix", "Exact", "True", "None", "*.a.b", "a.b", "/"]))
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.sampled_from(
                                                             ["name", "port", "number", "service", "host", "path",
                                                              "pathType", "labels", "selector", "ports", "app",
                                                              "targetPort", "containerPort", "ready", "conditions",
                                                              "endpoints", "addresses", "rules", "http", "paths",
                                                              "backend", "tls", "secretName", "hosts", "status",
                                                              "containers", "type", "matchLabels", "template"]),
                                                             inner, max_size=4)), max_leaves=12)
metadata = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(["a", "web", "b"]), anything)},
                                 optional={"namespace": st.one_of(st.sampled_from(["x", "y"]), anything),
                                           "labels": st.one_of(st.dictionaries(st.sampled_from(["app", "App"]),
                                                                               scalars, max_size=2), anything),
                                           "annotations": anything, "ownerReferences": anything,
                                           "deletionTimestamp": anything})
objects = st.one_of(
    anything,
    st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "metadata": st.one_of(metadata, anything)},
                          optional={"spec": anything, "status": anything, "endpoints": anything, "ports": anything,
                                    "type": anything}),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(objects, max_size=12), st.lists(st.tuples(st.sampled_from(["ADDED", "MODIFIED", "DELETED", "x"]),
                                                          objects), max_size=6))
def test_core_never_raises(objs: list, events: list) -> None:
    store = ClusterStore(objs)
    for event_type, obj in events:
        store.apply(event_type, obj)
    store.replace("Pod", objs[:3], namespace="x")
    for live in (False, True):
        run_checks(store, live=live)
        for target in [*rule_targets(store), Target("a.b", "/"), Target("web", "/x")]:
            trace(store, target, live=live).to_dict()


def _scenario_objects() -> list[dict]:
    from pathlib import Path

    from ktrace.loader import load_paths
    from ktrace.sources.manifests import complete

    return complete(load_paths([str(Path(__file__).parent.parent / "scenarios")]).objects)


SCENARIO_OBJECTS = _scenario_objects()


def _leaves(obj: object, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _leaves(v, (*path, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _leaves(v, (*path, i))
    return out


def _replace(obj: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = dict(obj) if isinstance(obj, dict) else list(obj)  # type: ignore[call-overload]
    copy[path[0]] = _replace(copy[path[0]], path[1:], value)
    return copy


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_realistic_objects_with_one_field_of_the_wrong_type(data: st.DataObject) -> None:
    """Scenario objects, each example with a few fields anywhere in them replaced by junk."""
    objs = list(SCENARIO_OBJECTS)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(objs) - 1))
        path = data.draw(st.sampled_from(_leaves(objs[i])))
        objs[i] = _replace(objs[i], path, data.draw(anything))
    store = ClusterStore(objs)
    run_checks(store, live=True)
    for target in rule_targets(store):
        trace(store, target, live=False).to_dict()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_manifest_completion_survives_junk_fields(data: st.DataObject) -> None:
    """What the loader lets through (a kind and a name) may hold anything else: deriving template
    pods and EndpointSlices from it must not raise."""
    from ktrace.sources.manifests import complete

    objs = list(SCENARIO_OBJECTS)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(objs) - 1))
        # the loader guarantees a kind and a metadata.name; everything else may be junk
        leaves = [p for p in _leaves(objs[i]) if p not in ((), ("kind",), ("metadata",))
                  and p[:2] != ("metadata", "name")]
        path = data.draw(st.sampled_from(leaves))
        objs[i] = _replace(objs[i], path, data.draw(anything))
    ClusterStore(complete(objs))


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_target_parsing_fails_only_with_a_usage_error(text: str) -> None:
    from ktrace.errors import UsageError
    from ktrace.targets import parse_target

    try:
        t = parse_target(text)
    except UsageError as e:
        assert "malformed target" in str(e)
    else:
        assert t.path.startswith("/") and t.host == t.host.lower() and "?" not in t.path
        trace(ClusterStore(SCENARIO_OBJECTS), t, live=False)
