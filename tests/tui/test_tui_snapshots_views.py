"""Snapshots of the secondary views at 80x24 and 120x40 on the demo objects (deterministic: the
offline demo has fixed times and names): the path panel on the article's broken aspnetapp path
(summary and full tree),
the same panel in ASCII with a hop that just changed (a pod failing its readiness probe), the
findings screen and the detail screen. Each SVG was looked at before it was committed."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from ktrace.checks import run_checks
from ktrace.sim.demo import demo_cluster, demo_objects
from ktrace.store import ClusterStore
from ktrace.trace import trace
from ktrace.tui.detail_screen import DetailScreen
from ktrace.tui.findings_screen import FindingsScreen
from ktrace.tui.path_panel import PathPanel
from tests.tui.test_tui_views import _store_of

pytestmark = pytest.mark.slow  # each runs a view under Pilot and compares an SVG

SIZES = [(80, 24), (120, 40)]
OBJECTS = demo_objects()
STORE = ClusterStore(OBJECTS)


class PathApp(App):
    def __init__(self, full: bool = False) -> None:
        super().__init__()
        self.full = full

    def compose(self) -> ComposeResult:
        yield PathPanel(id="path")

    def on_mount(self) -> None:
        panel = self.query_one(PathPanel)
        panel.set_full(self.full)
        panel.show(trace(STORE, "aspnetapp.demo.example/", live=True))


class ChangedHopApp(App):
    """The healthy status path after one of its pods failed its readiness probe: that hop marked."""

    def compose(self) -> ComposeResult:
        yield PathPanel(ascii_only=True, change_seconds=3600, id="path")

    def on_mount(self) -> None:
        cluster = demo_cluster()
        panel = self.query_one(PathPanel)
        before = trace(_store_of(cluster), "status.demo.example/", live=True)
        panel.show(before)
        cluster.set_pod_ready("ops", next(h.name for h in before.hops if h.kind == "Pod"), False)
        panel.show(trace(_store_of(cluster), "status.demo.example/", live=True))


class FindingsApp(App):
    def on_mount(self) -> None:
        self.push_screen(FindingsScreen(run_checks(STORE, live=True)))


class DetailApp(App):
    def on_mount(self) -> None:
        svc = next(o for o in OBJECTS if o["kind"] == "Service" and o["metadata"]["name"] == "aspnetapp")
        # What an API server adds to an applied object: folded to one line by the view.
        managed = [{"manager": m, "operation": "Update", "apiVersion": "v1", "time": "2026-01-15T09:00:00Z",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}} for m in ("kubectl", "kube-controller")]
        svc = {**svc, "metadata": {**svc["metadata"], "managedFields": managed}}
        self.push_screen(DetailScreen("Service aspnet/aspnetapp", svc))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_path_panel_aspnetapp(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(PathApp(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_path_panel_aspnetapp_full_tree(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(PathApp(full=True), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_path_panel_changed_hop_ascii(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(ChangedHopApp(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_findings_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(FindingsApp(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_screen(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(DetailApp(), terminal_size=size)
