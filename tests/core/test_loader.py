import pytest

from ktrace.loader import ManifestError, load_paths, load_text


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


def test_malformed_yaml_names_file_and_line() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkind: Pod\nmetadata:\n  name: [unclosed\n"
    with pytest.raises(ManifestError, match=r"^bad\.yaml:(7|8):"):
        load_text(text, "bad.yaml")


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
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_paths([str(tmp_path / "latin1.yaml")])


def test_stdin() -> None:
    r = load_paths(["-"], stdin_text="kind: Namespace\nmetadata: {name: x}\n")
    assert r.origins == ["<stdin>:1"]
