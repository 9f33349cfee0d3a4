"""Every route row carries its path's verdict, `n` walks the broken routes then the degraded ones, and keys
pressed while the first listing loads are kept (the demo, at 80x24)."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import OptionList, Static

from ktrace.options import SourceSpec
from ktrace.sources.demo import DemoSource
from ktrace.tui.app import KtraceApp
from ktrace.tui.findings_screen import FindingsScreen
from tests.tui.test_tui_app import demo_app, loaded, until

SMALL = (80, 24)
BROKEN = {("aspnetapp.demo.example", "/"), ("catalog.demo.example", "/"), ("pay.demo.example", "/api"),
          ("vault.demo.example", "")}  # the last: a TLSRoute's row (by SNI, no path)


@pytest.mark.slow
async def test_every_broken_route_and_its_namespace_is_marked() -> None:
    async with demo_app().run_test(size=SMALL) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        marks = {k[:2]: m for k, m in rules.problems.items()}
        assert {e for e, m in marks.items() if m == "error"} == BROKEN
        assert ("pay.demo.example", "/") not in marks  # ok: unmarked
        namespaces = app.table("namespaces").problems
        assert namespaces[("payments",)] == "error"  # its /api route is broken (its pods only warn)
        # the route rows draw the mark: x on the broken ones
        lines = [rules.render_line(y).text for y in range(1, len(rules.visible_keys) + 1)]
        pay = [line for line in lines if "pay.demo.example" in line]
        assert [line[1] for line in pay] == [" ", "\u2717"] and "/api" in pay[1]


@pytest.mark.slow
async def test_n_walks_the_broken_routes_then_the_degraded_ones() -> None:
    async with demo_app().run_test(size=SMALL) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        assert rules.cursor_key[:2] == ("aspnetapp.demo.example", "/")  # the worst route, selected at start
        walked = []
        for _ in range(5):
            await pilot.press("n")
            walked.append(rules.cursor_key[:2])
        # No route of the demo at rest is degraded: the broken ones, round and round (the status page's
        # Service has a warning, but its route is ok and is not walked).
        assert walked == [("catalog.demo.example", "/"), ("pay.demo.example", "/api"), ("vault.demo.example", ""),
                          ("aspnetapp.demo.example", "/"), ("catalog.demo.example", "/")]
        await pilot.press("N")
        assert rules.cursor_key[:2] == ("aspnetapp.demo.example", "/")
        walked.append(rules.cursor_key[:2])
        await until(pilot, lambda: app.path is not None and (app.path.host, app.path.path) == walked[-1])


@pytest.mark.slow
async def test_keys_pressed_while_loading_act_once_the_listing_is_in() -> None:
    answer = threading.Event()

    def slow(_: SourceSpec) -> DemoSource:
        answer.wait(10)  # a slow API server: the listing is not in until the keys are pressed
        return DemoSource(moving=False)

    app = KtraceApp(SourceSpec(demo=True), source_factory=slow)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("j", "j")  # before the first listing: the panes are empty
        assert app.store is None
        answer.set()
        await loaded(pilot)
        rules = app.table("rules")
        # the second row down: the demo's GRPCRoute row (cart.demo.example) sorts between aspnetapp and catalog
        await until(pilot, lambda: rules.cursor_key is not None
                    and rules.cursor_key[:2] == ("catalog.demo.example", "/"))
        await until(pilot, lambda: app.path is not None and app.path.target == "catalog.demo.example/")


@pytest.mark.slow
async def test_the_findings_view_says_which_routes_each_finding_breaks() -> None:
    async with demo_app().run_test(size=SMALL) as pilot:
        await loaded(pilot)
        await pilot.press("f")
        screen = pilot.app.screen
        assert isinstance(screen, FindingsScreen)
        lines = [str(screen.query_one(OptionList).get_option_at_index(i).prompt)
                 for i in range(screen.query_one(OptionList).option_count)]
        first = next(i for i, line in enumerate(lines) if "service-selector-no-match" in line)
        assert "affects: aspnetapp.demo.example/" in lines[first]
        assert "affects: aspnetapp.demo.example/" in str(screen.query_one("#findings-detail", Static).render())
