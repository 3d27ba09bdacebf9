"""Waiting for a condition in trio tests, safe under a mock clock.

Under ``autojump_clock`` trio's clock jumps whenever the loop is idle, also
while a worker thread (a processor's trigger, the committer, a fsync) is about
to wake it; a wait bounded only by trio's clock can then race through its
minutes before the thread has run once. :func:`wait_for` polls on trio's clock
(so the clock still moves for the code under test) and gives up only when its
bound has passed on trio's clock *and* on the wall (capped at ``real_cap``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import trio


async def wait_for(condition: Callable[[], object], timeout: float = 600.0, step: float = 0.05, *,
                   real_cap: float = 60.0) -> None:
    """Return once ``condition()`` is true; raise :class:`trio.TooSlowError`
    when ``timeout`` seconds have passed on trio's clock and
    ``min(timeout, real_cap)`` on the wall, checking every ``step`` seconds of
    trio's clock."""
    start, real_start = trio.current_time(), time.monotonic()
    real_bound = min(timeout, real_cap)
    while not condition():
        if trio.current_time() - start >= timeout and time.monotonic() - real_start >= real_bound:
            raise trio.TooSlowError(f"condition not met within {timeout:g} s: {condition}")
        await trio.sleep(step)
