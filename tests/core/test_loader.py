import io
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ktrace.loader import MAX_FILE_ENV, ManifestError, load_paths, load_text


def test_multi_document_list_and_unknown_kinds() -> None:
    text = """# Source: chart/templates/svc.yaml
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
---
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: shop}
"""
    r = load_text(text, "chart.yaml")
    assert [o["kind"] for o in r.objects] == ["Service", "Pod"]
    assert r.origins == ["chart.yaml:3", "chart.yaml:12"]
    assert r.skipped == ["chart.yaml:8: Widget w: kind not used by ktrace, skipped"]


def test_typed_list_items_get_their_kind() -> None:
    r = load_text('{"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "a"}}]}', "pods.json")
    assert r.objects == [{"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}}]


def test_a_malformed_document_is_an_error_and_the_rest_is_loaded() -> None:
    text = ("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: Pod\nmetadata:\n  name: [unclosed\n"
            "---\nkind: Namespace\nmetadata: {name: b}\n")
    r = load_text(text, "bad.yaml")
    assert [o["metadata"]["name"] for o in r.objects] == ["a", "b"]
    assert [e.where for e in r.errors] in (["bad.yaml:8:1"], ["bad.yaml:7:9"])


@pytest.mark.parametrize(("text", "where", "problem"), [
    ("kind: Pod\nmetadata:\n  name: a\n  x: b\x00c\n", "n.yaml:4:7", "character U+0000"),  # the NUL's own line
    ("kind: Pod\nmetadata: {name: a}\nspec: {n: " + "9" * 5000 + "}\n", "n.yaml:3:11", "integer out of range"),
    ('{"kind": "Pod", "metadata": {"name": "a"}, "spec": {"n": ' + "9" * 5000 + "}}", "n.yaml:1:", "out of range"),
    ("kind: Pod\nmetadata: {name: a, n: 9223372036854775808}\n", "n.yaml:2:", "integer out of range"),
    ("kind: Pod\nmetadata: {name: a}\nspec: &s {x: *s}\n", "n.yaml:1", "refers to the node that holds it"),
    ("kind: Pod\nmetadata: {name: a}\nspec: " + "[" * 3000 + "]" * 3000 + "\n", "n.yaml:", "nest"),
])
def test_hostile_documents_are_errors_with_file_and_line(text: str, where: str, problem: str) -> None:
    r = load_text(text, "n.yaml")
    assert r.objects == []
    assert len(r.errors) == 1 and r.errors[0].where.startswith(where) and problem in r.errors[0].problem


def test_integers_up_to_64_bits_load() -> None:
    r = load_text("kind: Pod\nmetadata: {name: a}\nspec: {n: 9223372036854775807, m: -9223372036854775808}\n", "x")
    assert r.objects[0]["spec"] == {"n": 2**63 - 1, "m": -(2**63)} and r.errors == []


def billion_laughs(levels: int = 9) -> str:
    lines = ["apiVersion: v1", "kind: Pod", "metadata: {name: lol}", "spec:",
             "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_and_modest_aliasing_is_not() -> None:
    r = load_text(billion_laughs(), "lol.yaml")
    assert len(billion_laughs()) < 800 and r.objects == []
    assert r.errors[0].where == "lol.yaml:1"
    assert "aliases expand this document to 1,234,567,905 values" in r.errors[0].problem
    # Anchors as charts use them (a shared env list a few times) are fine.
    r = load_text(billion_laughs(levels=3), "ok.yaml")
    assert r.errors == [] and len(r.objects[0]["spec"]["a2"]) == 10


def test_objects_without_name_or_kind_are_reported() -> None:
    r = load_text("kind: Pod\nmetadata: {}\n---\n- 1\n- 2\n---\njust text\n", "x.yaml")
    assert r.objects == []
    assert r.skipped == [
        "x.yaml:1: Pod without metadata.name, skipped",
        "x.yaml:4: not a Kubernetes object (a int)",
        "x.yaml:4: not a Kubernetes object (a int)",
        "x.yaml:7: not a Kubernetes object (a str)",
    ]


def test_directories_and_missing_files(tmp_path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.yaml").write_text("kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n")
    (tmp_path / "b.json").write_text('{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "b"}}')
    (tmp_path / "notes.txt").write_text("ignored")
    r = load_paths([str(tmp_path)])
    assert sorted(o["metadata"]["name"] for o in r.objects) == ["a", "b"]
    with pytest.raises(ManifestError, match=r"nope\.yaml: no such file or directory"):
        load_paths([str(tmp_path / "nope.yaml")])
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    r = load_paths([str(tmp_path)])
    assert sorted(o["metadata"]["name"] for o in r.objects) == ["a", "b"]
    assert [str(e) for e in r.errors] == [f"{tmp_path / 'latin1.yaml'}: not UTF-8 text (invalid continuation byte "
                                          "at byte 30)"]


def test_an_unreadable_directory_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for sub in ("a", "locked"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "ns.yaml").write_text(f"kind: Namespace\nmetadata: {{name: {sub}}}\n")
    scandir = os.scandir

    def refusing(path: Any) -> Any:  # root reads any directory: refuse one as a permission would
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refusing)
    r = load_paths([str(tmp_path)])
    assert [o["metadata"]["name"] for o in r.objects] == ["a"]
    assert [str(e) for e in r.errors] == [f"{tmp_path / 'locked'}: cannot read the directory (Permission denied)"]


def test_reads_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_FILE_ENV, "1")
    r = load_paths(["/dev/zero"])
    assert [str(e) for e in r.errors] == [f"/dev/zero: larger than 1 MiB, not read (set {MAX_FILE_ENV} to read "
                                          "larger files)"]
    monkeypatch.setenv(MAX_FILE_ENV, "lots")
    with pytest.raises(ManifestError, match=MAX_FILE_ENV):
        load_paths(["/dev/zero"])


def test_stdin_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"kind: Namespace\nmetadata: {name: \xff}\n")))
    r = load_paths(["-"])
    assert r.objects == [] and [str(e) for e in r.errors] == ["<stdin>: not UTF-8 text (invalid start byte at byte 33)"]


def test_stdin() -> None:
    r = load_paths(["-"], stdin_text="kind: Namespace\nmetadata: {name: x}\n")
    assert r.origins == ["<stdin>:1"]
