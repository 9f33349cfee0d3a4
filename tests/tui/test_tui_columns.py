"""The panes' columns on the demo at 80x24, 120x40 and 200x50: key columns whole before any other gets room,
left/right scroll the others, the namespaces pane fits its names, near-miss pods marked, only the path's pods."""

from __future__ import annotations

import pytest

from ktrace.tui.app import KtraceApp
from ktrace.tui.grid import main_grid_columns
from ktrace.tui.table import KeyedTable
from tests.tui.test_tui_app import demo_app, loaded


def lines(table: KeyedTable) -> list[str]:
    """The pane's drawn lines: the header, then one per row in view."""
    return [table.render_line(y).text for y in range(min(table.size.height, len(table.visible_keys) + 1))]


def test_the_namespaces_column_fits_its_names_within_a_third_and_leaves_the_routes_their_room() -> None:
    assert main_grid_columns(39, 200, wide=True) == "42 9fr 8fr"  # whole: 39 cells, two borders, a scrollbar
    assert main_grid_columns(70, 200, wide=True) == "66 9fr 8fr"  # a third of the screen at most
    assert main_grid_columns(39, 120, wide=True) == "22 9fr 8fr"  # the routes and path keep their 98 cells
    assert main_grid_columns(39, 130, wide=True) == "32 9fr 8fr"
    assert main_grid_columns(39, 80, wide=False) == "26 1fr"
    assert main_grid_columns(28, 100, wide=False) == "31 1fr"  # short names: narrower than a third


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
async def test_hosts_are_whole_and_the_namespace_names_when_the_screen_has_room(size: tuple[int, int]) -> None:
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        rules = app.table("rules")
        for key, line in zip(rules.visible_keys, lines(rules)[1:], strict=False):
            assert line[3:].startswith(rules.row(key).cells[0] + " "), line  # the host, whole
        header = lines(rules)[0]
        assert header.split()[:3] == ["HOST", "PATH", "BACKEND"]
        namespaces = app.table("namespaces")
        names = [line[3:].split()[0] for line in lines(namespaces)[1:]]
        if size == (200, 50):  # room enough: every name and count whole (cert-manager was cert-mana~)
            assert names == ["(all)", *sorted(app.store.namespaces())]
            assert lines(namespaces)[0].split() == ["NAMESPACE", "ING", "SVC", "PODS"]
        if size == (120, 40):  # the routes keep the width they had before the namespaces pane could grow
            assert namespaces.outer_size.width == 22 and rules.outer_size.width >= 51


@pytest.mark.slow
@pytest.mark.parametrize("ascii_only", [False, True])
async def test_right_reveals_the_hidden_columns_and_the_pod_names_stay(ascii_only: bool) -> None:
    app = demo_app()
    app.ascii_only = ascii_only
    left, right = ("<", ">") if ascii_only else ("«", "»")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pods = app.table("pods")
        pods.focus()
        await pilot.pause()
        unscrolled = header = lines(pods)[0]
        assert "NODE" not in header and header.rstrip().endswith(right) and left not in header
        await pilot.press("right")  # READY was `~` alone: the pod names give way a little for it
        assert lines(pods)[1][3:].split()[1] == "1/1"
        seen = set()
        for _ in range(len(pods.columns)):
            await pilot.press("right")
            header, first = lines(pods)[:2]
            assert header.split()[0] == "POD" and first[3:].startswith("aspnetapp-")  # the key column stays
            seen.update(header.split())
        assert {"STATUS", "IP", "NODE", "NAMESPACE", "VERSION"} <= seen
        assert left in header and not header.rstrip().endswith(right)  # the last column is in view
        assert "VERSION" in header
        for _ in range(len(pods.columns)):
            await pilot.press("h")
        assert lines(pods)[0] == unscrolled


@pytest.mark.slow
async def test_near_miss_pods_are_marked_and_o_shows_only_the_paths_pods() -> None:
    app: KtraceApp = demo_app("aspnetapp.demo.example")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        pods = app.table("pods")
        aspnetapp = {k for k in pods.visible_keys if k[1].startswith("aspnetapp-")}
        assert len(aspnetapp) == 2 and pods.near_misses == aspnetapp and pods.on_path == set()
        marked = [line for line in lines(pods)[1:] if line.startswith("≈")]
        assert len(marked) == 2 and all("aspnetapp-" in line for line in marked)
        assert all(not line.startswith("≈") for line in lines(pods)[1:] if "aspnetapp-" not in line)
        await pilot.press("o")
        assert pods.visible_keys == sorted(aspnetapp)
        assert "Pods 2/23" in str(pods.border_title) and "only the path's" in str(pods.border_title)
        app.select_target("pay.demo.example/")  # another path: the pane follows it
        await pilot.pause()
        assert {k[1].rsplit("-", 2)[0] for k in pods.visible_keys} == {"payments-web"}
        assert pods.near_misses == set()
        await pilot.press("o")
        assert len(pods.visible_keys) == 23 and "only" not in str(pods.border_title)


@pytest.mark.slow
async def test_off_path_rows_dim_in_every_pane_and_path_rows_carry_the_mark() -> None:
    app = demo_app("pay.demo.example/")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        for pane in ("namespaces", "rules", "services", "pods"):
            table = app.table(pane)
            on_path = table.on_path or set()
            assert on_path, pane
            top = table.scroll_offset.y  # a pane scrolls to show its path row
            for y, key in enumerate(table.visible_keys[top: top + table.size.height - 1], start=1):
                strip = table.render_line(y)
                dim = all(seg.style is not None and seg.style.dim for seg in strip if seg.text.strip())
                assert strip.text.startswith(">") == (key in on_path), (pane, key)  # NO_COLOR: the mark says it
                assert dim == (key not in on_path), (pane, key)
