"""Errors that reach the user as one clear line (exit code 2), never as a traceback."""

from __future__ import annotations

from collections.abc import Callable


class KtraceError(Exception):
    """Base: the message is shown as it is."""


class UsageError(KtraceError):
    """Bad arguments: unknown host syntax, conflicting options, empty input."""


class SourceError(KtraceError):
    """The cluster or the files could not be read: unreachable, 401/403, malformed input."""


class LoginRequired(SourceError):
    """The credential plugin failed without a terminal and may succeed with one: the caller lends the
    terminal for `login()`, then opens the source again (raised by opening or loading a source)."""

    def __init__(self, message: str, login: Callable[[], None]) -> None:
        super().__init__(message)
        self.login = login
