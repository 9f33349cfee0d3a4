"""Suppressing findings users have accepted: by code on the command line (`--ignore CODE`), or
per object with the annotation `ktrace.dev/ignore: "code,code"` (`*` silences every code)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ktrace.checks import CATALOG
from ktrace.errors import UsageError
from ktrace.findings import Finding
from ktrace.store import ClusterStore

IGNORE_ANNOTATION = "ktrace.dev/ignore"


def parse_codes(values: Iterable[str] | None) -> frozenset[str]:
    """Codes from repeatable, comma-separated options; an unknown code is a usage error, since a
    typo would otherwise silently suppress nothing."""
    codes = {c.strip() for v in values or () for c in v.split(",") if c.strip()}
    for code in sorted(codes):
        if code not in CATALOG:
            close = difflib.get_close_matches(code, CATALOG, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else " (ktrace check --help lists the codes)"
            raise UsageError(f"unknown finding code {code!r}{hint}")
    return frozenset(codes)


def _annotated(store: ClusterStore, f: Finding) -> frozenset[str]:
    record = store.get(f.kind, f.namespace or "", f.name)
    value = record.meta.annotations.get(IGNORE_ANNOTATION, "") if record is not None else ""
    return frozenset(c.strip() for c in value.split(",") if c.strip())


def suppressed(f: Finding, store: ClusterStore, codes: frozenset[str] = frozenset()) -> bool:
    if f.code in codes:
        return True
    on_object = _annotated(store, f)
    return f.code in on_object or "*" in on_object


def suppress(findings: Iterable[Finding], store: ClusterStore, codes: frozenset[str] = frozenset()) -> list[Finding]:
    return [f for f in findings if not suppressed(f, store, codes)]
