"""A bounded, thread-safe pool of DB-API connections (the heart of DBCPConnectionPool).

Pure threading, no framework imports: ``ConnectionPool(factory, ...)`` hands out
connections with ``borrow()`` / ``give_back()`` or the ``connection()`` context
manager. At most ``max_total`` connections exist at once (negative: no limit);
a borrower waits up to ``max_wait`` seconds (negative: for ever) for one to be
returned and then gets ``PoolExhaustedError``. A returned connection is rolled
back and put back in autocommit mode, as commons-dbcp's ``rollbackOnReturn``
and ``autoCommitOnReturn`` do, so no half-done transaction leaks to the next
borrower; a statement timeout a processor set (``set_statement_timeout``) is
reset to the server default, so it cannot cancel a later borrower's statements.

Errors: ``PoolError`` (a ``ConnectionError``) with ``PoolExhaustedError`` and
``PoolClosedError`` below it; a failing ``factory`` raises the driver's error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flowyard.processors._db_drivers import get_autocommit, is_open, reset_statement_timeout, set_autocommit

__all__ = ["ConnectionPool", "PoolClosedError", "PoolError", "PoolExhaustedError"]


class PoolError(ConnectionError):
    """No connection can be handed out."""


class PoolExhaustedError(PoolError):
    """Every connection stayed in use for the whole Max Wait Time."""


class PoolClosedError(PoolError):
    """The pool was closed (its service disabled)."""


@dataclass(slots=True)
class _Pooled:
    connection: Any
    created: float
    returned: float


class ConnectionPool:
    """Connections made by ``factory()``, at most ``max_total`` at once. Thread-safe.

    ``validation_query`` (if set) runs on every borrowed idle connection; one
    that fails is closed and replaced. ``max_lifetime`` and
    ``min_evictable_idle`` (seconds, negative: never) close old or long-idle
    connections when they would be handed out or returned (no background
    evictor thread). At most ``max_idle`` connections are kept idle.
    """

    def __init__(self, factory: Callable[[], Any], *, max_total: int = 8, max_wait: float = 0.5,
                 validation_query: str | None = None, max_idle: int = 8, max_lifetime: float = -1,
                 min_evictable_idle: float = -1, clock: Callable[[], float] = time.monotonic) -> None:
        self._factory = factory
        self._max_total = max_total
        self._max_wait = max_wait
        self._validation_query = validation_query or None
        self._max_idle = max_idle
        self._max_lifetime = max_lifetime
        self._min_evictable_idle = min_evictable_idle
        self._clock = clock
        self._idle: list[_Pooled] = []
        self._active: dict[int, _Pooled] = {}
        self._opening = 0
        self._closed = False
        self._cond = threading.Condition()

    def statistics(self) -> tuple[int, int]:
        """(connections in use, idle connections)."""
        with self._cond:
            return len(self._active), len(self._idle)

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A borrowed connection, given back when the block ends (even on error)."""
        conn = self.borrow()
        try:
            yield conn
        finally:
            self.give_back(conn)

    def borrow(self) -> Any:
        """A connection for the caller alone until ``give_back``. Raises
        ``PoolExhaustedError`` after waiting Max Wait Time, ``PoolClosedError``
        when closed, or the driver's error when a new connection fails."""
        deadline = None if self._max_wait < 0 else self._clock() + self._max_wait
        while True:
            pooled = self._take_idle_or_slot(deadline)
            if pooled is None:  # a free slot: open a new connection outside the lock
                try:
                    conn = self._factory()
                except BaseException:
                    with self._cond:
                        self._opening -= 1
                        self._cond.notify()
                    raise
                now = self._clock()
                with self._cond:
                    self._opening -= 1
                    if self._closed:
                        _close_quietly(conn)
                        self._cond.notify()
                        raise PoolClosedError("the connection pool is closed (its service was disabled)")
                    self._active[id(conn)] = _Pooled(conn, now, now)
                return conn
            if self._usable(pooled):
                with self._cond:
                    if not self._closed:
                        self._active[id(pooled.connection)] = pooled
                        return pooled.connection
            _close_quietly(pooled.connection)
            with self._cond:
                self._cond.notify()

    def _take_idle_or_slot(self, deadline: float | None) -> _Pooled | None:
        """An idle connection, or None after reserving a slot for a new one."""
        with self._cond:
            while True:
                if self._closed:
                    raise PoolClosedError("the connection pool is closed (its service was disabled)")
                if self._idle:
                    return self._idle.pop()
                if self._max_total < 0 or len(self._active) + self._opening < self._max_total:
                    self._opening += 1
                    return None
                remaining = None if deadline is None else deadline - self._clock()
                if remaining is not None and remaining <= 0:
                    raise PoolExhaustedError(
                        f"cannot get a database connection: all {self._max_total} connections stayed in use "
                        f"for the Max Wait Time ({self._max_wait * 1000:g} ms)")
                self._cond.wait(remaining)

    def _usable(self, pooled: _Pooled) -> bool:
        now = self._clock()
        if self._max_lifetime > 0 and now - pooled.created > self._max_lifetime:
            return False
        if self._min_evictable_idle > 0 and now - pooled.returned > self._min_evictable_idle:
            return False
        if not is_open(pooled.connection):
            return False
        if self._validation_query:
            try:
                cursor = pooled.connection.cursor()
                try:
                    cursor.execute(self._validation_query)
                    cursor.fetchall()
                finally:
                    cursor.close()
            except Exception:  # any failure means: do not hand this one out
                return False
        return True

    def give_back(self, conn: Any) -> None:
        """Return a borrowed connection: rolled back, in autocommit mode and without a
        processor's statement timeout again, kept idle, or closed when broken, too old, beyond Maximum Idle Connections
        or the pool is closed."""
        keep = is_open(conn)
        if keep:
            try:
                if not get_autocommit(conn):
                    conn.rollback()
                    set_autocommit(conn, True)
                reset_statement_timeout(conn)  # outside any transaction, so it sticks
            except Exception:  # a connection that cannot be reset is not reused
                keep = False
        with self._cond:
            pooled = self._active.pop(id(conn), None)
            now = self._clock()
            if pooled is not None and keep and not self._closed and len(self._idle) < self._max_idle \
                    and not (self._max_lifetime > 0 and now - pooled.created > self._max_lifetime):
                pooled.returned = now
                self._idle.append(pooled)
                conn = None
            self._cond.notify()
        if conn is not None:
            _close_quietly(conn)

    def close(self) -> None:
        """Close every idle connection now and every borrowed one when it comes back;
        later ``borrow`` calls raise ``PoolClosedError``."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for pooled in idle:
            _close_quietly(pooled.connection)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing a broken connection may fail; it is gone either way
        pass
