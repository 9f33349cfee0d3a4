"""`ktrace trace`, `ktrace check` and the default command through ktrace.cli.main: exit codes, JSON
and SARIF shapes, and text that reads without colour in 80 columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ktrace.checks import CATALOG
from ktrace.cli import main

SCENARIOS = Path(__file__).parent.parent / "scenarios"


@pytest.fixture(autouse=True)
def plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def scenario(name: str) -> str:
    return str(SCENARIOS / name)


def test_trace_ok_text(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "shop.example.com", "-f", scenario("healthy.yaml"))
    assert code == 0
    assert out.splitlines()[0] == "✓ ok  shop.example.com/"
    assert "Ingress shop/shop" in out and "Pod web-5c7f9-a1" in out and "tls shop-tls" in out
    assert "\x1b" not in out and "✔" not in out and "\ufe0f" not in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_trace_broken_text_names_the_near_miss(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "demoaks1.cloudadventures.org", "-f", scenario("selector-near-miss.yaml"))
    assert code == 1
    assert out.startswith("✗ broken")
    assert "key differs in case" in out and "✗ error  Service nm/aspnetapp" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_trace_degraded_exit_1(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "flaky.example.com", "-f", scenario("readiness.yaml"))
    assert code == 1 and out.startswith("! degraded")


def test_trace_unknown_offline_exit_0(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "chart.example.com", "-f", scenario("offline-templates.yaml"))
    assert code == 0 and out.startswith("? unknown")


def test_trace_json_shape(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "https://flaky.example.com/x?y=1", "-f", scenario("readiness.yaml"),
                       "-o", "json")
    doc = json.loads(out)
    assert code == 1
    assert list(doc) == ["target", "host", "path", "status", "hops", "findings", "changes"]
    assert (doc["target"], doc["host"], doc["path"], doc["status"]) == ("flaky.example.com/x", "flaky.example.com",
                                                                         "/x", "degraded")
    assert [(h["kind"], h["level"]) for h in doc["hops"][:2]] == [("IngressController", -1), ("Ingress", 0)]
    assert [h["kind"] for h in doc["hops"][1:]] == ["Ingress", "Service", "EndpointSlice", "Pod", "Pod", "Pod", "Pod"]
    for hop in doc["hops"]:
        assert {"kind", "namespace", "name", "status", "reasons", "lastChange"} <= set(hop)
        assert hop["status"] in ("ok", "warning", "error", "unknown")
    f = doc["findings"][0]
    assert list(f) == ["code", "severity", "object", "message", "hint", "details"]
    assert set(f["object"]) == {"kind", "namespace", "name"}


def test_trace_path_without_route_is_broken(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "trace", "store.example.com/nope", "-f", scenario("ingress-problems.yaml"),
                       "-o", "json")
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "broken" and doc["findings"][0]["code"] == "host-no-route"
    assert "store.example.com/api (Prefix)" in doc["findings"][0]["hint"]


@pytest.mark.parametrize(("argv", "message"), [
    (["trace", "ftp://x", "-f", "HEALTHY"], "ktrace: malformed target"),
    (["trace", "shop.example.com", "-f", "/nonexistent/x.yaml"], "ktrace: /nonexistent/x.yaml: no such file"),
    (["check", "-f", "BAD"], "bad.yaml:4:1: did not find expected"),
    (["check", "-f", "EMPTY"], "ktrace: no Kubernetes objects in"),
    (["check", "-f", "HEALTHY", "-n", "elsewhere"], "ktrace: no Kubernetes objects in namespace elsewhere"),
    (["check", "-f", "HEALTHY", "--demo"], "ktrace: use either -f or --demo"),
])
def test_bad_input_is_one_line_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path, argv: list[str],
                                      message: str) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Service\nmetadata:\n  name: [unclosed\n")
    (tmp_path / "empty.yaml").write_text("# nothing here\n---\n")
    files = {"HEALTHY": scenario("healthy.yaml"), "BAD": str(tmp_path / "bad.yaml"),
             "EMPTY": str(tmp_path / "empty.yaml")}
    code, out, err = run(capsys, *[files.get(a, a) for a in argv])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert "Traceback" not in err


def test_one_malformed_file_in_a_directory_is_an_error_finding_and_the_rest_is_checked(
        capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(Path(scenario("healthy.yaml")).read_text())
    (tmp_path / "broken.yaml").write_text("kind: Namespace\nmetadata: {name: a}\n---\nkind: Service\n"
                                          "metadata:\n  name: [unclosed\n")
    code, out, _ = run(capsys, "check", "-f", str(tmp_path), "-o", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and [f["code"] for f in findings] == ["source-input-unreadable"]
    assert findings[0]["object"]["name"] == f"{tmp_path / 'broken.yaml'}:7:1"
    code, out, err = run(capsys, "trace", "shop.example.com", "-f", str(tmp_path))  # the path may lack the file's
    assert code == 1 and out.startswith("✓ ok")
    assert err == f"ktrace: not loaded: {tmp_path / 'broken.yaml'}:7:1: did not find expected ',' or ']'\n"


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["check", "-f", "/dev/zero"], b"", "ktrace: /dev/zero: larger than 1 MiB, not read (set KTRACE_MAX_FILE_MIB"),
    (["check", "-f", "-"], b"kind: Namespace\nmetadata: {name: \xff}\n", "ktrace: <stdin>: not UTF-8 text"),
    (["trace", "x", "-f", "-"], b"kind: Pod\nmetadata: {name: p, n: " + b"1" * 5000 + b"}\n",
     "ktrace: <stdin>:2:"),
])
def test_unreadable_input_alone_is_one_line_exit_2(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
                                                   argv: list[str], stdin: bytes, message: str) -> None:
    import io
    import sys

    monkeypatch.setenv("KTRACE_MAX_FILE_MIB", "1")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and err.startswith(message) and len(err.splitlines()) == 1, err


def test_an_unrouted_host_is_a_broken_path_not_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    """A host nothing serves is an answer: the normal output, status broken, no hop, `host-no-route` naming
    the closest hosts, exit 1 (exit 2 is for usage and connection errors)."""
    code, out, err = run(capsys, "trace", "shopp.example.com", "-f", scenario("healthy.yaml"), "-o", "json")
    doc = json.loads(out)
    assert (code, err, doc["status"], doc["hops"]) == (1, "", "broken", [])
    [f] = doc["findings"]
    assert f["code"] == "host-no-route" and f["hint"] == "closest hosts: shop.example.com"
    code, out, _ = run(capsys, "trace", "shopp.example.com", "-f", scenario("healthy.yaml"))
    assert code == 1 and out.startswith("✗ broken  shopp.example.com/") and "closest hosts: shop.example.com" in out


def test_check_json_and_exit_codes(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "check", "-f", scenario("ingress-problems.yaml"), "-o", "json")
    doc = json.loads(out)
    assert code == 1 and list(doc) == ["findings", "summary"]
    assert doc["summary"]["error"] == 6 and doc["summary"]["total"] == len(doc["findings"])
    codes = {f["code"] for f in doc["findings"]}
    assert {"ingress-backend-service-missing", "ingress-resource-backend"} <= codes
    code, out, _ = run(capsys, "check", "-f", scenario("ingress-problems.yaml"), "-o", "json",
                       "--min-severity", "error")
    assert code == 1 and {f["severity"] for f in json.loads(out)["findings"]} == {"error"}
    code, out, _ = run(capsys, "check", "-f", scenario("healthy.yaml"), "-o", "json")
    assert code == 0 and json.loads(out)["findings"] == []


def test_check_text_names_file_and_line(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "check", "-f", scenario("target-port.yaml"))
    assert code == 1
    assert "✗ error  service-target-port-missing  Service tp/named" in out
    assert "target-port.yaml:23\n" in out
    assert out.rstrip().endswith("2 errors, 1 warning, 1 info")


def test_check_sarif(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "check", "-f", scenario("readiness.yaml"), "-o", "sarif")
    doc = json.loads(out)
    assert code == 1 and doc["version"] == "2.1.0"
    [run_] = doc["runs"]
    assert {r["id"] for r in run_["tool"]["driver"]["rules"]} == set(CATALOG)
    levels = {r["ruleId"]: r["level"] for r in run_["results"]}
    assert levels["service-no-ready-endpoints"] == "error" and levels["pod-not-ready"] == "warning"
    loc = run_["results"][0]["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"]["uri"].endswith("readiness.yaml")


def test_cluster_strings_are_escaped(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    text = (SCENARIOS / "readiness.yaml").read_text().replace(
        "3 Insufficient memory.", "\\e]0;pwned\\a\\e[31m3 Insufficient memory.")
    text = text.replace('message: "0/3', 'message: "0/3')
    (tmp_path / "evil.yaml").write_text(text)
    code, out, _ = run(capsys, "trace", "flaky.example.com", "-f", str(tmp_path / "evil.yaml"))
    assert code == 1 and "Insufficient memory" in out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b]0;pwned\\x07\\x1b[31m3 Insufficient" in out


def test_demo_source(capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("ktrace.sim.demo")
    code, out, _ = run(capsys, "check", "--demo", "-o", "json")
    summary = json.loads(out)["summary"]
    assert code == 1 and summary["objects"]["Pod"] > 0
    assert (summary["error"], summary["warning"], summary["info"]) == (6, 2, 1)


@pytest.mark.slow
def test_ascii_terminal_gets_ascii_symbols_and_survives_non_ascii_names(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    text = (SCENARIOS / "readiness.yaml").read_text().replace("3 Insufficient memory.", "3 Insufficient mémoire")
    (tmp_path / "uni.yaml").write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "ktrace", "trace", "flaky.example.com", "-f",
                           str(tmp_path / "uni.yaml")], capture_output=True, env=env)
    out = done.stdout.decode("ascii")
    assert done.returncode == 1 and done.stderr == b""
    assert out.startswith("! degraded") and "`-- + ok  Ingress rd/rd" in out and "Insufficient m?moire" in out


def test_check_summary_is_one_line_however_long_the_path(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    deep = tmp_path / ("a-directory-name-long-enough-to-push-the-summary-past-eighty-columns" * 2)
    deep.mkdir()
    (deep / "m.yaml").write_text((SCENARIOS / "target-port.yaml").read_text())
    code, out, _ = run(capsys, "check", "-f", str(deep / "m.yaml"))
    assert code == 1
    assert out.rstrip().splitlines()[-1] == f"files: {deep / 'm.yaml'}, all namespaces: 2 errors, 1 warning, 1 info"


def test_unknown_host_names_every_kind_of_route_and_the_closest_hosts(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, "trace", "shopp.example.com", "-f", scenario("healthy.yaml"))
    assert code == 1 and err == ""
    assert "no Ingress rule or default backend serves shopp.example.com/" in out
