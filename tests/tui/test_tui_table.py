"""KeyedTable: keyed updates keep the cursor and the view, filters, marks, and 20,000 rows."""

from __future__ import annotations

import time

import pytest
from textual.app import App, ComposeResult

from ktrace.tui.rows import Row
from ktrace.tui.table import KeyedTable, parse_filter


def row(name: str, ns: str = "default", status: str = "Running", **labels: str) -> Row:
    cells = (name, status, ns)
    return Row((ns, name), ("Pod", ns, name), cells, ns, labels, " ".join(cells).lower())


def names(n: int, prefix: str = "pod") -> list[Row]:
    return [row(f"{prefix}-{i:05d}", app="web" if i % 2 else "db") for i in range(n)]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(("POD", "STATUS", "NAMESPACE"), id="t")


def screen_line(table: KeyedTable, key: tuple[str, ...]) -> int:
    return table.visible_keys.index(key) - int(table.scroll_y)


def line_text(table: KeyedTable, y: int) -> str:
    return table.render_line(y).text


def test_parse_filter_splits_words_and_labels() -> None:
    assert parse_filter("Web  app=shop tier=") == (["web"], {"app": "shop", "tier": ""})


async def test_upserts_and_removals_keep_the_cursor_on_its_row_and_screen_line() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(names(200))
        table.focus()
        table.move_to(("default", "pod-00059"))
        await pilot.press("j")
        key = table.cursor_key
        assert key == ("default", "pod-00060")
        line = screen_line(table, key)
        # rows appear before the cursor, one changes, one after it goes away
        table.update([row(f"pod-0000{i}a") for i in range(5)] + [row("pod-00060", status="CrashLoopBackOff")],
                     remove=[("default", "pod-00100")])
        assert table.cursor_key == key and screen_line(table, key) == line
        assert table.cursor_row is not None and table.cursor_row.cells[1] == "CrashLoopBackOff"
        # set_rows with the same rows minus the cursor's: the cursor stays at its position
        table.set_rows([r for r in table.rows() if r.key != key])
        assert table.cursor_key == ("default", "pod-00061") and len(table) == 203


@pytest.mark.slow
async def test_navigation_keys() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(names(100))
        table.focus()
        await pilot.press("G")
        assert table.cursor_key == ("default", "pod-00099")
        assert "pod-00099" in line_text(table, table.size.height - 1)  # scrolled into view
        await pilot.press("g", "j", "j", "k")
        assert table.cursor_key == ("default", "pod-00001")
        await pilot.press("pagedown")
        assert table.cursor_key == ("default", f"pod-{1 + table.size.height - 1:05d}")
        await pilot.press("pageup", "up")
        assert table.cursor_key == ("default", "pod-00000")


async def test_filter_by_substring_label_and_namespace() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows([*names(10), row("api-1", ns="other", app="web")])
        table.set_filter("app=web")
        assert [k[1] for k in table.visible_keys] == ["pod-00001", "pod-00003", "pod-00005", "pod-00007",
                                                       "pod-00009", "api-1"]
        table.set_filter("app=web 0000")
        assert len(table.visible_keys) == 5
        table.set_filter("")
        table.set_scope("other")
        assert table.visible_keys == [("other", "api-1")]
        # rows added while filtered obey the filter
        table.update([row("api-2", ns="other"), row("pod-x")])
        assert table.visible_keys == [("other", "api-1"), ("other", "api-2")]


async def test_marks_draw_symbols_not_only_colour() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(names(5))
        table.set_marks({("default", "pod-00002")}, {("default", "pod-00003"): "error",
                                                     ("default", "pod-00004"): "warning"})
        await pilot.pause()
        lines = [line_text(table, y) for y in range(1, 6)]
        assert lines[2].startswith("> ") and lines[3].startswith(" ✗") and lines[4].startswith(" !")
        assert lines[0].startswith("   pod-00000")
        table.ascii_only = True
        assert line_text(table, 4).startswith(" x")


async def test_next_problem_walks_errors_then_warnings_then_unknown_and_wraps() -> None:
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(names(50))
        table.set_marks(None, {("default", "pod-00010"): "warning", ("default", "pod-00040"): "error",
                               ("default", "pod-00005"): "unknown", ("default", "pod-00045"): "error"})
        walk = []
        for _ in range(5):
            assert table.next_problem(1)
            walk.append(table.cursor_key[1])
        assert walk == ["pod-00040", "pod-00045", "pod-00010", "pod-00005", "pod-00040"]
        assert table.next_problem(-1) and table.cursor_key == ("default", "pod-00005")
        table.set_marks(None, {})
        assert not table.next_problem(1)


@pytest.mark.slow
async def test_twenty_thousand_rows() -> None:
    async with TableApp().run_test(size=(100, 40)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        rows = names(20_000)
        start = time.perf_counter()
        table.set_rows(rows)
        loaded = time.perf_counter() - start
        table.focus()
        await pilot.press("G")
        assert table.cursor_key == ("default", "pod-19999")
        table.update([row(f"pod-{i:05d}", status="Pending") for i in range(0, 20_000, 200)])
        assert table.cursor_key == ("default", "pod-19999") and len(table) == 20_000
        table.set_filter("pod-1999")
        assert len(table.visible_keys) == 10
        assert loaded < 5  # generous: a sanity bound, the benchmark measures it


class RoutesApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(("HOST", "PATH", "BACKEND", "VIA", "OBJECT"), essential=3, id="t")


def route(host: str, path: str, backend: str) -> Row:
    cells = (host, path, backend, "ing", "shop/shop")
    return Row((host, path), ("Ingress", "shop", "shop"), cells, "shop", {}, " ".join(cells).lower())


async def test_the_key_column_is_whole_and_the_essential_columns_share_what_is_left() -> None:
    rows = [route("status.demo.example", "/", "status-page:http"), route("pay.demo.example", "/api", "pay:80"),
            route("store.demo.example", "/", "shop-green 90%, shop-blue 10%")]
    async with RoutesApp().run_test(size=(44, 6)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(rows)
        await pilot.pause()
        lines = [line_text(table, y).rstrip() for y in range(4)]
    # 44 cells: HOST whole; the short PATH keeps its width, BACKEND gets the rest; VIA and OBJECT are out of
    # view on the right (the header's `»`)
    assert lines == ["   HOST                 PATH  BACKEND      »", "   pay.demo.example     /api  pay:80",
                     "   status.demo.example  /     status-page:h~", "   store.demo.example   /     shop-green 90~"]
    async with RoutesApp().run_test(size=(100, 6)) as pilot:  # room enough: every column whole, no marker
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(rows)
        await pilot.pause()
        assert line_text(table, 3).split() == ["store.demo.example", "/", "shop-green", "90%,", "shop-blue", "10%",
                                               "ing", "shop/shop"]
        assert line_text(table, 0).split() == ["HOST", "PATH", "BACKEND", "VIA", "OBJECT"]


@pytest.mark.slow
@pytest.mark.parametrize("ascii_only", [False, True])
async def test_left_and_right_scroll_the_columns_after_the_key_column(ascii_only: bool) -> None:
    rows = [route("status.demo.example", "/", "status-page:http"), route("store.demo.example", "/", "shop-green")]
    left, right = ("<", ">") if ascii_only else ("«", "»")
    async with RoutesApp().run_test(size=(44, 6)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.ascii_only = ascii_only
        table.set_rows(rows)
        table.focus()
        await pilot.pause()
        assert "OBJECT" not in line_text(table, 0) and line_text(table, 0).rstrip().endswith(right)
        await pilot.press("right", "l")  # PATH and BACKEND scroll out; the host stays
        header, line = line_text(table, 0), line_text(table, 2)
        assert header.split() == ["HOST", left, "VIA", "OBJECT"] and not header.rstrip().endswith(right)
        assert line.split() == ["store.demo.example", "ing", "shop/shop"]
        await pilot.press("right")  # the last column is in view: no further
        assert line_text(table, 0).split() == ["HOST", left, "VIA", "OBJECT"]
        await pilot.press("left", "h", "left")
        assert line_text(table, 0).split()[:3] == ["HOST", "PATH", "BACKEND"] and left not in line_text(table, 0)


class PodsApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(("POD", "STATUS", "IP"), id="t")


@pytest.mark.parametrize(("width", "expected"), [
    (39, "   web-1  CrashLoopBackOff  ~"),  # one cell short: the IP is `~` alone, never 10.244.1.15
    (40, "   web-1  CrashLoopBackOff  10.244.1.152"),
    (20, "   web-1  CrashLoop~"),  # a text value at the pane's edge ends in ~
])
async def test_a_value_at_the_panes_edge_is_never_cut_silently(width: int, expected: str) -> None:
    """Seen on a real screen: the IP 10.244.1.152 shown as 10.244.1.15, cut at the pane's edge without a mark."""
    async with PodsApp().run_test(size=(width, 4)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows([Row(("default", "web-1"), ("Pod", "default", "web-1"),
                            ("web-1", "CrashLoopBackOff", "10.244.1.152"), "default", {}, "")])
        await pilot.pause()
        line = line_text(table, 1).rstrip()
    assert line == expected and "10.244.1.15" not in line.replace("10.244.1.152", "")


async def test_the_scrollbar_covers_no_cell() -> None:
    """The vertical scrollbar is drawn over the pane's last cells: a line must end before it."""
    async with PodsApp().run_test(size=(41, 6)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows([Row(("default", f"web-{i}"), ("Pod", "default", f"web-{i}"),
                            (f"web-{i}", "CrashLoopBackOff", "10.244.1.152"), "default", {}, "") for i in range(20)])
        await pilot.pause()
        assert table.show_vertical_scrollbar
        line = line_text(table, 1)
        assert len(line) == table.scrollable_content_region.width < table.size.width
    assert line.split() == ["web-0", "CrashLoopBackOff", "~"]  # 10.244.1.152 needs more cells than are left


async def test_a_row_changed_in_place_repaints_its_line_only() -> None:
    """A watch event changes a few rows of thousands: only their lines on screen are repainted; a change that
    moves rows or widens a column repaints the pane."""
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.set_rows(names(50))
        await pilot.pause()
        painted: list = []

        def lines(calls: list) -> list:
            return [[(r.y, r.height) for r in regions] for regions in calls]

        table.refresh = lambda *regions, **kw: painted.append(regions)  # type: ignore[method-assign]
        changed, offscreen = row("pod-00003", status="Failed", app="web"), row("pod-00040", status="Failed", app="db")
        table.update([changed, offscreen])
        assert lines(painted) == [[(screen_line(table, changed.key) + 1, 1)]]
        assert "Failed" in line_text(table, screen_line(table, changed.key) + 1)
        painted.clear()
        table.update_problems({changed.key: "error"})
        assert lines(painted) == [[(screen_line(table, changed.key) + 1, 1)]]
        painted.clear()
        table.update([row("pod-00003", status="CrashLoopBackOff", app="web")])  # STATUS grows: every line moves
        assert painted and all(regions == () for regions in painted)
