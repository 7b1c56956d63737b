"""Calling pyHanko's synchronous API from any thread.

pyHanko's sync functions run their own event loop (``asyncio.run``), which fails in a
thread that already runs one (Playwright's sync API in a test session, a notebook, an
async server). There the call goes to a short-lived worker thread instead.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()
