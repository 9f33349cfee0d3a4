"""A stand-in ingress controller: it admits every Ingress whose class exists by writing a
load-balancer address into its status, as real controllers do. Without it every simulated
Ingress would look "not admitted", and `ingress-not-admitted` would mean nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ktrace.model import Ingress, IngressClass, record_from_dict
from ktrace.routing import ingress_class


def address_for(class_name: str) -> str:
    """A stable documentation-range address (203.0.113.0/24) per class."""
    return f"203.0.113.{int(hashlib.sha1(class_name.encode()).hexdigest(), 16) % 250 + 1}"


def admitted_status(ingress: dict, classes: Iterable[dict]) -> dict | None:
    """The status a controller would write, or None when no controller serves the class or the
    Ingress already carries an address."""
    status = ingress.get("status") or {}
    if (status.get("loadBalancer") or {}).get("ingress"):
        return None
    record = record_from_dict(ingress)
    records = [r for r in (record_from_dict(c) for c in classes) if isinstance(r, IngressClass)]
    if not isinstance(record, Ingress):
        return None
    defaults = sorted(c.meta.name for c in records if c.is_default)
    ref = ingress_class(record, defaults[0] if defaults else "")
    if not ref.name or ref.name not in {c.meta.name for c in records}:
        return None
    return {**status, "loadBalancer": {"ingress": [{"ip": address_for(ref.name)}]}}
