"""Read Kubernetes objects from YAML/JSON files: multi-document streams, `List` kinds,
`kubectl get -o yaml` dumps and `helm template` output.

Shared by offline manifests (`-f`) and the simulator. Errors name the file and the line.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import yaml

from ktrace.kinds import BY_KIND

try:  # libyaml is several times faster when the wheel has it
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_DOC_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")
_SUFFIXES = {".yaml", ".yml", ".json"}


class ManifestError(Exception):
    """A file that cannot be read or parsed; the message names the file and line."""


@dataclass
class LoadResult:
    objects: list[dict] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # "file:line" of each object
    skipped: list[str] = field(default_factory=list)  # one line per document left out, and why

    def add(self, obj: dict, origin: str) -> None:
        self.objects.append(obj)
        self.origins.append(origin)


def load_paths(paths: list[str], stdin_text: str | None = None) -> LoadResult:
    """Load every object under `paths` (files, directories searched recursively, or `-`)."""
    result = LoadResult()
    for raw in paths:
        if raw == "-":
            text = stdin_text if stdin_text is not None else sys.stdin.read()
            load_text(text, "<stdin>", result)
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
            for f in files:
                load_text(_read(f), str(f), result)
        elif path.exists():
            load_text(_read(path), str(path), result)
        else:
            raise ManifestError(f"{raw}: no such file or directory")
    return result


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise ManifestError(f"{path}: {e.strerror or e}") from None


def load_text(text: str, name: str, result: LoadResult | None = None) -> LoadResult:
    """Parse one YAML or JSON stream into `result` (a new one when not given)."""
    result = result if result is not None else LoadResult()
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # flow-style YAML also starts with a brace: let the YAML parser judge it
        else:
            _collect(doc, f"{name}:1", result)
            return result
    for start_line, chunk in _documents(text):
        try:
            doc = yaml.load(chunk, Loader=_Loader)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = start_line + (mark.line if mark else 0)
            col = f":{mark.column + 1}" if mark else ""
            problem = e.problem or e.context or "invalid YAML"
            raise ManifestError(f"{name}:{line}{col}: {problem}") from None
        except yaml.YAMLError as e:
            raise ManifestError(f"{name}:{start_line}: {e}") from None
        if doc is not None:
            _collect(doc, f"{name}:{start_line}", result)
    return result


def _documents(text: str) -> list[tuple[int, str]]:
    """Split a YAML stream on document markers, keeping each document's first line number
    (1-based) so errors and findings can point into the file."""
    docs: list[tuple[int, str]] = []
    start, lines = 1, []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _DOC_SEPARATOR.match(line):
            docs.append((start, "".join(lines)))
            rest = line[3:].strip()  # `--- {...}`: content on the marker line itself
            start, lines = number, ([rest + "\n"] if rest and line.startswith("---") else [])
            if not lines:
                start = number + 1
        else:
            lines.append(line)
    docs.append((start, "".join(lines)))
    return [(s, chunk) for s, chunk in docs if chunk.strip()]


def _collect(doc: object, origin: str, result: LoadResult) -> None:
    if isinstance(doc, list):  # a bare JSON array of objects
        for item in doc:
            _collect(item, origin, result)
        return
    if not isinstance(doc, dict):
        result.skipped.append(f"{origin}: not a Kubernetes object (a {type(doc).__name__})")
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        item_kind = kind[: -len("List")]
        for item in doc["items"]:
            if isinstance(item, dict) and item_kind in BY_KIND and "kind" not in item:
                item = {"kind": item_kind, "apiVersion": BY_KIND[item_kind].api_version, **item}
            _collect(item, origin, result)
        return
    if not isinstance(kind, str) or not kind:
        result.skipped.append(f"{origin}: object without a kind")
        return
    if kind not in BY_KIND:
        name = (doc.get("metadata") or {}).get("name", "?") if isinstance(doc.get("metadata"), dict) else "?"
        result.skipped.append(f"{origin}: {kind} {name}: kind not used by ktrace, skipped")
        return
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        result.skipped.append(f"{origin}: {kind} without metadata.name, skipped")
        return
    result.add(doc, origin)
