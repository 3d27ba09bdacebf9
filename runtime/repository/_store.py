"""The key-value store under the repositories, and its in-memory implementation.

The repositories (content, flowfile, provenance, state) are typed layers over
one store with column families. A session commit becomes one ``Batch`` written
with one ``write`` call, which is what makes a commit atomic across all of them.

Two stores implement ``Store``: ``RocksStore`` (durable, in ``_rocks.py``) and
``MemoryStore`` (here; for tests and the ProcessorRunner). Keys and values are
bytes; scans are ordered by key.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Protocol

__all__ = ["COLUMN_FAMILIES", "Batch", "MemoryStore", "Store"]

#: Column families every store has. ``claims`` holds claimant counts of content
#: resources; the others hold what their names say.
COLUMN_FAMILIES = ("content", "flowfiles", "provenance", "state", "claims")


class Batch(Protocol):
    """Writes collected for one atomic ``Store.write``.

    ``cf`` arguments are handles from ``Store.handle``.
    """

    def put(self, cf: object, key: bytes, value: bytes) -> None: ...

    def delete(self, cf: object, key: bytes) -> None: ...

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        """Delete keys in ``[begin, end)``; raises ``ValueError`` if ``begin > end``."""


class Store(Protocol):
    """An ordered byte key-value store with column families and atomic batches."""

    def handle(self, cf: str) -> object:
        """An opaque handle naming column family ``cf`` in batches and calls."""

    def batch(self) -> Batch: ...

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        """Apply ``batch`` atomically. ``sync`` fsyncs the log before returning,
        without holding the GIL during the fsync (the committer calls this in a
        worker thread and the event loop must keep running meanwhile)."""

    def get(self, cf: object, key: bytes) -> bytes | None: ...

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        """One unbatched write (streamed content chunks, id watermarks)."""

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        """Delete keys in ``[begin, end)`` at once; raises ``ValueError`` if ``begin > end``."""

    def scan(
        self, cf: object, begin: bytes, end: bytes | None = None, *, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Items with ``begin <= key < end`` in key order, at most ``limit``."""

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        """The item with the greatest key ``< end``, or None."""

    def sync_wal(self) -> None:
        """Make every write so far durable against power loss (the GIL is
        released during the fsync)."""

    def mark_durable(self) -> None:
        """``sync_wal``, then record that everything written so far is durable:
        a store that later opens with less refuses to (RocksStore's watermark)."""

    def reopen(self) -> None:
        """Close and open again (the lock kept): what a store needs after a write
        failed for want of space, once there is room again."""

    def close(self) -> None: ...


class _MemoryCF:
    __slots__ = ("data", "sorted_keys")

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.sorted_keys: list[bytes] | None = []

    def keys_in_order(self) -> list[bytes]:
        if self.sorted_keys is None:
            self.sorted_keys = sorted(self.data)
        return self.sorted_keys


class _MemoryBatch:
    __slots__ = ("ops",)

    def __init__(self) -> None:
        self.ops: list[tuple[int, _MemoryCF, bytes, bytes | None]] = []

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        assert isinstance(cf, _MemoryCF)
        self.ops.append((0, cf, key, value))

    def delete(self, cf: object, key: bytes) -> None:
        assert isinstance(cf, _MemoryCF)
        self.ops.append((1, cf, key, None))

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        if begin > end:
            raise ValueError(f"delete_range: begin {begin!r} is after end {end!r}")
        assert isinstance(cf, _MemoryCF)
        self.ops.append((2, cf, begin, end))


class MemoryStore:
    """A ``Store`` in a Python dict per column family. Nothing survives the process.

    Behaves like the RocksDB store in every observable way, including ordered
    scans, which the contract tests check.
    """

    def __init__(self) -> None:
        self._cfs = {name: _MemoryCF() for name in COLUMN_FAMILIES}
        self.writes = 0

    def handle(self, cf: str) -> object:
        return self._cfs[cf]

    def batch(self) -> Batch:
        return _MemoryBatch()

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        assert isinstance(batch, _MemoryBatch)
        for op, cf, key, value in batch.ops:
            if op == 0:
                assert value is not None
                self._put(cf, key, value)
            elif op == 1:
                if cf.data.pop(key, None) is not None:
                    cf.sorted_keys = None
            else:
                assert value is not None
                self._delete_range(cf, key, value)
        self.writes += 1

    def get(self, cf: object, key: bytes) -> bytes | None:
        assert isinstance(cf, _MemoryCF)
        return cf.data.get(key)

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        assert isinstance(cf, _MemoryCF)
        self._put(cf, key, value)

    @staticmethod
    def _put(cf: _MemoryCF, key: bytes, value: bytes) -> None:
        if key not in cf.data:
            cf.sorted_keys = None
        cf.data[key] = value

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        if begin > end:
            raise ValueError(f"delete_range: begin {begin!r} is after end {end!r}")
        assert isinstance(cf, _MemoryCF)
        self._delete_range(cf, begin, end)

    @staticmethod
    def _delete_range(cf: _MemoryCF, begin: bytes, end: bytes) -> None:
        keys = cf.keys_in_order()
        lo, hi = bisect.bisect_left(keys, begin), bisect.bisect_left(keys, end)
        if lo < hi:
            for key in keys[lo:hi]:
                del cf.data[key]
            del keys[lo:hi]

    def scan(
        self, cf: object, begin: bytes, end: bytes | None = None, *, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        assert isinstance(cf, _MemoryCF)
        keys = cf.keys_in_order()
        lo = bisect.bisect_left(keys, begin)
        hi = len(keys) if end is None else bisect.bisect_left(keys, end)
        if limit is not None:
            hi = min(hi, lo + limit)
        # Copy the slice: callers may write while iterating.
        for key in keys[lo:hi]:
            value = cf.data.get(key)
            if value is not None:
                yield key, value

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        assert isinstance(cf, _MemoryCF)
        keys = cf.keys_in_order()
        i = bisect.bisect_left(keys, end)
        if i == 0:
            return None
        key = keys[i - 1]
        return key, cf.data[key]

    def sync_wal(self) -> None:
        pass

    def mark_durable(self) -> None:
        pass

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        pass
