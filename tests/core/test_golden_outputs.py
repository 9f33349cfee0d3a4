"""Byte-for-byte outputs of `ktrace trace` and `ktrace check -A` on every scenario, kept in tests/golden/:
refactors of the tracer and the checks must not change a byte of what users and scripts read.

After an intended change of output, regenerate and review the diff:
    KTRACE_GOLDEN_UPDATE=1 .venv/bin/python -m pytest -q tests/core/test_golden_outputs.py
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import yaml

from ktrace.certs import CertificateBook, file_reader
from ktrace.cli import main
from ktrace.loader import load_paths
from ktrace.sources.manifests import ManifestSource
from ktrace.trace import trace

TESTS = Path(__file__).parent.parent
GOLDEN = TESTS / "golden"
EXPECT = yaml.safe_load((TESTS / "scenarios" / "expectations.yaml").read_text())
UPDATE = os.environ.get("KTRACE_GOLDEN_UPDATE") == "1"
CERTS_NOW = datetime(2030, 1, 1, tzinfo=UTC)  # --check-certs findings depend on the day
CERT_SCENARIOS = ("certs-tls.yaml", "gateway-healthy.yaml")
PREVIEWS = {  # the preview (`trace --via/--weights`) traces the would-be path through the same tracer
    "via-shop-blue": ["shop.example.com", "--via", "shop-blue", "-f", "preview/shop.yaml"],
    "via-shop-next": ["shop.example.com", "--via", "shop-next", "-f", "preview/shop.yaml"],
    "weights": ["store.demo.example/", "--weights", "shop-green=0,shop-blue=100", "-f",
                "../ktrace/sim/scenarios/demo.yaml"],
}


# The pictures (`-o mermaid|dot|svg`): output only, so that each file is a document its tool reads; the
# exit code beside it. A broken path (a NetworkPolicy gate), a split, a healthy one, pods grouped, gRPC, TLS.
PICTURES = {
    "picture/trace-netpol-broken.{ext}": ["trace", "deny.egress.example.com", "-f", "scenarios/netpol-egress.yaml"],
    "picture/trace-gateway-split.{ext}": ["trace", "store.gw.example.com", "-f", "scenarios/gateway-healthy.yaml"],
    "picture/trace-healthy.{ext}": ["trace", "shop.example.com", "-f", "scenarios/healthy.yaml"],
    "picture/trace-readiness-degraded.{ext}": ["trace", "flaky.example.com", "-f", "scenarios/readiness.yaml"],
    "picture/trace-grpc.{ext}": ["trace", "grpc://cart.grpc.example.com/shop.v1.Cart/Add", "-f",
                                 "scenarios/grpc-match.yaml"],
    "picture/trace-tls.{ext}": ["trace", "tls://db.tls.example.com", "-f", "scenarios/gateway-tlsroute.yaml"],
    "picture/check-readiness.{ext}": ["check", "-A", "-f", "scenarios/readiness.yaml"],
    "picture/check-netpol-egress.{ext}": ["check", "-A", "-f", "scenarios/netpol-egress.yaml"],
}
PICTURE_FORMATS = {"mermaid": "mmd", "dot": "dot"}
SVG_PICTURES = ("picture/trace-netpol-broken.{ext}", "picture/trace-gateway-split.{ext}")


def picture_cases() -> dict[str, list[str]]:
    """Golden file -> ktrace arguments, for every picture format a command has."""
    cases = {name.format(ext=ext): [*argv, "-o", fmt] for name, argv in PICTURES.items()
             for fmt, ext in PICTURE_FORMATS.items()}
    cases |= {name.format(ext="svg"): [*PICTURES[name], "-o", "svg"] for name in SVG_PICTURES}
    return cases


def _slug(target: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", target).strip("_")


def _cases() -> dict[str, list[str]]:
    """Golden file (relative to tests/golden) -> ktrace arguments, run from tests/ so that the
    source's description ("files: scenarios/x.yaml") is the same in every checkout."""
    cases: dict[str, list[str]] = {}
    for name in sorted(EXPECT):
        scenario, stem = f"scenarios/{name}", name.removesuffix(".yaml")
        for fmt, ext in (("text", "txt"), ("json", "json"), ("sarif", "sarif")):
            cases[f"{stem}/check.{ext}"] = ["check", "-A", "-f", scenario, "-o", fmt]
        for target in EXPECT[name]["traces"]:
            for fmt, ext in (("text", "txt"), ("json", "json")):
                key = f"{stem}/trace-{_slug(target)}.{ext}"
                assert key not in cases, f"two targets of {name} share the file name {key}"
                cases[key] = ["trace", target, "-f", scenario, "-o", fmt]
    for label, argv in PREVIEWS.items():
        for fmt, ext in (("text", "txt"), ("json", "json")):
            cases[f"preview/{label}.{ext}"] = ["trace", *argv, "-o", fmt]
    return cases


def _cert_cases() -> dict[str, tuple[str, str]]:
    """Traces with the certificate book (--check-certs) at a fixed day, through the library."""
    return {f"certs/{name.removesuffix('.yaml')}-{_slug(t)}.json": (name, t)
            for name in CERT_SCENARIOS for t in EXPECT[name]["traces"]}


CASES = _cases()
CERT_CASES = _cert_cases()
PICTURE_CASES = picture_cases()


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.chdir(TESTS)


def _compare(relative: str, actual: str) -> None:
    path = GOLDEN / relative
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert path.exists(), f"missing golden file {relative}: regenerate (see this module's docstring)"
    assert actual == path.read_text(), f"{relative} differs from its golden file"


@pytest.mark.parametrize("relative", sorted(CASES))
def test_cli_output_is_unchanged(relative: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(CASES[relative])
    out, err = capsys.readouterr()
    _compare(relative, f"{out}{err}exit {code}\n")


@pytest.mark.parametrize("relative", sorted(PICTURE_CASES))
def test_picture_is_unchanged(relative: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(PICTURE_CASES[relative])
    out, err = capsys.readouterr()
    assert not err
    _compare(relative, out)
    assert code == main(PICTURE_CASES[relative][:-2]), "a picture exits as the text output does"


@pytest.mark.parametrize("relative", sorted(CERT_CASES))
def test_trace_with_certificates_is_unchanged(relative: str) -> None:
    name, target = CERT_CASES[relative]
    scenario = f"scenarios/{name}"
    book = CertificateBook(file_reader(load_paths([scenario]).objects), now=CERTS_NOW)
    path = trace(ManifestSource([scenario]).load(), target, live=False, certs=book)
    _compare(relative, orjson.dumps(path.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")


def test_no_stale_golden_files() -> None:
    kept = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert kept == set(CASES) | set(CERT_CASES) | set(PICTURE_CASES)
