"""Preview a switch: the Services that could replace the selected rule's backend, ranked (other
versions of today's backend first), or, on a Gateway API route's rule, other weights for its backendRefs;
the would-be path and its difference against today's path, next to today's path. Read-only:
nothing is written to the cluster."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ktrace.analysis import Analysis
from ktrace.errors import UsageError
from ktrace.preview import Candidate, Preview, Replaced, parse_weights
from ktrace.printable import clean
from ktrace.render import AsciiGuides, path_tree, preview_view
from ktrace.requestpath import RequestPath
from ktrace.targets import Target
from ktrace.tui.clean_input import CleanInput
from ktrace.tui.modal import ModalView


class PreviewScreen(ModalView[None]):
    DEFAULT_CSS = """
    PreviewScreen #preview-title { height: auto; }
    PreviewScreen #preview-candidates { height: auto; max-height: 8; margin: 0 1; }
    PreviewScreen #preview-weights { margin: 0 1; }
    PreviewScreen #preview-panes { height: 1fr; }
    PreviewScreen .preview-scroll { width: 1fr; padding: 0 1; border: round $panel; }
    """
    GROUP = "preview"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "close", "Close", show=False, id="preview.close_p"),  # the key that opened it
        Binding("w", "weights", "Weights", show=False, id="preview.weights"),
    ]
    WIDGET_KEYS = ("up/down: candidate", "Enter: preview")

    def __init__(self, analysis: Analysis, target: Target, today: RequestPath, replaced: list[Replaced],
                 candidates: list[Candidate], *, ascii_only: bool = False,
                 weights: dict[str, int] | None = None) -> None:
        super().__init__()
        self.analysis, self.target, self.today = analysis, target, today
        self.replaced, self.candidates, self.ascii_only = replaced, candidates, ascii_only
        self.weights = weights  # today's weights of the Gateway API route rule serving the target; None: no such rule
        self.shown: str | None = None  # the candidate whose preview is drawn
        self.shown_weights: dict[str, int] | None = None  # or the weights whose preview is drawn

    def heading(self) -> Text:
        what = ", ".join(f"{r.entry}: {r.service}" for r in self.replaced)
        return Text(clean(f"Preview a switch for {self.target}  ({what}; read-only, nothing is changed)"))

    def body(self) -> ComposeResult:
        yield OptionList(*[Option(Text(clean(f"{'*' if c.sibling else ' '} {c.name}  {c.why}")), id=c.name)
                           for c in self.candidates], id="preview-candidates")
        if self.weights is not None:
            today = ",".join(f"{clean(k)}={v}" for k, v in self.weights.items())  # names as drawn: escaped
            field = CleanInput(today, placeholder="NAME=WEIGHT,NAME=WEIGHT", id="preview-weights")
            rule = next((r.entry for r in self.replaced if not r.entry.startswith("Ingress")), "the route's rule")
            field.border_title = Text(clean(f"Weights of {rule} (Enter: preview)"))  # a Text: no markup
            yield field
        with Horizontal(id="preview-panes"):
            with VerticalScroll(classes="preview-scroll", id="preview-today") as today:
                today.border_title = "Today"
                yield Static(self._tree(self.today), id="preview-today-body")
            with VerticalScroll(classes="preview-scroll", id="preview-then") as then:
                then.border_title = "Would be"
                hint = "Choose a Service (* another version of today's backend)"
                yield Static(hint + (", or edit the weights and press Enter." if self.weights is not None else "."),
                             id="preview-body")

    def _tree(self, path: RequestPath) -> RenderableType:
        tree = path_tree(path, self.ascii_only, details=True)
        return AsciiGuides(tree) if self.ascii_only else tree

    def on_mount(self) -> None:
        if self.candidates or self.weights is None:
            self.query_one(OptionList).focus()
        else:
            self.action_weights()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        return action != "weights" or self.weights is not None  # `w` only where there are weights to edit

    def action_weights(self) -> None:
        self.query_one("#preview-weights", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.show_weights(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.show_preview(event.option.id or "")

    def show_preview(self, name: str) -> None:
        backend = next((r.service for r in self.replaced if not r.entry.startswith("Ingress")), None)
        body = self.query_one("#preview-body", Static)
        try:
            p = self.analysis.preview(self.target, name, backend=backend)
        except UsageError as e:
            body.update(Text(clean(str(e))))
            return
        self.shown, self.shown_weights = name, None
        self._draw(p)

    def show_weights(self, text: str) -> None:
        """The would-be path with the route rule's backendRefs weighted as `text` says (a=50,b=50).
        Names are typed as drawn: an escaped name (`canary\\x1b...`) stands for the rule's own."""
        body = self.query_one("#preview-body", Static)
        drawn = {clean(name): name for name in self.weights or {}}
        try:
            weights = {drawn.get(name, name): w for name, w in parse_weights(text).items()}
            p = self.analysis.preview(self.target, None, weights=weights)
        except UsageError as e:
            body.update(Text(clean(str(e))))
            return
        self.shown, self.shown_weights = None, weights
        self._draw(p)

    def _draw(self, p: Preview) -> None:
        self.query_one("#preview-body", Static).update(preview_view(p, self.ascii_only, details=True))
        self.query_one("#preview-then", VerticalScroll).scroll_home(animate=False)
