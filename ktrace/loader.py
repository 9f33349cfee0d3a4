"""Read Kubernetes objects from YAML/JSON files: multi-document streams, `List` kinds,
`kubectl get -o yaml` dumps and `helm template` output.

Shared by offline manifests (`-f`) and the simulator. Errors name the file and the line. A file or
document that cannot be read or parsed is recorded in `LoadResult.errors` and the rest is loaded.

Hostile input is bounded: a file is read up to a size limit (256 MiB unless KTRACE_MAX_FILE_MIB
says otherwise), integers beyond 64 bits (what the API server accepts) are errors, and a document
whose YAML aliases expand far beyond its own size ("billion laughs") or refer to themselves is
refused, so no later walk over the objects can blow up.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson
import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from ktrace.kinds import BY_KIND

try:  # libyaml is several times faster when the wheel has it
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader

MAX_FILE_ENV = "KTRACE_MAX_FILE_MIB"
DEFAULT_MAX_FILE_MIB = 256
_MIB = 1024 * 1024
_INT64 = 2**63
# Aliases may repeat what a document holds, but not expand it past this many values and this many
# times its own size: kubectl refuses such "excessive aliasing" too.
_MAX_EXPANDED, _MAX_EXPANSION = 100_000, 10


def _int64(loader: SafeConstructor, node: yaml.ScalarNode) -> int:
    """YAML's int, refused beyond 64 bits: the API server stores nothing larger, and Python refuses to
    print integers of over 4,300 digits."""
    try:
        value = SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        value = _INT64  # too many digits to convert at all
    if not -_INT64 <= value < _INT64:
        raise ConstructorError(None, None, "integer out of range (Kubernetes integers are 64-bit)", node.start_mark)
    return value


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader with 64-bit integers."""


_Loader.add_constructor("tag:yaml.org,2002:int", _int64)

_DOC_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s|$)")
_SUFFIXES = {".yaml", ".yml", ".json"}


class ManifestError(Exception):
    """A file that cannot be read or parsed; the message names the file and line."""


class InputError(NamedTuple):
    """A file, directory or document that could not be read or parsed."""

    where: str  # file, file:line or file:line:column
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class LoadResult:
    objects: list[dict] = field(default_factory=list)
    origins: list[str] = field(default_factory=list)  # "file:line" of each object
    skipped: list[str] = field(default_factory=list)  # one line per document left out, and why
    errors: list[InputError] = field(default_factory=list)  # what could not be read or parsed

    def add(self, obj: dict, origin: str) -> None:
        self.objects.append(obj)
        self.origins.append(origin)

    def failure(self) -> ManifestError:
        """The error to stop on when nothing could be loaded: the first problem, and how many more."""
        more = f" (and {len(self.errors) - 1} more problem(s))" if len(self.errors) > 1 else ""
        return ManifestError(f"{self.errors[0]}{more}")


def load_paths(paths: list[str], stdin_text: str | None = None) -> LoadResult:
    """Load every object under `paths` (files, directories searched recursively, or `-`). A path that
    does not exist is a ManifestError; what exists but cannot be read or parsed goes to `errors`."""
    result = LoadResult()
    for raw in paths:
        if raw == "-":
            text = stdin_text if stdin_text is not None else _read_stream(sys.stdin.buffer, "<stdin>", result)
            if text is not None:
                load_text(text, "<stdin>", result)
            continue
        path = Path(raw)
        if path.is_dir():
            for f in _files_under(path, result):
                _load_file(f, result)
        elif path.exists():
            _load_file(path, result)
        else:
            raise ManifestError(f"{raw}: no such file or directory")
    return result


def _files_under(root: Path, result: LoadResult) -> list[Path]:
    """The YAML and JSON files under `root`, sorted; directories that cannot be read are errors."""

    def unreadable(e: OSError) -> None:
        result.errors.append(InputError(str(e.filename), f"cannot read the directory ({e.strerror or e})"))

    found = [Path(top, name) for top, _, names in os.walk(root, onerror=unreadable) for name in names]
    return sorted(p for p in found if p.suffix.lower() in _SUFFIXES and p.is_file())


def _max_file_bytes() -> int:
    raw = os.environ.get(MAX_FILE_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_FILE_MIB * _MIB
    if not raw.isdigit() or int(raw) == 0:
        raise ManifestError(f"{MAX_FILE_ENV}={raw[:20]!r}: give the largest file to read in MiB, e.g. 512")
    return int(raw) * _MIB


def _load_file(path: Path, result: LoadResult) -> None:
    try:
        with path.open("rb") as f:
            text = _read_stream(f, str(path), result)
    except OSError as e:
        result.errors.append(InputError(str(path), e.strerror or str(e)))
        return
    if text is not None:
        load_text(text, str(path), result)


def _read_stream(stream: BinaryIO, name: str, result: LoadResult) -> str | None:
    """The stream's text, read up to the size limit (`-f /dev/zero` must end); None, with the error
    recorded, when it is larger or not UTF-8."""
    limit = _max_file_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        result.errors.append(InputError(name, f"larger than {limit // _MIB} MiB, not read "
                                              f"(set {MAX_FILE_ENV} to read larger files)"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        result.errors.append(InputError(name, f"not UTF-8 text ({e.reason} at byte {e.start})"))
        return None


def load_text(text: str, name: str, result: LoadResult | None = None) -> LoadResult:
    """Parse one YAML or JSON stream into `result` (a new one when not given); a document that does not
    parse goes to `result.errors` and the next one is read."""
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
            result.errors.append(InputError(f"{name}:{line}{col}", problem))
            continue
        except yaml.reader.ReaderError as e:  # a character YAML forbids: its position is in the chunk
            before = chunk[: e.position]
            line, col = start_line + before.count("\n"), e.position - (before.rfind("\n") + 1) + 1
            char = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "\0")
            result.errors.append(InputError(f"{name}:{line}:{col}", f"character U+{char:04X}: {e.reason}"))
            continue
        except (yaml.YAMLError, RecursionError) as e:
            problem = "nested too deeply" if isinstance(e, RecursionError) else str(e).splitlines()[0]
            result.errors.append(InputError(f"{name}:{start_line}", problem))
            continue
        problem = _aliasing_problem(doc)
        if problem:
            result.errors.append(InputError(f"{name}:{start_line}", problem))
        elif doc is not None:
            _collect(doc, f"{name}:{start_line}", result)
    return result


class _SelfReference(Exception):
    pass


def _aliasing_problem(doc: Any) -> str:
    """Why a parsed document must not be used: aliases that refer to themselves or expand it past the
    bound. Values are counted as a tree, each shared list or dict once (linear in what was parsed)."""
    expanded: dict[int, int] = {}  # id of a list or dict -> its values, expanded
    open_: set[int] = set()
    parsed = 1  # values as parsed: each list or dict once, with its direct values

    def count(x: Any) -> int:
        nonlocal parsed
        if not isinstance(x, dict | list):
            return 1
        key = id(x)
        if key in expanded:
            return expanded[key]
        if key in open_:
            raise _SelfReference
        open_.add(key)
        values = list(x.values()) if isinstance(x, dict) else x
        n = 1 + sum(count(v) for v in values)
        parsed += len(values)
        open_.discard(key)
        expanded[key] = n
        return n

    try:
        total = count(doc)
    except _SelfReference:
        return "a YAML alias refers to the node that holds it: not read"
    except RecursionError:
        return "nested too deeply"
    if total > _MAX_EXPANDED and total > _MAX_EXPANSION * parsed:
        return f"YAML aliases expand this document to {total:,} values (it holds {parsed:,}): not read"
    return ""


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
