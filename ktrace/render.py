"""Rich renderables shared by the CLI and the TUI: the request path as a tree or a summary, findings as lines.

Meaning never rests on colour alone: every status has a symbol and a word. Symbols avoid the ones
terminals draw as 2-cell emoji (✔ ✖ ⚠, anything with U+FE0F); an ASCII set serves terminals whose
encoding is not UTF-8. Every string that came from the cluster or a file goes through
`ktrace.printable.clean()` before layout, so widths and wrapping see the escapes that are drawn.
"""

from __future__ import annotations

import io
import re
import textwrap
import time as clock
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ktrace.findings import Finding, FindingId, finding_id
from ktrace.history import FieldChange
from ktrace.model import ROUTE_KINDS
from ktrace.pathdiff import PathDiff
from ktrace.preview import Preview
from ktrace.printable import clean
from ktrace.requestpath import (
    ENDPOINTS,
    FRONT,
    INGRESS,
    PODS,
    SERVICE,
    BackendDetail,
    EndpointSliceDetail,
    FrontDoorDetail,
    GatewayDetail,
    GRPCRouteDetail,
    Hop,
    HopStatus,
    HTTPRouteDetail,
    IngressDetail,
    NetworkPolicyDetail,
    PodDetail,
    Redirect,
    RequestPath,
    ServiceDetail,
    TLSRouteDetail,
)
from ktrace.rollout import Revision

SYMBOLS = {"ok": "✓", "warning": "!", "error": "✗", "unknown": "?", "info": "i",
           "degraded": "!", "broken": "✗"}
ASCII_SYMBOLS = {"ok": "+", "warning": "!", "error": "x", "unknown": "?", "info": "i",
                 "degraded": "!", "broken": "x"}
STYLES = {"ok": "green", "warning": "yellow", "degraded": "yellow", "error": "red", "broken": "red",
          "unknown": "dim", "info": "cyan"}
MAX_READY_PODS = 10  # ready pods shown per path; not-ready pods are always shown
RECENT_SECONDS = 3600  # a hop whose object changed this recently is marked in the summary
CHANGE_MARK, ASCII_CHANGE_MARK = "Δ", "^"
TIMELINE_LINES = 10  # the latest changes the trace's text and the full view show; the summary shows fewer


def _clock(time: str) -> str:
    """HH:MM:SS of an RFC 3339 time (UTC, as the API server writes it)."""
    return time[11:19] if len(time) >= 19 and time[10] == "T" else time


def recent(hop: Hop, now: float, within: float = RECENT_SECONDS) -> bool:
    """Whether the hop's object changed in the last `within` seconds (its latest managedFields time)."""
    if hop.last_change is None:
        return False
    try:
        at = datetime.strptime(hop.last_change.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return False
    return now - within <= at <= now + 60  # a minute of clock skew between the server and this machine


def timeline(changes: list[FieldChange], ascii_only: bool = False, limit: int = TIMELINE_LINES) -> Text:
    """The changes seen on the path's objects, latest `limit` of them, one line each:
    `14:02:11 Service aspnet/aspnetapp: spec.selector app=aspnetapp → App=aspnetapp (kubectl-edit)`."""
    arrow = "->" if ascii_only else "→"
    out = Text("changes seen since ktrace started (UTC):", style="bold")
    if len(changes) > limit:
        out.append(f"\n  ... {len(changes) - limit} earlier", style="dim")
    for c in changes[-limit:]:
        where = f"{c.namespace}/{c.name}" if c.namespace else c.name
        out.append(f"\n  {_clock(c.time)} ")
        out.append(clean(f"{c.kind} {where}: {c.field} {c.old} {arrow} {c.new}"))
        if c.manager:
            out.append(clean(f" ({c.manager})"), style="dim")
    return out


def badge(status: str, ascii_only: bool = False) -> Text:
    """A verdict as symbol and word; `absent` (a route no rule named before a change) as the word alone."""
    if status == "absent":
        return Text("absent", style="dim")
    sym = (ASCII_SYMBOLS if ascii_only else SYMBOLS).get(status, "?")
    return Text(f"{sym} {status}", style=STYLES.get(status, ""))


def _hop_label(hop: Hop, ascii_only: bool) -> Text:
    t = badge(hop.status, ascii_only)
    # Endpoints and pods live in the Service's namespace: the name alone keeps pod lines short. The
    # controller's egress policies do not.
    with_ns = hop.namespace and (hop.level < ENDPOINTS or (isinstance(hop.detail, NetworkPolicyDetail)
                                 and hop.detail.direction == "egress"))
    ref = f"{hop.namespace}/{hop.name}" if with_ns and hop.name else hop.name or "(none)"
    t.append(f"  {hop.kind} ", style="bold")
    t.append(clean(ref))
    d, split = hop.detail, hop.split
    if isinstance(d, FrontDoorDetail):
        t.append(clean(f"  {_front_text(d, hop.namespace != '')}"), style="dim")
    elif isinstance(d, GatewayDetail):
        if d.listener is not None and d.listener.name:
            x = d.listener
            t.append(clean(f"  listener {x.name}  {x.protocol}:{x.port}  {x.hostname or '*'}"), style="dim")
    elif isinstance(d, HTTPRouteDetail | GRPCRouteDetail):
        t.append(clean(f"  {d.hostname or '*'}  rule {d.rule}: {d.match}"), style="dim")
    elif isinstance(d, TLSRouteDetail):
        t.append(clean(f"  {d.hostname or '*'}  {d.tls_mode}"), style="dim")
    elif isinstance(d, IngressDetail):
        bits = [d.host or "*", "defaultBackend" if d.default_backend else f"{d.path_type} {d.path}"]
        if d.tls_secret:
            bits.append(f"tls {d.tls_secret}")
        t.append("  " + clean("  ".join(bits)), style="dim")
    elif isinstance(d, ServiceDetail) and hop.level == SERVICE:
        name = f" ({d.port_name})" if d.port_name else ""
        t.append(clean(f":{d.port}{name} -> {d.target_port}"), style="dim")
    if hop.level == SERVICE and split is not None and split.share != 1:  # a split Gateway rule: this backendRef's part
        t.append(f"  weight {split.weight} ({split.share:.0%})", style="bold")
    if hop.redirect is not None:  # the branch ends at the Gateway's answer
        t.append(clean(f"  {_redirect_text(hop.redirect, ascii_only)}"), style="bold")
    elif isinstance(d, EndpointSliceDetail) and hop.status != "unknown":
        t.append(f"  {_family(d)}{d.ready}/{d.total} ready", style="dim")
    elif isinstance(d, PodDetail):
        bits = [f":{d.container_port}" if d.container_port else "", d.ip or ""]
        if d.template_of:
            bits.append(f"template x{d.replicas}" if d.replicas else "template")
        t.append("  " + clean("  ".join(b for b in bits if b)), style="dim")
    return t


def _front_text(d: FrontDoorDetail, found: bool = True) -> str:
    """A front door in a few words: what it serves (when found: else its name says), its ready pods, the address
    clients reach it at."""
    bits = [d.of] if found else []
    if d.total:
        bits.append(f"{d.ready}/{d.total} ready" if d.ready is not None else f"{d.total} pod(s)")
    address = next((a for s in d.services for a in s.addresses), None) or next(iter(d.published), None)
    if address:
        bits.append(address)
    return "  ".join(bits)


def _front_brief(hop: Hop) -> str:
    """A healthy front door in a few words: its name and ready pods (`ingress-nginx-controller 2/2`)."""
    d = hop.detail
    ready = f" {d.ready}/{d.total}" if isinstance(d, FrontDoorDetail) and d.ready is not None else ""
    return f"{hop.name}{ready}"


def _redirect_text(r: Redirect, ascii_only: bool) -> str:
    return f"{'->' if ascii_only else '→'} {r.status_code} redirect to {r.location}"


def _family(d: EndpointSliceDetail) -> str:
    """A dual-stack Service's slice says its address family: its counts are that family's alone."""
    return f"{d.address_type}  " if d.dual_stack and d.address_type else ""


def _reasons(node: Tree, hop: Hop) -> None:
    # Pods that are fine need no explanation; everything else says why.
    if hop.level == PODS and hop.status == "ok":
        return
    for r in own_reasons(hop):
        node.add(Text(clean(r), style="dim" if hop.status in ("ok", "unknown") else ""))


def hop_key(hop: Hop) -> tuple[int, str, str, str]:
    """What identifies a hop across two traces of one target (to tell which hops changed)."""
    return (hop.level, hop.kind, hop.namespace, hop.name)


def _label_repeats(hop: Hop) -> set[str]:
    """Reasons that only repeat what the hop's label already says."""
    d, split = hop.detail, hop.split
    out: set[str] = set()
    if isinstance(d, IngressDetail) and d.tls_secret:
        out.add(f"TLS secret {d.tls_secret}")
    elif isinstance(d, FrontDoorDetail) and d.ready is not None:  # the label gives the count
        out.add(f"{d.ready} of {d.total} pods ready")
    elif isinstance(d, GatewayDetail) and d.listener is not None and d.listener.name:
        x = d.listener
        out.add(f"listener {x.name}: {x.protocol} port {x.port}, hostname {x.hostname or 'any'}")
    elif isinstance(d, ServiceDetail) and hop.level == SERVICE:
        port = f"{d.port}/{d.port_name}" if d.port_name else str(d.port)
        out.add(f"port {port} -> targetPort {d.target_port}")
    elif isinstance(d, EndpointSliceDetail) and hop.status != "unknown":  # the label gives the count
        out.add(f"{d.ready} of {d.total} ready")
        if d.total == 0:
            out.add("no endpoints")
    if hop.level == SERVICE and split is not None and split.share != 1:  # the label gives the weight
        out |= {f"weight {split.weight}: {split.share:.0%} of requests", f"weight {split.weight}: no requests"}
    if hop.redirect is not None:  # the label gives where the client is sent
        out.add(f"RequestRedirect: {hop.redirect.status_code} redirect to {hop.redirect.location}")
    return out


def own_reasons(hop: Hop) -> list[str]:
    """The hop's reasons without those its label says and those another reason says and more
    (`selector X` next to `selector X matches no pod; ...`)."""
    repeats = _label_repeats(hop)
    return [r for r in hop.reasons if r not in repeats and not any(o.startswith(r + " ") for o in hop.reasons)]


def _detailed_reasons(node: Tree, hop: Hop, findings: list[Finding]) -> None:
    """The reasons of a hop above the pods, for the TUI's full view: problems first, each with its
    hint (hints of findings the hop does not state are left to the findings view), then the
    informational reasons."""
    by_message = {f.message: f for f in findings if f.code in hop.finding_codes}
    style = "dim" if hop.status in ("ok", "unknown") else ""
    problems: list[Text] = []
    info: list[Text] = []
    for r in own_reasons(hop):
        f = by_message.get(r)
        if f is None:
            info.append(Text(clean(r), style=style))
        else:
            problems.append(Text(clean(r)))
            if f.hint:
                problems.append(Text(clean(f"hint: {f.hint}"), style="italic"))
    for line in problems + info:
        node.add(line)


def _was(before: str | None, ascii_only: bool) -> str:
    return "new" if not before else f"was {(ASCII_SYMBOLS if ascii_only else SYMBOLS).get(before, '?')} {before}"


def _changed_label(label: Text, before: str | None, ascii_only: bool) -> Text:
    # A symbol and words, not only a colour: the mark must survive NO_COLOR and 16-colour terminals.
    marked = Text("* ", style="bold reverse")
    marked.append_text(label)
    marked.append(f"  (changed: {_was(before, ascii_only)})", style="bold reverse")
    return marked


def hop_parents(hops: list[Hop]) -> list[int | None]:
    """Each hop's parent on the path, as an index into `hops` (None: the path's root): the latest hop of
    the deepest level above its own; a route hangs under the Gateway listener that took it. The tree
    and the pictures (ktrace.picture) draw the same structure."""
    out: list[int | None] = []
    latest: dict[int, int] = {}  # level -> the latest hop of that level still open
    gateway: int | None = None
    for i, hop in enumerate(hops):
        above = [k for k in latest if k < hop.level]
        parent = latest[max(above)] if above else None
        if hop.level == INGRESS and hop.kind in ROUTE_KINDS and gateway is not None:
            parent = gateway
        out.append(parent)
        if hop.level != FRONT:  # the front door stands beside the Ingress or Gateway it serves, not above it
            latest[hop.level] = i
        if hop.level == INGRESS:
            gateway = i if hop.kind == "Gateway" else None
        for deeper in [k for k in latest if k > hop.level]:
            del latest[deeper]
    return out


def path_tree(path: RequestPath, ascii_only: bool = False, *, details: bool = False,
              changed: Mapping[tuple, str | None] | None = None, max_problem_pods: int | None = None) -> Tree:
    """The path as a tree. `details` (the TUI's full view, which has no findings list under the
    tree): problems first, with their hints.
    `changed`: hop_key -> previous status (None for a hop that is new), marked with `*` and the old
    status; changed pods are always shown.
    `max_problem_pods`: cap on the pods that are not ready (the TUI redraws the tree on every
    change; thousands of crash-looping pods would take a second each time)."""
    root_label = badge(path.status, ascii_only)
    root_label.append(f"  {clean(path.label)}", style="bold")
    root = Tree(root_label, guide_style="dim")
    changed = changed or {}
    # Findings by object, for the hops above the pods (a pod's reasons already say why it is not
    # ready; its finding's hint repeated under every pod would be noise).
    by_object: dict[tuple[str, str, str], list[Finding]] = {}
    if details:
        for f in path.findings:
            if f.kind != "Pod":
                by_object.setdefault((f.kind, f.namespace, f.name), []).append(f)
    parent_of = hop_parents(path.hops)
    nodes: dict[int, Tree] = {}
    last: int | None = None  # the last hop drawn
    ready_shown = hidden = problems_shown = hidden_problems = 0
    for i, hop in enumerate(path.hops):
        if hop.level == PODS and hop_key(hop) not in changed:
            if hop.status == "ok":
                if ready_shown >= MAX_READY_PODS:
                    hidden += 1
                    continue
                ready_shown += 1
            elif max_problem_pods is not None:
                if problems_shown >= max_problem_pods:
                    hidden_problems += 1
                    continue
                problems_shown += 1
        p = parent_of[i]
        parent = root if p is None else nodes[p]
        label = _hop_label(hop, ascii_only)
        key = hop_key(hop)
        node = parent.add(_changed_label(label, changed[key], ascii_only) if key in changed else label)
        if isinstance(hop.detail, ServiceDetail) and hop.detail.revisions:
            node.add(revisions_text(hop.detail.revisions, ascii_only))
        if details and hop.level < PODS:
            _detailed_reasons(node, hop, by_object.get((hop.kind, hop.namespace, hop.name), []))
        else:
            _reasons(node, hop)
        if hop.last_change is not None and hop.level < PODS:
            by = f" by {hop.last_change.manager}" if hop.last_change.manager else ""
            node.add(Text(clean(f"last changed {hop.last_change.time}{by}"), style="dim"))
        nodes[i], last = node, i
    chain = []  # the last hop drawn and its ancestors: the "and N more" lines go under its slice or Service
    while last is not None:
        chain.append(last)
        last = parent_of[last]
    parent = next((nodes[j] for level in (ENDPOINTS, SERVICE) for j in chain if path.hops[j].level == level), root)
    if hidden_problems:
        parent.add(Text(f"... and {hidden_problems} more pod(s) not ready or of unknown readiness", style="bold"))
    if hidden:
        parent.add(Text(f"... and {hidden} more ready pod(s)", style="dim"))
    return root


PROBLEMS = ("error", "warning")
_RESTARTS = re.compile(r", \d+ restarts?")  # differs from pod to pod; the reason is the same


def _summary_ref(hop: Hop, namespace: str, ascii_only: bool, weight: bool = True) -> str:
    """A hop's name in the summary: the namespace only where it changes along the path; the
    figures that tell the hop apart (a listener, a rule, a port mapping, a weight unless `weight` is
    False (a picture puts it on the edge), a ready count)."""
    name = f"{hop.namespace}/{hop.name}" if hop.namespace and hop.namespace != namespace and hop.name else hop.name
    d, split = hop.detail, hop.split
    if isinstance(d, FrontDoorDetail):
        name = f"{name}  {_front_text(d, hop.namespace != '')}"
    elif isinstance(d, GatewayDetail) and d.listener is not None and d.listener.name:
        name += f"  listener {d.listener.name} {d.listener.protocol}:{d.listener.port}"
    elif isinstance(d, HTTPRouteDetail | GRPCRouteDetail):
        name += f"  rule {d.rule}"
    elif isinstance(d, TLSRouteDetail):
        name += f"  {d.tls_mode}"
    elif isinstance(d, ServiceDetail) and d.external_name:
        name += f"  ExternalName {d.external_name}"
    elif isinstance(d, ServiceDetail):
        name += f":{d.port} -> {d.target_port}"
    elif isinstance(d, BackendDetail) and d.port is not None:
        name += f":{d.port}"
    elif isinstance(d, EndpointSliceDetail) and hop.status != "unknown":
        name += f"  {_family(d)}{d.ready}/{d.total} ready"
    if weight and split is not None and split.share != 1:
        name += f"  weight {split.weight} ({split.share:.0%})"
    if hop.redirect is not None:
        name += f"  {_redirect_text(hop.redirect, ascii_only)}"
    return name.strip()


def _decisive_reason(hop: Hop, problems: list[Finding]) -> str | None:
    """Why a hop is not ok, in one reason: its first problem finding's message (as the hop states
    it), else its last own reason (the tracer adds the verdict's reason after the context)."""
    if hop.status == "ok":
        return None
    messages = {f.message for f in problems}
    stated = next((r for r in hop.reasons if r in messages), None)
    own = own_reasons(hop)
    return stated or (problems[0].message if problems else own[-1] if own else None)


def _pods_line(pods: list[Hop]) -> tuple[str, str]:
    """Pods on one line: the worst status, how many are ready and the most common reason why not."""
    worst = max((h.status for h in pods), key=("ok", "unknown", "warning", "error").index)
    ready = sum(h.status == "ok" for h in pods)
    if ready == len(pods):
        return worst, f"{ready}/{len(pods)} ready"
    reasons = Counter(_RESTARTS.sub("", h.reasons[0]) if h.reasons else h.status for h in pods if h.status != "ok")
    reason, count = reasons.most_common(1)[0]
    return worst, f"{ready} of {len(pods)} ready: {reason}" + (f" ({count})" if count > 1 else "")


def path_summary(path: RequestPath, ascii_only: bool = False, *,
                 changed: Mapping[tuple, str | None] | None = None, now: float | None = None) -> RenderableType:
    """The path in as few lines as its problems allow (the TUI's default view): the verdict and
    target; one line per hop above the pods (symbol, kind, name, and for a hop that is not ok the
    one reason that decides it; a rollout's revisions under its Service); each Service's pods on one
    line; then one `fix:` line per distinct hint of the path's problems. No fact twice: a hop line
    states a finding's message, its fix line only the hint. Long lines wrap under their text, never
    cut. The front door (the controller) gets a line only when it is not ok: the root line names a healthy one.
    `changed` as for `path_tree`. A hop whose object changed in the hour before `now` (default: the clock) is
    marked `Δ` (ASCII `^`) with the time and the manager; the live timeline ends the summary."""
    symbols = ASCII_SYMBOLS if ascii_only else SYMBOLS
    now = clock.time() if now is None else now
    changed = changed or {}
    root = badge(path.status, ascii_only)
    root.append(f"  {clean(path.label)}", style="bold")
    doors = [h for h in path.hops if h.level == FRONT and h.status == HopStatus.OK and hop_key(h) not in changed]
    if doors:  # a healthy front door takes no line of its own: the root says who receives the request
        root.append(clean("  via " + ", ".join(_front_brief(h) for h in doors)), style="dim")
    problems: dict[tuple[str, str, str], list[Finding]] = {}
    for f in path.findings:
        if f.severity in PROBLEMS:
            problems.setdefault((f.kind, f.namespace, f.name), []).append(f)
    hops = Table.grid(padding=(0, 1))
    hops.add_column(no_wrap=True, justify="right")  # the symbols line up when a `*` marks a change
    hops.add_column(overflow="fold")
    order: list[Finding] = []  # the problems in path order, for the fixes

    def row(status: str, kind: str, ref: str, reason: str | None, mark: str | None, hop: Hop | None = None) -> None:
        cell = Text(f"{symbols.get(status, '?')}", style=STYLES.get(status, ""))
        text = Text(kind, style="bold")
        text.append(f" {clean(ref)}" if ref else "")
        if hop is not None and hop.last_change is not None and recent(hop, now):
            who = f" {hop.last_change.manager}" if hop.last_change.manager else ""
            text.append(clean(f"  {ASCII_CHANGE_MARK if ascii_only else CHANGE_MARK} "
                              f"{_clock(hop.last_change.time)}{who}"), style="bold magenta")
        if reason:
            text.append(f"  {clean(reason)}")
        if mark is not None:
            cell = Text("* ", style="bold reverse") + cell
            text.append(f"  (changed: {clean(mark)})", style="bold reverse")
        hops.add_row(cell, text)

    namespace, pods = "", []
    for hop in [*path.hops, None]:
        if hop is not None and hop.level == PODS:
            pods.append(hop)
            order += problems.get(("Pod", hop.namespace, hop.name), [])
            continue
        if pods:
            status, text = _pods_line(pods)
            moved = [f"{h.name} {_was(changed[hop_key(h)], ascii_only)}" for h in pods if hop_key(h) in changed]
            row(status, "Pods", text, None, ", ".join(moved) if moved else None)
            pods = []
        if hop is None:
            break
        if hop.level == FRONT and hop.status in (HopStatus.OK, HopStatus.UNKNOWN) and hop_key(hop) not in changed:
            continue  # a front door that decides nothing takes no line of the few (the root names a healthy one)
        mine = problems.get((hop.kind, hop.namespace, hop.name), [])
        order += mine
        key = hop_key(hop)
        # A front door with a line of its own: its reason says how many pods are ready, so its name alone.
        ref = f"{hop.namespace}/{hop.name}" if hop.level == FRONT else _summary_ref(hop, namespace, ascii_only)
        row(hop.status, hop.kind, ref, _decisive_reason(hop, mine),
            _was(changed[key], ascii_only) if key in changed else None, hop)
        if isinstance(hop.detail, ServiceDetail) and hop.detail.revisions:  # a rollout is under way: who serves
            hops.add_row("", revisions_text(hop.detail.revisions, ascii_only))
        namespace = hop.namespace or namespace
    parts: list[RenderableType] = [root]
    if path.hops:
        parts.append(hops)
    else:  # nothing routes the target: the findings say why (closest hosts, the host's paths)
        parts += [Text(clean(f.message)) for f in path.findings]
    fixes = Table.grid(padding=(0, 1))
    fixes.add_column(no_wrap=True)
    fixes.add_column(overflow="fold")
    hints = dict.fromkeys(f.hint for f in [*order, *path.findings] if f.severity in PROBLEMS and f.hint)
    for hint in hints:
        fixes.add_row(Text("fix:", style="bold"), Text(clean(hint), style="italic"))
    if hints:
        parts.append(fixes)
    if path.changes:  # after the fixes: at 80x24 the cause stays on screen
        parts.append(timeline(path.changes, ascii_only, limit=3))
    return Group(*parts)


def revisions_text(revisions: list[Revision], ascii_only: bool = False) -> Text:
    """A rollout on the path: one line per revision (current first) with its version, ready count
    and whether it receives traffic."""
    out = Text(clean(f"rollout of Deployment {revisions[0].deployment}: {len(revisions)} revisions"), style="bold")
    for r in revisions:
        role = {True: "current", False: "old"}.get(r.current, "revision")
        gone = f", {r.terminating} terminating" if r.terminating else ""
        traffic = "receives traffic" if r.serving else "no traffic"
        out.append("\n")
        out.append_text(badge("ok" if r.serving else "warning", ascii_only))
        out.append(clean(f"  {role} {r.hash}  {r.version or '?'}  {r.ready}/{r.pods} ready{gone}, {traffic}"))
    return out


def preview_view(p: Preview, ascii_only: bool = False, width: int = 80, *, details: bool = False) -> RenderableType:
    """A preview: what it replaces, the would-be path, then the difference against today's path."""
    arrow = "->" if ascii_only else "→"
    head = Text("preview ", style="bold")
    changes = [f"{r.entry} {r.service} {arrow} {p.candidate}" for r in p.replaced]
    if p.weights:
        changes.append("weights " + ", ".join(f"{k}={v}" for k, v in p.weights.items()))
    head.append(clean(f"{p.today.target}: {'; '.join(changes)}  (nothing is changed in the cluster)"))
    parts: list[RenderableType] = [head, Text("would-be path:", style="bold")]
    tree = path_tree(p.would_be, ascii_only, details=details)
    parts.append(AsciiGuides(tree) if ascii_only else tree)
    parts.append(path_diff_view(p, p.today.status, p.would_be.status, ascii_only, width,
                                title="difference against today's path"))
    return Group(*parts)


_MAX_NAMED = 8  # pods named per line of a difference; then how many more


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED])
    return shown + (f" and {len(items) - _MAX_NAMED} more" if len(items) > _MAX_NAMED else "")


def diff_facts(d: PathDiff, arrow: str, entry: tuple[str, str] = ("", "")) -> list[str]:
    """What differs between two paths of one request, one fact per line; `entry`: what took the request before
    and after (`Ingress ns/name`), when that is compared."""
    out = []
    if entry[0] != entry[1]:
        out.append(f"entry point: {entry[0] or 'none'} {arrow} {entry[1] or 'none'}")
    for what, stop, start, keep in (("backends", d.backends_stop, d.backends_start, d.backends_keep),
                                    ("pods", d.stop, d.start, d.keep)):
        out += [f"{what} {title}: {_names(items)}" for title, items in (("stop", stop), ("start", start)) if items]
        if (stop or start) and keep:
            out.append(f"{what} keep: {_names(keep)}")
    out += [f"port mapping was: {m}" for m in d.ports_before] + [f"port mapping now: {m}" for m in d.ports_after]
    if d.shares_before:
        out.append(f"split: {', '.join(d.shares_before) or 'none'} {arrow} {', '.join(d.shares_after) or 'none'}")
    return out


def path_diff_view(d: PathDiff, before: str, after: str, ascii_only: bool = False, width: int = 80, *,
                   title: str = "what changes", entry: tuple[str, str] = ("", "")) -> RenderableType:
    """One difference of two paths, as every view shows it (a `--via` preview, a planned change's route): the
    verdict before -> after, the facts that differ, the findings that appear and those that go."""
    arrow = "->" if ascii_only else "→"
    head = Text(f"{title} ", style="bold")
    head.append_text(badge(before, ascii_only))
    head.append(f" {arrow} ")
    head.append_text(badge(after, ascii_only))
    facts = diff_facts(d, arrow, entry)
    body = Text("\n".join(f"  {clean(line)}" for line in facts) if facts else "  no pod, port or split changes",
                style="" if facts else "dim")
    parts: list[RenderableType] = [head, body]
    parts += changed_findings(d.appear, d.disappear, ascii_only, width, indent=2)
    return Group(*parts)


def changed_findings(appear: list[Finding], disappear: list[Finding], ascii_only: bool, width: int, *, indent: int,
                     empty: bool = True) -> list[Text]:
    """`findings that appear:` and `findings that disappear:`, each with its findings indented under it;
    `empty`: say `none` under a title with no finding (else leave the title out)."""
    pad = " " * indent
    out = []
    for sign, found, style in (("appear", appear, ""), ("disappear", disappear, "dim")):
        if found or empty:
            title = f"{pad}findings that {sign}:" + ("" if found else " none")
            out.append(Text(title, style=style if found else "dim"))
        if found:
            lines = finding_lines(found, ascii_only, width=width - indent - 2)
            lines.rstrip()
            out.append(Text("\n").join(Text(pad + "  ").append_text(line) for line in lines.split("\n")))
    return out


def _indented(text: str, width: int, style: str = "") -> Text:
    lines = textwrap.wrap(text, width=max(width, 24), initial_indent="    ", subsequent_indent="    ",
                          break_on_hyphens=False) or ["    "]
    return Text("\n".join(lines) + "\n", style=style)


def finding_lines(findings: Iterable[Finding], ascii_only: bool = False, origins: dict | None = None,
                  width: int = 80, affects: Mapping[FindingId, list[str]] | None = None) -> Text:
    """One block per finding: badge, code and object, then message, hint, the routes it breaks or degrades
    (`affects`, by `finding_id`) and file:line indented (wrapped lines keep the indent, so the list stays
    scannable in 80 columns)."""
    out = Text()
    for f in findings:
        out.append_text(badge(f.severity, ascii_only))
        out.append(f"  {f.code}", style="bold")
        where = f"{f.namespace}/{f.name}" if f.namespace else f.name
        out.append(clean(f"  {f.kind} {where}" if where else f"  {f.kind}") + "\n")
        out.append_text(_indented(clean(f.message), width))
        if f.hint:
            out.append_text(_indented("hint: " + clean(f.hint), width, "dim"))
        routes = (affects or {}).get(finding_id(f))
        if routes:
            out.append_text(_indented("affects: " + clean(", ".join(routes)), width))
        origin = (origins or {}).get((f.kind, f.namespace, f.name))
        if origin:
            out.append_text(_indented(f"at {clean(origin)}", width, "dim"))
    return out


def summary_line(findings: list[Finding], ascii_only: bool = False) -> Text:
    counts = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    t = Text()
    for s, n in counts.items():
        if t:
            t.append(", ")
        t.append(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}", style=STYLES[s] if n else "dim")
    return t


def trace_view(path: RequestPath, ascii_only: bool = False, width: int = 80) -> RenderableType:
    parts: list[RenderableType] = [path_tree(path, ascii_only)]
    if path.findings:
        parts.append(Text(""))
        lines = finding_lines(path.findings, ascii_only, width=width)
        lines.rstrip()
        parts.append(lines)
    if path.changes:
        parts += [Text(""), timeline(path.changes, ascii_only)]
    return Group(*parts)


class AsciiGuides:
    """Draws a renderable as if the terminal could not encode Unicode (ASCII tree guides and boxes),
    for `--ascii` inside a UTF-8 terminal."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        ascii_options = options.copy()
        ascii_options.encoding = "ascii"
        yield from console.render(self.renderable, ascii_options)


def trace_text(path: RequestPath, width: int = 100, ascii_only: bool = False) -> str:
    """The trace as plain text (no ANSI): what `y` copies to the clipboard."""
    return plain_text(trace_view(path, ascii_only, width), width, ascii_only)


def plain_text(view: RenderableType, width: int = 100, ascii_only: bool = False) -> str:
    """A renderable as plain text (no ANSI), trailing spaces dropped."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, force_terminal=False, no_color=True,
                      emoji=False, highlight=False, legacy_windows=False)
    console.print(AsciiGuides(view) if ascii_only else view)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"
