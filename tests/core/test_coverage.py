"""A scoped store (ktrace.coverage) notes every read an analysis makes beyond what it holds, and
a trace repeated until it notes nothing gives the whole store's answer."""

from __future__ import annotations

from ktrace.coverage import Coverage, Read
from ktrace.selectors import from_match_labels, matches, parse
from ktrace.store import ClusterStore
from ktrace.trace import trace
from tests.live.test_live_source import cluster


def test_a_read_covers_what_selects_no_more_than_it() -> None:
    web, web_prod = parse("app=web"), parse("app=web,tier=prod")
    assert Read("Pod", None).covers(Read("Pod", "a", web))
    assert Read("Pod", "a").covers(Read("Pod", "a", web, "x"))
    assert Read("Pod", "a", web).covers(Read("Pod", "a", web_prod))  # requirements are ANDed
    assert not Read("Pod", "a", web_prod).covers(Read("Pod", "a", web))
    assert not Read("Pod", "a").covers(Read("Pod", None))
    assert not Read("Pod", "a").covers(Read("Pod", "b"))
    assert not Read("Pod", "a").covers(Read("Service", "a"))
    assert not Read("Pod", "a", name="x").covers(Read("Pod", "a", name="y"))


def test_only_the_first_missing_read_is_taken_the_rest_may_rest_on_its_absence() -> None:
    c = Coverage([Read("Namespace", None)])
    c.need(Read("Namespace", ""))  # held
    c.need(Read("Service", "a", name="web"))
    c.need(Read("Service", None, name="web"))  # "does it exist elsewhere?": asked only because it was not found
    assert c.take_missing() == [Read("Service", "a", name="web")]
    assert c.take_missing() == []
    c.add([Read("Service", "a")])
    c.need(Read("Service", "a", name="web"))
    assert c.take_missing() == []


def load(store: ClusterStore, full: ClusterStore, read: Read) -> None:
    """What a source does for a read: the objects of the whole store that the read selects."""
    objs = [r for r in full.objects(read.kind) if (read.namespace is None or r.meta.namespace == read.namespace)
            and matches(read.selector, r.meta.labels) and read.name in ("", r.meta.name)]
    for r in objs:
        store.apply_record("ADDED", r)
    assert store.coverage is not None
    store.coverage.add([read])


def test_tracing_until_nothing_is_missing_gives_the_whole_stores_path_from_a_fraction_of_it() -> None:
    full = ClusterStore(cluster())
    store = ClusterStore()
    store.coverage = Coverage()
    rounds = 0
    while True:
        path = trace(store, "team-a.example.com", live=True)
        missing = store.coverage.take_missing()
        if not missing:
            break
        for read in missing:
            load(store, full, read)
        rounds += 1
    assert path.to_dict() == trace(full, "team-a.example.com", live=True).to_dict()
    assert rounds < 15
    assert not list(store.objects("Pod", "team-b")) and store.count("Secret", "team-a") == 1  # site, not db-password


def test_store_reads_name_what_they_need() -> None:
    store = ClusterStore(cluster())
    store.coverage = Coverage()
    store.pods_matching("team-a", {"app": "web"})
    assert store.coverage.take_missing() == [Read("Pod", "team-a", from_match_labels({"app": "web"}))]
    store.slices_for("team-a", "web")
    assert store.coverage.take_missing() == [Read("EndpointSlice", "team-a",
                                                  from_match_labels({"kubernetes.io/service-name": "web"}))]
    assert store.get("Pod", "team-a", "web-0") is not None
    assert store.coverage.take_missing() == []  # an object that is there needs no read to be believed
    store.get("Pod", "team-a", "gone")
    assert store.coverage.take_missing() == [Read("Pod", "team-a", name="gone")]
    store.namespaces_with("Secret", "site")
    assert store.coverage.take_missing() == [Read("Secret", None, name="site")]
