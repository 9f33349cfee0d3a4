"""Watch streams that survive a misbehaving cluster: one thread per watched collection.

Each stream reads the raw watch response line by line (the client's `Watch.stream` never advances
its resourceVersion when not deserializing, and raises on ERROR events) and remembers the
resourceVersion of the last event it applied or the last bookmark. After any break it resumes from
there: the server replays exactly what came later, so nothing is lost and nothing applied twice.
A 410 Expired means that version is gone: the collection is listed again and reconciled.

Resuming is only right while the server still has the history we saw. When its data went back in time
(an etcd restore, another cluster behind the same address) it answers 504 ResourceVersionTooLarge, or
its resourceVersions move backwards; and after an outage longer than the watch timeout nobody can say
what changed meanwhile. In each case the collection is listed again, so the store equals a fresh list.
A server that asks us to wait (429/503 with Retry-After) is waited for, up to the backoff cap.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from ktrace.sources.kubeapi import (
    JSON_ACCEPT,
    META_WATCH_ACCEPT,
    ApiFailure,
    KubeApi,
    Target,
    honoured,
    status_failure,
)
from ktrace.sources.protocol import WatchStatus

log = logging.getLogger("ktrace.live")
log.addHandler(logging.NullHandler())  # never Python's last-resort stderr handler: it would tear a TUI


@dataclass(frozen=True, slots=True)
class WatchTimeouts:
    """How long to wait before calling a connection dead, and how to back off.

    `read` must exceed the server's bookmark interval: no byte for that long means the connection
    died silently (a dropped VPN, a NAT entry gone). `server` is the watch's timeoutSeconds: the
    server ends the stream then and we resume, so even a half-dead proxy cannot hold it forever; a
    stream down for longer than that lists again when it is back. A Retry-After is honoured up to
    `backoff_cap`."""

    connect: float = 10.0
    read: float = 90.0
    server: int = 300
    backoff_base: float = 0.25
    backoff_cap: float = 30.0
    stale_after: float = 5.0  # down longer than this: the data shown is stale


class BrokenStream(Exception):
    """The stream ended mid-event or sent something that is not a watch event."""


class _Stream:
    """One watch: a target, the resourceVersion to resume from, and its connection state."""

    def __init__(self, watcher: Watcher, target: Target, rv: str) -> None:
        self.w = watcher
        self.target = target
        self.rv = rv
        self.listed_at = time.time()  # the store holds a listing of this target from about then
        self.relist_due: str | None = None  # why resuming would be wrong: list again first
        self.down_since: float | None = None
        self.resp: Any = None
        self.thread = threading.Thread(target=self._run, name=f"ktrace-watch-{target.describe()}", daemon=True)

    def _params(self) -> list[tuple[str, str]]:
        t = self.w.timeouts
        # Spread the server-side timeouts so the streams do not all reconnect at the same moment.
        seconds = int(t.server * random.uniform(0.8, 1.0)) or 1
        params = [("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(seconds))]
        if self.rv:
            params.append(("resourceVersion", self.rv))
        if self.target.field_selector:
            params.append(("fieldSelector", self.target.field_selector))
        return params

    def _run(self) -> None:
        w = self.w
        attempt = 0
        while not w.stopping.is_set():
            if self.relist_due is None and self._outage_outlived_the_watch():
                self.relist_due = "down for longer than the watch timeout"
            if self.relist_due is not None:
                if not self._relist():
                    attempt += 1
                    w.stopping.wait(w.backoff(attempt))
                continue
            try:
                resp = w.api.get(self.target.path, self._params(),
                                 META_WATCH_ACCEPT if self.target.metadata_only else JSON_ACCEPT,
                                 timeout=(w.timeouts.connect, w.timeouts.read))
            except ApiFailure as e:
                if e.gone or e.too_large:
                    self.relist_due = _describe(e)
                    continue
                self._fail(f"{self.target.describe()}: {_describe(e)}")
                attempt += 1
                wait = w.backoff(attempt)
                if e.retry_after is not None:
                    wait = max(wait, honoured(e.retry_after, w.timeouts.backoff_cap))
                w.stopping.wait(wait)
                continue
            self.resp = resp
            self._up()
            connected = time.monotonic()
            failures = attempt
            # A stream that breaks right after connecting keeps backing off (a flapping proxy must
            # not see a reconnect storm); one that ran for a while starts over.
            attempt = 0
            try:
                self._consume(resp)
            except BrokenStream as e:
                self._fail(f"{self.target.describe()}: {e}")
                attempt = _next_attempt(failures, connected)
            except Exception as e:  # any read failure: reset, timeout, shutdown by stop()
                if w.stopping.is_set():
                    break
                if _silent(e):
                    # No byte, not even a bookmark, for the read timeout: the connection may be dead, or the
                    # server just quiet. Reconnect at once; only if that fails is the stream down.
                    log.info("watch %s: silent for %.0f s, reconnecting", self.target.describe(), w.timeouts.read)
                    w.note_error(f"{self.target.describe()}: {_read_error(e)}")
                else:
                    self._fail(f"{self.target.describe()}: {_read_error(e)}")
                    attempt = _next_attempt(failures, connected)
            finally:
                # Never hand a half-read stream back to the pool: close, and the pool reconnects.
                self.resp = None
                resp.close()
                resp.release_conn()
            if attempt:
                w.stopping.wait(w.backoff(attempt))

    def _consume(self, resp: Any) -> None:
        for line in _lines(resp):
            if not line.strip():
                continue
            etype, obj, meta = watch_event(line)
            if etype == "ERROR":
                code = obj.get("code")
                failure = status_failure(obj, code if isinstance(code, int) else 0)
                if failure.gone or failure.too_large:
                    self.relist_due = _describe(failure)
                    return
                raise BrokenStream(f"server error {code}: {failure.message}")
            rv = str(meta.get("resourceVersion") or "")
            if rv and _older(rv, self.rv):
                # Not this stream's history any more: the server's data went back in time.
                self.relist_due = f"resourceVersion went back from {self.rv} to {rv}"
                return
            if etype != "BOOKMARK":
                if etype not in ("ADDED", "MODIFIED", "DELETED"):
                    raise BrokenStream(f"unknown event type {etype!r}")
                self.w.on_event(self.target, etype, obj)
            if rv:
                self.rv = rv

    def _outage_outlived_the_watch(self) -> bool:
        """Down for longer than the server's watch timeout, and not listed since it went down."""
        since = self.down_since
        return since is not None and self.listed_at < since and time.time() - since > self.w.timeouts.server

    def _relist(self) -> bool:
        """Resuming from our resourceVersion would not give what changed (`relist_due` says why): list
        again, reconcile, and watch from the new list. False when the list failed (retried after a backoff)."""
        log.info("watch %s: listing again (%s)", self.target.describe(), self.relist_due)
        started = time.time()
        try:
            self.rv = self.w.relist(self.target)
        except Exception as e:  # the thread must live on: the next attempt lists again
            why = _describe(e) if isinstance(e, ApiFailure) else f"{type(e).__name__}: {e}"
            self._fail(f"{self.target.describe()}: relist failed: {why}")
            return False
        self.listed_at = started
        self.relist_due = None
        self.w.relists += 1
        return True

    def _up(self) -> None:
        if self.down_since is not None:
            log.info("watch %s: connected again", self.target.describe())
        self.down_since = None

    def _fail(self, message: str) -> None:
        log.warning("watch %s", message)
        if self.down_since is None:
            self.down_since = time.time()
        self.w.note_error(message)


class Watcher:
    """All watch streams of one source. `on_event(target, type, obj)` applies an event; `relist(target)`
    lists a target again, reconciles the store and returns the resourceVersion to watch from."""

    def __init__(self, api: KubeApi, targets: dict[Target, str],
                 on_event: Callable[[Target, str, dict], None],
                 relist: Callable[[Target], str],
                 timeouts: WatchTimeouts | None = None) -> None:
        self.api = api
        self.on_event = on_event
        self.relist = relist
        self.timeouts = timeouts or WatchTimeouts()
        self.stopping = threading.Event()
        self.streams = [_Stream(self, t, rv) for t, rv in targets.items()]
        self.errors: deque[tuple[float, str]] = deque(maxlen=50)  # recent problems, newest last
        self.relists = 0
        self._stopped = False

    def start(self) -> None:
        for s in self.streams:
            s.thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop every stream: shut their sockets so blocked reads return at once."""
        self.stopping.set()
        for s in self.streams:
            resp = s.resp
            if resp is not None:
                # ValueError/RuntimeError: already released or closed, the thread is not blocked on it
                with contextlib.suppress(ValueError, RuntimeError, OSError):
                    resp.shutdown()
        deadline = time.monotonic() + timeout
        for s in self.streams:
            if s.thread.is_alive():
                s.thread.join(max(0.0, deadline - time.monotonic()))
        self._stopped = True

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, so many clients do not return in lockstep."""
        t = self.timeouts
        return min(t.backoff_cap, t.backoff_base * 2 ** min(attempt - 1, 16)) * random.uniform(0.5, 1.0)

    def note_error(self, message: str) -> None:
        self.errors.append((time.time(), message))

    @property
    def status(self) -> WatchStatus:
        if self._stopped:
            return WatchStatus("stopped", None, self._last_error(), len(self.streams), 0)
        downs = [s.down_since for s in self.streams if s.down_since is not None]
        if not downs:
            return WatchStatus("live", None, None, len(self.streams), 0)
        since = min(downs)
        state = "stale" if time.time() - since >= self.timeouts.stale_after else "reconnecting"
        return WatchStatus(state, since, self._last_error(), len(self.streams), len(downs))

    def _last_error(self) -> str | None:
        return self.errors[-1][1] if self.errors else None


def _older(rv: str, than: str) -> bool:
    """`rv` is an earlier resourceVersion than `than`. They are opaque to clients, but every server
    ktrace knows counts them up (etcd revisions): compared only when both are numbers."""
    if not (rv.isascii() and rv.isdigit() and than.isascii() and than.isdigit()):
        return False
    a, b = rv.lstrip("0"), than.lstrip("0")  # compared as text: no int() of a 5,000-digit version
    return (len(a), a) < (len(b), b)


def _next_attempt(failures: int, connected: float, settled: float = 10.0) -> int:
    return 1 if time.monotonic() - connected >= settled else failures + 1


def _lines(resp: Any) -> Iterator[bytes]:
    """Complete lines of a streamed body as they arrive (read1: whatever is there, no waiting for
    a full buffer). A last line without its newline is an event cut in half."""
    buf = b""
    while True:
        chunk = resp.read1(65536)
        if not chunk:
            break
        parts = (buf + chunk).split(b"\n")
        buf = parts.pop()
        yield from parts
    if buf.strip():
        raise BrokenStream("the stream ended in the middle of an event")


def _describe(e: ApiFailure) -> str:
    if e.status:
        return f"{e.status} {e.reason}" + (f": {e.message}" if e.message else "")
    return e.reason


def _silent(e: Exception) -> bool:
    from urllib3.exceptions import ReadTimeoutError

    return isinstance(e, ReadTimeoutError)


def _read_error(e: Exception) -> str:
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    if isinstance(e, ReadTimeoutError):
        return "no data within the read timeout: connection presumed dead"
    if isinstance(e, ProtocolError):
        return "the connection broke"
    return f"{type(e).__name__}: {e}"


def watch_event(line: bytes) -> tuple[str, dict, dict]:
    """One line of a watch stream: its type, its object and the object's metadata; BrokenStream when the
    line is not a watch event whose object and metadata are JSON objects (a proxy's error page, garbage)."""
    try:
        event = orjson.loads(line)
        etype, obj = event["type"], event["object"]
        meta = obj.get("metadata") or {}
        if not isinstance(meta, dict):
            raise TypeError("metadata is not an object")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise BrokenStream(f"not a watch event: {line[:80]!r}") from None
    return etype, obj, meta
