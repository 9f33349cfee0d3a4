"""Findings: what a check reports about one object. Each is made by its rule (ktrace.rules); the
catalog of codes is in ktrace.checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "error")
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: str
    kind: str
    namespace: str
    name: str
    message: str
    hint: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "object": {"kind": self.kind, "namespace": self.namespace or None, "name": self.name},
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }


FindingId = tuple[str, str, str, str, str]  # code, kind, namespace, name, message


def finding_id(f: Finding) -> FindingId:
    """A finding as a path and the whole check both report it (their messages may word details differently)."""
    return (f.code, f.kind, f.namespace, f.name, f.message)


def sort_key(f: Finding) -> tuple:
    return (-f.rank, f.code, f.namespace, f.kind, f.name, f.message)


def at_least(findings: list[Finding], min_severity: str) -> list[Finding]:
    floor = SEVERITY_RANK.get(min_severity, 0)
    return [f for f in findings if f.rank >= floor]
