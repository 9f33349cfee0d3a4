"""Watches against the simulator over real HTTP: changes flow into the store, and after a server
outage, a forced 410 or a stream cut mid-event the store equals a fresh list again."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from ktrace.sim.handle import Simulator
from ktrace.sources.kubewatch import WatchTimeouts
from ktrace.sources.live import Change, LiveSource, open_live
from ktrace.store import ClusterStore
from tests.live.test_live_source import TLS, args, assert_read_only, cluster, fresh, pod, secret, snapshot

FAST = WatchTimeouts(connect=1.0, read=2.0, server=30, backoff_base=0.05, backoff_cap=0.3, stale_after=0.2)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


class Watching:
    def __init__(self, sim: Simulator, source: LiveSource, store: ClusterStore,
                 timeouts: WatchTimeouts = FAST) -> None:
        self.sim, self.source, self.store = sim, source, store
        self.changes: list[Change] = []
        self.watcher = source.watch(store, self.changes.append, timeouts)

    def in_sync(self) -> bool:
        with self.source.lock:
            return snapshot(self.store) == fresh(self.sim)

    def settle(self) -> None:
        wait_for(self.in_sync)
        assert snapshot(self.store) == fresh(self.sim)


@pytest.fixture
def watching(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Iterator[Watching]:
    sim = sim_factory(cluster(), bookmark_interval=0.2)
    source = open_live(args(sim.write_kubeconfig(tmp_path / "k")))
    w = Watching(sim, source, source.load())
    wait_for(lambda: w.watcher.status.state == "live" and len(sim.server.watchers) == len(w.watcher.streams))
    yield w
    source.close()


def test_changes_reach_the_store_and_only_gets_are_sent(watching: Watching) -> None:
    sim = watching.sim
    sim.apply(pod("team-a", "new", "web"))
    sim.patch("Pod", "team-a", "web-0", {"metadata": {"labels": {"app": "other"}}})
    sim.delete("Pod", "team-b", "web-2")
    sim.apply(secret("team-b", "fresh-cert", TLS))
    watching.settle()
    # Its type comes from the second (TLS-filtered) stream, which may lag the first by a moment.
    wait_for(lambda: getattr(watching.store.secret("team-b", "fresh-cert"), "type", None) == TLS)
    assert watching.store.get("Pod", "team-a", "web-0").meta.labels == {"app": "other"}
    seen = {(c.kind, c.type, c.namespace, c.name) for c in watching.changes}
    assert {("Pod", "ADDED", "team-a", "new"), ("Pod", "DELETED", "team-b", "web-2"),
            ("Secret", "ADDED", "team-b", "fresh-cert")} <= seen
    assert_read_only(sim)
    watches = [r for r in sim.requests if "watch=true" in r["query"]]
    assert all("allowWatchBookmarks=true" in r["query"] and "resourceVersion=" in r["query"] for r in watches)


def test_a_deferred_watch_queues_until_applied_once_per_object(sim_factory: Callable[..., Simulator],
                                                               tmp_path: Path) -> None:
    sim = sim_factory(cluster(), bookmark_interval=0.2)
    source = open_live(args(sim.write_kubeconfig(tmp_path / "k")))
    store = source.load()
    queued: list[Change] = []
    watcher = source.watch(store, queued.append, FAST, deferred=True)
    try:
        wait_for(lambda: watcher.status.state == "live" and len(sim.server.watchers) == len(watcher.streams))
        before = snapshot(store)
        for value in ("a", "b", "c"):
            sim.patch("Pod", "team-a", "web-0", {"metadata": {"labels": {"app": value}}})
        sim.delete("Pod", "team-b", "web-2")
        wait_for(lambda: sum(c.name == "web-0" for c in queued) == 3 and any(c.name == "web-2" for c in queued))
        assert snapshot(store) == before  # queued, not applied: the store is its owner's alone
        applied = source.apply_pending()
        assert [c for c in applied if c.name in ("web-0", "web-2")] == [
            Change("Pod", "MODIFIED", "team-a", "web-0"), Change("Pod", "DELETED", "team-b", "web-2")]
        assert store.get("Pod", "team-a", "web-0").meta.labels == {"app": "c"}  # once, with its last state
        wait_for(lambda: not source.apply_pending() and snapshot(store) == fresh(sim))  # the slices follow
    finally:
        source.close()


@pytest.mark.slow
def test_server_away_and_back(watching: Watching) -> None:
    sim = watching.sim
    sim.stop_serving()
    sim.apply(pod("team-a", "born-while-away", "web"))  # the cluster lives on while we cannot see it
    sim.delete("Pod", "team-a", "web-1")
    wait_for(lambda: watching.watcher.status.state == "stale")
    status = watching.watcher.status
    assert status.since is not None and status.since < time.time() and status.last_error
    assert not watching.in_sync()  # the last data is kept, marked stale
    sim.start()
    watching.settle()
    wait_for(lambda: watching.watcher.status.state == "live")


def test_forced_410_relists_and_removes_what_vanished(watching: Watching) -> None:
    sim = watching.sim
    sim.stop_serving()
    sim.delete("Pod", "team-b", "web-0")  # gone while we were away
    sim.delete("Secret", "team-a", "site")
    sim.compact()  # our resourceVersion is now too old: resuming gets 410
    sim.start()
    watching.settle()
    assert watching.watcher.relists >= 1
    assert watching.store.get("Pod", "team-b", "web-0") is None
    assert ("Pod", "RELIST") in {(c.kind, c.type) for c in watching.changes}


def test_410_event_on_an_open_watch(watching: Watching) -> None:
    sim = watching.sim
    sim.compact()  # open watches end with an ERROR 410 event
    sim.apply(pod("team-b", "after-compaction", "web"))
    watching.settle()
    assert watching.watcher.relists >= 1


def test_stream_cut_mid_event_resumes_without_loss_or_replay(watching: Watching) -> None:
    sim = watching.sim
    sim.apply(pod("team-a", "before-cut", "web"))
    wait_for(watching.in_sync)
    rv_before = int(sim.get("Pod", "team-a", "before-cut")["metadata"]["resourceVersion"])
    sim.clear_requests()
    assert sim.break_watches() == len(watching.watcher.streams)
    sim.apply(pod("team-a", "after-cut", "web"))
    watching.settle()
    resumed = [r for r in sim.requests if "watch=true" in r["query"] and r["path"].endswith("/pods")]
    assert resumed and int(parse_qs(resumed[0]["query"])["resourceVersion"][0]) >= rv_before
    added = [c.name for c in watching.changes if c.type == "ADDED"]
    assert added.count("before-cut") == 1 and added.count("after-cut") == 1
    assert any("broke" in message or "middle" in message for _, message in watching.watcher.errors)


def test_stop_ends_every_stream_quickly(watching: Watching) -> None:
    t0 = time.monotonic()
    watching.source.stop()
    assert time.monotonic() - t0 < 1.5
    assert not any(s.thread.is_alive() for s in watching.watcher.streams)
    assert watching.watcher.status.state == "stopped"


def test_namespace_scope_holds_for_watches(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(cluster(), bookmark_interval=0.2)
    source = open_live(args(sim.write_kubeconfig(tmp_path / "k"), namespace="team-b"))
    store = source.load()
    try:
        w = Watching(sim, source, store)
        sim.apply(pod("team-a", "elsewhere", "web"))
        sim.apply(pod("team-b", "here", "web"))

        def synced() -> bool:  # the new pod and the slice the simulator's controller updates for it
            with source.lock:
                return snapshot(store) == fresh(sim, "team-b")

        wait_for(synced)
        assert store.get("Pod", "team-b", "here") is not None
        assert store.get("Pod", "team-a", "elsewhere") is None
        watched = {r["path"] for r in sim.requests if "watch=true" in r["query"]}
        cluster_scoped = ("/namespaces", "/ingressclasses", "/gatewayclasses")
        assert watched and all("/namespaces/team-b/" in p or p.endswith(cluster_scoped) for p in watched)
        assert w.watcher.status.state == "live"
    finally:
        source.close()
