"""`ktrace trace`, `ktrace check` and (until the TUI exists) the default command, as plain output.

Exit codes: 0 healthy (`ok`/`unknown` path, no error finding), 1 broken or degraded path or an
error finding, 2 usage or source errors (raised as KtraceError; cli.main prints them).
"""

from __future__ import annotations

import sys
from typing import Any

import orjson

from ktrace import __version__, selectors
from ktrace.certs import CertificateBook, file_reader
from ktrace.checks import run_checks
from ktrace.checks.networkpolicy import ControllerHint
from ktrace.errors import UsageError
from ktrace.findings import CATALOG, Finding, at_least, sort_key
from ktrace.sources import Source, open_source
from ktrace.store import ClusterStore
from ktrace.suppress import parse_codes, suppress
from ktrace.targets import parse_target
from ktrace.trace import RequestPath, trace

_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def _load(args: Any) -> tuple[Source, ClusterStore]:
    if not (getattr(args, "filename", None) or getattr(args, "demo", False)):
        from ktrace.sources.live import prepare_credentials

        # At a terminal an exec plugin may prompt (as with kubectl); in a pipe or CI it must not wait.
        prepare_credentials(args, interactive=sys.stdin.isatty() and sys.stderr.isatty())
    source = open_source(args)
    try:
        store = source.load()
    except BaseException:
        source.close()
        raise
    if len(store) == 0:
        source.close()
        raise UsageError(f"nothing to analyse: {source.describe()} holds no objects ktrace reads")
    return source, store


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
    sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def controller_hint(args: Any) -> ControllerHint | None:
    """--controller-namespace/--controller-selector; checked before any source is opened, like --check-certs."""
    if getattr(args, "check_certs", False) and "-" in (getattr(args, "filename", None) or ()):
        raise UsageError("--check-certs reads the files twice and cannot re-read stdin: give the files with -f PATH")
    ns, text = getattr(args, "controller_namespace", None), getattr(args, "controller_selector", None)
    if not ns and not text:
        return None
    try:
        sel = selectors.parse(text or "")
    except selectors.SelectorError as e:
        raise UsageError(f"--controller-selector: {e}") from None
    return ControllerHint(ns or "", sel)


def certificate_book(args: Any, source: Source) -> CertificateBook | None:
    """--check-certs: live sources GET each referenced Secret; files give their Secrets' data."""
    if not getattr(args, "check_certs", False):
        return None
    read = getattr(source, "read_tls_certificate", None)
    if read is not None:
        return CertificateBook(read)
    paths = getattr(source, "paths", None)
    if paths is None:
        raise UsageError(f"--check-certs cannot read certificates from {source.describe()}")
    from ktrace.loader import load_paths

    return CertificateBook(file_reader(load_paths(paths).objects))


def _trace_exit(path: RequestPath) -> int:
    return 1 if path.status in ("degraded", "broken") else 0


def run_trace(args: Any) -> int:
    target = parse_target(args.target)
    ignored = parse_codes(getattr(args, "ignore", None))
    hint = controller_hint(args)
    if getattr(args, "backend", None) and not getattr(args, "via", None):
        raise UsageError("--backend names the backendRef that --via replaces: give --via SERVICE too")
    source, store = _load(args)
    try:
        if getattr(args, "via", None) or getattr(args, "weights", None):
            return _run_preview(args, source, store, ignored, hint)
        path = trace(store, target, live=source.live, controllers=hint, certs=certificate_book(args, source))
    finally:
        source.close()
    if not path.routed:
        f = path.findings[0]
        if not f.details.get("paths"):  # nothing at all for this host: a usage error, not a finding
            raise UsageError(f"unknown host {target.host}: no Ingress rule, default backend or HTTPRoute "
                             f"serves it in {source.describe()}; {f.hint}")
    path.findings = suppress(path.findings, store, ignored)
    if getattr(args, "output", "text") == "json":
        _write_json(path.to_dict())
    else:
        from ktrace.render import trace_view

        console = _console()
        console.print(trace_view(path, _ascii_only(console), console.width))
    return _trace_exit(path)


def _run_preview(args: Any, source: Source, store: ClusterStore, ignored: set[str],
                 hint: ControllerHint | None) -> int:
    """`trace TARGET --via SERVICE` / `--weights A=W,B=W`: the would-be path and its difference
    against today's; the exit code is the would-be path's."""
    from ktrace.preview import parse_weights, preview

    weights = parse_weights(args.weights) if getattr(args, "weights", None) else None
    p = preview(store, args.target, getattr(args, "via", None), live=source.live,
                backend=getattr(args, "backend", None), weights=weights, controllers=hint,
                certs=certificate_book(args, source))
    p.would_be.findings = suppress(p.would_be.findings, store, ignored)
    p.appear = suppress(p.appear, store, ignored)
    p.disappear = suppress(p.disappear, store, ignored)
    if getattr(args, "output", "text") == "json":
        _write_json(p.to_dict())
    else:
        from ktrace.render import preview_view

        console = _console()
        console.print(preview_view(p, _ascii_only(console), console.width))
    return _trace_exit(p.would_be)


def check_document(findings: list[Finding], source: Source, store: ClusterStore) -> dict:
    summary = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    summary.update(total=len(findings), source=source.describe(),
                   objects={k: store.count(k) for k in sorted(store.kinds())})
    return {"findings": [f.to_dict() for f in findings], "summary": summary}


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


def run_check(args: Any) -> int:
    ignored = parse_codes(getattr(args, "ignore", None))
    hint = controller_hint(args)
    source, store = _load(args)
    try:
        certs = certificate_book(args, source)
        findings = run_checks(store, live=source.live, controllers=hint) + (certs.check(store) if certs else [])
        findings = sorted(source.notes + findings, key=sort_key)
    finally:
        source.close()
    findings = suppress(findings, store, ignored)
    shown = at_least(findings, getattr(args, "min_severity", "info") or "info")
    output = getattr(args, "output", "text")
    origins = getattr(source, "origins", {})
    if output == "json":
        _write_json(check_document(shown, source, store))
    elif output == "sarif":
        _write_json(sarif_document(shown, origins))
    else:
        from rich.text import Text

        from ktrace.render import finding_lines, summary_line

        console = _console()
        ascii_only = _ascii_only(console)
        if shown:
            console.print(finding_lines(shown, ascii_only, origins, console.width), end="")
        line = Text(f"{source.describe()}: ")
        line.append_text(summary_line(shown, ascii_only))
        console.print(line, soft_wrap=True)  # one greppable line, however long the source name
    return 1 if any(f.severity == "error" for f in findings) else 0


def run_default(args: Any) -> int:
    """The interactive view. The terminal is checked first (no TTY, TERM=dumb: one line instead of a
    spinning or garbled screen); Textual's import-time settings are chosen before it is imported."""
    from ktrace.tui.session import apply_profile, choose_profile, leave_on_signals, refusal

    why = refusal()
    if why is not None:
        print(f"ktrace: {why}", file=sys.stderr)
        return 2
    if getattr(args, "host", None):
        parse_target(args.host)  # a malformed --host is a usage error before the screen opens
    leave_on_signals()
    from ktrace.sources.live import prepare_credentials

    prepare_credentials(args, interactive=True)  # an exec plugin's login prompt, before the screen is taken
    profile = choose_profile(args)
    apply_profile(profile)
    from ktrace.tui.app import run
    from ktrace.tui.terminal import wants_ascii

    return run(args, wants_ascii(args), profile)
