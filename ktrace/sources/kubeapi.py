"""Read-only access to the API server through the official client: GET, and nothing else.

Every request ktrace sends to a cluster goes through `KubeApi.get`, which only ever asks the
client for GET. Bodies are read raw (`_preload_content=False` semantics: the client returns the
urllib3 response) and decoded with orjson: the client's model classes cost ~1 ms per pod.
"""

from __future__ import annotations

import gc
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from ktrace.kinds import Kind
from ktrace.model import TLS_SECRET_TYPE
from ktrace.options import DEFAULT_PAGE_SIZE

# Secret data must never cross the wire: secrets are only ever requested as metadata.
META_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
META_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
JSON_ACCEPT = "application/json"
TLS_SECRETS = f"type={TLS_SECRET_TYPE}"  # the field selector for them


class ApiFailure(Exception):
    """A request that did not give data. `status` is the HTTP status, 0 when there was no answer;
    `retry_after` the seconds the server asked us to wait (Retry-After, or the Status's
    retryAfterSeconds); `causes` the reasons of the Status's details.causes."""

    def __init__(self, status: int, reason: str, message: str = "", retry_after: float | None = None,
                 causes: frozenset[str] = frozenset()) -> None:
        super().__init__(message or reason)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.causes = causes

    @property
    def gone(self) -> bool:
        return self.status == 410

    @property
    def too_large(self) -> bool:
        """The resourceVersion asked for is newer than anything the server has: its data went back in
        time (an etcd restore, another cluster at the same address). Only a new list is current."""
        return self.status == 504 and ("ResourceVersionTooLarge" in self.causes
                                       or self.message.startswith("Too large resource version"))

    @property
    def busy(self) -> bool:
        """The server asked us to come back later (too many requests, starting, overloaded)."""
        return self.status in (429, 503) or (self.status >= 500 and self.retry_after is not None
                                             and not self.too_large)


@dataclass(frozen=True, slots=True)
class Retries:
    """How a GET (a list page, one object) is retried when the server is busy (429, 503 or Retry-After):
    `attempts` in all, waiting as the server asks, at most `longest` seconds, else backing off from `base`."""

    attempts: int = 4
    base: float = 0.5
    longest: float = 10.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return honoured(retry_after, self.longest)
        return min(self.longest, self.base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def honoured(retry_after: float, longest: float) -> float:
    """Retry-After as waited for: bounded (a server asking for an hour must not hang us), and spread a
    little later (the streams and clients it told the same must not all come back at one instant)."""
    return min(longest, max(0.0, retry_after) * random.uniform(1.0, 1.2))


@dataclass(frozen=True, slots=True)
class Target:
    """One collection to list and watch: a kind in one namespace (or all), maybe filtered."""

    kind: Kind
    namespace: str | None = None  # None: every namespace (or a cluster-scoped kind)
    field_selector: str | None = None
    metadata_only: bool = False
    label_selector: str | None = None

    @property
    def path(self) -> str:
        return self.kind.path(self.namespace)

    def describe(self) -> str:
        where = f" in namespace {self.namespace}" if self.namespace else ""
        sel = "".join(f" ({s})" for s in (self.field_selector, self.label_selector) if s)
        return f"{self.kind.plural}{where}{sel}"


@contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection while bulk-decoding: the collector would rescan every new dict again
    and again (measured: 2.3 s -> 1.3 s for 10,000 pods). What survives is frozen afterwards so
    later collections skip the store."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


class KubeApi:
    """GET requests for one context, with errors classified into ApiFailure."""

    def __init__(self, client: Any, connect_timeout: float = 10.0, read_timeout: float = 60.0,
                 retries: Retries | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.client = client
        self.page_size = page_size  # items per list page
        self.timeout = (connect_timeout, read_timeout)
        self.retries = retries or Retries()

    def get(self, path: str, params: list[tuple[str, str]], accept: str = JSON_ACCEPT,
            timeout: tuple[float, float] | None = None) -> Any:
        """Send GET and return the urllib3 response with its body unread; raise ApiFailure unless 2xx."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            req = self.client.param_serialize("GET", path, query_params=params, header_params={"Accept": accept},
                                              auth_settings=["BearerToken"])
            resp = self.client.call_api(*req[:3], _request_timeout=timeout or self.timeout).response
        except ApiException as e:  # TLS failures are raised as ApiException(status=0)
            raise ApiFailure(e.status or 0, _tls_reason(str(e.reason or e))) from None
        except HTTPError as e:
            raise ApiFailure(0, _network_reason(e)) from None
        except OSError as e:
            raise ApiFailure(0, e.strerror or type(e).__name__) from None
        except Exception as e:  # credentials refreshed per request: an exec plugin or OIDC refresh failing
            raise ApiFailure(0, f"credentials: {_first_line(e)}") from None
        if not 200 <= resp.status < 300:
            body = resp.data
            resp.release_conn()
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                doc = None
            raise status_failure(doc, resp.status, resp.reason or "", _retry_after(resp.headers.get("Retry-After")))
        return resp

    def get_bytes(self, path: str, params: list[tuple[str, str]], accept: str = JSON_ACCEPT) -> bytes:
        """The whole body of a GET; retried while the server is busy (see Retries)."""
        attempt = 1
        while True:
            try:
                return self._get_bytes(path, params, accept)
            except ApiFailure as e:
                if not e.busy or attempt >= self.retries.attempts:
                    raise
                time.sleep(self.retries.wait(attempt, e.retry_after))
                attempt += 1

    def _get_bytes(self, path: str, params: list[tuple[str, str]], accept: str) -> bytes:
        resp = self.get(path, params, accept)
        try:
            return resp.data
        except Exception as e:  # a broken body (reset, read timeout) is a failed request too
            raise ApiFailure(0, _network_reason(e)) from None
        finally:
            resp.release_conn()

    def list_pages(self, target: Target) -> Iterator[tuple[list[dict], str]]:
        """Yield (items, resourceVersion) page by page; items carry kind and apiVersion.

        The next page is fetched while this one is decoded: its continue token is read from the
        head of the raw body (servers write list metadata before the items), so the network and
        the decoding overlap. The resourceVersion of the last page is the one to watch from (all
        pages of one list come from one snapshot)."""
        params: list[tuple[str, str]] = [("limit", str(self.page_size))]
        if target.field_selector:
            params.append(("fieldSelector", target.field_selector))
        if target.label_selector:
            params.append(("labelSelector", target.label_selector))
        accept = META_LIST_ACCEPT if target.metadata_only else JSON_ACCEPT
        kind, api_version = target.kind.kind, target.kind.api_version
        pending: _Fetch | None = _Fetch(self, target.path, params, accept)
        while pending is not None:
            data = pending.result()
            ahead = _peek_continue(data)
            pending = _Fetch(self, target.path, [*params, ("continue", ahead)], accept) if ahead else None
            try:
                doc = orjson.loads(data)
            except orjson.JSONDecodeError:
                raise ApiFailure(0, f"the server answered GET {target.path} with something that is not JSON") from None
            del data
            if not isinstance(doc, dict):
                raise ApiFailure(0, f"the server answered GET {target.path} with JSON that is not an object")
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
            cont = meta.get("continue") if isinstance(meta.get("continue"), str) else ""
            if cont != ahead:  # the peek was wrong (an unusual server): follow the real token
                if pending is not None:
                    pending.result()
                pending = _Fetch(self, target.path, [*params, ("continue", cont)], accept) if cont else None
            items = doc.get("items") or []
            if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("metadata"), dict)
                                                      for i in items):
                # Not what any API server sends: a broken proxy or something else answering. Say so
                # rather than list part of it.
                raise ApiFailure(0, f"the server answered GET {target.path} with list items that are not "
                                    "Kubernetes objects (an object with metadata each)")
            for item in items:  # list items carry no kind; metadata lists call them PartialObjectMetadata
                item["kind"] = kind
                item["apiVersion"] = api_version
            yield items, str(meta.get("resourceVersion") or "")

    def list_all(self, target: Target) -> tuple[list[dict], str]:
        """Every object of a target (one snapshot) and its resourceVersion."""
        out: list[dict] = []
        rv = ""
        for items, page_rv in self.list_pages(target):
            out.extend(items)
            rv = page_rv
        return out, rv


class _Fetch:
    """One GET running in a daemon thread (a hung server must not keep the process alive)."""

    def __init__(self, api: KubeApi, path: str, params: list[tuple[str, str]], accept: str) -> None:
        self._done = threading.Event()
        self._data: bytes | ApiFailure = b""
        threading.Thread(target=self._run, args=(api, path, params, accept), daemon=True).start()

    def _run(self, api: KubeApi, path: str, params: list[tuple[str, str]], accept: str) -> None:
        try:
            self._data = api.get_bytes(path, params, accept)
        except ApiFailure as e:
            self._data = e
        finally:
            self._done.set()

    def result(self) -> bytes:
        self._done.wait()
        if isinstance(self._data, ApiFailure):
            raise self._data
        return self._data


_CONTINUE = re.compile(rb'"continue":"([^"\\]*)"')


def _peek_continue(data: bytes) -> str:
    """The continue token from the list metadata at the head of a body, before any item."""
    head = data[:4096]
    items = head.find(b'"items"')
    m = _CONTINUE.search(head, 0, items if items >= 0 else len(head))
    return m.group(1).decode() if m else ""


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0]


def status_failure(doc: object, status: int, reason: str = "", retry_after: float | None = None) -> ApiFailure:
    """The failure a Kubernetes Status object describes (an error answer's body, a watch's ERROR event):
    its message, the reasons of details.causes, and details.retryAfterSeconds unless a header said."""
    if not isinstance(doc, dict):
        return ApiFailure(status, reason, retry_after=retry_after)
    details = doc.get("details")
    details = details if isinstance(details, dict) else {}
    causes = details.get("causes")
    reasons = frozenset(str(c.get("reason")) for c in causes if isinstance(c, dict) and c.get("reason")) \
        if isinstance(causes, list) else frozenset()
    seconds = details.get("retryAfterSeconds")
    if retry_after is None and isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds > 0:
        retry_after = float(seconds)
    return ApiFailure(status, reason or str(doc.get("reason") or ""), str(doc.get("message") or ""),
                      retry_after, reasons)


def _retry_after(value: str | None) -> float | None:
    """Retry-After: seconds, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _tls_reason(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    detail = lines[-1] if lines else text
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return f"TLS verification failed ({_ssl_detail(detail)})"
    return detail


def _ssl_detail(detail: str) -> str:
    marker = "certificate verify failed:"
    i = detail.find(marker)
    if i >= 0:
        return detail[i + len(marker):].split("(")[0].strip(" ')\"") or "certificate verify failed"
    return "certificate verify failed"


def _network_reason(e: BaseException) -> str:
    """One short phrase for a urllib3 failure: the innermost reason is the useful one."""
    from urllib3.exceptions import ConnectTimeoutError as ConnectTimeout
    from urllib3.exceptions import (
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
        ProtocolError,
        ReadTimeoutError,
        SSLError,
    )

    inner = e.reason if isinstance(e, MaxRetryError) and e.reason is not None else e
    if isinstance(inner, SSLError):
        return _tls_reason(str(inner))
    if isinstance(inner, NameResolutionError):
        return "the server name does not resolve"
    if isinstance(inner, NewConnectionError):  # checked first: it subclasses ConnectTimeoutError
        text = str(inner)
        if "refused" in text.lower():
            return "connection refused"
        return "connection timed out" if "timed out" in text.lower() else text.split(": ", 1)[-1]
    if isinstance(inner, ConnectTimeout):
        return "connection timed out"
    if isinstance(inner, ReadTimeoutError):
        return "no answer in time (read timed out)"
    if isinstance(inner, ProtocolError):
        return "the connection broke"
    return str(inner).splitlines()[0] if str(inner) else type(inner).__name__
