"""Entry points: `ktrace` (interactive view, the default), `trace`, `check` and `sim`.

Heavy modules (textual, kubernetes, aiohttp) are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from ktrace import __version__
from ktrace.errors import UsageError
from ktrace.options import DEFAULT_PAGE_SIZE, AnalysisOptions, PlanRequest, PreviewRequest, SourceSpec, ViewOptions

_SOURCE_HELP = """sources (every command):
  default        the current context of your kubeconfig (KUBECONFIG or ~/.kube/config)
  -f PATH        offline manifests: files, directories or - (repeatable); YAML or JSON
  --demo         the embedded demo cluster
"""


class _Files(argparse.Action):
    """`-f PATH` adds to the list the last switch chose (`plan -f CHANGE --delete -f GONE --against -f BASE`,
    `diff -f OLD --to -f NEW`): `files_into` names it; by default the source's own files."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        dest = getattr(namespace, "files_into", None) or self.dest
        setattr(namespace, dest, [*(getattr(namespace, dest, None) or []), values])


class _Into(argparse.Action):
    """A switch that says where the `-f` options after it go (and, for `--to`, the source options)."""

    def __init__(self, option_strings, dest, const, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(option_strings, "files_into", nargs=0, const=const, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        namespace.files_into = self.const


class _Sided(argparse.Action):
    """A source option that, after `diff ... --to`, describes the other source (`--to --context prod`)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        to = getattr(namespace, "files_into", None) == "to_filename"
        setattr(namespace, f"to_{self.dest}" if to else self.dest, True if self.nargs == 0 else values)


class _Plan(_Into):
    """`--plan`: the -f files after it are changes, and the view is a plan even when none follow (an error)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[no-untyped-def]
        super().__call__(parser, namespace, values, option_string)
        namespace.plan = True


def _source_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options shared by every command. Subcommands use SUPPRESS defaults so an option given
    before the subcommand (`ktrace -A check`) is not reset by the subparser."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = parser.add_argument_group("source options")
    g.add_argument("--kubeconfig", metavar="PATH", default=d(None), action=_Sided, help="kubeconfig file(s) to use")
    g.add_argument("--context", metavar="NAME", default=d(None), action=_Sided, help="kubeconfig context to use")
    g.add_argument("-n", "--namespace", metavar="NS", default=d(None),
                   help="only this namespace (default: every namespace you may list)")
    g.add_argument("-A", "--all-namespaces", action="store_true", default=d(False),
                   help="every namespace you may list (the default; accepted as in kubectl)")
    g.add_argument("-f", "--filename", metavar="PATH", action=_Files, default=d(None),
                   help="offline manifests: file, directory or - (repeatable)")
    g.add_argument("--demo", nargs=0, action=_Sided, default=d(False), help="use the embedded demo cluster")
    g.add_argument("--page-size", metavar="N", type=int, default=d(DEFAULT_PAGE_SIZE),
                   help=f"objects per list request to the API server (default {DEFAULT_PAGE_SIZE}; fewer: less "
                   "memory per page, more round trips)")


def _plan_switches(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("plan options")
    g.add_argument("--delete", action=_Into, const="deletes", help="the -f files after it name objects to delete")
    g.add_argument("--against", action=_Into, const="filename",
                   help="the -f files after it are the baseline (default: the cluster of the current context)")


def _comparison_options(parser: argparse.ArgumentParser) -> None:
    """What `plan` and `diff` share: their outputs, and the options of every analysis."""
    parser.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text",
                        help="text; json; markdown (a table for a pull-request comment)")
    _timeout_option(parser)
    _ignore_option(parser)
    _analysis_options(parser)
    _source_options(parser, suppress=True)


def _ignore_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ignore", metavar="CODE[,CODE]", action="append",
                        help="leave out findings with these codes (repeatable); per object: annotation "
                        "ktrace.dev/ignore: CODE[,CODE] or *")


def _analysis_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("analysis options")
    g.add_argument("--controller-namespace", metavar="NS",
                   help="namespace of the ingress controller's pods, for NetworkPolicy reachability (default: "
                   "found from the IngressClass's controller; with this alone, any pod of NS is the source)")
    g.add_argument("--controller-selector", metavar="SELECTOR",
                   help="label selector of the ingress controller's pods, e.g. app.kubernetes.io/name=ingress-nginx")
    g.add_argument("--check-certs", action="store_true",
                   help="also check the certificates of the TLS Secrets that the Ingresses and Gateway listeners "
                   "in scope name (trace: the traced path's Secret only): one GET of exactly each such Secret "
                   "(offline: the Secret's data in the files); only tls.crt is kept, tls.key is deleted from the "
                   "response at once and never shown; reports expired, expiring (< 14 days) and host mismatches. "
                   "Off by default: without it no Secret data is read")


def _timeout_option(parser: argparse.ArgumentParser) -> None:
    from ktrace.deadline import DEFAULT_TIMEOUT

    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=DEFAULT_TIMEOUT,
                        help=f"give up after this long in all, with one line and exit code 2 (default: "
                        f"{DEFAULT_TIMEOUT:g}; 0: no limit): a server that answers slowly, or not at all, cannot "
                        "hold a script or a CI job")


def _codes_help() -> str:
    from ktrace.checks import CATALOG

    width = max(map(len, CATALOG))
    rows = "\n".join(f"  {code:<{width}}  {e.severity}" for code, e in CATALOG.items())
    return f"finding codes (stable; see the README for what each means):\n{rows}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ktrace",
        description="Trace where traffic for a host goes (Ingress -> Service -> EndpointSlices -> Pods) "
        "and flag every broken hop.",
        epilog=_SOURCE_HELP + "\nexit codes: 0 healthy, 1 findings or broken path, 2 usage or connection error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ktrace {__version__}")
    parser.add_argument("--host", metavar="HOST[/PATH]", help="start with this request path selected")
    parser.add_argument("--ascii", action="store_true",
                        help="ASCII symbols and borders in the interactive view (automatic when the terminal's "
                        "encoding is not UTF-8)")
    parser.add_argument("--no-mouse", action="store_true",
                        help="no mouse reporting in the interactive view (the terminal keeps selecting text)")
    parser.add_argument("--low-bandwidth", action=argparse.BooleanOptionalAction, default=None,
                        help="slow links: fewer frames per second, no animations, no mouse-motion reports "
                        "(default: on when SSH_CONNECTION is set)")
    parser.add_argument("--plan", action=_Plan, const="changes",
                        help="open on the source with the changes of the -f files after it laid over it (see "
                        "`ktrace plan`): the routes show their verdict before -> after")
    _plan_switches(parser)
    _source_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("trace", help="trace one host or URL and report each hop",
                       description="Trace a request for TARGET (host, host/path or URL) hop by hop.")
    p.add_argument("target", help="host, host/path, http(s)://host[:port]/path, grpc://host[:port]/package.Service/"
                   "Method (GRPCRoutes) or tls://host[:port]")
    p.add_argument("--grpc-service", metavar="SERVICE",
                   help="trace the gRPC call to SERVICE (package.Service) on the host: TARGET is then the host "
                   "(grpc://HOST/SERVICE/METHOD)")
    p.add_argument("--grpc-method", metavar="METHOD", help="with --grpc-service: the call's method")
    p.add_argument("-o", "--output", choices=("text", "json", "mermaid", "dot", "svg"), default="text",
                   help="text; json; a picture to share: mermaid (a graph for GitHub Markdown), dot (Graphviz: "
                   "dot -Tsvg), svg (the text, coloured, as an image); on stdout")
    p.add_argument("--via", metavar="SERVICE",
                   help="preview: trace as if the matched rule's backend were SERVICE (same namespace, same port "
                   "reference) and show the difference against today's path; nothing is changed in the cluster")
    p.add_argument("--backend", metavar="NAME",
                   help="with --via on a Gateway rule with several backendRefs: the backendRef to replace")
    p.add_argument("--weights", metavar="NAME=W[,NAME=W]",
                   help="preview another split of the HTTPRoute (GRPCRoute) rule's backendRefs (names as the rule "
                   "has them), with or without --via")
    _timeout_option(p)
    _ignore_option(p)
    _analysis_options(p)
    _source_options(p, suppress=True)

    p = sub.add_parser("check", help="report every finding in scope",
                       description="Check every ingress, service and pod in scope and list the findings.",
                       epilog=_codes_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", choices=("text", "json", "sarif", "mermaid", "dot"), default="text",
                   help="text; json; sarif; mermaid or dot: a graph of every broken or degraded route (at most "
                   "25, then how many more), on stdout")
    p.add_argument("--min-severity", choices=("info", "warning", "error"), default="info")
    _timeout_option(p)
    _ignore_option(p)
    _analysis_options(p)
    _source_options(p, suppress=True)

    p = sub.add_parser("plan", help="what applying manifests would do to every route they touch",
                       description="Lay the -f manifests over the source (the cluster, or --against -f BASELINE) as "
                       "`kubectl apply` would, in memory, and report each route they touch: its verdict before -> "
                       "after, the pods that stop or start receiving traffic, port mappings, findings that appear or "
                       "go. Nothing is sent to the cluster but reads; no admission runs (webhooks, server defaults).",
                       epilog="examples:\n  ktrace plan -f new/ingress.yaml\n  ktrace plan -f change/ --delete "
                       "-f old-route.yaml\n  ktrace plan -f change/ --against -f baseline/\n\nexit codes: 0 no route "
                       "gets worse and no error finding appears, 1 one does, 2 usage or connection error",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(files_into="changes")
    _plan_switches(p)
    _comparison_options(p)

    p = sub.add_parser("diff", help="compare every route between two sources",
                       description="Trace every route of two sources and report what differs, route by route: two "
                       "sets of files, two contexts, or a cluster and the files it should match.",
                       epilog="examples:\n  ktrace diff -f old/ --to -f new/\n  ktrace diff --context staging --to "
                       "--context prod\n  ktrace diff --to -f desired/   (the current context against files)\n\n"
                       "exit codes: 0 no route is worse in the second source and no error finding appears there, 1 "
                       "one is, 2 usage or connection error",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--to", action=_Into, const="to_filename",
                   help="the source options after it (-f, --context, --kubeconfig, --demo) describe the second source")
    _comparison_options(p)

    p = sub.add_parser("sim", help="serve the embedded Kubernetes API simulator",
                       description="Serve a simulated Kubernetes API on 127.0.0.1 for kubectl and ktrace.")
    p.add_argument("--scenario", choices=("demo",), help="load a built-in scenario")
    p.add_argument("--synthetic", metavar="PODS", type=int, help="generate a large cluster with about PODS pods")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--write-kubeconfig", metavar="PATH",
                   help="write a kubeconfig for the simulator here, and keep it (default: a temporary one, "
                   "removed when the simulator stops)")
    _source_options(p, suppress=True)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def source_spec(args: argparse.Namespace, side: str = "") -> SourceSpec:
    """-n NS reads one namespace; without it (or with -A) every namespace the user may list. `side` "to_": the
    second source of `diff` (its options after `--to`)."""
    files = tuple(getattr(args, f"{side}filename", None) or ())
    if not 1 <= args.page_size <= 100_000:
        raise UsageError(f"--page-size takes 1 to 100000 objects per list request, not {args.page_size}")
    return SourceSpec(kubeconfig=getattr(args, f"{side}kubeconfig", None),
                      context=getattr(args, f"{side}context", None), namespace=args.namespace or None,
                      files=files, demo=bool(getattr(args, f"{side}demo", False)), page_size=args.page_size)


def other_source(args: argparse.Namespace) -> SourceSpec:
    """`diff`'s second source: the options after `--to`."""
    if not any(getattr(args, f"to_{o}", None) for o in ("filename", "kubeconfig", "context", "demo")):
        raise UsageError("diff compares two sources: give the second after --to (--to -f FILES, --to --context NAME, "
                         "--to --demo)")
    return source_spec(args, "to_")


def plan_request(args: argparse.Namespace) -> PlanRequest | None:
    changes, deletes = tuple(getattr(args, "changes", None) or ()), tuple(getattr(args, "deletes", None) or ())
    if not changes and not deletes:
        if args.command == "plan" or getattr(args, "plan", False):
            raise UsageError("a plan needs changes: -f FILES to apply and/or --delete -f FILES to remove")
        return None
    return PlanRequest(changes, deletes)


def analysis_options(args: argparse.Namespace) -> AnalysisOptions:
    from ktrace.suppress import parse_codes

    check_certs = bool(getattr(args, "check_certs", False))
    if check_certs and "-" in (args.filename or ()):
        raise UsageError("--check-certs reads the files twice and cannot re-read stdin: give the files with -f PATH")
    return AnalysisOptions(controller_namespace=getattr(args, "controller_namespace", None),
                           controller_selector=getattr(args, "controller_selector", None),
                           check_certs=check_certs, ignore=parse_codes(getattr(args, "ignore", None)),
                           min_severity=getattr(args, "min_severity", "info"))


def view_options(args: argparse.Namespace) -> ViewOptions:
    return ViewOptions(ascii=args.ascii, mouse=not args.no_mouse, low_bandwidth=args.low_bandwidth, host=args.host)


def timeout(args: argparse.Namespace) -> float | None:
    """--timeout in seconds; None: no limit."""
    if not args.timeout >= 0 or args.timeout == float("inf"):  # NaN, negative, infinite
        raise UsageError(f"--timeout takes seconds (0: no limit), not {args.timeout:g}")
    return args.timeout or None


def preview_request(args: argparse.Namespace) -> PreviewRequest | None:
    if args.backend and not args.via:
        raise UsageError("--backend names the backendRef that --via replaces: give --via SERVICE too")
    if not (args.via or args.weights):
        return None
    return PreviewRequest(via=args.via, backend=args.backend, weights=args.weights)


def program() -> NoReturn:
    """The `ktrace` program (`main` is the same, returning its code, for callers that keep the process):
    a signal ends it at once, and it ends without waiting for threads still blocked on the network,
    leaving no credential file or exec plugin behind (ktrace.ending)."""
    from ktrace.ending import end, end_on_signals

    end_on_signals()
    end(main())


def main(argv: list[str] | None = None) -> int:
    from ktrace.errors import KtraceError
    from ktrace.loader import ManifestError

    args = parse_args(argv)
    try:
        if args.command == "sim":
            from ktrace.sim.cli import run as run_sim

            return run_sim(args)
        spec, options = source_spec(args), analysis_options(args)
        if args.command == "trace":
            from ktrace.commands import run_trace
            from ktrace.targets import grpc_target

            target = grpc_target(args.target, args.grpc_service, args.grpc_method)
            return run_trace(spec, options, target, args.output, preview_request(args), timeout(args))
        if args.command == "check":
            from ktrace.commands import run_check

            return run_check(spec, options, args.output, timeout(args))
        if args.command == "plan":
            from ktrace.commands import run_plan

            return run_plan(spec, options, plan_request(args), args.output, timeout(args))  # type: ignore[arg-type]
        if args.command == "diff":
            from ktrace.commands import run_diff

            return run_diff(spec, other_source(args), options, args.output, timeout(args))
        from ktrace.commands import run_default

        return run_default(spec, options, view_options(args), plan_request(args))
    except (KtraceError, ManifestError) as e:
        from ktrace.printable import clean_lines

        print(f"ktrace: {clean_lines(e)}", file=sys.stderr)  # messages quote names and servers' words
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `ktrace check | head`
        sys.stderr.close()
        return 0
