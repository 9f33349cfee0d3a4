"""`ktrace trace` and `ktrace check` as plain output, and the start of the interactive view: thin
views over `ktrace.analysis`.

Exit codes: 0 healthy (`ok`/`unknown` path, no error finding), 1 broken or degraded path or an
error finding, 2 usage or source errors (raised as KtraceError; cli.main prints them), and a
command that ran out of its time (`--timeout`, ktrace.deadline).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TypeVar

import orjson

from ktrace import __version__
from ktrace.analysis import Analysis, controller_hint
from ktrace.checks import CATALOG
from ktrace.deadline import DEFAULT_TIMEOUT, Deadline
from ktrace.errors import UsageError
from ktrace.findings import Finding, FindingId, at_least, finding_id
from ktrace.options import AnalysisOptions, PlanRequest, PreviewRequest, SourceSpec, ViewOptions
from ktrace.plan import Overlay
from ktrace.printable import clean, json_safe
from ktrace.sources import open_source, prepare_credentials
from ktrace.sources.protocol import NarrowReadRefused, Source, label
from ktrace.store import ClusterStore
from ktrace.targets import parse_target
from ktrace.trace import RequestPath

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
T = TypeVar("T")


def _open(spec: SourceSpec, options: AnalysisOptions, timeout: float | None,
          scoped: bool = False) -> tuple[Analysis, Deadline]:
    """Open and load the source, ready for analysis, and the deadline the rest of the command keeps
    (it starts after a login an exec plugin may prompt for); the caller closes `analysis.source`.
    `scoped`: load only the kinds paths start from, when the source can (see `_answer`)."""
    controllers = controller_hint(options)  # a bad selector is a usage error before anything is read
    # At a terminal an exec plugin may prompt (as with kubectl); in a pipe or CI it must not wait.
    prepare_credentials(spec, interactive=sys.stdin.isatty() and sys.stderr.isatty())
    deadline = Deadline(timeout)
    source = open_source(spec)
    try:
        store = deadline.run(source.load_scoped, lambda: _still_reading(source)) if scoped else None
        if store is None or len(store) == 0:  # read whole anyway, or no entry object: is there anything at all?
            store = _load_whole(source, deadline)
        return Analysis(source, store, options, controllers), deadline
    except BaseException:
        source.close()
        raise


def _load_whole(source: Source, deadline: Deadline) -> ClusterStore:
    store = deadline.run(source.load, lambda: _still_reading(source))
    if len(store) == 0:
        raise UsageError(f"nothing to analyse: {label(source)} holds no objects ktrace reads")
    return store


def _answer(analysis: Analysis, deadline: Deadline, work: Callable[[Analysis], T], doing: str) -> T:
    """`work` over the analysis. Over a scoped store it reads what it needs; where the cluster refuses
    such a narrow read, it runs over a whole load instead (what it would have read before)."""
    try:
        return deadline.run(lambda: work(analysis), lambda: doing)
    except NarrowReadRefused:
        source = analysis.source
        whole = Analysis(source, _load_whole(source, deadline), analysis.options, analysis.controllers)
        return deadline.run(lambda: work(whole), lambda: doing)


def _still_reading(source: Source) -> str:
    progress = source.progress
    if progress is None or not progress.pending:
        return f"{label(source)} was still being read"
    return (f"{source.describe()} was still sending {', '.join(progress.pending)} "
            f"({progress} read)")


def _console():
    from rich.console import Console

    # A non-UTF-8 terminal (LANG=C, PYTHONIOENCODING=ascii) must not crash on a cluster's non-ASCII name.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None and not (sys.stdout.encoding or "").lower().startswith("utf"):
        reconfigure(errors="replace")
    return Console(highlight=False, soft_wrap=False, emoji=False)


def _ascii_only(console) -> bool:
    return not (console.encoding or "").lower().startswith("utf")


def _write_json(doc: object) -> None:
    # orjson escapes C0 controls but writes DEL, C1 and format characters raw: JSON escapes for them too.
    sys.stdout.write(json_safe(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode()) + "\n")


def _trace_exit(path: RequestPath) -> int:
    return 1 if path.status in ("degraded", "broken") else 0


def _unread_input(source: Source) -> int:
    """Input files that could not be read (error-level notes of the source): the path may lack what they
    held, so `trace` names them on stderr and fails as `check` does. 1 when there are any."""
    from ktrace.printable import clean

    errors = [f for f in source.notes if f.severity == "error"]
    for f in errors:
        print(f"ktrace: not loaded: {clean(f.name)}: {clean(f.message)}", file=sys.stderr)
    return 1 if errors else 0


def run_trace(spec: SourceSpec, options: AnalysisOptions, target: str, output: str,
              change: PreviewRequest | None = None, timeout: float | None = DEFAULT_TIMEOUT) -> int:
    t = parse_target(target)
    analysis, deadline = _open(spec, options, timeout, scoped=True)
    try:
        if change is not None:
            return _run_preview(analysis, target, output, change, deadline)
        path = _answer(analysis, deadline, lambda a: a.trace(t), f"still tracing {target}")
    finally:
        analysis.source.close()
    if output == "json":
        _write_json(path.to_dict())
    elif not _write_picture(output, path, lambda width: _trace_view(path, False, width), target):
        console = _console()
        console.print(_trace_view(path, _ascii_only(console), console.width))
    return max(_trace_exit(path), _unread_input(analysis.source))


def _trace_view(path: RequestPath, ascii_only: bool, width: int):
    from ktrace.render import trace_view

    return trace_view(path, ascii_only, width)


def _write_picture(output: str, path: RequestPath, view: Callable[[int], object], target: str) -> bool:
    """`-o mermaid|dot`: the path as a graph; `-o svg`: the text view as the terminal shows it. False for
    the other outputs."""
    from ktrace import picture

    if output in ("mermaid", "dot"):
        graph = picture.path_graph(path)
        sys.stdout.write(picture.mermaid([graph]) if output == "mermaid" else picture.dot([graph]))
    elif output == "svg":
        width = _console().width
        sys.stdout.write(picture.svg(view(width), f"ktrace trace {target}", width))
    else:
        return False
    return True


def _run_preview(analysis: Analysis, target: str, output: str, change: PreviewRequest, deadline: Deadline) -> int:
    """`trace TARGET --via SERVICE` / `--weights A=W,B=W`: the would-be path and its difference
    against today's; the exit code is the would-be path's."""
    from ktrace.preview import parse_weights

    weights = parse_weights(change.weights) if change.weights else None
    p = _answer(analysis, deadline, lambda a: a.preview(target, change.via, backend=change.backend, weights=weights),
                f"still tracing {target}")
    from ktrace.render import preview_view

    if output == "json":
        _write_json(p.to_dict())
    elif not _write_picture(output, p.would_be, lambda width: preview_view(p, False, width), target):
        console = _console()
        console.print(preview_view(p, _ascii_only(console), console.width))
    return max(_trace_exit(p.would_be), _unread_input(analysis.source))


def check_document(findings: list[Finding], source: Source, store: ClusterStore,
                   affects: Mapping[FindingId, list[str]]) -> dict:
    """`affects`: the routes (`host/path`) each finding breaks or degrades, by `finding_id`."""
    summary = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    summary.update(total=len(findings), source=label(source),
                   objects={k: store.count(k) for k in sorted(store.kinds())})
    return {"findings": [f.to_dict() | {"affects": affects.get(finding_id(f), [])} for f in findings],
            "summary": summary}


def sarif_document(findings: list[Finding], origins: dict) -> dict:
    results = []
    for f in findings:
        logical = {"name": f.name, "fullyQualifiedName": "/".join(x for x in (f.kind, f.namespace, f.name) if x),
                   "kind": "resource"}
        location: dict = {"logicalLocations": [logical]}
        origin = origins.get((f.kind, f.namespace, f.name))
        if origin and not origin.startswith("<"):  # "<stdin>:3" names no artifact
            file, _, line = origin.rpartition(":")
            location["physicalLocation"] = {"artifactLocation": {"uri": file},
                                            "region": {"startLine": int(line) if line.isdigit() else 1}}
        text = f"{f.message}. {f.hint}" if f.hint else f.message
        results.append({"ruleId": f.code, "level": _SARIF_LEVEL[f.severity], "message": {"text": text},
                        "locations": [location]})
    rules = [{"id": code, "name": code, "shortDescription": {"text": e.description},
              "defaultConfiguration": {"level": _SARIF_LEVEL[e.severity]}} for code, e in CATALOG.items()]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "ktrace", "version": __version__, "rules": rules}},
                  "results": results}],
    }


def run_check(spec: SourceSpec, options: AnalysisOptions, output: str,
              timeout: float | None = DEFAULT_TIMEOUT) -> int:
    analysis, deadline = _open(spec, options, timeout)
    source, store = analysis.source, analysis.store
    try:
        findings = deadline.run(analysis.check, lambda: f"still checking {label(source)}")
        shown = at_least(findings, options.min_severity)
        routes = analysis.routes() if output != "sarif" else None
        affects = routes.affects(shown) if routes is not None else {}
    finally:
        source.close()
    if output == "json":
        _write_json(check_document(shown, source, store, affects))
    elif output == "sarif":
        _write_json(sarif_document(shown, source.origins))
    elif output in ("mermaid", "dot") and routes is not None:  # every broken or degraded route, in route order
        from ktrace import picture

        graphs, more = picture.problem_graphs([routes.paths[e] for e in sorted(routes.paths)])
        sys.stdout.write(picture.mermaid(graphs, more) if output == "mermaid" else picture.dot(graphs, more))
    else:
        from rich.text import Text

        from ktrace.render import finding_lines, summary_line

        console = _console()
        ascii_only = _ascii_only(console)
        if shown:
            console.print(finding_lines(shown, ascii_only, source.origins, console.width, affects), end="")
        line = Text(f"{clean(label(source))}: ")
        line.append_text(summary_line(shown, ascii_only))
        console.print(line, soft_wrap=True)  # one greppable line, however long the source name
    return 1 if any(f.severity == "error" for f in findings) else 0


def _plan_output(plan, output: str, title: str) -> None:  # type: ignore[no-untyped-def]
    if output == "json":
        _write_json(plan.to_dict())
    elif output == "markdown":
        from ktrace.planview import plan_markdown

        sys.stdout.write(plan_markdown(plan, title=f"ktrace {title}") + "\n")
    else:
        from ktrace.planview import plan_view

        console = _console()
        console.print(plan_view(plan, _ascii_only(console), console.width, title=title))


def _files_text(request: PlanRequest) -> str:
    deleted = f"; delete: {', '.join(request.deletes)}" if request.deletes else ""
    return f"files: {', '.join(request.changes) or 'none'}{deleted}"


def plan_overlay(request: PlanRequest, spec: SourceSpec) -> Overlay:
    """The change files read now (any that cannot be read is a usage error), laid over a store of `spec`'s source
    once it is loaded (objects without a namespace go to `-n`, else the context's, as kubectl puts them)."""
    from ktrace.sources import apply_namespace
    from ktrace.sources.overlay import overlay, read_files

    applied = read_files(list(request.changes), "-f") if request.changes else []
    deleted = read_files(list(request.deletes), "--delete -f") if request.deletes else []
    return Overlay(_files_text(request), lambda store: overlay(store, applied, deleted, apply_namespace(spec)))


def run_plan(spec: SourceSpec, options: AnalysisOptions, request: PlanRequest, output: str,
             timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """`ktrace plan`: the changes laid over the source, in memory; exit 1 when a route gets worse or an error
    finding appears."""
    changes = plan_overlay(request, spec)
    analysis, deadline = _open(spec, options, timeout)
    source = analysis.source
    try:
        plan = deadline.run(lambda: analysis.plan(changes.changes(analysis.store)),
                            lambda: f"still planning over {label(source)}")
    finally:
        source.close()
    plan.baseline, plan.proposed = label(source), changes.proposed
    _plan_output(plan, output, "plan")
    return max(1 if plan.worse else 0, _unread_input(source))


def run_diff(spec: SourceSpec, other: SourceSpec, options: AnalysisOptions, output: str,
             timeout: float | None = DEFAULT_TIMEOUT) -> int:
    """`ktrace diff A --to B`: every route of both sources traced on each; exit 1 when a route is worse in B or an
    error finding appears there."""
    first, deadline = _open(spec, options, timeout)
    try:
        second, _ = _open(other, options, deadline.left())
        try:
            plan = deadline.run(lambda: first.diff(second), lambda: "still comparing the two sources")
        finally:
            second.source.close()
    finally:
        first.source.close()
    plan.baseline, plan.proposed = label(first.source), label(second.source)
    _plan_output(plan, output, "diff")
    return max(1 if plan.worse else 0, _unread_input(first.source), _unread_input(second.source))


def run_default(spec: SourceSpec, options: AnalysisOptions, view: ViewOptions, plan: PlanRequest | None = None) -> int:
    """The interactive view (`plan`: with changes laid over the source, `ktrace --plan`). The change files are read
    first, then the terminal is checked (no TTY, TERM=dumb: one line instead of a spinning or garbled screen);
    Textual's import-time settings are chosen before it is imported."""
    from ktrace.tui.session import apply_profile, choose_profile, leave_on_signals, refusal

    overlay = plan_overlay(plan, spec) if plan is not None else None
    why = refusal()
    if why is not None:
        print(f"ktrace: {why}", file=sys.stderr)
        return 2
    if view.host:
        parse_target(view.host)  # a malformed --host is a usage error before the screen opens
    controller_hint(options)  # so is a malformed --controller-selector
    leave_on_signals()
    prepare_credentials(spec, interactive=True)  # an exec plugin's login prompt, before the screen is taken
    profile = choose_profile(view)
    apply_profile(profile)
    from ktrace.tui.app import run
    from ktrace.tui.terminal import wants_ascii

    return run(spec, options, view, wants_ascii(view), profile, source_factory=open_source, overlay=overlay)
