"""A request's life: work done on its behalf on a worker thread ends when the client hangs up, and a time limit
counts from the request's arrival, so that time spent waiting for a worker or a lock counts too."""

from __future__ import annotations

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
    stops at once) and this returns when `work` does (raising what it raised)."""
    result: list[T] = []
    failure: list[Exception] = []
    async with anyio.create_task_group() as group:
        group.start_soon(hang_up, request.receive, cancel)
        try:
            result.append(await anyio.to_thread.run_sync(work, cancel))
        except Exception as exc:  # raised below, outside the group (which would wrap it)
            failure.append(exc)
        finally:
            group.cancel_scope.cancel()
            cancel.close()
    if failure:
        raise failure[0]
    return result[0]
