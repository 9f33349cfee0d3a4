"""The routes pane of a plan (`ktrace --plan`): a PLAN column with each route's verdict before -> after (`✓→✗`,
ASCII `+->x`), `*` first on the routes the changes move (a mark that reads without colour), and the rows of the
routes the changes remove, kept so that what they lose shows. Pure (no Textual)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from ktrace.plan import RouteChange
from ktrace.render import ASCII_SYMBOLS, SYMBOLS
from ktrace.targets import Target
from ktrace.tui.rows import Row, row_target

PLAN_COLUMN = "PLAN"
CHANGED, SAME = "*", " "
ABSENT = ("·", ".")  # no rule named the request before (Unicode, ASCII)


def plan_columns(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The pane's columns with PLAN after the key column (it stays in view with the essential ones)."""
    return (columns[0], PLAN_COLUMN, *columns[1:])


def plan_cell(r: RouteChange | None, ascii_only: bool) -> str:
    """`*✓→✗`: changed, ok before, broken after; `?` when the route was not compared."""
    if r is None:
        return "?"
    symbols = ASCII_SYMBOLS if ascii_only else SYMBOLS
    before = ABSENT[ascii_only] if r.status_before == "absent" else symbols.get(r.status_before, "?")
    return f"{CHANGED if r.changed else SAME}{before}{'->' if ascii_only else '→'}{symbols.get(r.status_after, '?')}"


def plan_rows(after: list[Row], before: list[Row], routes: Mapping[Target, RouteChange], ascii_only: bool
              ) -> list[Row]:
    """The rows after the changes, and those of routes they remove, each with its PLAN cell."""
    keys = {row.key for row in after}
    rows = after + [row for row in before if row.key not in keys]

    def planned(row: Row) -> Row:
        cell = plan_cell(routes.get(row_target(row.key)), ascii_only)
        return replace(row, cells=(row.cells[0], cell, *row.cells[1:]), text=f"{row.text} {cell}")

    return [planned(row) for row in rows]
