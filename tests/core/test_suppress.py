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
    from ktrace.checks import CATALOG

    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert all(code in out for code in CATALOG)


# An Ingress whose findings are accepted (`*`), in front of a Service whose near miss is not.
ACCEPTED_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
  annotations: {ktrace.dev/ignore: "*"}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]  # missing, and so is the class
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {App: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web:1, ports: [{containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: traefik}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: v1
kind: Secret
metadata: {name: other-tls, namespace: shop}
type: kubernetes.io/tls
"""


@pytest.mark.parametrize(("ignore", "expected"), [
    ((), ["service-selector-no-match"]),  # the annotation alone: the Ingress's TLS and class findings go
    (("service-selector-no-match",), []),  # and --ignore takes the Service's too
])
async def test_cli_tui_path_and_copy_agree_on_suppression(tmp_path, capsys, monkeypatch, ignore: tuple[str, ...],
                                                          expected: list[str]) -> None:
    """One pipeline: `ktrace trace`, the TUI's path, its findings view and the `y` copy say the same."""
    from ktrace.cli import analysis_options, parse_args
    from ktrace.options import SourceSpec, ViewOptions
    from ktrace.sources import open_source
    from ktrace.tui.app import KtraceApp
    from tests.tui.test_tui_app import until

    manifest = tmp_path / "shop.yaml"
    flags = [arg for code in ignore for arg in ("--ignore", code)]
    manifest.write_text(ACCEPTED_INGRESS.replace('annotations: {ktrace.dev/ignore: "*"}', "annotations: {}"))
    assert main(["trace", "shop.example.com", "-f", str(manifest), "-o", "json"]) == 1
    unsuppressed = {f["code"] for f in orjson.loads(capsys.readouterr().out)["findings"]}
    assert {"ingress-tls-secret-missing", "ingress-class-missing", "service-selector-no-match"} <= unsuppressed
    manifest.write_text(ACCEPTED_INGRESS)
    main(["check", "-f", str(manifest), "-o", "json", "--ignore", "service-selector-no-match"])
    assert "ingress-tls-secret-missing" not in capsys.readouterr().out  # the annotation works in check as well

    assert main(["trace", "shop.example.com", "-f", str(manifest), "-o", "json", *flags]) == 1
    cli = [f["code"] for f in orjson.loads(capsys.readouterr().out)["findings"]]
    main(["trace", "shop.example.com", "-f", str(manifest), *flags])
    cli_text = capsys.readouterr().out

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # where `y` saves its copy
    options = analysis_options(parse_args(["trace", "x", *flags]))
    app = KtraceApp(SourceSpec(files=(str(manifest),)), options, ViewOptions(host="shop.example.com"),
                    source_factory=open_source)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.path is not None)
        tui = [f.code for f in app.path.findings]
        in_view = [f.code for f in app.findings if f.namespace == "shop"]
        await pilot.press("y")
        await until(pilot, lambda: bool(app.clipboard))
        copied = app.clipboard

    assert cli == tui == expected
    assert [c for c in in_view if c != "source-kind-unreadable"] == expected
    for code in ("ingress-tls-secret-missing", "ingress-class-missing"):
        assert code not in cli_text and code not in copied
    assert ("service-selector-no-match" in copied) == bool(expected) == ("service-selector-no-match" in cli_text)
