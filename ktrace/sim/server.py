"""The HTTP face of the simulator: discovery, list/get/watch with selectors and paging, Table and
metadata-only responses, writes, bearer-token auth and refusals (403) for RBAC tests, and the faults
of `ktrace.sim.faults` (401 and 429/503 spells, trickled answers, future resourceVersions)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import orjson
from aiohttp import web

from ktrace.errors import SourceError
from ktrace.kinds import KINDS, Kind
from ktrace.sim import query, tables
from ktrace.sim.cluster import Cluster
from ktrace.sim.faults import Faults, retry_after_header, too_large, trickled
from ktrace.sim.patch import SUPPORTED as PATCH_TYPES
from ktrace.sim.state import ApiError, Entry, Event

log = logging.getLogger(__name__)

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0+ktrace-sim", "gitCommit": "ktrace-sim",
           "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.4",
           "compiler": "gc", "platform": "linux/amd64"}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
_NOT_FOUND = ApiError(404, "NotFound", "the server could not find the requested resource")


def _group_versions(kinds: tuple[Kind, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in kinds:
        versions = out.setdefault(k.group, [])
        if k.version not in versions:
            versions.append(k.version)
    for versions in out.values():  # the preferred (newest stable) version first
        versions.sort(key=lambda v: (not v.startswith("v1") or "beta" in v or "alpha" in v, v))
    return out


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def _manager(request: web.Request) -> str:
    """The field manager of a write, as the API server names it: the `fieldManager` query parameter, else the
    User-Agent up to its first `/` (kubectl sends `kubectl-edit`, `kubectl-patch`, ... itself)."""
    given = request.query.get("fieldManager")
    if given:
        if len(given) > 128:
            raise ApiError(422, "Invalid", "fieldManager: Too long: may not be longer than 128")
        return given
    agent = request.headers.get("User-Agent", "").split("/", 1)[0]
    return "".join(c for c in agent if c.isprintable())[:128] or "unknown"


def _raw(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json")


@dataclass(eq=False)
class _Watcher:
    request: web.Request
    response: web.StreamResponse
    broken: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class ApiServer:
    def __init__(self, cluster: Cluster, *, tokens: set[str] | None = None, bookmark_interval: float = 1.0,
                 user: str = "ktrace-sim", versions: Mapping[str, str] | None = None):
        """`versions`: kind -> the only version it is served at, instead of the table's (a cluster whose
        Gateway API CRDs serve HTTPRoute as v1beta1 only)."""
        self.cluster = cluster
        self.tokens = tokens
        self.user = user
        self.bookmark_interval = bookmark_interval
        self.forbidden: dict[str, set[str] | None] = {}  # kind -> namespaces refused (None: everywhere)
        self.list_delay = 0.0  # seconds each list waits before it answers (a slow or distant API server)
        self.wide_list_delays: dict[str, float] = {}  # kind -> seconds a list of every namespace waits (a big kind)
        self.faults = Faults()
        self.requests: list[dict] = []
        self.watchers: set[_Watcher] = set()
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._kinds = tuple(replace(k, version=(versions or {}).get(k.kind, k.version)) for k in KINDS)
        self._by_plural = {(k.group, k.plural): k for k in self._kinds}
        self._group_versions = _group_versions(self._kinds)
        cluster.store.listeners.append(self._on_event)

    # lifecycle (inside the event loop)
    async def start(self, port: int = 0, tls: ssl.SSLContext | None = None) -> int:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True, ssl_context=tls)
        try:
            await site.start()
        except OSError as e:
            await runner.cleanup()
            if e.errno == errno.EADDRINUSE:
                raise SourceError(f"port {port} is in use: choose another with --port, or 0 for a free one") from None
            raise SourceError(f"cannot listen on 127.0.0.1:{port}: {e.strerror or e}") from None
        self._runner = runner
        server = site._server  # the bound socket tells which port 0 became
        self.port = server.sockets[0].getsockname()[1] if server and server.sockets else port
        return self.port

    async def stop(self) -> None:
        self.break_watches(partial=False)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def break_watches(self, partial: bool = True) -> int:
        """Cut every open watch stream, mid-event when `partial`: a chunk is announced
        and only part of it sent before the connection is reset."""
        count = 0
        for watcher in list(self.watchers):
            transport = watcher.request.transport
            watcher.broken = True
            watcher.wake.set()
            if transport is not None and not transport.is_closing():
                if partial:
                    transport.write(b'100\r\n{"type":"MODIFIED","object":{"kind":')
                transport.abort()
                count += 1
        return count

    def use(self, cluster: Cluster) -> None:
        """Serve another cluster from now on: its objects, its resourceVersions."""
        self.cluster.store.listeners.remove(self._on_event)
        self.cluster = cluster
        cluster.store.listeners.append(self._on_event)

    def _on_event(self, kind: str, event: Event) -> None:
        self.wake_all()

    def wake_all(self) -> None:
        for watcher in self.watchers:
            watcher.wake.set()

    # request handling
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({"method": request.method, "path": request.path, "query": request.query_string,
                              "accept": request.headers.get("Accept", ""),
                              "content_type": request.headers.get("Content-Type", "")})
        try:
            self.faults.refuse()
            self._authenticate(request)
            response = await self._route(request)
        except ApiError as e:
            response = _json(e.status(), e.code, retry_after_header(e))
        except Exception as e:  # a bug here must reach the client as a Status, not a dropped connection
            log.exception("simulator error")
            response = _json(ApiError(500, "InternalError", f"simulator error: {e!r}").status(), 500)
        if self.faults.trickle and isinstance(response, web.Response):  # a watch stream was already sent
            return await trickled(request, response, self.faults)
        return response

    def _authenticate(self, request: web.Request) -> None:
        if self.tokens is None:
            return
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[len("Bearer "):].strip() not in self.tokens:
            raise ApiError(401, "Unauthorized", "Unauthorized")

    def _authorize(self, kind: Kind, namespace: str | None, verb: str, name: str | None) -> None:
        if kind.kind not in self.forbidden:
            return
        refused = self.forbidden[kind.kind]
        if refused is not None and namespace is not None and namespace not in refused:
            return
        group = f".{kind.group}" if kind.group else ""
        what = f'{kind.plural}{group} "{name}"' if name else f"{kind.plural}{group}"
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details: dict = {"group": kind.group, "kind": kind.plural}
        if name:
            details["name"] = name
        raise ApiError(403, "Forbidden", f'{what} is forbidden: User "{self.user}" cannot {verb} resource '
                       f'"{kind.plural}" in API group "{kind.group}" {scope}', details)

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/version":
            return _json(VERSION)
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            if len(parts) == 1:
                query.negotiate(request.headers.get("Accept"))
                return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]})
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                query.negotiate(request.headers.get("Accept"))
                return _json({"kind": "APIGroupList", "apiVersion": "v1",
                              "groups": [self._group(g) for g in self._group_versions if g]})
            if parts[1] not in self._group_versions or not parts[1]:
                raise _NOT_FOUND
            if len(parts) == 2:
                return _json({"kind": "APIGroup", "apiVersion": "v1", **self._group(parts[1])})
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _NOT_FOUND  # /openapi/v2, /openapi/v3: kubectl falls back without them
        if version not in self._group_versions.get(group, ()):
            raise _NOT_FOUND
        if not rest:
            query.negotiate(request.headers.get("Accept"))
            return _json(self._resource_list(group, version))
        return await self._resource(request, group, version, rest)

    def _group(self, group: str) -> dict:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in self._group_versions[group]]
        return {"name": group, "versions": versions, "preferredVersion": versions[0]}

    def _resource_list(self, group: str, version: str) -> dict:
        resources = []
        for k in self._kinds:
            if k.group != group or k.version != version:
                continue
            resources.append({"name": k.plural, "singularName": k.kind.lower(), "namespaced": k.namespaced,
                              "kind": k.kind, "verbs": VERBS, "shortNames": list(k.short_names),
                              "categories": ["all"] if k.kind in ("Pod", "Service", "Deployment", "ReplicaSet",
                                                                   "StatefulSet", "DaemonSet") else []})
            if k.kind in ("Pod", "Service", "Ingress", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet",
                          "Namespace"):
                resources.append({"name": f"{k.plural}/status", "singularName": "", "namespaced": k.namespaced,
                                  "kind": k.kind, "verbs": ["get", "patch", "update"]})
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    async def _resource(self, request: web.Request, group: str, version: str, rest: list[str]) -> web.StreamResponse:
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3 and (group, rest[2]) in self._by_plural:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise _NOT_FOUND
        kind = self._by_plural.get((group, rest[0]))
        if kind is None or kind.version != version or (namespace is not None and not kind.namespaced):
            raise _NOT_FOUND
        name = rest[1] if len(rest) > 1 else None
        if len(rest) == 3 and rest[2] != "status":
            raise _NOT_FOUND
        subresource = rest[2] if len(rest) == 3 else ""
        method = request.method
        if method != "GET" and "dryRun" in request.query:  # refused rather than silently written
            raise ApiError(400, "BadRequest", "dryRun is not supported by the ktrace simulator")
        if name is None:
            if method == "GET":
                watching = request.query.get("watch") in ("1", "true", "True")
                self._authorize(kind, namespace, "watch" if watching else "list", None)
                if watching:
                    return await self._watch(request, kind, namespace)
                delay = self.list_delay + (self.wide_list_delays.get(kind.kind, 0.0) if namespace is None else 0.0)
                if delay:
                    await asyncio.sleep(delay)
                return self._list(request, kind, namespace)
            if method == "POST":
                self._authorize(kind, namespace, "create", None)
                return await self._create(request, kind, namespace)
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on the requested "
                           f"resource ({method})")
        verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
        if verb is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        self._authorize(kind, namespace, verb, name)
        if kind.namespaced and namespace is None:
            raise _NOT_FOUND
        if method == "GET":
            return self._get(request, kind, namespace, name)
        if method == "DELETE":
            return await self._delete(request, kind, namespace, name)
        body = await self._body(request)
        if method == "PUT":
            if not isinstance(body, dict):
                raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
            self._fill(body, kind, namespace)
            if body["metadata"].get("name") != name:
                raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
            return _json(self.cluster.replace(body, _manager(request), subresource))
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type not in PATCH_TYPES:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - "
                           f"accepted media types include: {', '.join(PATCH_TYPES)}")
        return _json(self.cluster.patch(kind.kind, namespace, name, body, content_type, _manager(request), subresource))

    @staticmethod
    async def _body(request: web.Request) -> object:
        data = await request.read()
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {e}") from None

    @staticmethod
    def _fill(body: dict, kind: Kind, namespace: str | None) -> None:
        body.setdefault("kind", kind.kind)
        body.setdefault("apiVersion", kind.api_version)
        if body["kind"] != kind.kind:
            raise ApiError(400, "BadRequest", f"the kind {body['kind']!r} does not match the URL ({kind.plural})")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        if namespace is not None:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = namespace

    async def _create(self, request: web.Request, kind: Kind, namespace: str | None) -> web.Response:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the body of the request was not a JSON object")
        self._fill(body, kind, namespace)
        meta = body["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            from ktrace.sim.workloads import pod_suffix

            meta["name"] = meta["generateName"] + pod_suffix(meta["generateName"], self.cluster.store.rv)
        return _json(self.cluster.create(body, _manager(request)), 201)

    async def _delete(self, request: web.Request, kind: Kind, namespace: str | None, name: str) -> web.Response:
        grace: float | None = None
        text = request.query.get("gracePeriodSeconds")
        data = await request.read()
        if data:
            with contextlib.suppress(orjson.JSONDecodeError):
                options = orjson.loads(data)
                if isinstance(options, dict) and options.get("gracePeriodSeconds") is not None:
                    text = str(options["gracePeriodSeconds"])
        if text is not None:
            try:
                grace = float(text)
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid gracePeriodSeconds {text!r}") from None
        return _json(self.cluster.delete(kind.kind, namespace, name, grace))

    def _get(self, request: web.Request, kind: Kind, namespace: str | None, name: str) -> web.Response:
        media = query.negotiate(request.headers.get("Accept"))
        entry = self.cluster.store.get(kind.kind, namespace, name)
        if entry is None:
            self.cluster.get(kind.kind, namespace, name)  # raises the NotFound Status
            raise _NOT_FOUND
        if media.form == query.METADATA:
            return _raw(entry.meta_raw)
        if media.form == query.TABLE:
            include = request.query.get("includeObject", "PartialObjectMetadata")
            return _json(tables.table(kind.kind, [entry.obj], media.version, include,
                                      entry.meta["resourceVersion"]))
        return _raw(entry.raw)

    def _list(self, request: web.Request, kind: Kind, namespace: str | None) -> web.Response:
        q = request.query
        media = query.negotiate(request.headers.get("Accept"))
        labels = query.label_selector(q.get("labelSelector"))
        fields = query.field_selector(kind.kind, q.get("fieldSelector"))
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid limit {q.get('limit')!r}") from None
        store = self.cluster.store
        rv = store.rv
        after: tuple[str, str] | None = None
        if q.get("continue"):
            rv, after = query.decode_continue(q["continue"], store.floor(kind.kind))
        match = query.matcher(None, labels, fields) if labels or fields else None
        items: list[Entry] = []
        token = None
        remaining = 0
        last: tuple[str, str] = ("", "")
        for entry in store.entries(kind.kind, namespace, after):
            if match is not None and not match(entry.obj):
                continue
            if limit and len(items) == limit:
                token = query.encode_continue(rv, *last)
                if match is None:  # the server counts what is left only for unfiltered lists
                    remaining = store.count_after(kind.kind, namespace, last)
                break
            items.append(entry)
            last = (entry.meta.get("namespace", ""), entry.meta["name"])
        meta: dict = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
            if remaining:
                meta["remainingItemCount"] = remaining
        if media.form == query.TABLE:
            include = q.get("includeObject", "PartialObjectMetadata")
            return _json(tables.table(kind.kind, [e.obj for e in items], media.version, include, str(rv), token))
        if media.form == query.METADATA:
            head = {"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{media.version}"}
            body = b",".join(e.meta_raw for e in items)
        else:
            head = {"kind": kind.list_kind, "apiVersion": kind.api_version}
            body = b",".join(e.item_raw for e in items)
        prefix = orjson.dumps({**head, "metadata": meta})[:-1]
        return _raw(prefix + b',"items":[' + body + b"]}")

    async def _watch(self, request: web.Request, kind: Kind, namespace: str | None) -> web.StreamResponse:
        q = request.query
        media = query.negotiate(request.headers.get("Accept"))
        labels = query.label_selector(q.get("labelSelector"))
        fields = query.field_selector(kind.kind, q.get("fieldSelector"))
        match = query.matcher(namespace, labels, fields)
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true", "True")
        rv_text = q.get("resourceVersion") or "0"
        try:
            start_rv = int(rv_text)
            timeout = float(q["timeoutSeconds"]) if q.get("timeoutSeconds") else None
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid resourceVersion or timeoutSeconds") from None
        store = self.cluster.store
        if start_rv > store.rv and not self.faults.ignores_future_rv:
            raise too_large(start_rv, store.rv)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        watcher = _Watcher(request, response)
        self.watchers.add(watcher)
        include = q.get("includeObject", "PartialObjectMetadata")

        def encode(event_type: str, entry: Entry) -> bytes:
            if media.form == query.METADATA:
                body = entry.meta_raw
            elif media.form == query.TABLE:
                body = orjson.dumps(tables.table(kind.kind, [entry.obj], media.version, include))
            else:
                body = entry.raw
            return b'{"type":"' + event_type.encode() + b'","object":' + body + b"}\n"

        try:
            epoch = store.epoch
            if rv_text == "0":
                last = store.rv
                chunk = [encode("ADDED", e) for e in store.entries(kind.kind, namespace) if match(e.obj)]
                if chunk:
                    await response.write(b"".join(chunk))
            else:
                last = min(start_rv, store.rv)  # a future version (ignores_future_rv): from our own
            next_bookmark = loop.time() + self.bookmark_interval
            while not watcher.broken:
                watcher.wake.clear()
                try:
                    events = store.events_after(kind.kind, last)
                except ApiError as e:
                    await response.write(b'{"type":"ERROR","object":' + orjson.dumps(e.status()) + b"}\n")
                    break
                out = []
                for event in events:
                    last = event.rv
                    sent = _transition(event, match)
                    if sent is not None:
                        out.append(encode(*sent))
                if out:
                    await response.write(b"".join(out))
                if store.epoch != epoch:  # compacted while open: as when the watch cache drops a watcher
                    status = ApiError(410, "Expired", f"too old resource version: {last} ({store.rv})").status()
                    await response.write(b'{"type":"ERROR","object":' + orjson.dumps(status) + b"}\n")
                    break
                now = loop.time()
                if deadline is not None and now >= deadline:
                    break
                if bookmarks and now >= next_bookmark:
                    # events may have come in while we were writing: send those first, or the
                    # bookmark would claim a version whose events this watcher never saw
                    try:
                        if store.events_after(kind.kind, last):
                            continue
                    except ApiError:
                        continue  # the next round sends the 410
                    last = max(last, store.rv)
                    mark = {"kind": kind.kind, "apiVersion": kind.api_version,
                            "metadata": {"resourceVersion": str(last)}}
                    await response.write(b'{"type":"BOOKMARK","object":' + orjson.dumps(mark) + b"}\n")
                    next_bookmark = now + self.bookmark_interval
                wait = next_bookmark - now if bookmarks else 3600.0
                if deadline is not None:
                    wait = min(wait, deadline - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watcher.wake.wait(), max(wait, 0.0))
            if not watcher.broken:
                await response.write_eof()
        except ConnectionError:
            watcher.broken = True
        finally:
            self.watchers.discard(watcher)
        return response


def _transition(event: Event, match) -> tuple[str, Entry] | None:
    """What a watcher with a selector sees: objects entering the selection are ADDED,
    objects leaving it are DELETED (with their last matching state at the new version)."""
    now_matches = match(event.entry.obj)
    if event.type == "ADDED":
        return ("ADDED", event.entry) if now_matches else None
    if event.type == "DELETED":
        return ("DELETED", event.entry) if now_matches else None
    was = event.old is not None and match(event.old.obj)
    if now_matches:
        return ("MODIFIED" if was else "ADDED", event.entry)
    if was:
        old = event.old.obj
        return "DELETED", Entry({**old, "metadata": {**old["metadata"], "resourceVersion": str(event.rv)}})
    return None
