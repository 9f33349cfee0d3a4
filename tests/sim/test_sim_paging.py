"""The simulator's store lists in (namespace, name) order and reads a page from the middle of a list by
bisection: what a page holds, and what remains, match a full pass over the objects."""

from __future__ import annotations

import random

from ktrace.sim.state import Store


def pod(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}}


def keys(entries) -> list[tuple[str, str]]:
    return [(e.meta["namespace"], e.meta["name"]) for e in entries]


def test_pages_equal_a_full_sorted_pass_after_random_writes() -> None:
    rng = random.Random(7)
    store = Store()
    live: set[tuple[str, str]] = set()
    for _ in range(3000):
        key = (f"ns-{rng.randrange(6)}", f"p-{rng.randrange(400)}")
        if key in live and rng.random() < 0.4:
            store.remove("Pod", *key)
            live.discard(key)
        else:
            store.put(pod(*key))
            live.add(key)
    assert keys(store.entries("Pod")) == sorted(live)
    assert keys(store.entries("Pod", "ns-3")) == sorted(k for k in live if k[0] == "ns-3")
    assert keys(store.entries("Pod", "absent")) == []
    for after in [("ns-2", "p-17"), ("ns-2", ""), ("a", "x"), ("zz", "")]:
        assert keys(store.entries("Pod", None, after)) == sorted(k for k in live if k > after)
        assert keys(store.entries("Pod", "ns-2", after)) == sorted(k for k in live if k > after and k[0] == "ns-2")
        assert store.count_after("Pod", None, after) == sum(k > after for k in live)
        assert store.count_after("Pod", "ns-2", after) == sum(k > after and k[0] == "ns-2" for k in live)


def test_writes_while_listing_neither_repeat_nor_break_the_list() -> None:
    """The controllers write while a list is read (one event loop, but a generator spans writes)."""
    store = Store()
    for i in range(1000):
        store.put(pod("a", f"p-{i:04d}"))
    seen = []
    for n, entry in enumerate(store.entries("Pod")):
        seen.append(entry.meta["name"])
        if n == 10:
            store.remove("Pod", "a", "p-0500")  # ahead of the reader: not listed
            store.put(pod("a", "p-0000x"))  # behind it: not listed again, nothing repeated
    assert len(seen) == len(set(seen)) == 999
    assert "p-0500" not in seen and "p-0000x" not in seen
