"""Label selectors: the string syntax of `?labelSelector=` and the structured
`matchLabels`/`matchExpressions` form, reduced to one list of requirements."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# ops: "=" (also "=="), "!=", "in", "notin", "exists", "!"
_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\))?\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$")


class SelectorError(ValueError):
    """A selector string that the API server would reject."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match objects without the key, as in Kubernetes
        return not present or labels[self.key] not in self.values


Selector = tuple[Requirement, ...]


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def parse(text: str) -> Selector:
    """Parse `app=web,tier in (a,b),!canary` into requirements."""
    if not text.strip():
        return ()
    reqs: list[Requirement] = []
    for part in _split_top_level(text):
        if m := _EQ_RE.match(part):
            key, op, value = m.groups()
            reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
        elif m := _SET_RE.match(part):
            bang, key, set_op, values = m.groups()
            if set_op:
                if bang:
                    raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
                vals = tuple(v.strip() for v in values.split(",") if v.strip())
                reqs.append(Requirement(key, set_op, vals))
            else:
                reqs.append(Requirement(key, "!" if bang else "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
    return tuple(reqs)


_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def from_label_selector(sel: Mapping | None) -> Selector:
    """A structured LabelSelector (`matchLabels`, `matchExpressions`). Unknown operators
    raise SelectorError; an empty selector selects everything."""
    if not sel:
        return ()
    reqs = [Requirement(str(k), "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    for expr in sel.get("matchExpressions") or []:
        op = _EXPR_OPS.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"unknown selector operator {expr.get('operator')!r}")
        reqs.append(Requirement(str(expr.get("key", "")), op, tuple(str(v) for v in expr.get("values") or ())))
    return tuple(reqs)


def from_match_labels(labels: Mapping[str, str] | None) -> Selector:
    """A Service-style selector: a plain map, every pair must match."""
    return tuple(Requirement(str(k), "=", (str(v),)) for k, v in (labels or {}).items())


def matches(selector: Selector, labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in selector)


def text(selector: Selector) -> str:
    """The selector in `?labelSelector=` syntax (what `parse` reads)."""
    parts = []
    for r in selector:
        if r.op in ("=", "!="):
            parts.append(f"{r.key}{r.op}{r.values[0]}")
        elif r.op in ("in", "notin"):
            parts.append(f"{r.key} {r.op} ({','.join(r.values)})")
        else:
            parts.append(r.key if r.op == "exists" else f"!{r.key}")
    return ",".join(parts)
