"""Rules: a finding code with its default severity, its one-line description (the README's table and
`ktrace check --help` show them) and the kinds of object it reads from the store.

Codes never change meaning once published: users grep for them and suppress them. A rule whose kinds
could not be read (`store.unreadable`; the source said so with a `source-kind-unreadable` note) is
skipped rather than calling everything of those kinds missing. `readable` is the one place that asks
`store.unreadable`: check functions declare their rules with `@produces`, which skips them there.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ParamSpec

from ktrace.findings import SEVERITIES, Finding

if TYPE_CHECKING:
    from ktrace.store import ClusterStore


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: str
    description: str
    needs: tuple[str, ...] = ()  # kinds read from the store

    def finding(self, kind: str, namespace: str, name: str, message: str, hint: str = "",
                severity: str | None = None, **details: Any) -> Finding:
        """A Finding of this rule, at its severity unless one is given."""
        return Finding(self.code, severity or self.severity, kind, namespace, name, message, hint, details)

    def needing(self, *kinds: str) -> Rule:
        """The rule for one branch of its check that reads more kinds (not registered: one code, one rule)."""
        return replace(self, needs=self.needs + kinds)


_REGISTERED: dict[str, Rule] = {}


def register(r: Rule) -> Rule:
    """Adds a rule to the catalog, which lists the rules in the order they are registered."""
    if r.code in _REGISTERED or r.severity not in SEVERITIES:
        raise ValueError(f"rule {r.code!r}: already registered, or unknown severity {r.severity!r}")
    _REGISTERED[r.code] = r
    return r


def registered() -> dict[str, Rule]:
    return dict(_REGISTERED)


def readable(store: ClusterStore, *kinds: str) -> bool:
    """Whether the source could read every one of `kinds`."""
    return store.unreadable.isdisjoint(kinds)


def applies(store: ClusterStore, r: Rule) -> bool:
    return readable(store, *r.needs)


P = ParamSpec("P")
PRODUCERS: list[tuple[Callable[..., list[Finding]], tuple[Rule, ...]]] = []  # every check function, its rules


def produces(*rules: Rule) -> Callable[[Callable[P, list[Finding]]], Callable[P, list[Finding]]]:
    """Declares the rules a check function's findings belong to. The function (store first) is skipped
    when none of them applies; when only some do, the others' findings are dropped (a check tells what
    it can; about an unreadable kind it would wrongly say "missing")."""
    def declare(fn: Callable[P, list[Finding]]) -> Callable[P, list[Finding]]:
        PRODUCERS.append((fn, rules))
        if not any(r.needs for r in rules):
            return fn
        if next(iter(inspect.signature(fn).parameters)) != "store":
            raise TypeError(f"{fn.__qualname__}: a check whose rules need kinds takes the store first")

        @functools.wraps(fn)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> list[Finding]:
            store: ClusterStore = args[0] if args else kwargs["store"]  # type: ignore[assignment]
            usable = {r.code for r in rules if applies(store, r)}
            if not usable:
                return []
            found = fn(*args, **kwargs)
            return found if len(usable) == len(rules) else [f for f in found if f.code in usable]
        return guarded
    return declare
