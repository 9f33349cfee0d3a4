"""The simulator admits Ingresses whose class exists, as a running ingress controller would."""

from ktrace.sim.handle import Simulator
from ktrace.sim.ingress_controller import class_of


def ingress(ns: str, name: str, cls: str | None = None, annotation: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if annotation:
        meta["annotations"] = {"kubernetes.io/ingress.class": annotation}
    spec: dict = {"rules": [{"host": f"{name}.example", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    if cls:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


def ingress_class(name: str, default: bool = False) -> dict:
    meta: dict = {"name": name}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": meta,
            "spec": {"controller": f"example.com/{name}"}}


def address(sim: Simulator, ns: str, name: str) -> list:
    return ((sim.get("Ingress", ns, name).get("status") or {}).get("loadBalancer") or {}).get("ingress") or []


def test_admission_follows_the_class(sim: Simulator) -> None:
    sim.apply(ingress_class("nginx"))
    sim.apply(ingress("a", "by-spec", cls="nginx"))
    sim.apply(ingress("a", "by-annotation", annotation="nginx"))
    sim.apply(ingress("a", "unknown-class", cls="traefik"))
    sim.apply(ingress("a", "no-class"))
    assert address(sim, "a", "by-spec") and address(sim, "a", "by-spec") == address(sim, "a", "by-annotation")
    assert address(sim, "a", "unknown-class") == []
    assert address(sim, "a", "no-class") == []

    sim.apply(ingress_class("traefik", default=True))  # a controller arrives: waiting Ingresses get admitted
    assert address(sim, "a", "unknown-class")
    assert address(sim, "a", "no-class") == address(sim, "a", "unknown-class") != address(sim, "a", "by-spec")


def test_class_precedence_on_raw_objects() -> None:
    classes = [ingress_class("b", default=True), ingress_class("a", default=True), ingress_class("c")]
    both = ingress("a", "both", cls="c", annotation="b")
    assert class_of(both, classes) == "c"  # spec.ingressClassName wins over the annotation
    assert class_of(ingress("a", "legacy", annotation="b"), classes) == "b"
    assert class_of(ingress("a", "none"), classes) == "a"  # several defaults: the first by name
    assert class_of(ingress("a", "none"), [ingress_class("c")]) == ""
    # fields of the wrong shape read as absent (the simulator stores what it is given)
    odd = {"kind": "Ingress", "metadata": {"name": "odd", "annotations": ["x"]}, "spec": {"ingressClassName": 3}}
    assert class_of(odd, [*classes, {"metadata": "broken"}]) == "a"
