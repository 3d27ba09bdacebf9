"""The hand-over between a listening processor's HTTP server thread and its
triggers: a queue of waiting requests that a trigger can await without
holding a worker thread.

The server's loop ``put``s a request and the queue wakes every trigger that
waits in ``wait`` (on the engine's trio loop, through that loop's token).
A trigger then ``take``s a batch and does the blocking work (content writes)
in a worker thread. Private to the http family.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

__all__ = ["Intake"]

T = TypeVar("T")


class Intake(Generic[T]):
    """A thread-safe FIFO of waiting requests with async wake-ups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[T] = collections.deque()
        self._wakers: list[tuple[trio.lowlevel.TrioToken, trio.Event]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, item: T, fits: Callable[[int], bool] | None = None) -> bool:
        """Append ``item`` unless ``fits(current length)`` says no; wake the waiting triggers."""
        with self._lock:
            if fits is not None and not fits(len(self._items)):
                return False
            self._items.append(item)
            wakers, self._wakers = self._wakers, []
        for token, event in wakers:
            try:
                token.run_sync_soon(event.set)
            except trio.RunFinishedError:
                pass  # that trigger's loop is gone
        return True

    def oldest(self) -> T | None:
        """The item waiting longest, or None."""
        with self._lock:
            return self._items[0] if self._items else None

    def take(self, limit: int, mark: Callable[[T], None]) -> list[T]:
        """Up to ``limit`` items, oldest first; ``mark`` runs on each under the lock
        (so a waiting request can tell it was taken)."""
        with self._lock:
            taken: list[T] = []
            while self._items and len(taken) < limit:
                item = self._items.popleft()
                mark(item)
                taken.append(item)
            return taken

    def discard(self, item: T, unless: Callable[[T], bool]) -> bool:
        """Remove ``item`` unless ``unless(item)`` holds (checked under the lock); whether it was removed."""
        with self._lock:
            if unless(item) or item not in self._items:
                return False
            self._items.remove(item)
            return True

    def drain(self) -> list[T]:
        """Every waiting item, removed."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items

    async def wait(self, timeout: float) -> None:
        """Return once an item is waiting, or after ``timeout`` seconds. Runs on
        the caller's trio loop and holds no thread."""
        event = trio.Event()
        with self._lock:
            if self._items:
                return
            self._wakers.append((trio.lowlevel.current_trio_token(), event))
        try:
            with trio.move_on_after(timeout):
                await event.wait()
        finally:
            with self._lock:
                if (entry := (trio.lowlevel.current_trio_token(), event)) in self._wakers:
                    self._wakers.remove(entry)
