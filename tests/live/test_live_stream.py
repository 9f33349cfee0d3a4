"""A watch stream that misbehaves in ways the simulator does not: a garbage line, a silent stall,
a clean end after a bookmark. A scripted HTTP server answers the real client; each reconnect must
resume from the last event applied (or bookmark), so nothing is lost or applied twice."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from aiohttp import web

from ktrace.kinds import BY_KIND
from ktrace.sources.kubeapi import KubeApi, Target
from ktrace.sources.kubeconfig import connect, resolve_context
from ktrace.sources.kubewatch import BrokenStream, Watcher, WatchTimeouts, watch_event

pytestmark = pytest.mark.slow  # a fake API server that stalls and resumes: seconds of waiting


def event(etype: str, name: str, rv: int) -> bytes:
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "namespace": "ns", "resourceVersion": str(rv)}}
    return orjson.dumps({"type": etype, "object": obj}) + b"\n"


# One script per connection, in order: what the server writes, then whether it stalls or ends.
SCRIPT: list[tuple[bytes, str]] = [
    (event("ADDED", "p1", 11) + b"<html>proxy error</html>\n", "hold"),  # garbage after a good event
    (event("MODIFIED", "p1", 12), "stall"),  # then silence: the read timeout must notice
    (b'{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"20"}}}\n', "end"),
    (event("ADDED", "p2", 21), "hold"),
]


class ScriptedServer:
    def __init__(self) -> None:
        self.versions: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.port = 0

    async def watch(self, request: web.Request) -> web.StreamResponse:
        self.versions.append(request.query.get("resourceVersion", ""))
        body, then = SCRIPT[min(len(self.versions), len(SCRIPT)) - 1]
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(body)
        if then != "end":
            await asyncio.sleep(30)  # "hold" and "stall" look alike to the client: no more bytes
        await resp.write_eof()
        return resp

    def start(self) -> None:
        async def up() -> None:
            app = web.Application()
            app.router.add_get("/api/v1/pods", self.watch)
            self.runner = web.AppRunner(app, shutdown_timeout=0.1)
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(up(), self.loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    s.start()
    yield s
    s.stop()


def test_garbage_stall_and_bookmark_resume_exactly(server: ScriptedServer, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "k"
    kubeconfig.write_text(f"""
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{server.port}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: scripted, context: {{cluster: c, user: u}}}}]
current-context: scripted
""")
    info = resolve_context(str(kubeconfig), None)
    api = KubeApi(connect(info, pool_size=2))
    applied: list[tuple[str, str, str]] = []
    target = Target(BY_KIND["Pod"])

    def on_event(t: Target, etype: str, obj: dict) -> None:
        applied.append((etype, obj["metadata"]["name"], obj["metadata"]["resourceVersion"]))

    def relist(t: Target) -> str:
        raise AssertionError("no 410 in this script")

    timeouts = WatchTimeouts(connect=1.0, read=0.4, server=30, backoff_base=0.02, backoff_cap=0.1)
    watcher = Watcher(api, {target: "10"}, on_event, relist, timeouts)
    watcher.start()
    deadline = time.monotonic() + 5
    while len(applied) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.stop()
    assert applied == [("ADDED", "p1", "11"), ("MODIFIED", "p1", "12"), ("ADDED", "p2", "21")]
    assert server.versions[:4] == ["10", "11", "12", "20"]  # each reconnect resumes where the last left off
    errors = [message for _, message in watcher.errors]
    assert any("not a watch event" in m for m in errors)
    assert any("read timeout" in m for m in errors)
    assert len(errors) == 2  # the clean end after the bookmark is not an error


@pytest.mark.parametrize("line", [b"<html>proxy error</html>", b"[1, 2]", b'{"type": "ADDED"}',
                                  b'{"type": "ADDED", "object": [1]}',
                                  b'{"type": "ADDED", "object": {"metadata": [1]}}',
                                  b'{"type": "ADDED", "object": {"metadata": "x"}}'])
def test_a_line_that_is_not_a_watch_event_breaks_the_stream_not_the_thread(line: bytes) -> None:
    with pytest.raises(BrokenStream, match="not a watch event"):
        watch_event(line)
    assert watch_event(event("ADDED", "p", 3))[0] == "ADDED"
