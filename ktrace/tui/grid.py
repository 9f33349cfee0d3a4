"""The columns of the main grid (see ktrace.tcss): the namespaces pane is as wide as its widest name
and counts, up to a limit, so `cert-manager` is not cut on a wide screen while the routes keep their room."""

from __future__ import annotations

PANE_FRAME = 3  # a pane's two borders and its scrollbar
# Wide layout: the routes and the path panel share what the namespaces leave (9:8) and never get less
# than the 98 cells they have at 120 columns, the narrowest wide screen.
ROUTES_AND_PATH = 98


def main_grid_columns(namespaces: int, screen: int, wide: bool) -> str:
    """`grid-columns` for a namespaces pane that needs `namespaces` cells (its table's full width) on a
    screen `screen` cells wide: at most a third of the screen, the rest to the routes (and the path)."""
    width = min(namespaces + PANE_FRAME, screen // 3)
    if wide:
        return f"{min(width, screen - ROUTES_AND_PATH)} 9fr 8fr"
    return f"{width} 1fr"  # compact: the Services pane sits under the namespaces, the pods under the routes
