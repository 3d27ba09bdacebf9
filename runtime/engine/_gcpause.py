"""Pausing Python's cycle collector while the engine makes many short-lived objects at once.

A large reconcile or a stateless invocation allocates tens of thousands of
objects that mostly die together (or live on in the repository's queues);
with the collector on, every 700 allocations it walks the young ones again
and, as they survive, the older generations too. Paused, the first
allocation after the pause ends runs one collection over what is left,
so no cycle escapes it. Pauses nest (a counter): the collector comes back on
when the last pause ends, and only if it was on before the first began.
A pause that may overlap others of its kind without end (the invocations of
a stateless group with several concurrent tasks) is taken ``alone``: it
pauses only when no other pause holds, so the collector surely runs between
two of them. Used from the event loop's thread only.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]

_depth = 0
_was_enabled = False


@contextlib.contextmanager
def collector_paused(*, alone: bool = False) -> Iterator[None]:
    """The cycle collector off for the ``with`` block (see the module); with ``alone``,
    only if no other pause holds (else the block runs as it is)."""
    global _depth, _was_enabled
    if alone and _depth:
        yield
        return
    if _depth == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _was_enabled:
            gc.enable()
