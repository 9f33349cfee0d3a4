"""Enter on a finding jumps to its object and shows a request path through it."""

from __future__ import annotations

import pytest

from ktrace.tui.findings_screen import FindingsScreen
from tests.tui.test_tui_app import SIZE, demo_app, loaded, until

pytestmark = pytest.mark.slow  # each runs the app under Pilot


async def test_a_service_finding_shows_the_path_through_the_service() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await until(pilot, lambda: bool(app.findings))
        finding = next(f for f in app.findings if f.code == "service-selector-no-match")
        app.jump_to_finding(finding)
        await pilot.pause()
        assert app.path is not None and app.path.host == "aspnetapp.demo.example"
        assert app.table("services").cursor_key == ("aspnet", "aspnetapp")
        assert app.focused is app.table("services")


async def test_the_findings_screen_lands_on_the_rule_that_reaches_the_service() -> None:
    async with demo_app().run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await until(pilot, lambda: bool(app.findings))
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FindingsScreen))
        docs = next(f for f in app.findings if f.kind == "Service" and f.name == "docs")
        app.screen.dismiss(docs)
        await pilot.pause()
        assert app.table("services").cursor_key == ("shop", "docs")
        assert app.path is not None and (app.path.host, app.path.path) == ("shop.demo.example", "/docs")
