"""A stand-in ingress controller: it admits every Ingress whose class exists by writing a
load-balancer address into its status, as real controllers do. Without it every simulated
Ingress would look "not admitted", and `ingress-not-admitted` would mean nothing.

It reads the raw objects itself (not ktrace.model/ktrace.routing): the simulator is what the
analysis is tested against, so it must not share the analysis' reading of an Ingress.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

CLASS_ANNOTATION = "kubernetes.io/ingress.class"  # the class before spec.ingressClassName existed
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
MANAGER = "nginx-ingress-controller"  # the field manager of its status writes


def address_for(class_name: str) -> str:
    """A stable documentation-range address (203.0.113.0/24) per class."""
    return f"203.0.113.{int(hashlib.sha1(class_name.encode()).hexdigest(), 16) % 250 + 1}"


def _field(obj: object, *path: str) -> object:
    """obj[path[0]][path[1]]...; None where a level is missing or not a mapping."""
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def class_of(ingress: dict, classes: Iterable[dict]) -> str:
    """The IngressClass an Ingress belongs to: spec.ingressClassName, else the legacy
    annotation, else the class annotated as default (the first by name when several are);
    "" when none applies."""
    named = _text(_field(ingress, "spec", "ingressClassName")) or _text(
        _field(ingress, "metadata", "annotations", CLASS_ANNOTATION))
    if named:
        return named
    defaults = sorted(_text(_field(c, "metadata", "name")) for c in classes
                      if _field(c, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION) == "true")
    return next((name for name in defaults if name), "")


def admitted_status(ingress: dict, classes: Iterable[dict]) -> dict | None:
    """The status a controller would write, or None when no controller serves the class or the
    Ingress already carries an address."""
    status = ingress.get("status") or {}
    if (status.get("loadBalancer") or {}).get("ingress"):
        return None
    classes = list(classes)
    name = class_of(ingress, classes)
    if not name or name not in {_field(c, "metadata", "name") for c in classes}:
        return None
    return {**status, "loadBalancer": {"ingress": [{"ip": address_for(name)}]}}
