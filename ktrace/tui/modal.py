"""The base of the views that take the whole screen over the main one (detail, findings, help,
preview): a title line, the view's body, and a key hint built from the view's own bindings with
the keys the user's keymap gives them. Esc and q close every view; a scrolled view adds its
scroll keys. Each view's binding ids are `GROUP.name` (`detail.close`), so KTRACE_KEYMAP remaps
them and the help screen lists them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, TypeVar

from rich.console import RenderableType
from rich.text import Text
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from ktrace.tui.keys import key_display, mapped_keys

ViewResult = TypeVar("ViewResult")


class ModalView(Screen[ViewResult]):
    DEFAULT_CSS = """
    ModalView { layout: vertical; }
    ModalView .modal-title { height: 1; padding: 0 1; text-style: bold; }
    ModalView .modal-scroll { height: 1fr; padding: 0 1; }
    ModalView .modal-keys { height: 1; padding: 0 1; color: $text-muted; }
    """
    GROUP: ClassVar[str]  # the view's binding ids are `GROUP.name`, its widget ids `GROUP-name`
    # Bindings every view of this kind has; their ids get the view's group in front.
    SHARED: ClassVar[list[Binding]] = [
        Binding("escape", "close", "Close", id="close"),
        Binding("q", "close", "Close", show=False, id="close_q"),
    ]
    # Keys the view's widgets handle themselves (an OptionList's Enter): they have no binding id
    # the keymap could change, so the hint says them as they are.
    WIDGET_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "GROUP" in cls.__dict__:  # a concrete view: the shared bindings with its ids, then its own
            own = cls.__dict__.get("BINDINGS", [])
            cls.BINDINGS = [*(replace(b, id=f"{cls.GROUP}.{b.id}") for b in cls.SHARED), *own]
        super().__init_subclass__(**kwargs)  # Textual merges BINDINGS here: they must be complete by now

    def heading(self) -> Text:
        raise NotImplementedError

    def body(self) -> ComposeResult:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Static(self.heading(), id=f"{self.GROUP}-title", classes="modal-title")
        yield from self.body()
        yield Static(self.key_hint(), id=f"{self.GROUP}-keys", classes="modal-keys")

    def key_hint(self) -> Text:
        """`keys: action` for each action of the view's bindings that is enabled now, with the keys
        the app's keymap maps them to; closing comes last."""
        keymap = self.app._keymap  # Textual (8.x) applies it to the bindings but has no public getter
        by_action: dict[str, list[str]] = {}
        for b in [b for b in self.BINDINGS if isinstance(b, Binding)]:
            _, action, parameters = parse(b.action)
            if self.check_action(action, parameters):
                by_action.setdefault(action, []).append(key_display(mapped_keys(b, keymap), sep="/"))
        ordered = sorted(by_action.items(), key=lambda item: item[0] == "close")
        return Text("   ".join([*self.WIDGET_KEYS, *(f"{'/'.join(keys)}: {action}" for action, keys in ordered)]))

    def action_close(self) -> None:
        self.dismiss(None)


class ScrolledView(ModalView[None]):
    """A view whose body is one text to read, scrolled with j/k, PgUp/PgDn and g/G."""

    SHARED: ClassVar[list[Binding]] = [
        Binding("j", "scroll('down')", "Scroll down", show=False, id="down"),
        Binding("k", "scroll('up')", "Scroll up", show=False, id="up"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="page_up"),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False, id="page_down"),
        Binding("g", "scroll('home')", "Top", show=False, id="top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="bottom"),
        *ModalView.SHARED,
    ]

    def content(self) -> RenderableType:
        raise NotImplementedError

    def body(self) -> ComposeResult:
        with VerticalScroll(id=f"{self.GROUP}-scroll", classes="modal-scroll"):
            yield Static(self.content(), id=f"{self.GROUP}-body")

    def on_mount(self) -> None:
        self.query_one(".modal-scroll").focus()

    def action_scroll(self, where: str) -> None:
        # `where` comes from the binding's action, never from the keymap: one of the scroll_* methods.
        getattr(self.query_one(".modal-scroll", VerticalScroll), f"scroll_{where}")(animate=False)

