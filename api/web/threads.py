"""The worker threads a route's blocking work (the database, the vault, fraud) runs in.

Starlette's `run_in_threadpool` goes through anyio: a capacity limiter, a cancel scope and
the event-loop library's detection on every call, some 35 µs of CPU a hop against 15 µs
for asyncio's own `run_in_executor`, on a path (a charge) that hops once. The same
guarantees are kept here: at most THREADS calls at once (anyio's default limit), each in
a copy of the request's context, so the vault and fraud log the request's id
(api.clients.http). Shared by every app of the process, as anyio's pool is.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

# anyio's default: a charge holds its thread while fraud and the vault answer.
THREADS = 40

_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="api-request")

T = TypeVar("T")


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """`call(*args)` in a worker thread, in this request's context; its result.

    If the awaiting request is cancelled (a shutdown), the call still runs to its end in
    its thread (its recovery points and its key's finish are never cut short); only
    the answer is lost, as a crash loses one."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_POOL, context.run, call, *args)
