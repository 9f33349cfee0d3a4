"""Faults the simulated API server can be told to have, for the tests of a misbehaving server: spells of
refused credentials (401) or of "come back later" (429/503 with Retry-After), answers trickled one byte
at a time, and a server that takes a watch from a resourceVersion it never had.

A restart with different data is `Simulator.restart_with`: it needs a new store, not a fault.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiohttp import web

from ktrace.sim.state import ApiError

_BUSY_REASONS = {429: ("TooManyRequests", "Too many requests, please try again later."),
                 503: ("ServiceUnavailable", "The server is currently unable to handle the request.")}


@dataclass
class Faults:
    refuse_until: float = 0.0  # time.monotonic(): every request is answered 401 until then
    busy_until: float = 0.0  # every request is answered `busy_status` until then
    busy_status: int = 429
    retry_after: int | None = None  # seconds, sent as Retry-After and details.retryAfterSeconds
    trickle: float | None = None  # seconds between the bytes of every answer but a watch stream
    # A watch from a resourceVersion newer than the store's: False answers 504 ResourceVersionTooLarge,
    # as the apiserver's watch cache does after an etcd restore; True streams from the store's own
    # version, so the resourceVersions the client sees move backwards.
    ignores_future_rv: bool = False

    def refuse(self) -> None:
        """Raise the Status of the spell in force, if any."""
        now = time.monotonic()
        if now < self.refuse_until:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        if now < self.busy_until:
            reason, message = _BUSY_REASONS.get(self.busy_status, ("InternalError", "try again later"))
            details = {"retryAfterSeconds": self.retry_after} if self.retry_after is not None else None
            raise ApiError(self.busy_status, reason, message, details)


def too_large(asked: int, current: int) -> ApiError:
    """What the apiserver answers a watch from a resourceVersion it has not reached (after waiting a few
    seconds for its cache to catch up; the simulator answers at once)."""
    return ApiError(504, "Timeout", f"Too large resource version: {asked}, current: {current}",
                    {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                     "retryAfterSeconds": 1})


def retry_after_header(error: ApiError) -> dict[str, str]:
    seconds = (error.details or {}).get("retryAfterSeconds")
    return {"Retry-After": str(seconds)} if seconds is not None else {}


async def trickled(request: web.Request, response: web.Response, faults: Faults) -> web.StreamResponse:
    """`response` sent one byte every `faults.trickle` seconds, a server (or a proxy) that never times
    out; the rest at once when the trickle is turned off."""
    body = response.body if isinstance(response.body, bytes) else b""
    out = web.StreamResponse(status=response.status, headers={"Content-Type": response.content_type})
    out.content_length = len(body)
    await out.prepare(request)
    try:
        sent = 0
        while sent < len(body) and (interval := faults.trickle):  # read once: a test may turn it off meanwhile
            await out.write(body[sent:sent + 1])
            sent += 1
            await asyncio.sleep(interval)
        await out.write(body[sent:])
        await out.write_eof()
    except ConnectionError:  # the client gave up
        pass
    return out
