"""Snapshots of the main screen on the demo (served, watched, not moving: fixed names and times), at 80x24 and 120x40:
the article's broken aspnetapp path selected (rule, service marked, nothing else; the path panel's
summary with both causes and their fixes), a healthy path (pay.demo.example/: its two pods marked), and the ASCII
fallback.
Each SVG was looked at before it was committed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ktrace.options import SourceSpec, ViewOptions
from ktrace.sim.demo import demo_cluster
from ktrace.sources.demo import DemoSource
from ktrace.sources.live import open_live
from ktrace.tui.app import KtraceApp

pytestmark = pytest.mark.slow  # each runs the app under Pilot and compares an SVG

SIZES = [(80, 24), (120, 40)]


def app_for(host: str, ascii_only: bool = False) -> KtraceApp:
    return KtraceApp(SourceSpec(demo=True), view=ViewOptions(host=host, ascii=ascii_only),
                     source_factory=lambda _: DemoSource(moving=False), ascii_only=ascii_only)


async def loaded(pilot) -> None:
    deadline = time.monotonic() + 10
    # The source is the loaded analysis's: a live --host path is drawn before the whole listing is in.
    while pilot.app.path is None or getattr(getattr(pilot.app.source, "status", None), "state", None) != "live":
        assert time.monotonic() < deadline
        await pilot.pause(0.02)
    await pilot.pause(0.1)


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


# -- a real context's name: the live source through a kubeconfig, as on a user's machine ----------------

EKS = "arn:aws:eks:eu-west-1:123456789012:cluster/prod-ingress-eu-west-1"


@pytest.fixture
def eks_app(sim_factory, tmp_path) -> Callable[..., KtraceApp]:
    """The demo cluster served over HTTP and read through a kubeconfig whose context has an EKS-style name
    (the status bar must keep the connection state, the counts and `? help`, eliding the name)."""
    def make(host: str | None = None, degrade: bool = False) -> KtraceApp:
        cluster = demo_cluster()
        if degrade:  # one of the status page's three pods fails its readiness probe: that route is degraded
            pod = next(e.obj for e in cluster.store.entries("Pod") if e.obj["metadata"]["namespace"] == "ops")
            cluster.set_pod_ready("ops", pod["metadata"]["name"], False)
        sim = sim_factory(cluster=cluster, bookmark_interval=0.2)
        spec = SourceSpec(kubeconfig=str(sim.write_kubeconfig(tmp_path / "kubeconfig", context=EKS)))
        return KtraceApp(spec, view=ViewOptions(host=host), source_factory=open_live)
    return make


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_screen_with_a_long_context_name(snap_compare, eks_app, size: tuple[int, int]) -> None:
    """No --host: the worst route (aspnetapp) is selected at start, and at 80x24 its whole diagnosis shows."""
    assert snap_compare(eks_app(), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_degraded_route_with_a_long_context_name(snap_compare, eks_app, size: tuple[int, int]) -> None:
    assert snap_compare(eks_app("status.demo.example/", degrade=True), terminal_size=size, run_before=loaded)
