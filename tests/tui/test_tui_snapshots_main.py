"""Snapshots of the main screen on the demo (served, watched, not moving: fixed names and times), at 80x24 and 120x40:
the article's broken aspnetapp path selected (rule, service marked, nothing else; the path panel's
summary with both causes and their fixes), a healthy path (pay.demo.example/: its two pods marked), and the ASCII
fallback.
Each SVG was looked at before it was committed."""

from __future__ import annotations

import time

import pytest

from ktrace.options import SourceSpec, ViewOptions
from ktrace.sources.demo import DemoSource
from ktrace.tui.app import KtraceApp

pytestmark = pytest.mark.slow  # each runs the app under Pilot and compares an SVG

SIZES = [(80, 24), (120, 40)]


def app_for(host: str, ascii_only: bool = False) -> KtraceApp:
    return KtraceApp(SourceSpec(demo=True), view=ViewOptions(host=host, ascii=ascii_only),
                     source_factory=lambda _: DemoSource(moving=False), ascii_only=ascii_only)


async def loaded(pilot) -> None:
    deadline = time.monotonic() + 10
    while pilot.app.path is None or getattr(pilot.app.source.status, "state", None) != "live":
        assert time.monotonic() < deadline
        await pilot.pause(0.02)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_broken_aspnetapp_path(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(app_for("aspnetapp.demo.example/"), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_healthy_path(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(app_for("pay.demo.example/"), terminal_size=size, run_before=loaded)


def test_ascii_fallback(snap_compare) -> None:
    assert snap_compare(app_for("aspnetapp.demo.example/", ascii_only=True), terminal_size=(80, 24),
                        run_before=loaded)


def test_focused_path_panel_grows_at_80x24(snap_compare) -> None:
    """Tab to the path panel and v for the full tree: on a small screen the panel takes the panes' room."""
    assert snap_compare(app_for("aspnetapp.demo.example/"), terminal_size=(80, 24), run_before=loaded,
                        press=["tab", "v", "j", "j"])
