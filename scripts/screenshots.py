"""Screenshots of the TUI on the demo cluster for the README: the article's broken aspnetapp path, a
healthy path and the findings view, as SVG (Textual's own export) and PNG (cairosvg, when installed:
`pip install .[screenshots]`; it needs the system's libcairo).

    python scripts/screenshots.py [--out screenshots] [--size 120x36] [--ascii]

Runs the real app (`ktrace --demo --host ...`) headless; nothing is drawn on the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from ktrace.cli import analysis_options, build_parser, plan_request, source_spec, view_options
from ktrace.commands import plan_overlay
from ktrace.sources import open_source
from ktrace.tui.app import KtraceApp

Steps = Callable[[Pilot], Awaitable[None]]


async def _no_steps(pilot: Pilot) -> None:
    """The screen as it opens."""


async def _findings(pilot: Pilot) -> None:
    await pilot.press("f")


# name -> (ktrace arguments, keys pressed once the path is shown, what it shows, terminal size if not --size)
SHOTS: dict[str, tuple[list[str], Steps, str] | tuple[list[str], Steps, str, tuple[int, int]]] = {
    "first-screen-80x24": (["--demo"], _no_steps, "an SSH session's 80x24, no key pressed: the worst route and its "
                           "whole diagnosis", (80, 24)),
    "aspnetapp-broken": (["--demo", "--host", "aspnetapp.demo.example/"], _no_steps,
                         "the article's broken path: selector case near miss, TLS secret in another namespace"),
    "healthy-path": (["--demo", "--host", "shop.demo.example/"], _no_steps, "a healthy path, every hop ok"),
    "findings": (["--demo", "--host", "aspnetapp.demo.example/"], _findings, "every finding, grouped by severity"),
    "tlsroute-near-miss": (["--demo", "--host", "tls://vault.demo.example"], _no_steps,
                           "a TLSRoute through a passthrough listener, its Service's selector a typo from the pods'"),
    "plan": (["--demo", "--plan", "-f", "examples/plan/change.yaml"], _no_steps,
             "ktrace --plan: a selector typo breaks shop.demo.example, a fix mends tls://vault.demo.example"),
}


async def _settled(pilot: Pilot, app: KtraceApp) -> None:
    """Wait until the source has loaded and the path is traced (workers done, no pending refresh)."""
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if app.path is not None and not app.workers:
            return
    raise RuntimeError("the app did not show a path within 10 s")


async def shoot(name: str, out: Path, size: tuple[int, int], ascii_only: bool) -> Path:
    argv, steps = SHOTS[name][:2]
    size = SHOTS[name][3] if len(SHOTS[name]) > 3 else size  # type: ignore[misc]
    args = build_parser().parse_args(argv)
    spec, request = source_spec(args), plan_request(args)
    app = KtraceApp(spec, analysis_options(args), view_options(args), source_factory=open_source,
                    ascii_only=ascii_only, overlay=plan_overlay(request, spec) if request is not None else None)
    async with app.run_test(size=size) as pilot:
        await _settled(pilot, app)
        await steps(pilot)
        await pilot.pause(0.2)
        svg = out / f"{name}.svg"
        app.save_screenshot(filename=svg.name, path=str(out))
    return svg


def to_png(svg: Path) -> Path | None:
    try:
        import cairosvg
    except (ImportError, OSError):  # not installed, or libcairo missing
        return None
    png = svg.with_suffix(".png")
    # The SVG asks for the Fira Code web font; offline, a proportional fallback would break the
    # columns, so the PNG is drawn with whatever the system calls monospace.
    text = svg.read_text(encoding="utf-8").replace("Fira Code", "monospace")
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=1600)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--size", default="120x36", help="terminal size COLSxROWS (default 120x36)")
    parser.add_argument("--ascii", action="store_true", help="ASCII symbols and borders")
    parser.add_argument("names", nargs="*", choices=[*SHOTS, []], help="shots to take (default: all)")
    args = parser.parse_args(argv)
    cols, _, rows = args.size.partition("x")
    size = (int(cols), int(rows))
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or SHOTS:
        svg = asyncio.run(shoot(name, args.out, size, args.ascii))
        png = to_png(svg)
        print(f"{svg}{'  ' + str(png) if png else '  (no PNG: pip install cairosvg)'}  {SHOTS[name][2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
