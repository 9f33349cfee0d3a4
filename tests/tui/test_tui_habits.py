"""k9s and kubectl habits work: Ctrl-C quits, Esc clears the filter and then the selection, `0` shows every
namespace, `:` offers ktrace's own commands (`ing`, `svc`, `po`, `ns NAME`), and `/` opens a filter box that
can be seen."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from ktrace.tui.filter_box import FilterBox
from ktrace.tui.palette import NamespaceCommands, PaneCommands
from ktrace.tui.status_bar import StatusBar
from tests.tui.test_tui_app import SIZE, demo_app, loaded, marked, until

pytestmark = pytest.mark.slow  # Pilot sessions on the demo


async def _hits(provider, query: str) -> list:
    await provider.startup()
    return [hit async for hit in provider.search(query)]


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
