"""Pilot: `p` on the selected rule opens the ranked candidates; choosing the idle colour draws the
would-be path and the diff beside today's path; Esc returns to the main screen."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList, Static

from ktrace.tui.preview_screen import PreviewScreen
from tests.tui.test_tui_app import demo_app, loaded, text_of

pytestmark = pytest.mark.slow  # each runs the app under Pilot


async def test_preview_binding_opens_candidates_shows_diff_and_esc_returns() -> None:
    async with demo_app("shop.demo.example/").run_test(size=(200, 60)) as pilot:
        app = await loaded(pilot)
        main = app.screen
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        options = screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids[0] == "shop-blue" and ids[-1] == "docs"  # the other colour first, the unrelated Service last
        assert "shop-green" not in [c.name for c in screen.candidates]  # today's backend is not offered
        await pilot.press("enter")  # the first, highest-ranked candidate: the idle colour
        await pilot.pause()
        assert screen.shown == "shop-blue"
        body = text_of(screen.query_one("#preview-body", Static))
        assert "would-be path" in body
        assert "pods stop: shop/shop-green-" in body
        assert "pods start: shop/shop-blue-" in body
        today = text_of(screen.query_one("#preview-today-body", Static))
        assert "shop-green" in today and "shop-blue" not in today
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is main and app.path is not None and app.path.target == "shop.demo.example/"


async def test_preview_needs_a_route_under_the_cursor_or_selected() -> None:
    async with demo_app().run_test(size=(120, 40)) as pilot:
        app = await loaded(pilot)
        app.table("services").focus()
        await pilot.press("p")  # not on a route, and none selected
        await pilot.pause()
        assert not isinstance(app.screen, PreviewScreen)


async def test_preview_acts_on_the_route_under_the_cursor_not_the_selected_one() -> None:
    async with demo_app("pay.demo.example/").run_test(size=(200, 60)) as pilot:
        app = await loaded(pilot)
        rules = app.table("rules")
        rules.focus()
        rules.move_to(next(k for k in rules.visible_keys if k[:2] == ("shop.demo.example", "/")))
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PreviewScreen)
        assert app.screen.target.host == "shop.demo.example" and app.path.target == "shop.demo.example/"


async def test_preview_of_an_httproute_rule_takes_weights_and_draws_the_split() -> None:
    async with demo_app("store.demo.example/").run_test(size=(200, 60)) as pilot:
        app = await loaded(pilot)
        await pilot.press("p")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PreviewScreen)
        weights = screen.query_one("#preview-weights", Input)
        assert weights.value == "shop-green=90,shop-blue=10"  # today's split to start from
        await pilot.press("w")
        assert weights.has_focus
        weights.value = ""
        await pilot.press(*"shop-green=lots", "enter")
        body = screen.query_one("#preview-body", Static)
        assert "'shop-green=lots' is not NAME=WEIGHT" in text_of(body) and screen.shown_weights is None
        weights.value = ""
        await pilot.press(*"shop-green=0,shop-blue=100", "enter")
        await pilot.pause()
        assert screen.shown_weights == {"shop-green": 0, "shop-blue": 100}
        text = text_of(body)
        assert "would-be path" in text and "weights shop-green=0, shop-blue=100" in text
        assert "pods stop: shop/shop-green-" in text
        assert "split: shop-green weight 90 (90%), shop-blue weight 10 (10%) → shop-green weight 0 (0%)" in text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PreviewScreen)
