"""A ``Store`` that fails on purpose: the fault-injection store of the
reliability tests, beside ``MemoryStore`` and ``RocksStore``.

``FaultyStore`` wraps any store and raises a chosen error at a chosen call of
a chosen operation (``write``, ``put``, ``get``, ``scan``, ``delete_range``,
``last_before``), optionally only for one column family or key prefix, once
or until told to stop. What it does not fail it passes through unchanged, so
the contract suite runs the allocators and the commit path through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from flowyard.runtime.repository._store import Batch, Store
from flowyard.runtime.sdk._errors import StorageFullError

__all__ = ["Fault", "FaultyStore"]

OPERATIONS = ("write", "put", "get", "scan", "delete_range", "last_before", "mark_durable", "reopen")


@dataclass
class Fault:
    """Fail ``operation`` from its ``after``-th matching call on (0: the next
    one), ``times`` times (None: until removed), raising ``error()``. ``key``
    limits it to calls whose key starts with this prefix; ``cf`` to one column
    family (by name)."""

    operation: str
    error: Callable[[], BaseException] = field(
        default=lambda: StorageFullError("simulated: no space left on device"))
    after: int = 0
    times: int | None = 1
    key: bytes | None = None
    cf: str | None = None
    seen: int = 0
    raised: int = 0

    def hit(self, operation: str, cf: str | None, key: bytes | None) -> bool:
        if operation != self.operation or (self.cf is not None and cf != self.cf):
            return False
        if self.key is not None and (key is None or not key.startswith(self.key)):
            return False
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.raised >= self.times):
            return False
        self.raised += 1
        return True


class FaultyStore:
    """``Store`` wrapping ``inner``; ``faults`` decide which calls fail."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.faults: list[Fault] = []
        self._names: dict[int, str] = {}
        #: Where the wrapped store keeps its files (None for a memory store).
        self.path = getattr(inner, "path", None)

    def fail(self, operation: str, **kw: object) -> Fault:
        """Add a ``Fault`` (see its fields) and return it."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown store operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
        fault = Fault(operation, **kw)  # type: ignore[arg-type]
        self.faults.append(fault)
        return fault

    def heal(self) -> None:
        """Remove every fault."""
        self.faults.clear()

    def _check(self, operation: str, cf: object | None = None, key: bytes | None = None) -> None:
        name = self._names.get(id(cf)) if cf is not None else None
        for fault in self.faults:
            if fault.hit(operation, name, key):
                raise fault.error()

    def handle(self, cf: str) -> object:
        handle = self.inner.handle(cf)
        self._names[id(handle)] = cf
        return handle

    def batch(self) -> Batch:
        return self.inner.batch()

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        self._check("write")
        self.inner.write(batch, sync=sync)

    def get(self, cf: object, key: bytes) -> bytes | None:
        self._check("get", cf, key)
        return self.inner.get(cf, key)

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        self._check("put", cf, key)
        self.inner.put(cf, key, value)

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        self._check("delete_range", cf, begin)
        self.inner.delete_range(cf, begin, end)

    def scan(self, cf: object, begin: bytes, end: bytes | None = None, *,
             limit: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        self._check("scan", cf, begin)
        return self.inner.scan(cf, begin, end, limit=limit)

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        self._check("last_before", cf, end)
        return self.inner.last_before(cf, end)

    def sync_wal(self) -> None:
        self.inner.sync_wal()

    def mark_durable(self) -> None:
        self._check("mark_durable")
        self.inner.mark_durable()

    def reopen(self) -> None:
        self._check("reopen")
        self.inner.reopen()

    def close(self) -> None:
        self.inner.close()
