"""Findings can be suppressed by code (--ignore) or per object (annotation ktrace.dev/ignore)."""

import orjson
import pytest

from ktrace.cli import main

MANIFESTS = """
apiVersion: v1
kind: Service
metadata: {name: docs, namespace: shop}
spec: {type: ExternalName, externalName: docs.vendor.example}
---
apiVersion: v1
kind: Service
metadata:
  name: legacy
  namespace: shop
  annotations: {ktrace.dev/ignore: "service-externalname"}
spec: {type: ExternalName, externalName: old.vendor.example}
---
apiVersion: v1
kind: Service
metadata:
  name: parked
  namespace: shop
  annotations: {ktrace.dev/ignore: "*"}
spec: {selector: {app: nothing}, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: shop}
spec: {selector: {app: nothing}, ports: [{port: 80}]}
"""


def codes(capsys, *argv: str) -> tuple[int, list[tuple[str, str]]]:
    rc = main(["check", "-o", "json", *argv])
    doc = orjson.loads(capsys.readouterr().out)
    return rc, sorted((f["code"], f["object"]["name"]) for f in doc["findings"])


def test_annotation_and_ignore_option(tmp_path, capsys) -> None:
    (tmp_path / "m.yaml").write_text(MANIFESTS)
    f = str(tmp_path / "m.yaml")
    rc, found = codes(capsys, "-f", f)
    assert rc == 1
    assert ("service-externalname", "docs") in found
    assert ("service-externalname", "legacy") not in found
    assert not any(name == "parked" for _, name in found)
    assert ("service-selector-no-match", "broken") in found

    rc, found = codes(capsys, "-f", f, "--ignore", "service-selector-no-match,service-externalname")
    assert rc == 0
    assert all(code.startswith("source-") for code, _ in found)


def test_unknown_code_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "m.yaml").write_text(MANIFESTS)
    assert main(["check", "-f", str(tmp_path / "m.yaml"), "--ignore", "service-selector-nomatch"]) == 2
    err = capsys.readouterr().err
    assert "unknown finding code 'service-selector-nomatch'" in err
    assert "did you mean service-selector-no-match" in err


def test_check_help_lists_every_code(capsys) -> None:
    from ktrace.findings import CATALOG

    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert all(code in out for code in CATALOG)
