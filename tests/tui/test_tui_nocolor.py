"""NO_COLOR keeps contrast: the app draws with the terminal's own palette and no colour, instead of
Textual's greyscale (in which dark red errors turned near-black on black)."""

import pytest

from tests.tui.test_tui_app import SIZE, demo_app, loaded

pytestmark = pytest.mark.slow  # each runs the app under Pilot


@pytest.mark.parametrize("no_color", [True, False])
async def test_no_color_uses_the_terminal_palette(no_color: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    async with demo_app("aspnetapp.demo.example").run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        assert app.ansi_color is no_color
        errors = app.status_bar.line()
        assert "6 errors" in str(errors)  # the word is there whatever the colour
