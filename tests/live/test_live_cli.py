"""`ktrace check` and `ktrace trace` against a live cluster give the findings `-f` gives on the same
manifests (the simulator serves them), apart from what only a live cluster can know; and the CLI
turns a connection failure into one line and exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import yaml

from ktrace.cli import main
from ktrace.loader import load_paths
from ktrace.sim.handle import Simulator
from tests.live.test_live_source import cluster

SCENARIOS = Path(__file__).parent.parent / "scenarios"
EXPECTATIONS = yaml.safe_load((SCENARIOS / "expectations.yaml").read_text())
# Files hold no secrets or ingress classes unless they say so: -f reports those kinds unreadable.
SOURCE_NOTES = {"source-kind-unreadable", "source-document-skipped"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def keys(findings: list[dict], ignore: set[str], graded: set[str]) -> set[tuple]:
    """`graded`: codes whose severity and words depend on what the cluster serves (compared by object only)."""
    return {(f["code"], f["object"]["kind"], f["object"]["namespace"], f["object"]["name"],
             *(() if f["code"] in graded else (f["severity"], f["message"])))
            for f in findings if f["code"] not in ignore}


def hops(path: dict, with_status: bool) -> list[tuple]:
    """Ingress and Service hops: slices and pods are named by the cluster, computed offline."""
    return [(h["kind"], h["namespace"], h["name"], h["status"] if with_status else "") for h in path["hops"]
            if h["kind"] in ("Ingress", "Service")]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_live_check_and_trace_match_the_files(name: str, sim_factory: Callable[..., Simulator], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = str(SCENARIOS / name)
    expected = EXPECTATIONS[name]
    sim = sim_factory(load_paths([path]).objects)
    kubeconfig = str(sim.write_kubeconfig(tmp_path / "k"))
    ignore = SOURCE_NOTES | set(expected.get("live_only", []))
    graded = set(expected.get("live_graded", []))

    file_code, file_doc = run(["check", "-A", "-o", "json", "-f", path], capsys)
    live_code, live_doc = run(["check", "-A", "-o", "json", "--kubeconfig", kubeconfig], capsys)
    assert keys(live_doc["findings"], ignore, graded) == keys(file_doc["findings"], ignore, graded)
    # An error only a live status (or the cluster's served kinds) tells fails the live check alone.
    live_errors = any(f["severity"] == "error" and f["code"] in {*expected.get("live_only", []), *graded}
                      for f in live_doc["findings"])
    assert live_code == max(file_code, int(live_errors))

    for target in expected.get("traces", {}):
        _, file_path = run(["trace", target, "-o", "json", "-f", path], capsys)
        _, live_path = run(["trace", target, "-o", "json", "--kubeconfig", kubeconfig], capsys)
        assert keys(live_path["findings"], ignore, graded) == keys(file_path["findings"], ignore, graded), target
        # Hop statuses differ only where a live-only finding (no load-balancer address yet) applies.
        assert hops(live_path, not expected.get("live_only")) == hops(file_path, not expected.get("live_only"))
    assert {r["method"] for r in sim.requests} == {"GET"}


def test_connection_failure_is_one_line_and_exit_2(sim_factory: Callable[..., Simulator], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory()
    kubeconfig = str(sim.write_kubeconfig(tmp_path / "k", context="lab"))
    sim.stop_serving()
    assert main(["check", "-A", "--kubeconfig", kubeconfig]) == 2
    err = capsys.readouterr().err
    assert err == f"ktrace: cannot reach the API server at {sim.url} (context 'lab'): connection refused\n"


@pytest.mark.parametrize("kind", ["Pod", "Service", "EndpointSlice", "Secret"])
@pytest.mark.parametrize("refused_in", [None, ["team-b"]], ids=["everywhere", "outside-team-a"])
def test_a_refused_kind_is_an_info_never_a_false_missing(
        kind: str, refused_in: list[str] | None, sim_factory: Callable[..., Simulator], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    sim = sim_factory(cluster())  # healthy: every backend, selector and TLS secret resolves
    kubeconfig = str(sim.write_kubeconfig(tmp_path / "k", namespace="team-a"))
    sim.forbid(kind, namespaces=refused_in)  # team-b refused: readable in team-a only
    _, doc = run(["check", "-A", "-o", "json", "--kubeconfig", kubeconfig], capsys)
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []
    notes = [f for f in doc["findings"] if f["code"] == "source-kind-unreadable"]
    assert len(notes) == 1 and notes[0]["severity"] == "info"
    assert (notes[0]["details"].get("kinds") or [notes[0]["object"]["kind"]]) == [kind]


def test_page_size_is_the_limit_of_every_list_and_pages_add_up(sim_factory: Callable[..., Simulator],
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`--page-size N` is each list request's `limit`; following `continue` the pages give what one page gives."""
    sim = sim_factory(load_paths([str(SCENARIOS / "selector-near-miss.yaml")]).objects)
    kubeconfig = str(sim.write_kubeconfig(tmp_path / "k"))
    _, whole = run(["check", "-A", "-o", "json", "--kubeconfig", kubeconfig], capsys)
    sim.clear_requests()
    _, paged = run(["check", "-A", "-o", "json", "--kubeconfig", kubeconfig, "--page-size", "1"], capsys)
    lists = [parse_qs(r["query"]) for r in sim.requests if "limit=" in r["query"]]  # not discovery, not watches
    assert len(lists) > 10 and all(q["limit"] == ["1"] for q in lists)
    assert any("continue" in q for q in lists)  # a kind with more than one object took several pages
    assert paged["findings"] == whole["findings"]
