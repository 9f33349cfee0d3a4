"""Object detail: a read-only YAML view of one object. managedFields and the last-applied copy are
folded into one line each; a Secret shows its metadata and type only, whatever the dict holds."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import yaml
from rich.text import Text
from textual.binding import Binding, BindingType

from ktrace.printable import clean, clean_lines
from ktrace.tui.modal import ScrolledView

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TOP_ORDER = ("apiVersion", "kind", "metadata", "type", "spec", "status")
# What the view lays out at most: a pod is a few hundred values; an object far beyond these (or YAML
# aliases repeating one list a billion times) would take the machine's memory and minutes to draw.
MAX_VALUES, MAX_CHARS, MAX_STRING, MAX_DEPTH = 5_000, 250_000, 4_096, 64
META_ORDER = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "labels", "annotations", "ownerReferences", "finalizers", "managedFields")


def _ordered(d: dict, first: tuple[str, ...]) -> dict:
    """Known keys in the order people read them, the rest alphabetically after them."""
    head = {k: d[k] for k in first if k in d}
    return head | {k: d[k] for k in sorted(d, key=str) if k not in head}


@dataclass
class _Budget:
    """What is left to show; `cut` once something was left out."""

    values: int = MAX_VALUES
    chars: int = MAX_CHARS
    cut: bool = False

    @property
    def spent(self) -> bool:
        return self.values <= 0 or self.chars <= 0


def _cut(s: str, budget: _Budget) -> str:
    if len(s) <= MAX_STRING:
        return s
    budget.cut = True
    return f"{s[:MAX_STRING]}~ (cut: {len(s):,} characters)"


def _shown(x: Any, budget: _Budget, depth: int = 0) -> Any:
    """`x` as the view shows it: every key and string with its hidden characters escaped
    (`ktrace.printable`), at any depth (a string keeps its newlines and tabs: YAML lays them out; a key
    is one line); bounded however large `x` is or however often it repeats one list or dict
    (YAML aliases): at most MAX_VALUES values, MAX_CHARS characters and MAX_DEPTH levels, a string at
    most MAX_STRING characters. What is left out is marked with `~` where it was."""
    budget.values -= 1
    if isinstance(x, dict | list) and depth >= MAX_DEPTH:
        budget.cut = True
        return f"~ (cut: nested deeper than {MAX_DEPTH} levels)"
    if isinstance(x, dict):
        out: dict[str, Any] = {}
        for k, v in x.items():
            if budget.spent:
                budget.cut = True
                out["~"] = f"cut: {len(x) - len(out)} more keys not shown"
                break
            budget.values -= 1
            out[clean(_cut(str(k), budget))] = _shown(v, budget, depth + 1)
        return out
    if isinstance(x, list):
        items: list[Any] = []
        for v in x:
            if budget.spent:
                budget.cut = True
                items.append(f"~ (cut: {len(x) - len(items)} more items not shown)")
                break
            items.append(_shown(v, budget, depth + 1))
        return items
    if isinstance(x, str):
        text = clean_lines(_cut(x, budget))
        budget.chars -= len(text)
        return text
    budget.chars -= 8  # a number, a boolean or null
    return x


def display_object(obj: dict, budget: _Budget | None = None) -> dict:
    """The object as the detail view shows it (pure; tested directly); `budget` says whether it was cut."""
    budget = budget if budget is not None else _Budget()
    obj = obj if isinstance(obj, dict) else {}
    meta = dict(obj.get("metadata") or {}) if isinstance(obj.get("metadata"), dict) else {}
    managed = meta.get("managedFields")
    if isinstance(managed, list):
        meta["managedFields"] = f"{len(managed)} entries (folded)"
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        # The applied copy repeats the object (and for a Secret would hold its data): never shown.
        annotations = dict(annotations)
        applied = annotations[LAST_APPLIED]
        annotations[LAST_APPLIED] = f"{len(applied)} characters (folded)" if isinstance(applied, str) else "(folded)"
        meta["annotations"] = _ordered(annotations, ())
    if obj.get("kind") == "Secret":
        shown = {k: obj[k] for k in ("apiVersion", "kind", "type") if k in obj}
        shown["metadata"] = _ordered(meta, META_ORDER)
        return _shown(_ordered(shown, TOP_ORDER), budget)
    out = dict(obj)
    if meta:
        out["metadata"] = _ordered(meta, META_ORDER)
    return _shown(_ordered(out, TOP_ORDER), budget)


_KEY = re.compile(r"^(\s*(?:- )*)([^\s:#'\"][^:]*?|'[^']*'|\"[^\"]*\"):(?= |$)")


def highlighted(yaml_text: str) -> Text:
    """Keys bold, comments dim: enough to scan a manifest, readable in 16 colours and NO_COLOR
    (a syntax theme paints backgrounds that clash with the app's)."""
    out = Text()
    for line in yaml_text.splitlines():
        m = _KEY.match(line)
        if line.lstrip().startswith("#"):
            out.append(line, style="dim italic")
        elif m:
            out.append(m.group(1))
            out.append(m.group(2), style="bold")
            out.append(line[m.end(2):])
        else:
            out.append(line)
        out.append("\n")
    out.rstrip()
    return out


def object_yaml(obj: dict) -> str:
    """The YAML the view shows, bounded as `display_object` bounds it; the first line says when it is cut."""
    budget = _Budget()
    text = yaml.safe_dump(display_object(obj, budget), sort_keys=False, allow_unicode=True,
                          default_flow_style=False, width=100)
    if budget.cut:
        text = (f"# cut: too large to show whole (at most {MAX_VALUES:,} values, {MAX_DEPTH} levels, "
                f"{MAX_STRING:,} characters a string); ~ marks what is left out\n") + text
    if isinstance(obj, dict) and obj.get("kind") == "Secret":
        text += "# data: not shown (ktrace reads Secret metadata only)\n"
    return text


def record_as_object(record: Any) -> dict:
    """What the store keeps of an object (Secrets: metadata and type only), shaped like an API
    object: kind, metadata, then the record's fields; empty values left out."""
    fields = _plain(asdict(record))
    meta = fields.pop("meta")
    return {"kind": meta.pop("kind"), "metadata": {k: v for k, v in meta.items() if v not in ("", [], {}, False)},
            **{k: v for k, v in fields.items() if v not in ("", [], {}, None)}}


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x


class DetailScreen(ScrolledView):
    GROUP = "detail"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "close", "Close", show=False, id="detail.close_d"),  # the key that opened it
    ]

    def __init__(self, title: str, obj: dict) -> None:
        super().__init__()
        self.title_text = clean(title)
        self.yaml_text = object_yaml(obj)

    def heading(self) -> Text:
        return Text(self.title_text + "  (read-only)")

    def content(self) -> Text:
        return highlighted(self.yaml_text)
