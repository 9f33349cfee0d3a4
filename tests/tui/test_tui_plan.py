"""`ktrace --plan`: the interactive view over a source with changes laid over it. Offline files: a baseline of two
routes (shop.example served, api.example behind a Service whose selector has a typo) and a change that swaps
them (the shop Service's selector gets a typo, the api Service's is fixed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from ktrace.cli import main
from ktrace.commands import plan_overlay
from ktrace.options import PlanRequest, SourceSpec
from ktrace.plan import RouteChange
from ktrace.requestpath import RequestPath
from ktrace.sources import open_source
from ktrace.targets import Target
from ktrace.tui.app import KtraceApp
from ktrace.tui.plan_column import plan_cell, plan_rows
from ktrace.tui.rows import Row
from tests.tui.test_tui_app import text_of, until

BASELINE = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: nginx
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: k8s.io/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: web}
spec:
  rules:
  - host: shop.example
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: shop, port: {number: 80}}}}]
  - host: api.example
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}]
"""
SERVICE = """
---
apiVersion: v1
kind: Service
metadata: {name: NAME, namespace: web}
spec:
  selector: {app: APP}
  ports: [{port: 80, targetPort: 8080}]
"""
POD = """
---
apiVersion: v1
kind: Pod
metadata: {name: NAME-1, namespace: web, labels: {app: NAME}}
spec: {containers: [{name: NAME, image: NAME:1, ports: [{containerPort: 8080}]}]}
status:
  phase: Running
  podIP: 10.4.0.ADDR
  conditions: [{type: Ready, status: "True"}]
  containerStatuses: [{name: NAME, ready: true, restartCount: 0, state: {running: {}}}]
"""


def service(name: str, app: str) -> str:
    return SERVICE.replace("NAME", name).replace("APP", app)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """base.yaml and change.yaml in the working directory (relative names: the status bar shows them)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.yaml").write_text(BASELINE + service("shop", "shop") + service("api", "apii")
                                        + POD.replace("NAME", "shop").replace("ADDR", "20")
                                        + POD.replace("NAME", "api").replace("ADDR", "21"))
    (tmp_path / "change.yaml").write_text(service("shop", "shopp") + service("api", "api"))
    return tmp_path


def plan_app(ascii_only: bool = False) -> KtraceApp:
    return KtraceApp(SourceSpec(files=("base.yaml",)), source_factory=open_source, ascii_only=ascii_only,
                     overlay=plan_overlay(PlanRequest(("change.yaml",)), SourceSpec(files=("base.yaml",))))


async def planned(pilot) -> KtraceApp:
    app: KtraceApp = pilot.app
    await until(pilot, lambda: app._started and app.path_panel.change is not None)
    await pilot.pause(0.2)  # the selected route's path is traced when the cursor rests
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    return app


def cells(app: KtraceApp) -> dict[str, str]:
    rules = app.table("rules")
    return {row.cells[0]: row.cells[1] for row in rules.rows()}


@pytest.mark.slow
async def test_plan_shows_both_routes_before_after_the_pods_that_stop_and_says_snapshot(files: Path) -> None:
    async with plan_app().run_test(size=(120, 40)) as pilot:
        app = await planned(pilot)
        assert app.table("rules").columns[:3] == ("HOST", "PLAN", "PATH")
        assert cells(app) == {"shop.example": "*✓→✗", "api.example": "*✗→✓"}
        # The route that gets worse is selected first; its panel says what changes, then the path after.
        assert app.target == Target("shop.example", "/") and app.path is not None and app.path.status == "broken"
        body = text_of(app.path_panel.query_one("#path-body", Static))
        assert "plan: ✓ ok → ✗ broken" in body and "pods stop: web/shop-1" in body
        assert "service-selector-no-match" in body.split("after the changes:")[0]  # a finding that appears
        assert "changes seen" not in body  # planned, not seen: no "changes seen since ktrace started"
        line = app.status_bar.line().plain
        assert line.startswith("plan 2/2: files: base.yaml") and "snapshot, not live" in line
        assert "snapshot, not live" in app.status_bar.line(60).plain  # the state stays when the name gives way
        # The api route: fixed, its pod starts receiving traffic.
        app.select_target(Target("api.example", "/"))
        await pilot.pause()
        body = text_of(app.path_panel.query_one("#path-body", Static))
        assert "plan: ✗ broken → ✓ ok" in body and "pods start: web/api-1" in body
        assert "findings that disappear:" in body


@pytest.mark.slow
async def test_plan_is_not_watched_and_ascii_shows_the_column_in_ascii(files: Path) -> None:
    async with plan_app(ascii_only=True).run_test(size=(80, 24)) as pilot:
        app = await planned(pilot)
        assert cells(app) == {"shop.example": "*+->x", "api.example": "*x->+"}
        assert (app.source is not None and app.source.status is None) or app.source.status.state != "live"
        assert app.status_bar.line(78).plain.count("snapshot, not live") == 1


@pytest.mark.slow
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_plan_snapshot(snap_compare, files: Path, size: tuple[int, int]) -> None:
    """The PLAN column on both routes (`*✓→✗`, `*✗→✓`), the worse route selected with what changes on it first in
    the path panel, and the status bar's `snapshot, not live`."""
    assert snap_compare(plan_app(), terminal_size=size, run_before=planned)


def test_a_bad_change_file_exits_2_before_the_screen_opens(files: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    (files / "bad.yaml").write_text("kind: Service\nmetadata: {name: [unclosed\n")
    monkeypatch.setattr("ktrace.tui.app.run", lambda *a, **k: pytest.fail("the screen opened"))
    assert main(["--plan", "-f", "bad.yaml", "--against", "-f", "base.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ktrace: -f: bad.yaml") and len(err.strip().splitlines()) == 1


def test_plan_needs_change_files(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--plan", "--against", "-f", "base.yaml"]) == 2
    assert "a plan needs changes" in capsys.readouterr().err


# -- the column, pure ------------------------------------------------------------------------------------

def _change(status_before: str, status_after: str, *, existed: bool = True, stop: list[str] | None = None
            ) -> RouteChange:
    t = Target("a.example", "/")
    return RouteChange(target=t, before=RequestPath("a.example/", "a.example", "/", status_before),  # type: ignore[arg-type]
                       after=RequestPath("a.example/", "a.example", "/", status_after),  # type: ignore[arg-type]
                       existed=existed, exists=True, stop=stop or [])


def test_plan_cell_marks_a_change_without_colour() -> None:
    assert plan_cell(_change("ok", "broken"), False) == "*✓→✗"
    assert plan_cell(_change("ok", "broken"), True) == "*+->x"
    assert plan_cell(_change("ok", "ok", stop=["web/a-1"]), False) == "*✓→✓"  # same verdict, other pods: changed
    assert plan_cell(_change("ok", "ok"), False) == " ✓→✓"
    assert plan_cell(_change("unknown", "ok", existed=False), True) == "*.->+"  # a route the changes add
    assert plan_cell(None, False) == "?"


def test_plan_rows_keep_the_rows_of_removed_routes_with_their_verdict_after() -> None:
    def row(host: str) -> Row:
        return Row((host, "/", "web", "shop"), ("Ingress", "web", "shop"), (host, "/", "shop:80"), "web", {},
                   f"{host} / shop:80")

    routes = {Target("a.example", "/"): _change("ok", "broken")}
    rows = plan_rows([row("b.example")], [row("a.example"), row("b.example")], routes, False)
    assert [(r.cells[0], r.cells[1]) for r in rows] == [("b.example", "?"), ("a.example", "*✓→✗")]
    assert "*✓→✗" in rows[1].text  # `/*` filters the changed routes
