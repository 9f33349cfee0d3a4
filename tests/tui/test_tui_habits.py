"""k9s and kubectl habits work: Ctrl-C quits, Esc clears the filter and then the selection, `0` shows every
namespace, `:` offers ktrace's own commands (`ing`, `svc`, `po`, `ns NAME`), and `/` opens a filter box that
can be seen."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console
from textual.command import CommandPalette

from ktrace.tui.filter_box import FilterBox
from ktrace.tui.palette import NamespaceCommands, PaneCommands
from ktrace.tui.status_bar import StatusBar
from tests.tui.test_tui_app import SIZE, demo_app, loaded, marked, until
from tests.tui.test_tui_views import _hits

pytestmark = pytest.mark.slow  # Pilot sessions on the demo


async def test_ctrl_c_quits_as_in_k9s() -> None:
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_value == 0


async def test_esc_clears_the_filter_then_the_selection_and_0_shows_every_namespace() -> None:
    app = demo_app("pay.demo.example/")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.path is not None)
        rules = app.table("rules")
        rules.focus()
        await pilot.press("slash", *"shop", "enter")
        assert rules.filter_text == "shop" and app.focused is rules
        await pilot.press("escape")
        assert rules.filter_text == "" and app.path is not None  # the filter goes first
        assert marked(app, "services") == {("payments", "payments-web")}
        await pilot.press("escape")
        assert app.path is None and app.target is None  # then the selection
        assert rules.on_path is None and app.table("services").on_path is None  # nothing dims any more
        app.set_namespace("payments")
        await pilot.press("0")
        assert app.namespace is None and app.status_bar._scope is None


async def test_the_filter_box_is_drawn_above_the_status_bar() -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("slash", *"pay")
        await pilot.pause()
        box, bar = app.query_one(FilterBox), app.query_one(StatusBar)
        assert box.display and box.region.height == 1 and box.region.bottom <= bar.region.y
        assert app.screen.get_widget_at(box.region.x + 2, box.region.y)[0] is box  # not covered
        await pilot.press("escape")
        assert not box.display


async def test_the_palette_offers_ktraces_commands_only() -> None:
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert all(p.__module__.startswith("ktrace.") for p in app.COMMANDS)  # no Screenshot, no theme picker
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CommandPalette))
        svc = max(await _hits(PaneCommands(app.screen), "svc"), key=lambda h: h.score)
        assert svc.text == "svc"
        svc.command()
        await pilot.pause()
        assert app.focused is app.table("services")
        ns = max(await _hits(NamespaceCommands(app.screen), "ns payments"), key=lambda h: h.score)
        assert ns.text == "namespace: payments"
        ns.command()
        assert app.namespace == "payments"


@pytest.mark.parametrize(("size", "order"), [
    ((80, 24), ["namespaces", "rules", "path", "services", "pods"]),  # compact: the path between the two rows
    ((120, 40), ["namespaces", "rules", "services", "pods", "path"]),  # wide: the path is the right column
])
async def test_tab_reads_the_panes_left_to_right_top_to_bottom(size: tuple[int, int], order: list[str]) -> None:
    app = demo_app()
    async with app.run_test(size=size) as pilot:
        await loaded(pilot)
        app.table("namespaces").focus()
        await pilot.pause()
        seen = [app.focused.id]
        for _ in order:
            await pilot.press("tab")
            seen.append(app.focused.id)
        assert seen == [*order, order[0]]
        await pilot.press("shift+tab")
        assert app.focused.id == order[-1]


async def test_a_terminal_below_the_smallest_size_gets_one_line_saying_so() -> None:
    app = demo_app()
    async with app.run_test(size=(40, 10)) as pilot:
        await loaded(pilot)
        message = app.query_one("#too-small")
        assert message.display and not app.query_one("#main").display
        assert "at least 60x16; this one is 40x10" in str(message.render())
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not message.display and app.query_one("#main").display


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_help_explains_every_symbol(ascii_only: bool) -> None:
    from ktrace.tui.help_screen import HelpScreen, legend

    marks = [mark for mark, _ in legend(ascii_only)]
    assert ("x" if ascii_only else "✗") in marks and {">", "~", "*"} <= set(marks)
    assert ("=" if ascii_only else "≈") in marks and ("< >" if ascii_only else "« »") in marks
    app = demo_app()
    app.ascii_only = ascii_only
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert app.screen.ascii_only is ascii_only
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(app.screen.content())
        text = console.export_text()
        assert "Symbols" in text and "cut to fit the column" in text
        error = next(line for line in text.splitlines() if "its path is broken" in line)
        assert error.split()[0] == ("x" if ascii_only else "✗")


async def test_relist_says_so_and_when_it_finished() -> None:
    app = demo_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("r")
        await until(pilot, lambda: any(n.message.startswith("relisted at") for n in app._notifications))
        assert any(n.message == "relisting..." for n in app._notifications)


def test_the_status_bar_says_checking_until_the_first_findings_arrive() -> None:
    bar = StatusBar(ascii_only=True)
    assert "checking..." in bar.line().plain and "0 errors" not in bar.line().plain
    bar.set_state(findings=[])
    assert "x 0 errors" in bar.line().plain and "checking" not in bar.line().plain


async def test_ascii_mode_is_ascii_everywhere_palette_and_scrollbars_included() -> None:
    from ktrace.tui.findings_screen import FindingsScreen
    from ktrace.tui.help_screen import HelpScreen
    from tests.tui.test_tui_views import screen_text

    app = demo_app("aspnetapp.demo.example")
    app.ascii_only = True
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        seen = {"main": screen_text(app)}
        for key, screen in (("colon", CommandPalette), ("f", FindingsScreen), ("question_mark", HelpScreen)):
            await pilot.press(key)
            await until(pilot, lambda screen=screen: isinstance(app.screen, screen))
            await pilot.pause()
            seen[key] = screen_text(app)
            await pilot.press("escape")
            await until(pilot, lambda: len(app.screen_stack) == 1)
    for where, text in seen.items():
        assert text.isascii(), (where, sorted({c for c in text if not c.isascii()}))
    assert "a pane (ing, svc, po, ns)" in seen["colon"]


EKS = ("context arn:aws:eks:eu-west-1:123456789012:cluster/prod-ingress-eu-west-1 "
       "(https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com)")


@pytest.mark.parametrize("width", [80, 120])
def test_the_status_bar_keeps_the_connection_state_counts_and_help_with_a_long_context_name(width: int) -> None:
    from ktrace.checks.service import NO_READY_ENDPOINTS
    from ktrace.sources.protocol import WatchStatus

    bar = StatusBar()
    since = 1_764_441_296.0
    findings = [NO_READY_ENDPOINTS.finding("Service", "shop", "web", "m"),
                NO_READY_ENDPOINTS.finding("Service", "payments", "api", "m")]
    bar.set_state(source=EKS, watch=WatchStatus("stale", since, "reset", 3, 1), findings=findings)
    line = bar.line(width).plain
    assert len(line) <= width
    assert f"stale since {time.strftime('%H:%M:%S', time.localtime(since))}" in line
    assert "✗ 2 errors" in line and line.endswith("? help")
    name = line.split(" │ ")[0]
    assert "~" in name and name.endswith("eu-west-1") and "amazonaws" not in name  # cut in the middle, marked
    bar.set_state(scope="shop")  # the counts are those of the namespace in view
    assert "✗ 1 errors" in bar.line(width).plain
