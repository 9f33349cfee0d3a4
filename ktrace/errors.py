"""Errors that reach the user as one clear line (exit code 2), never as a traceback."""


class KtraceError(Exception):
    """Base: the message is shown as it is."""


class UsageError(KtraceError):
    """Bad arguments: unknown host syntax, conflicting options, empty input."""


class SourceError(KtraceError):
    """The cluster or the files could not be read: unreachable, 401/403, malformed input."""
