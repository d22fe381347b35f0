"""A request's life: work done on its behalf on a worker thread ends when the client hangs up, and a time limit
counts from the request's arrival, so that time spent waiting for a worker or a lock counts too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from fastapi import Request
from starlette.types import Receive

from domolite.server.cancel import Cancel

T = TypeVar("T")

HUNG_UP = "the client hung up"


def arrived(request: Request) -> float:
    """When the request arrived (time.monotonic())."""
    return float(request.scope.get("state", {}).get("arrived", time.monotonic()))


def request_cancel(request: Request, limit_s: float | None = None) -> Cancel:
    """A Cancel for work on behalf of `request`, with its deadline `limit_s` after the request's arrival."""
    return Cancel(deadline=None if limit_s is None else arrived(request) + limit_s)


async def hang_up(receive: Receive, cancel: Cancel) -> None:
    """Cancel `cancel` when the client disconnects (the body must have been read already)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            cancel.cancel(HUNG_UP)
            return


async def until_hung_up(request: Request, work: Callable[[Cancel], T], cancel: Cancel) -> T:
    """Run `work(cancel)` on a worker thread; if the client hangs up first, `cancel` is cancelled (so DuckDB
    stops at once) and this returns when `work` does (raising what it raised).

    The watch for the hang-up is a plain asyncio task, cancelled when the work ends: an anyio task group would
    cost each request more than a small query does (its cancel scope formats the task's repr)."""
    listener = asyncio.create_task(hang_up(request.receive, cancel))
    try:
        return await anyio.to_thread.run_sync(work, cancel)
    finally:
        listener.cancel()
        cancel.close()
