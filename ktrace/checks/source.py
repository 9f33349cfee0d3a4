"""What a source reports about its own reading (made by ktrace.sources, listed in the catalog)."""

from __future__ import annotations

from ktrace.rules import Rule, register

KIND_UNREADABLE = register(Rule(
    "source-kind-unreadable", "info", "A kind could not be read from the source; the checks that need it were "
    "skipped."))
DOCUMENT_SKIPPED = register(Rule(
    "source-document-skipped", "info", "A document in the input files was not used (unknown kind, no name)."))
INPUT_UNREADABLE = register(Rule(
    "source-input-unreadable", "error", "A file, directory or document of the input files could not be read or "
    "parsed (file:line says where); the rest was loaded."))
