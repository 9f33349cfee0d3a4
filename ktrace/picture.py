"""The request path as a picture to share: a left-to-right graph in Mermaid (renders in GitHub's Markdown)
or Graphviz DOT, and the terminal's text as SVG.

A graph has one node per hop, drawn from the hop's generic fields (kind, name, status, reasons, level,
detail through the summary's figures), so a new kind of hop draws without changes here. The structure is
the tree's (`render.hop_parents`), with two readings a picture needs:
- the pods under one slice are one node, "Pods  k of N ready: the most common reason" (as the summary
  line says it): a Service of 300 pods stays one readable box; a lone pod keeps its name;
- NetworkPolicy hops are gates: the slices lead into them, one after the other, and they into the pods.
A split's weights are on the edges into its backends. Every node says its verdict as a symbol and a word
besides its colour, and a hop that is not ok says the one reason that decides it (wrapped, and cut
with `~` past REASON_LINES lines).

Every string from the cluster is `clean()`ed first (control characters as visible escapes), then escaped
for the format: a name can hold quotes, brackets, pipes, `#`, `<`, newlines; none can end a label early.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from itertools import pairwise

from rich.console import Console, RenderableType

from ktrace.findings import Finding
from ktrace.printable import clean
from ktrace.render import PROBLEMS, SYMBOLS, _decisive_reason, _pods_line, _summary_ref, hop_parents
from ktrace.requestpath import PODS, Hop, NetworkPolicyDetail, PathStatus, RequestPath

REASON_WIDTH, REASON_LINES = 40, 3  # a failing hop's reason in its box: wrapped, then cut with `~`
MAX_PATHS = 25  # paths in one `check` picture: GitHub renders Mermaid text up to 50,000 characters
_PATH_STATUS = {PathStatus.OK: "ok", PathStatus.DEGRADED: "warning", PathStatus.BROKEN: "error",
                PathStatus.UNKNOWN: "unknown"}
# (fill, stroke, extra): light fills with dark text read on GitHub's light and dark themes alike.
_COLOURS = {"ok": ("#dafbe1", "#1a7f37", ""), "warning": ("#fff8c5", "#9a6700", ""),
            "error": ("#ffebe9", "#cf222e", "stroke-width:2px"),
            "unknown": ("#f6f8fa", "#8c959f", "stroke-dasharray:4 3")}
_TEXT_COLOUR = "#1f2328"


@dataclass(frozen=True)
class Node:
    id: str
    status: str  # ok, warning, error, unknown
    lines: tuple[str, ...]  # clean text, one line each
    start: bool = False  # the request itself, where the path starts


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""


@dataclass
class Graph:
    title: str  # clean text: the path's verdict and target
    status: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _verdict(status: str, reason: str | None) -> tuple[str, ...]:
    """The verdict as a symbol and a word, and the reason that decides it, in lines."""
    text = f"{SYMBOLS.get(status, '?')} {status}" + (f": {clean(reason)}" if reason else "")
    return tuple(textwrap.wrap(text, REASON_WIDTH, max_lines=REASON_LINES, placeholder=" ~",
                               break_on_hyphens=False))


def _gate(hop: Hop) -> bool:
    return isinstance(hop.detail, NetworkPolicyDetail)


def path_graph(path: RequestPath, prefix: str = "") -> Graph:
    """The path as a graph; node ids start with `prefix` (several paths in one picture)."""
    status = _PATH_STATUS.get(path.status, "unknown")
    graph = Graph(clean(f"{SYMBOLS.get(status, '?')} {path.status}  {path.label}"), status)
    start = f"{prefix}t"
    graph.nodes.append(Node(start, status, (clean(path.label), *_verdict(path.status, None)),
                            start=True))
    problems: dict[tuple[str, str, str], list[Finding]] = {}
    for f in path.findings:
        if f.severity in PROBLEMS:
            problems.setdefault((f.kind, f.namespace, f.name), []).append(f)
    if not path.hops:  # nothing routes the target: the findings say why
        reason = path.findings[0].message if path.findings else None
        graph.nodes.append(Node(f"{prefix}none", "error", ("no route", *_verdict("error", reason))))
        graph.edges.append(Edge(start, f"{prefix}none"))
        return graph
    hops, parent_of = path.hops, hop_parents(path.hops)
    children: dict[int | None, list[int]] = {}
    for i, p in enumerate(parent_of):
        children.setdefault(p, []).append(i)
    ids: dict[int, str] = {}  # hop index -> node id (the pods of one parent share one)
    for kids in children.values():
        pods = [i for i in kids if hops[i].level == PODS]
        if len(pods) > 1:
            ids.update(dict.fromkeys(pods, f"{prefix}h{pods[0]}"))
    for i, hop in enumerate(hops):
        if i in ids:
            if ids[i] == f"{prefix}h{i}":  # the first of a group of pods
                pods = [hops[j] for j, node in ids.items() if node == ids[i]]
                worst, text = _pods_line(pods)
                graph.nodes.append(Node(ids[i], worst, (f"{len(pods)} Pods", *_verdict(worst, text))))
            continue
        p = parent_of[i]
        ref = _summary_ref(hop, hops[p].namespace if p is not None else "", False, weight=False)
        reason = _decisive_reason(hop, problems.get((hop.kind, hop.namespace, hop.name), []))
        ids[i] = f"{prefix}h{i}"
        lines = (clean(hop.kind), *(clean(x) for x in ref.split("  ") if x), *_verdict(hop.status, reason))
        graph.nodes.append(Node(ids[i], hop.status, lines))
    for p, kids in children.items():
        source = start if p is None else ids[p]
        gates = [i for i in kids if _gate(hops[i])]
        into_gates = []  # the hops that lead into the first gate: the slices, which have no pods of their own
        for i in kids:
            if _gate(hops[i]):
                continue
            split = hops[i].split
            label = f"weight {split.weight} ({split.share:.0%})" if split is not None and split.share != 1 else ""
            _link(graph, source, ids[i], label)
            if gates and i not in children:
                into_gates.append(ids[i])
        for src in into_gates or ([source] if gates else []):
            _link(graph, src, ids[gates[0]])
        for a, b in pairwise(gates):
            _link(graph, ids[a], ids[b])
    return graph


def _link(graph: Graph, source: str, target: str, label: str = "") -> None:
    edge = Edge(source, target, label)
    if edge not in graph.edges:  # the pods of one node are reached once
        graph.edges.append(edge)


# -- Mermaid ---------------------------------------------------------------------------------------

# Mermaid's entity codes: `"` would end the label, `#...;` is read as an entity, `<`/`>`/`&` as HTML,
# a backquote starts Markdown, `|` ends an edge label.
_MERMAID = str.maketrans({'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;", "`": "#96;",
                          "|": "#124;"})


def _mermaid_text(lines: tuple[str, ...] | list[str]) -> str:
    return '"' + "<br/>".join(line.translate(_MERMAID) for line in lines) + '"'


def _mermaid_body(graph: Graph, indent: str) -> list[str]:
    out = []
    for n in graph.nodes:
        text = _mermaid_text(n.lines)
        out.append(f"{indent}{n.id}([{text}])" if n.start else f"{indent}{n.id}[{text}]")
    for e in graph.edges:
        label = f"|{_mermaid_text([e.label])}|" if e.label else ""
        out.append(f"{indent}{e.source} -->{label} {e.target}")
    return out


def mermaid(graphs: list[Graph], more: int = 0) -> str:
    """One graph as a flowchart; several, one subgraph each (titled by the path, without its start node),
    and a last node saying how many more were left out."""
    out = ["flowchart LR"]
    single = len(graphs) == 1 and not more
    shown = graphs if single else [_without_start(g) for g in graphs]
    for i, g in enumerate(shown):
        if single:
            out += _mermaid_body(g, "  ")
            continue
        out.append(f"  subgraph p{i}[{_mermaid_text([g.title])}]")
        out.append("    direction LR")
        out += _mermaid_body(g, "    ")
        out.append("  end")
    nodes = [n for g in shown for n in g.nodes]
    if more:
        out.append(f"  more[{_mermaid_text([f'... and {more} more (ktrace check -o json lists them)'])}]")
    for status, (fill, stroke, extra) in _COLOURS.items():
        style = f"fill:{fill},stroke:{stroke},color:{_TEXT_COLOUR}" + (f",{extra}" if extra else "")
        out.append(f"  classDef {status} {style}")
    for status in _COLOURS:
        members = [n.id for n in nodes if n.status == status]
        if members:
            out.append(f"  class {','.join(members)} {status}")
    return "\n".join(out) + "\n"


def _without_start(graph: Graph) -> Graph:
    """In a picture of several paths the subgraph's title names the target: the start node goes."""
    start = {n.id for n in graph.nodes if n.start}
    return Graph(graph.title, graph.status, [n for n in graph.nodes if not n.start],
                 [e for e in graph.edges if e.source not in start])


# -- Graphviz DOT ----------------------------------------------------------------------------------

def _dot_text(lines: tuple[str, ...] | list[str]) -> str:
    # A DOT string: `\` and `"` escaped; `\n` is the line break (a doubled backslash is no escape of DOT's).
    return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines) + '"'


def _dot_body(graph: Graph, indent: str) -> list[str]:
    out = []
    for n in graph.nodes:
        fill, stroke, extra = _COLOURS[n.status]
        attrs = [f"label={_dot_text(n.lines)}", f'fillcolor="{fill}"', f'color="{stroke}"']
        if n.start:
            attrs.append("shape=oval")
        if "dasharray" in extra:
            attrs.append('style="rounded,filled,dashed"')
        elif "width" in extra:
            attrs.append("penwidth=2")
        out.append(f"{indent}{n.id} [{', '.join(attrs)}];")
    for e in graph.edges:
        out.append(f"{indent}{e.source} -> {e.target}" + (f" [label={_dot_text([e.label])}];" if e.label else ";"))
    return out


def dot(graphs: list[Graph], more: int = 0) -> str:
    """DOT for `dot -Tsvg`: one graph as it is; several, one cluster each (titled by the path)."""
    out = ["digraph ktrace {", "  rankdir=LR;", '  graph [fontname="Helvetica", fontsize=11];',
           f'  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
           f'fontcolor="{_TEXT_COLOUR}"];',
           '  edge [fontname="Helvetica", fontsize=9];']
    if len(graphs) == 1 and not more:
        out += _dot_body(graphs[0], "  ")
    else:
        for i, g in enumerate(graphs):
            out.append(f"  subgraph cluster_p{i} {{")
            out.append(f"    label={_dot_text([g.title])};")
            out += _dot_body(_without_start(g), "    ")
            out.append("  }")
    if more:
        out.append(f"  more [label={_dot_text([f'... and {more} more (ktrace check -o json lists them)'])}, "
                   "shape=plaintext, style=solid];")
    out.append("}")
    return "\n".join(out) + "\n"


# -- several paths, and SVG ------------------------------------------------------------------------

def problem_graphs(paths: list[RequestPath]) -> tuple[list[Graph], int]:
    """The broken paths, then the degraded ones (each in the order given), at most MAX_PATHS; and how many
    more there are."""
    order = [p for status in (PathStatus.BROKEN, PathStatus.DEGRADED) for p in paths if p.status == status]
    return [path_graph(p, f"p{i}") for i, p in enumerate(order[:MAX_PATHS])], max(len(order) - MAX_PATHS, 0)


def svg(view: RenderableType, title: str, width: int) -> str:
    """What the terminal shows, coloured, as an SVG document (Rich's export): colours whatever NO_COLOR
    says, since the picture is for a ticket, not this terminal."""
    console = Console(file=io.StringIO(), record=True, width=width, force_terminal=True, color_system="truecolor",
                      no_color=False, emoji=False, highlight=False, legacy_windows=False)
    console.print(view)
    return console.export_svg(title=clean(title))
