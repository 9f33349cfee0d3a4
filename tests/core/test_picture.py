"""The pictures (`trace -o mermaid|dot|svg`, `check -o mermaid|dot`): the graph's structure, the syntax of
what is emitted (a checker of the Mermaid subset ktrace writes, always; the official Mermaid parser and
Graphviz's `dot` when installed), and names from a hostile cluster that must not break either syntax."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ktrace.cli import main
from ktrace.picture import MAX_PATHS, dot, mermaid, path_graph, problem_graphs
from ktrace.requestpath import (
    ENDPOINTS,
    INGRESS,
    PODS,
    SERVICE,
    Hop,
    HopStatus,
    PathStatus,
    RequestPath,
    ServiceDetail,
    Split,
)
from ktrace.sources.manifests import ManifestSource
from ktrace.trace import trace
from tests.hostile import ALL, HOST, PAYLOADS, Payload, hidden_in, write

TESTS = Path(__file__).parent.parent
GOLDEN = TESTS / "golden" / "picture"
PARSER = TESTS / "picture"  # npm install --prefix tests/picture: the official parser, for a dev machine
# What a label may not hold raw in Mermaid (quotes end it, `#...;` is an entity, `<>&` are HTML, a
# backquote starts Markdown, a pipe ends an edge label); in DOT, a quote not escaped.
SYNTAX_HOSTILE = '"<script>|#quot;]`&end\\N'


def _path(name: str, target: str) -> RequestPath:
    return trace(ManifestSource([str(TESTS / "scenarios" / name)]).load(), target, live=False)


def _labels(text: str) -> dict[str, str]:
    """Mermaid node id -> its label, `<br/>` as newlines."""
    return {m[1]: m[2].replace("<br/>", "\n") for m in re.finditer(r'^\s*(\w+)\(?\["(.*)"\]\)?$', text, re.M)}


# -- a checker of the Mermaid ktrace writes ----------------------------------------------------------

_STRING = r'"(?:[^"<>|`&#]|#\w+;|<br/>)*"'  # a label: no raw quote, pipe, backquote, `&`, `<`/`>` but <br/>
_LINE = re.compile("|".join([
    r"flowchart LR",
    rf"  subgraph p\d+\[{_STRING}\]", r"    direction LR", r"  end",
    rf"\s+\w+\[{_STRING}\]", rf"\s+\w+\(\[{_STRING}\]\)",  # a node, a start node
    rf"\s+\w+ -->(\|{_STRING}\|)? \w+",  # an edge, maybe labelled
    r"  classDef (ok|warning|error|unknown) [\w:#,\- ]+", r"  class [\w,]+ (ok|warning|error|unknown)",
]))


def check_mermaid(text: str) -> None:
    """Each line is one statement of the subset; an edge joins defined nodes; every node has a class
    (its colour) and its verdict in words."""
    defined: set[str] = set()
    classed: set[str] = set()
    for line in text.splitlines():
        assert _LINE.fullmatch(line), f"not Mermaid ktrace writes: {line!r}"
        if m := re.fullmatch(r'\s+(\w+)\(?\[".*', line):
            assert m[1] not in defined, f"node {m[1]} defined twice"
            defined.add(m[1])
        elif m := re.fullmatch(r"\s+(\w+) -->(?:\|.*\|)? (\w+)", line):
            assert {m[1], m[2]} <= defined, f"edge to an undefined node: {line!r}"
        elif m := re.fullmatch(r"  class ([\w,]+) \w+", line):
            classed |= set(m[1].split(","))
    assert defined - {"more"} <= classed
    for label in _labels(text).values():
        assert re.search(r"[✓!✗?] (ok|warning|error|unknown|degraded|broken)", label) or "more" in label


# -- structure ----------------------------------------------------------------------------------------

def test_a_split_puts_each_backends_weight_on_its_edge() -> None:
    """HTTPRoute `backendRefs[].weight`: "the proportion of requests forwarded to the referenced backend";
    the picture says it on the edge into each backend, not in its box."""
    g = path_graph(_path("gateway-healthy.yaml", "store.gw.example.com"))
    labels = {e.label for e in g.edges if e.label}
    assert labels == {"weight 90 (90%)", "weight 10 (10%)"}
    assert not any("weight" in line for n in g.nodes for line in n.lines)


def test_many_pods_of_a_slice_are_one_node_with_the_ready_count_and_a_lone_pod_keeps_its_name() -> None:
    g = path_graph(_path("readiness.yaml", "flaky.example.com"))
    pods = [n for n in g.nodes if n.lines[0].endswith("Pods")]
    assert len(pods) == 1 and pods[0].lines[0] == "4 Pods" and pods[0].status == "warning"
    assert "1 of 4 ready" in " ".join(pods[0].lines)
    one = path_graph(_path("gateway-healthy.yaml", "store.gw.example.com"))
    assert any(n.lines[0] == "Pod" for n in one.nodes)


def test_networkpolicy_hops_gate_the_way_from_the_slice_to_the_pods() -> None:
    g = path_graph(_path("netpol-egress.yaml", "deny.egress.example.com"))
    kind = {n.id: n.lines[0] for n in g.nodes}
    chain = [(kind[e.source], kind[e.target]) for e in g.edges if not e.source.endswith("t")]
    assert ("EndpointSlice", "NetworkPolicy") in chain and ("NetworkPolicy", "Pod") in chain
    assert ("EndpointSlice", "Pod") not in chain
    gate = next(n for n in g.nodes if n.lines[0] == "NetworkPolicy")
    assert gate.status == "error" and any("✗ error: egress" in line for line in gate.lines)


def test_an_ingress_and_a_gateway_entry_both_start_from_the_request(tmp_path: Path) -> None:
    """Both entry points serve the host: two edges leave the request, and one to each entry point's front door
    (which stands beside it); the HTTPRoute hangs under its Gateway, not beside it."""
    write(tmp_path, "", host="www.example.com")
    path = trace(ManifestSource([str(tmp_path)]).load(), "www.example.com", live=False)
    g = path_graph(path)
    kind = {n.id: n.lines[0] for n in g.nodes}
    assert sorted(kind[e.target] for e in g.edges if e.source == "t") == ["Gateway", "GatewayDataPlane", "Ingress",
                                                                          "IngressController"]
    assert ("Gateway", "HTTPRoute") in {(kind[e.source], kind[e.target]) for e in g.edges}
    check_mermaid(mermaid([g]))


def test_a_hop_of_a_kind_the_picture_does_not_know_is_drawn_from_its_generic_fields() -> None:
    hops = [Hop("FrontDoor", "edge", "lb-1", HopStatus.ERROR, ["no ready controller pod"], INGRESS),
            Hop("Ingress", "shop", "web", HopStatus.OK, [], INGRESS),
            Hop("Service", "shop", "web", HopStatus.OK, [], SERVICE,
                ServiceDetail(80, None, 8080, "ClusterIP", {"app": "web"}, split=Split(1, 1.0))),
            Hop("EndpointSlice", "shop", "web-x", HopStatus.UNKNOWN, [], ENDPOINTS),
            Hop("Pod", "shop", "web-1", HopStatus.OK, ["ready"], PODS)]
    g = path_graph(RequestPath("shop.example.com", "shop.example.com", "/", PathStatus.BROKEN, hops))
    door = next(n for n in g.nodes if n.lines[0] == "FrontDoor")
    assert door.status == "error" and door.lines[1:] == ("edge/lb-1", "✗ error: no ready controller pod")
    assert {e.label for e in g.edges} == {""}  # a weight of 100%: no split to tell
    check_mermaid(mermaid([g]))


def test_check_draws_at_most_max_paths_broken_ones_first_and_says_how_many_more() -> None:
    broken = _path("readiness.yaml", "down.example.com")
    degraded = _path("readiness.yaml", "flaky.example.com")
    ok = _path("healthy.yaml", "shop.example.com")
    graphs, more = problem_graphs([degraded, ok] + [broken] * (MAX_PATHS + 4))
    assert len(graphs) == MAX_PATHS and more == 5  # the degraded one is the 30th: left out
    assert all(g.status == "error" for g in graphs)
    text = mermaid(graphs, more)
    assert "... and 5 more" in text and text.count("  subgraph ") == MAX_PATHS
    check_mermaid(text)
    assert mermaid(*problem_graphs([ok])) == "flowchart LR\n" + "\n".join(
        line for line in mermaid([path_graph(ok)], 0).splitlines() if line.startswith("  classDef")) + "\n"


def test_a_path_that_nothing_routes_draws_why() -> None:
    g = path_graph(_path("healthy.yaml", "nothing.example.com"))
    none = next(n for n in g.nodes if n.lines[0] == "no route")
    assert none.status == "error" and len(none.lines) > 1
    check_mermaid(mermaid([g]))


# -- syntax, golden files and hostile names --------------------------------------------------------

@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.mmd")), ids=lambda p: p.name)
def test_golden_mermaid_is_the_subset_ktrace_writes(golden: Path) -> None:
    check_mermaid(golden.read_text())


@pytest.mark.parametrize("payload", [*PAYLOADS, Payload("syntax", SYNTAX_HOSTILE, SYNTAX_HOSTILE),
                                     Payload("unicode", "ü名前", "ü名前")], ids=lambda p: p.id)
@pytest.mark.parametrize("fmt", ["mermaid", "dot"])
def test_hostile_names_stay_inside_their_labels(payload: Payload, fmt: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    """Names hold control characters, quotes, brackets, pipes, entities: each label keeps them (escaped
    for the format), and none ends a label, an edge or a statement."""
    write(tmp_path, payload.raw)
    for argv in (["trace", HOST], ["check"]):
        assert main([*argv, "-f", str(tmp_path), "-o", fmt]) == 1
        out, err = capsys.readouterr()
        assert not err and not hidden_in(out)
        if fmt == "mermaid":
            check_mermaid(out)
            shown = "\n".join(_labels(out).values())
            decoded = re.sub(r"#(\d+);", lambda m: chr(int(m[1])), shown.replace("#quot;", '"').replace(
                "#lt;", "<").replace("#gt;", ">").replace("#amp;", "&"))
            assert f"canary{payload.shown}" in decoded
        else:
            assert re.search(r'label="(?:[^"\\]|\\.)*canary', out)
            assert out.count("{") == out.count("}")
        (tmp_path / f"{argv[0]}.{fmt}").write_text(out)


def test_svg_is_the_terminals_text_coloured(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # for this terminal, not for the picture
    write(tmp_path, ALL)
    assert main(["trace", "store.example.com", "-f", str(tmp_path), "-o", "svg"]) == 1
    out = capsys.readouterr().out
    root = ET.fromstring(out)  # well-formed XML
    text = "".join(root.itertext()).replace("\xa0", " ")
    assert not hidden_in(out) and PAYLOADS[0].shown in text and "degraded" in text
    assert "✗" in text and "#cc555a" in out  # the error's symbol, and Rich's red for it


# -- the tools themselves, where installed --------------------------------------------------------

@pytest.mark.slow
def test_mermaids_own_parser_reads_every_picture(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if shutil.which("node") is None or not (PARSER / "node_modules" / "mermaid").is_dir():
        pytest.skip("the official Mermaid parser is not installed: npm ci --prefix tests/picture (needs node)")
    files = []
    for i, p in enumerate((SYNTAX_HOSTILE, ALL)):
        write(tmp_path / f"m{i}", p)
        for argv in (["check"], ["trace", HOST]):
            main([*argv, "-f", str(tmp_path / f"m{i}"), "-o", "mermaid"])
            files.append(tmp_path / f"m{i}-{argv[0]}.mmd")
            files[-1].write_text(capsys.readouterr().out)
    run = subprocess.run(["node", str(PARSER / "parse-mermaid.mjs"), *map(str, files + sorted(GOLDEN.glob("*.mmd")))],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_graphviz_draws_every_picture(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed: apt-get install graphviz")
    files = sorted(GOLDEN.glob("*.dot"))
    for i, p in enumerate((SYNTAX_HOSTILE, ALL)):
        write(tmp_path / f"d{i}", p)
        main(["check", "-f", str(tmp_path / f"d{i}"), "-o", "dot"])
        files.append(tmp_path / f"d{i}.dot")
        files[-1].write_text(capsys.readouterr().out)
    for f in files:
        run = subprocess.run(["dot", "-Tsvg", str(f)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0 and not run.stderr, f"{f.name}: {run.stderr}"
        assert "<svg" in run.stdout


def test_dot_output_of_a_path_is_one_graph() -> None:
    text = dot([path_graph(_path("gateway-healthy.yaml", "store.gw.example.com"))])
    assert text.startswith("digraph ktrace {\n  rankdir=LR;") and text.endswith("}\n")
    assert 'label="weight 90 (90%)"' in text
