"""What part of the cluster a store holds, and what an analysis over it asked for beyond that.

One path needs one namespace's Services, slices and pods, not the whole cluster (at 60,000 pods: about
a second instead of twenty). A scoped store starts with the kinds every trace begins from; each read
the analysis makes through the store is compared with what was loaded, and a read that reaches
beyond it is noted as a `Read`. The caller loads those reads and traces again, until a trace asks for
nothing new. The answer is then the one a store of the whole cluster gives: every object the analysis
looked at, and every absence it relied on, was loaded in full.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ktrace.selectors import Selector


@dataclass(frozen=True, slots=True)
class Read:
    """Every `kind` object of `namespace` (None: of every namespace; "" for a cluster-scoped kind),
    or only those whose labels match `selector` (empty: all of them), or only those named `name`."""
    kind: str
    namespace: str | None
    selector: Selector = ()
    name: str = ""

    def covers(self, other: Read) -> bool:
        """Whether every object `other` reads is among this read's: a selector with fewer requirements
        (they are ANDed) selects more."""
        return (self.kind == other.kind and (self.namespace is None or self.namespace == other.namespace)
                and set(self.selector) <= set(other.selector) and self.name in ("", other.name))


class Coverage:
    """The reads a store holds in full, and those an analysis asked for beyond them."""

    def __init__(self, loaded: Iterable[Read] = ()) -> None:
        self._loaded: dict[str, list[Read]] = defaultdict(list)
        self._missing: dict[Read, None] = {}  # insertion order: the order the analysis asked in
        self.add(loaded)

    def add(self, reads: Iterable[Read]) -> None:
        """These reads are now held in full (loaded, or known to be empty)."""
        for read in reads:
            self._loaded[read.kind].append(read)
            self._missing.pop(read, None)

    def holds(self, read: Read) -> bool:
        return any(r.covers(read) for r in self._loaded.get(read.kind, ()))

    def need(self, read: Read) -> None:
        """The analysis reads this: noted when the store does not hold it."""
        if read not in self._missing and not self.holds(read):
            self._missing[read] = None

    def take_missing(self) -> list[Read]:
        """The first read asked for and not held since the last call (or none). Only the first: what
        the analysis asked after it may rest on that read's objects being absent (no Service found, so
        it looked for the name in every namespace, and for similar names), and is asked again if still
        needed. Loading more than needed would never change the answer, only its cost."""
        first = next(iter(self._missing), None)
        self._missing.clear()
        return [first] if first is not None else []
