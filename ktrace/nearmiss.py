"""Near misses for a Service selector that matches nothing: which pods (or pod templates) almost
match, and exactly how each label differs.

Per selector label the candidate's labels are compared as: exact; key differs only in case
(`App` vs `app`); key differs only in its prefix (`app.kubernetes.io/name` vs `name`); value
differs only in case; a typo (edit distance <= 2, and less than half of the word so `db` is not a
typo of `ui`); missing; different value. A key that is off may have a value that is off too (`App:
web` vs `app: Web`): both differences count and are named. A candidate is a near miss when
every difference is close (case or typo), or when exactly one of N >= 2 labels is missing or
different and the others match. Candidates are ranked by how little would need to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# cost of each kind of difference: the ranking of candidates
_COST = {"key-case": 1, "value-case": 1, "key-typo": 2, "key-prefix": 2, "value-typo": 2, "missing": 5,
         "value-differs": 5}
_WHY = {
    "key-case": "key differs in case",
    "value-case": "value differs in case",
    "key-typo": "key looks like a typo",
    "key-prefix": "key differs in its prefix",
    "value-typo": "value looks like a typo",
    "missing": "label missing",
    "value-differs": "value differs",
}
_FAR = frozenset({"missing", "value-differs"})


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Levenshtein distance, giving up (returning limit + 1) once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def is_typo(a: str, b: str) -> bool:
    d = edit_distance(a, b)
    return 0 < d <= 2 and d * 2 < max(len(a), len(b))


def near_key(key: str, selector_key: str) -> bool:
    """Whether a label key could stand for the selector's key in `compare`: the same, or off by case, a
    typo or its prefix."""
    return (key == selector_key or key.lower() == selector_key.lower() or is_typo(key, selector_key)
            or key.rpartition("/")[2] == selector_key.rpartition("/")[2])


def near_value(value: str, selector_value: str) -> bool:
    """Whether a label value is close enough for a near miss: the same, or off by case or a typo."""
    return value == selector_value or value.lower() == selector_value.lower() or is_typo(value, selector_value)


@dataclass(frozen=True, slots=True)
class LabelDiff:
    kind: str  # a key of _WHY
    selector_key: str
    selector_value: str
    label_key: str = ""  # the candidate's key ("" when missing)
    label_value: str = ""
    value_kind: str = ""  # a key that is off may have a value off too: "value-case" or "value-typo" ("": same)

    @property
    def cost(self) -> int:
        return _COST[self.kind] + (_COST[self.value_kind] if self.value_kind else 0)

    @property
    def why(self) -> str:
        return _WHY[self.kind] + (f", and {_WHY[self.value_kind].replace('value ', 'its value ')}"
                                  if self.value_kind else "")

    def describe(self) -> str:
        if self.kind == "missing":
            return f"no {self.selector_key} label ({self.why})"
        return f"{self.label_key}={self.label_value} ({self.why})"

    def to_dict(self) -> dict:
        out = {"difference": self.kind, "selector": f"{self.selector_key}={self.selector_value}",
               "label": f"{self.label_key}={self.label_value}" if self.label_key else None,
               "explanation": self.why}
        if self.value_kind:
            out["valueDifference"] = self.value_kind
        return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """Pods with identical labels grouped by their owner, or a workload's pod template."""
    name: str  # "ReplicaSet web-7d9f", "Pod web-1", "Deployment web (template)"
    labels: Mapping[str, str]
    count: int = 1
    pods: tuple[str, ...] = ()  # the names of the pods (none for a workload's template with no pod)


@dataclass(frozen=True, slots=True)
class NearMiss:
    candidate: Candidate
    diffs: tuple[LabelDiff, ...]
    matched: int  # selector labels matched exactly
    cost: int

    def describe(self) -> str:
        what = "; ".join(d.describe() for d in self.diffs)
        count = f" ({self.candidate.count})" if self.candidate.count > 1 else ""
        return f"{self.candidate.name}{count} {'have' if self.candidate.count > 1 else 'has'} {what}"

    def to_dict(self) -> dict:
        return {"candidate": self.candidate.name, "count": self.candidate.count, "matched": self.matched,
                "differences": [d.to_dict() for d in self.diffs]}


def _compare(key: str, value: str, labels: Mapping[str, str], used: set[str]) -> LabelDiff | None:
    if key in labels:
        got = labels[key]
        used.add(key)
        if got == value:
            return None
        kind = "value-case" if got.lower() == value.lower() else "value-typo" if is_typo(got, value) else \
            "value-differs"
        return LabelDiff(kind, key, value, key, got)
    # The key itself is off: same key in another case first, then a typo of it.
    others = [k for k in labels if k not in used]
    same_case = [k for k in others if k.lower() == key.lower()]
    typos = sorted((k for k in others if is_typo(k, key)), key=lambda k: (edit_distance(k, key), k))
    # `app.kubernetes.io/name` vs `name`, `example.com/tier` vs `example.org/tier`
    prefixed = [k for k in others if k != key and k.rpartition("/")[2] == key.rpartition("/")[2]]
    near = [(k, kind) for k, kind in [*((k, "key-case") for k in same_case), *((k, "key-typo") for k in typos),
                                      *((k, "key-prefix") for k in prefixed)] if near_value(labels[k], value)]
    if not near:
        return LabelDiff("missing", key, value)
    # The closest: a key whose value is the selector's beats one whose value is off too.
    diffs = [LabelDiff(kind, key, value, k, labels[k], _value_kind(labels[k], value)) for k, kind in near]
    best = min(diffs, key=lambda d: d.cost)  # min keeps the first of equals: the order above
    used.add(best.label_key)
    return best


def _value_kind(got: str, value: str) -> str:
    """How a near value differs from the selector's ("" when it does not)."""
    return "" if got == value else "value-case" if got.lower() == value.lower() else "value-typo"


def compare(selector: Mapping[str, str], labels: Mapping[str, str]) -> tuple[list[LabelDiff], int]:
    used: set[str] = set()
    # Exact keys first so a case twin does not steal a key that matches outright.
    order = sorted(selector, key=lambda k: k not in labels)
    diffs = [d for k in order if (d := _compare(k, selector[k], labels, used)) is not None]
    return diffs, len(selector) - len(diffs)


def could_miss(selector: Mapping[str, str], key: str, value: str) -> bool:
    """Whether a candidate with label key=value might be a near miss of `selector`. Every near miss has such
    a label: a selector label matched exactly (all but one far difference are exact), or one all of whose
    differences are close. So only candidates holding one need comparing (see `checks.service.candidates`)."""
    return any(near_key(key, k) and near_value(value, v) for k, v in selector.items())


def near_misses(selector: Mapping[str, str], candidates: list[Candidate], limit: int = 5) -> list[NearMiss]:
    """The candidates that almost match `selector`, closest first."""
    found = []
    n = len(selector)
    for cand in candidates:
        diffs, matched = compare(selector, cand.labels)
        if not diffs:
            continue  # an exact match is not a near miss
        far = sum(d.kind in _FAR for d in diffs)
        if far > 1 or (far == 1 and (n < 2 or matched != n - 1)):
            continue
        cost = sum(d.cost for d in diffs)
        found.append(NearMiss(cand, tuple(diffs), matched, cost))
    found.sort(key=lambda m: (m.cost, -m.candidate.count, m.candidate.name))
    return found[:limit]
