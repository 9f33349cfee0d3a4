"""A misbehaving API server, simulated: data that goes back in time (a restore, another cluster at the
same address), 429/503 with Retry-After, and the live source never silently wrong about it."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ktrace.cli import main
from ktrace.errors import SourceError
from ktrace.sim.handle import Simulator
from ktrace.sources.kubeapi import Retries
from ktrace.sources.live import LIVE_KINDS, SCOPED_ENTRY, LiveSource, open_live
from tests.live.test_live_source import args, cluster, fresh, pod, service, snapshot
from tests.live.test_live_watch import FAST, Watching, wait_for


def crowded(pods: int) -> list[dict]:
    """The small cluster plus `pods` pods behind team-a's web Service."""
    return cluster() + [pod("team-a", f"extra-{i}", "web") for i in range(pods)]


def restored(selector: str = "shop") -> list[dict]:
    """What the server holds after the restore: the extra pods gone, selectors changed."""
    objs = [o for o in cluster() if not o["metadata"]["name"].startswith("web-2")]
    return [service(o["metadata"]["namespace"], "web", selector) if o["kind"] == "Service" else o for o in objs]


@pytest.fixture
def watched(sim_factory: Callable[..., Simulator], tmp_path: Path) -> Iterator[Callable[..., Watching]]:
    sources: list[LiveSource] = []

    def start(objects: list[dict], timeouts=FAST) -> Watching:
        sim = sim_factory(objects, bookmark_interval=0.2)
        source = open_live(args(sim.write_kubeconfig(tmp_path / "k")))
        sources.append(source)
        w = Watching(sim, source, source.load(), timeouts)
        wait_for(lambda: w.watcher.status.state == "live" and len(sim.server.watchers) == len(w.watcher.streams))
        return w

    yield start
    for source in sources:
        source.close()


@pytest.mark.slow
@pytest.mark.parametrize("ignores_future_rv", [False, True], ids=["504-too-large", "versions-go-back"])
def test_a_server_restored_with_other_data_is_listed_again(watched: Callable[..., Watching],
                                                           ignores_future_rv: bool) -> None:
    """After an etcd restore the apiserver answers a watch from a version it never reached with 504
    ResourceVersionTooLarge; a server that does not streams versions older than ours. Either way every
    kind is listed again: the store equals a fresh list, without the 100 pods that are gone."""
    w = watched(crowded(100))
    sim = w.sim
    before = sim.resource_version
    sim.faults.ignores_future_rv = ignores_future_rv
    sim.restart_with(restored())
    assert sim.resource_version < before  # the premise: the restored data is older than what we saw
    w.settle()
    assert w.store.count("Pod") == 4 and w.store.service("team-a", "web").selector == {"app": "shop"}
    assert w.watcher.relists >= len(w.watcher.streams)
    wait_for(lambda: w.watcher.status.state == "live")
    sim.apply(pod("team-b", "after-restore", "shop"))  # and it is watched again from the new versions
    w.settle()


@pytest.mark.slow
def test_back_after_an_outage_longer_than_the_watch_timeout_lists_again(watched: Callable[..., Watching]) -> None:
    """Another cluster came back at the address with more history than ours: resuming would replay its
    events and never delete what it does not have. Down for longer than the watch timeout: list again."""
    w = watched(crowded(20), dataclasses.replace(FAST, server=1))
    sim = w.sim
    before = sim.resource_version
    sim.restart_with(restored() + [pod("team-b", f"new-{i}", "shop") for i in range(60)], downtime=1.5)
    assert sim.resource_version > before  # no 504, no version going back: only the outage tells
    w.settle()
    assert w.store.get("Pod", "team-a", "extra-0") is None


@pytest.mark.slow
def test_watches_honour_retry_after(watched: Callable[..., Watching]) -> None:
    """16 streams told to come back in 2 s make about one request each in that time, not a backoff storm
    (honoured up to the backoff cap)."""
    w = watched(cluster(), dataclasses.replace(FAST, backoff_cap=5.0))
    sim = w.sim
    streams = len(w.watcher.streams)
    sim.busy(2.0, status=429, retry_after=2)
    sim.clear_requests()
    sim.break_watches()
    wait_for(lambda: w.watcher.status.state != "live")
    wait_for(lambda: w.watcher.status.state == "live", timeout=8)
    refused = [r for r in sim.requests if "watch=true" in r["query"]]
    assert len(refused) <= 3 * streams  # backing off from 0.05 s without it: ~10 each
    sim.apply(pod("team-a", "after-the-spell", "web"))
    w.settle()


@pytest.mark.slow
@pytest.mark.parametrize("status", [429, 503])
def test_the_first_list_is_retried_while_the_server_is_busy(sim_factory: Callable[..., Simulator],
                                                            tmp_path: Path, status: int) -> None:
    sim = sim_factory(cluster())
    source = open_live(args(sim.write_kubeconfig(tmp_path / "k")))
    sim.busy(0.6, status=status, retry_after=1)
    assert snapshot(source.load()) == fresh(sim)
    source.close()


def test_a_server_busy_for_too_long_is_one_line(sim_factory: Callable[..., Simulator], tmp_path: Path) -> None:
    sim = sim_factory(cluster())
    source = open_live(args(sim.write_kubeconfig(tmp_path / "k")))
    source.api.retries = Retries(attempts=3, base=0.05, longest=0.1)
    sim.busy(30, status=503, retry_after=3600)  # honoured up to `longest`, three times in all
    with pytest.raises(SourceError) as e:
        source.load()
    source.close()
    message = str(e.value)
    assert "answered 503 Service Unavailable listing" in message and "\n" not in message
    plural = message.split(" listing ")[1].split(":")[0]
    assert sum(r["path"].endswith(f"/{plural}") for r in sim.requests) == 3  # three tries of the kind that failed


@pytest.mark.slow
@pytest.mark.parametrize("command", [["check"], ["trace", "team-a.example.com"]])
def test_a_trickling_server_meets_the_deadline_in_one_line(sim_factory: Callable[..., Simulator], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str],
                                                           command: list[str]) -> None:
    """One byte every half second never trips a read timeout; the command's deadline ends it."""
    sim = sim_factory(cluster())
    kubeconfig = sim.write_kubeconfig(tmp_path / "k", context="slow")
    sim.trickle(0.5)
    started = time.monotonic()
    assert main([*command, "--kubeconfig", str(kubeconfig), "--timeout", "1.5"]) == 2
    assert time.monotonic() - started < 5  # the deadline, not the server, decided
    err = capsys.readouterr().err
    assert err.startswith(f"ktrace: gave up after 1.5 s (--timeout): context slow ({sim.url}) was still sending ")
    if command == ["check"]:
        assert "pods" in err and f" of {len(LIVE_KINDS)} kinds read)" in err and err.count("\n") == 1
    else:  # a trace reads the kinds paths start from first, then only what the path needs
        assert "ingresses" in err and f" of {len(SCOPED_ENTRY)} lists read)" in err and err.count("\n") == 1


@pytest.mark.slow
def test_check_retries_a_busy_first_list(sim_factory: Callable[..., Simulator], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory(cluster())
    kubeconfig = sim.write_kubeconfig(tmp_path / "k")
    sim.busy(0.5, status=503, retry_after=1)
    assert main(["check", "--kubeconfig", str(kubeconfig), "-o", "json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["summary"]["objects"]["Pod"] == 6


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_timeout_takes_seconds(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--demo", f"--timeout={value}"]) == 2
    assert "--timeout takes seconds" in capsys.readouterr().err
