"""The views over the main screen (detail, findings, help, preview) share one base: Esc and q close
them, scrolled views scroll with the same keys, and each one's key hint is built from its bindings
as KTRACE_KEYMAP remaps them; the help screen lists those bindings too."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from ktrace.tui.detail_screen import DetailScreen
from ktrace.tui.findings_screen import FindingsScreen
from ktrace.tui.help_screen import HelpScreen
from ktrace.tui.preview_screen import PreviewScreen
from tests.tui.test_tui_app import SIZE, demo_app, loaded, text_of, until
from tests.tui.test_tui_views import ScreenApp, screen_text


def hint(app) -> str:
    return text_of(app.screen.query_one(".modal-keys", Static)).strip()


@pytest.mark.slow
async def test_a_remapped_close_key_shows_in_the_detail_hint_and_closes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KTRACE_KEYMAP", "detail.close=x;detail.down=down,s")
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        main = app.screen
        services = app.table("services")
        services.focus()
        services.move_to(("aspnet", "aspnetapp"))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen))
        assert hint(app) == "Down/s/k/PgUp/PgDn/g/G: scroll   x/q/d: close"
        await pilot.press("escape")  # no longer a close key
        assert isinstance(app.screen, DetailScreen)
        await pilot.press("x")
        await pilot.pause()
        assert app.screen is main


@pytest.mark.slow
async def test_help_lists_the_views_bindings_as_remapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KTRACE_KEYMAP", "findings.close=x")
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        listed = {binding_id: keys for keys, binding_id, _ in app.binding_list()}
        assert listed["findings.close"] == "x" and listed["findings.close_f"] == "f"
        assert listed["detail.page_down"] == "pagedown" and listed["help.close_help"] == "question_mark"
        assert listed["preview.weights"] == "w" and listed["app.quit"] == "q"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        lines = screen_text(app).splitlines()
        assert "Findings" in lines and "Detail" in lines and "Preview" in lines and "Help" in lines
        assert any(line.split()[:2] == ["x", "Close"] and line.endswith("findings.close") for line in lines)
        main = app.screen_stack[0]
        await pilot.press("escape", "f")
        assert isinstance(app.screen, FindingsScreen)
        await pilot.press("x")  # the remapped key closes the findings view
        await pilot.pause()
        assert app.screen is main


@pytest.mark.slow
@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_scrolls_and_closes(key: str) -> None:
    many = [(f"ctrl+{i}", f"group{i // 10}.action{i}", f"Action {i}") for i in range(80)]
    app = ScreenApp(lambda: HelpScreen(many))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert hint(app) == "j/k/PgUp/PgDn/g/G: scroll   Esc/q/?: close"
        scroll = app.screen.query_one("#help-scroll")
        await pilot.press("j", "j")
        assert scroll.scroll_y == 2
        await pilot.press("pagedown")
        assert scroll.scroll_y > 20
        await pilot.press("G")
        assert scroll.scroll_y == scroll.max_scroll_y > 50
        await pilot.press("g")
        assert scroll.scroll_y == 0
        await pilot.press(key)
        await pilot.pause()
    assert app.results == [None]


async def test_findings_hint_names_the_list_keys_and_its_own() -> None:
    app = ScreenApp(lambda: FindingsScreen([]))
    async with app.run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        assert hint(app) == "Enter: go to the object and its path   j/k/g/G: move   Esc/q/f: close"


@pytest.mark.slow
@pytest.mark.parametrize(("host", "key", "shown"), [
    ("shop.demo.example/", "q", "up/down: candidate   Enter: preview   Esc/q/p: close"),
    ("store.demo.example/", "p", "up/down: candidate   Enter: preview   w: weights   Esc/q/p: close"),
])
async def test_preview_hint_has_w_only_with_weights_and_q_p_close(host: str, key: str, shown: str) -> None:
    async with demo_app(host).run_test(size=(200, 60)) as pilot:
        app = await loaded(pilot)
        main = app.screen
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, PreviewScreen)
        assert hint(app) == shown
        app.screen.query_one("#preview-candidates").focus()  # not the weights field, which takes the letters
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is main
