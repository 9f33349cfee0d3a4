"""A plan (or a diff of two sources) as text for the terminal and as Markdown for a pull-request comment."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.text import Text

from ktrace.findings import Finding
from ktrace.migration import EntryComparison
from ktrace.plan import ObjectChange, Plan, RouteChange
from ktrace.printable import clean
from ktrace.render import badge, changed_findings, diff_facts

_ACTION = {"add": "+", "delete": "-", "change": "~"}
_VERB = {"add": "added", "delete": "removed", "change": "replaced"}
MARKDOWN_ROUTES = 50  # rows of the Markdown table; then how many more (a PR comment stays readable)


def _object_lines(changes: list[ObjectChange], arrow: str) -> list[str]:
    """The files' objects one by one with the facts they move; what controllers make, counted by cause."""
    out = []
    for c in changes:
        if c.cause:
            continue
        facts = "; ".join(f"{f}: {o} {arrow} {n}" for f, o, n in c.fields())
        out.append(f"{_ACTION[c.action]} {c.ref}" + (f"  {facts}" if facts else ""))
    by_cause: dict[str, Counter] = {}
    for c in changes:
        if c.cause:
            by_cause.setdefault(c.cause, Counter())[(c.record.meta.kind, c.action)] += 1
    for cause, counts in by_cause.items():
        actions = {a for _, a in counts}
        parts = [f"{n} {kind}{'s' if n > 1 else ''} {_VERB[action]}" for (kind, action), n in sorted(counts.items())]
        out.append(f"{_ACTION[actions.pop()] if len(actions) == 1 else '~'} {cause}: {', '.join(parts)}")
    return out


def route_lines(r: RouteChange, arrow: str) -> list[str]:
    """What changes on one route, one fact per line (the entry point that takes it included)."""
    return diff_facts(r, arrow, (r.entry_before, r.entry_after))


def _lines(lines: list[str], indent: str) -> Text:
    return Text("\n".join(indent + clean(line) for line in lines))


def plan_view(plan: Plan, ascii_only: bool = False, width: int = 80, *, title: str = "plan") -> RenderableType:
    arrow = "->" if ascii_only else "→"
    c = plan.counts()
    first, second = ("changes", "over") if title == "plan" else ("from", "to")
    before, after = (plan.proposed, plan.baseline) if title == "plan" else (plan.baseline, plan.proposed)
    head = Text(f"{title} ", style="bold")
    head.append(clean(f"{first} {before}"))
    parts: list[RenderableType] = [head, Text(f"{' ' * len(title)} {second:<{len(first)}} {clean(after)}")]
    objects = _object_lines(plan.changes, arrow)
    parts.append(Text("objects" if objects else "objects: none differs", style="bold"))
    if objects:
        parts.append(_lines(objects, "  "))
    summary = Text("routes: ", style="bold")
    summary.append(f"{c['worse']} worse", style="red bold" if c["worse"] else "")
    summary.append(f", {c['better']} better, {c['changed']} changed, {c['unchanged']} unchanged")
    parts.append(summary)
    for r in plan.routes:
        line = Text("  ")
        line.append(clean(r.after.label), style="bold")
        line.append("  ")
        line.append_text(badge(r.status_before, ascii_only))
        line.append(f" {arrow} ")
        line.append_text(badge(r.status_after, ascii_only))
        if r.worse:
            line.append("  WORSE", style="red bold")
        elif r.better:
            line.append("  better", style="green")
        parts.append(line)
        facts = route_lines(r, arrow)
        if facts:
            parts.append(_lines(facts, "      "))
        parts += changed_findings(r.appear, r.disappear, ascii_only, width, indent=4, empty=False)
    if plan.appear or plan.disappear:
        parts.append(Text("findings on no route above", style="bold"))
        parts += changed_findings(plan.appear, plan.disappear, ascii_only, width, indent=4, empty=False)
    for c in plan.entry_points:
        parts.append(Text(clean(f"entry point moved: {c.host}: {', '.join(c.ingresses)} {arrow} {', '.join(c.routes)}"),
                          style="bold"))
        parts.append(_lines(_entry_lines(c), "    "))
    verdict = Text()
    verdict.append("exit 1: a route gets worse or an error finding appears" if plan.worse else
                   "exit 0: no route gets worse, no error finding appears", style="bold")
    parts.append(verdict)
    return Group(*parts)


def _entry_lines(c: EntryComparison) -> list[str]:
    if c.agree:
        return ["they agree on every path"]
    return [f"{d.aspect}{' ' + d.path if d.path else ''}: {d.text}" for d in c.differences]


# -- Markdown ----------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipe, no line break, no HTML."""
    return clean(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _codes(found: Iterable[Finding], sign: str) -> list[str]:
    return [f"{sign} `{f.code}` {_cell(f.kind)} {_cell(f.namespace + '/' if f.namespace else '')}{_cell(f.name)}"
            for f in found]


# The terminal's symbols (never emoji: a PR comment is read in terminals and editors too).
_MARK = {"ok": "✓", "unknown": "?", "degraded": "!", "broken": "✗", "absent": "·"}


def plan_markdown(plan: Plan, *, title: str = "ktrace plan") -> str:
    c = plan.counts()
    verdict = f"**{c['worse']} route{'s' if c['worse'] != 1 else ''} worse**" if c["worse"] else "no route worse"
    lines = [f"### {title}: {verdict}, {c['better']} better, {c['changed']} changed, {c['unchanged']} unchanged",
             "", f"{_cell(plan.proposed)} over {_cell(plan.baseline)}" if title == "ktrace plan" else
             f"{_cell(plan.baseline)} → {_cell(plan.proposed)}", ""]
    if plan.routes:
        lines += ["| Route | Before | After | What changes |", "|---|---|---|---|"]
        for r in plan.routes[:MARKDOWN_ROUTES]:
            what = [_cell(x) for x in route_lines(r, "→")] + _codes(r.appear, "+") + _codes(r.disappear, "−")
            after = f"**{r.status_after}**" if r.worse else r.status_after
            lines.append(f"| `{_cell(r.after.label)}` | {_MARK.get(r.status_before, '')} {r.status_before} | "
                         f"{_MARK.get(r.status_after, '')} {after} | {'<br>'.join(what) or 'findings reworded'} |")
        if len(plan.routes) > MARKDOWN_ROUTES:
            lines.append(f"| … and {len(plan.routes) - MARKDOWN_ROUTES} more | | | |")
        lines.append("")
    outside = _codes(plan.appear, "+") + _codes(plan.disappear, "−")
    if outside:
        lines += ["Findings on no route above:", ""] + [f"- {x}" for x in outside] + [""]
    for c in plan.entry_points:
        lines += [f"Entry point moved for `{_cell(c.host)}`: {_cell(', '.join(c.ingresses))} → "
                  f"{_cell(', '.join(c.routes))}", ""] + [f"- {_cell(x)}" for x in _entry_lines(c)] + [""]
    objects = _object_lines(plan.changes, "→")
    if objects:
        lines += [f"<details><summary>{len(objects)} object change{'s' if len(objects) > 1 else ''}</summary>", ""]
        lines += [f"- {_cell(x)}" for x in objects] + ["", "</details>", ""]
    return "\n".join(lines)
