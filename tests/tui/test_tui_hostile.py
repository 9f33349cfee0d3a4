"""The interactive view against names that carry 12 kinds of control sequence and invisible character
(tests/hostile.py), one kind per namespace: what Pilot reads back from every surface (pane cells and
titles, the path panel in both views, the findings view, the detail view, the palette, a notification
and the status bar, the preview's weights Input, a pasted filter, the copied `y` text and its file)
holds no raw control or format character, and shows each as its escape."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from textual import events
from textual.app import App
from textual.widget import Widget
from textual.widgets import Input

from ktrace.errors import SourceError
from ktrace.options import SourceSpec
from ktrace.sources.manifests import ManifestSource
from ktrace.sources.protocol import Source
from ktrace.tui.app import KtraceApp
from ktrace.tui.detail_screen import DetailScreen
from ktrace.tui.filter_box import FilterBox
from ktrace.tui.findings_screen import FindingsScreen
from ktrace.tui.preview_screen import PreviewScreen
from tests.hostile import ALL, ALL_SHOWN, PAYLOADS, hidden_in, write
from tests.tui.test_tui_app import loaded, until

pytestmark = pytest.mark.slow  # each runs the app under Pilot

SIZE = (220, 70)


def host(i: int) -> str:
    return f"store{i}.example.com"


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    for i, p in enumerate(PAYLOADS):
        write(tmp_path / "manifests", p.raw, host(i))
    return tmp_path / "manifests"


def hostile_app(manifests: Path, factory: Callable[[SourceSpec], Source] | None = None) -> KtraceApp:
    return KtraceApp(SourceSpec(files=(str(manifests),)),
                     source_factory=factory or (lambda spec: ManifestSource(list(spec.files))))


def drawn(app: App) -> str:
    """Every line the current screen's widgets draw, borders and titles included."""
    return "\n".join(w.render_line(y).text for w in app.screen.walk_children(Widget) for y in range(w.size.height))


def unwrapped(text: str) -> str:
    # Long names wrap (fold) in the path panel: compare without the line breaks and the indent.
    return re.sub(r"\s*\n\s*", "", text)


def assert_shown(text: str, payloads=PAYLOADS) -> None:
    assert not hidden_in(text), sorted(hidden_in(text))
    flat = unwrapped(text)
    missing = [p.id for p in payloads if p.shown not in flat]
    assert not missing, missing


async def test_panes_titles_and_the_path_panel_in_both_views(manifests: Path) -> None:
    async with hostile_app(manifests).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        text = drawn(app)  # the panes, their titles, the status bar
        assert not hidden_in(text)
        assert all(f"shop{p.shown[:12]}" in text for p in PAYLOADS)  # a long name may be cut (with ~)
        for i, p in enumerate(PAYLOADS):
            app.select_target(f"{host(i)}/")
            await pilot.pause()
            for full in (False, True):
                app.path_panel.set_full(full)
                await pilot.pause()
                assert_shown(drawn(app), [p])


async def test_findings_detail_and_palette(manifests: Path) -> None:
    async with hostile_app(manifests).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FindingsScreen))
        text = drawn(app)
        for _ in range(12):  # the detail line under the list: the highlighted finding's message
            await pilot.press("j")
            text += drawn(app)
        assert_shown(text)
        await pilot.press("escape")
        pods = app.table("pods")
        pods.focus()
        for p in PAYLOADS:
            pods.move_to(next(k for k in pods.visible_keys if k == (f"shop{p.raw}", f"canary-1{p.raw}")))
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DetailScreen))
            await pilot.pause()
            assert_shown(drawn(app), [p])  # the title (file:line) and the YAML: name, labels, message
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        await pilot.press("colon", *"ns ")
        await pilot.pause(0.5)  # the palette searches asynchronously
        assert_shown(drawn(app))  # `namespace: shop<payload>`, one per kind


async def test_preview_weights_input_holds_the_names_escaped_and_previews_them(manifests: Path) -> None:
    async with hostile_app(manifests).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        for i, p in enumerate(PAYLOADS):
            app.select_target(f"{host(i)}/")
            await pilot.pause()
            app.table("rules").focus()
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PreviewScreen))
            screen = app.screen
            field = screen.query_one("#preview-weights", Input)
            assert field.value == f"web=90,canary{p.shown}=10"
            assert_shown(drawn(app), [p])  # its border title, the candidates, today's path
            screen.show_weights(field.value.replace("=90", "=0"))  # Enter on the edited split
            await pilot.pause()
            assert screen.shown_weights == {"web": 0, f"canary{p.raw}": 10}  # the rule's own names
            assert_shown(drawn(app), [p])  # the would-be path and the difference
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, PreviewScreen))


async def test_a_pasted_filter_is_escaped_and_finds_the_escaped_rows(manifests: Path) -> None:
    async with hostile_app(manifests).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        services = app.table("services")
        for p in PAYLOADS:
            services.focus()
            await pilot.press("slash")
            box = app.query_one(FilterBox)
            box.value = ""
            box.post_message(events.Paste(f"canary{p.raw}\nsecond line"))
            await pilot.pause()
            cut = "\r" in p.raw  # a CR ends a pasted line too: the box takes the first line
            assert box.value == ("canaryok" if cut else f"canary{p.shown}")  # as the panes draw it
            if "=" not in p.raw:  # (`key=value` filters on labels)
                assert [k[1] for k in services.visible_keys] == [f"canary{p.raw}"]
            assert_shown(drawn(app), [p])  # the box and the pane's title
            await pilot.press("escape")


async def test_copied_text_and_its_file(manifests: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # where the copy's file goes
    async with hostile_app(manifests).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        for i, p in enumerate(PAYLOADS):
            app.select_target(f"{host(i)}/")
            await pilot.pause()
            await pilot.press("y")
            assert_shown(app.clipboard, [p])
            assert (tmp_path / "ktrace-copy.txt").read_text() == app.clipboard


async def test_a_load_error_in_the_notification_and_the_status_bar(manifests: Path) -> None:
    calls = []

    def factory(spec: SourceSpec) -> Source:
        calls.append(spec)
        if len(calls) > 1:  # the relist fails, with a server's words in the message
            raise SourceError(f"the API server answered 500: {ALL}")
        return ManifestSource(list(spec.files))

    # Wide enough for the whole message behind the bar's "retrying in 1 s: ".
    async with hostile_app(manifests, factory).run_test(size=(SIZE[0] + 20, SIZE[1])) as pilot:
        app = await loaded(pilot)
        await pilot.press("r")
        await until(pilot, lambda: app.error is not None)
        await pilot.pause()
        text = drawn(app) + "\n".join(w.render_line(y).text for w in app.query("Toast") for y in range(w.size.height))
        assert ALL_SHOWN in unwrapped(text) and not hidden_in(text)
        assert ALL_SHOWN in app.status_bar.line().plain
