"""Object detail: a read-only YAML view of one object. managedFields and the last-applied copy are
folded into one line each; a Secret shows its metadata and type only, whatever the dict holds."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ktrace.render import clean, strip_controls

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
TOP_ORDER = ("apiVersion", "kind", "metadata", "type", "spec", "status")
META_ORDER = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "labels", "annotations", "ownerReferences", "finalizers", "managedFields")


def _ordered(d: dict, first: tuple[str, ...]) -> dict:
    """Known keys in the order people read them, the rest alphabetically after them."""
    head = {k: d[k] for k in first if k in d}
    return head | {k: d[k] for k in sorted(d, key=str) if k not in head}


def _sanitised(x: Any) -> Any:
    """Control characters and bidi overrides dropped from every key and string, at any depth."""
    if isinstance(x, dict):
        return {strip_controls(str(k)): _sanitised(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_sanitised(v) for v in x]
    if isinstance(x, str):
        return strip_controls(x)
    return x


def display_object(obj: dict) -> dict:
    """The object as the detail view shows it (pure; tested directly)."""
    obj = obj if isinstance(obj, dict) else {}
    meta = dict(obj.get("metadata") or {}) if isinstance(obj.get("metadata"), dict) else {}
    managed = meta.get("managedFields")
    if isinstance(managed, list):
        meta["managedFields"] = f"{len(managed)} entries (folded)"
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        # The applied copy repeats the object (and for a Secret would hold its data): never shown.
        annotations = dict(annotations)
        annotations[LAST_APPLIED] = f"{len(str(annotations[LAST_APPLIED]))} characters (folded)"
        meta["annotations"] = _ordered(annotations, ())
    if obj.get("kind") == "Secret":
        shown = {k: obj[k] for k in ("apiVersion", "kind", "type") if k in obj}
        shown["metadata"] = _ordered(meta, META_ORDER)
        return _sanitised(_ordered(shown, TOP_ORDER))
    out = dict(obj)
    if meta:
        out["metadata"] = _ordered(meta, META_ORDER)
    return _sanitised(_ordered(out, TOP_ORDER))


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
    text = yaml.safe_dump(display_object(obj), sort_keys=False, allow_unicode=True, default_flow_style=False,
                          width=100)
    if isinstance(obj, dict) and obj.get("kind") == "Secret":
        text += "# data: not shown (ktrace reads Secret metadata only)\n"
    return text


class DetailScreen(Screen[None]):
    DEFAULT_CSS = """
    DetailScreen { layout: vertical; }
    DetailScreen #detail-title { height: 1; padding: 0 1; text-style: bold; }
    DetailScreen #detail-scroll { height: 1fr; padding: 0 1; }
    DetailScreen #detail-keys { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="detail.close"),
        Binding("q", "close", "Close", show=False, id="detail.close_q"),
        Binding("d", "close", "Close", show=False, id="detail.close_d"),
        Binding("j", "scroll('down')", "Down", show=False, id="detail.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="detail.up"),
        Binding("g", "scroll('home')", "Top", show=False, id="detail.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="detail.bottom"),
    ]

    def __init__(self, title: str, obj: dict) -> None:
        super().__init__()
        self.title_text = clean(title)
        self.yaml_text = object_yaml(obj)

    def compose(self) -> ComposeResult:
        yield Static(self.title_text + "  (read-only)", id="detail-title")
        with VerticalScroll(id="detail-scroll"):
            yield Static(highlighted(self.yaml_text), id="detail-body")
        yield Static("j/k PgUp/PgDn g/G: scroll   Esc/q/d: close", id="detail-keys")

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#detail-scroll", VerticalScroll)
        {"down": scroll.scroll_down, "up": scroll.scroll_up, "home": scroll.scroll_home,
         "end": scroll.scroll_end}[where](animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
