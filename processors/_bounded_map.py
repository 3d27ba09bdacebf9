"""A map with a maximum number of entries and an eviction strategy. Pure and
not thread-safe: ``LocalMapCacheService`` guards it with a lock.

Strategies (NiFi's map cache server offers the same three):

- ``LFU``: evict the entry used least often; among equals, the one that
  reached that count first (roughly: the one used least recently).
- ``LRU``: evict the entry used least recently.
- ``FIFO``: evict the entry written longest ago; uses do not matter.

A *use* is any operation that finds the key and leaves it in place (``get``,
``contains``, an ``put_if_absent`` that finds a value). ``put`` over an
existing key writes a new entry: its use count starts again and it becomes
the newest. Every operation is O(1) except ``remove`` of the only entry with
the lowest LFU count, which is O(distinct counts).
"""

from __future__ import annotations

import enum

__all__ = ["BoundedMap", "Eviction"]


class Eviction(enum.Enum):
    """Which entry makes room when the map is full."""

    LFU = "LFU"
    LRU = "LRU"
    FIFO = "FIFO"


class BoundedMap:
    """At most ``capacity`` entries of ``str`` -> ``bytes``. Raises ``ValueError``
    for a capacity below 1."""

    def __init__(self, capacity: int, eviction: Eviction) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self.eviction = eviction
        #: Entries in eviction order for LRU and FIFO (first = next to go); plain storage for LFU.
        self._values: dict[str, bytes] = {}
        # LFU only: use count per key, and per count the keys in least-recently-used-first order.
        self._counts: dict[str, int] = {}
        self._buckets: dict[int, dict[str, None]] = {}
        self._min_count = 0
        #: How many entries were evicted to make room.
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        """The keys: least recently used first (LRU), otherwise oldest write first."""
        return list(self._values)

    def get(self, key: str) -> bytes | None:
        """The value, or None; a use."""
        value = self._values.get(key)
        if value is not None:
            self._use(key)
        return value

    def contains(self, key: str) -> bool:
        """Whether ``key`` has a value; a use when it has."""
        return self.get(key) is not None

    def put(self, key: str, value: bytes) -> None:
        """Set ``key`` (a new entry, even over an old one), evicting if the map is full."""
        if key in self._values:
            self._forget(key)
        elif len(self._values) >= self.capacity:
            self._evict()
        self._values[key] = value
        if self.eviction is Eviction.LFU:
            self._counts[key] = 0
            self._buckets.setdefault(0, {})[key] = None
            self._min_count = 0

    def put_if_absent(self, key: str, value: bytes) -> bytes | None:
        """The existing value (a use) and nothing changed; or None after putting ``value``."""
        existing = self.get(key)
        if existing is None:
            self.put(key, value)
        return existing

    def remove(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        if key not in self._values:
            return False
        self._forget(key)
        return True

    # -- internals ------------------------------------------------------------------

    def _use(self, key: str) -> None:
        if self.eviction is Eviction.LRU:
            # re-inserting moves the key to the end: the most recently used
            self._values[key] = self._values.pop(key)
        elif self.eviction is Eviction.LFU:
            count = self._counts[key]
            self._unbucket(key, count)
            self._counts[key] = count + 1
            self._buckets.setdefault(count + 1, {})[key] = None
            if self._min_count == count and count not in self._buckets:
                self._min_count = count + 1

    def _unbucket(self, key: str, count: int) -> None:
        bucket = self._buckets[count]
        del bucket[key]
        if not bucket:
            del self._buckets[count]

    def _forget(self, key: str) -> None:
        del self._values[key]
        if self.eviction is Eviction.LFU:
            count = self._counts.pop(key)
            self._unbucket(key, count)
            if count == self._min_count and count not in self._buckets:
                self._min_count = min(self._buckets, default=0)

    def _evict(self) -> None:
        if self.eviction is Eviction.LFU:
            victim = next(iter(self._buckets[self._min_count]))
        else:
            victim = next(iter(self._values))
        self._forget(victim)
        self.evictions += 1
