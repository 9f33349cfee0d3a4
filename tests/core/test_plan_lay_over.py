"""`Analysis.lay_over`: the interactive view's plan, read from and refreshing its kept verdicts."""

from __future__ import annotations

from pathlib import Path

from ktrace.analysis import Analysis
from ktrace.options import AnalysisOptions, SourceSpec
from ktrace.sources import open_source
from ktrace.sources.overlay import overlay, read_files
from ktrace.targets import Target
from tests.tui.test_tui_plan import BASELINE, POD, service


def test_lay_over_keeps_each_routes_before_refreshes_the_verdicts_and_notes_no_change_seen(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text(BASELINE + service("shop", "shop") + service("api", "apii")
                                        + POD.replace("NAME", "shop").replace("ADDR", "20"))
    (tmp_path / "change.yaml").write_text(service("shop", "shopp"))
    source = open_source(SourceSpec(files=(str(tmp_path / "base.yaml"),)))
    analysis = Analysis(source, source.load(), AnalysisOptions())
    analysis.check()
    verdicts = analysis.routes()
    changes = overlay(analysis.store, read_files([str(tmp_path / "change.yaml")], "-f"), [])
    routes, findings = analysis.lay_over(changes, verdicts)
    by = {r.target: r for r in routes}
    shop, api = by[Target("shop.example", "/")], by[Target("api.example", "/")]
    assert (shop.status_before, shop.status_after, shop.worse, shop.stop) == ("ok", "broken", True, ["web/shop-1"])
    assert (api.status_before, api.status_after, api.changed) == ("broken", "broken", False)
    assert verdicts.status(Target("shop.example", "/")) == "broken"  # refreshed: the verdicts are after
    assert any(f.code == "service-selector-no-match" and f.name == "shop" for f in findings)
    assert shop.after.changes == []  # planned, not seen: not in the store's history of changes
