"""The ``DistributedMapCacheClient`` API and ``LocalMapCacheService``, an
in-process map cache that provides it.

NiFi splits its map cache in two: a ``MapCacheServer`` holding the entries and
a ``MapCacheClientService`` (formerly ``DistributedMapCacheClientService``)
that processors use to talk to it over the network. flowyard's
``LocalMapCacheService`` is both in one: the entries live in the flowyard
process, bounded by NiFi's server properties (Maximum Cache Entries, Eviction
Strategy). Processors see only the API, so a networked client (or one backed
by Redis) can later provide the same API without changing them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from flowyard.processors._bounded_map import BoundedMap, Eviction
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ProcessingError,
    PropertySpec,
    validators,
)

__all__ = ["DISTRIBUTED_MAP_CACHE_CLIENT", "DistributedMapCacheClient", "LocalMapCacheService"]

DISTRIBUTED_MAP_CACHE_CLIENT = "DistributedMapCacheClient"
"""API name of map caches (NiFi's ``DistributedMapCacheClient``)."""


class DistributedMapCacheClient:
    """The ``DistributedMapCacheClient`` API: a shared map of text keys to bytes.

    Every method is atomic and safe to call from several threads at once.
    Methods raise ``ProcessingError`` when the cache cannot be reached (a
    networked implementation); processors route the flowfile to ``failure``.
    """

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None."""
        raise NotImplementedError

    def put(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value``, replacing any value."""
        raise NotImplementedError

    def put_if_absent(self, key: str, value: bytes) -> bool:
        """Set ``key`` only if it has no value; whether it was set."""
        raise NotImplementedError

    def get_and_put_if_absent(self, key: str, value: bytes) -> bytes | None:
        """The existing value of ``key`` (then nothing changes), or None after setting ``value``."""
        raise NotImplementedError

    def contains_key(self, key: str) -> bool:
        """Whether ``key`` has a value."""
        raise NotImplementedError

    def remove(self, key: str) -> bool:
        """Remove ``key``; whether it had a value."""
        raise NotImplementedError

    def sub_map(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """The value (or None) of each of ``keys``, read at one instant."""
        raise NotImplementedError

    def fetch(self, key: str) -> tuple[bytes, object] | None:
        """The value of ``key`` with its revision (NiFi's ``AtomicDistributedMapCacheClient.fetch``),
        or None; pass the revision to ``replace``."""
        raise NotImplementedError

    def replace(self, key: str, value: bytes | None, revision: object | None) -> bool:
        """Set ``key`` to ``value`` (None: remove it) only if its revision is
        still ``revision`` (None: only if it has no value); whether it was done."""
        raise NotImplementedError


LFU = "Least Frequently Used"
LRU = "Least Recently Used"
FIFO = "First In, First Out"
_EVICTIONS = {LFU: Eviction.LFU, LRU: Eviction.LRU, FIFO: Eviction.FIFO}

MAXIMUM_CACHE_ENTRIES = PropertySpec(
    key="maximum-cache-entries",
    display_name="Maximum Cache Entries",
    description="The most entries the cache holds; adding one more evicts one by the Eviction Strategy.",
    required=True,
    default="10000",
    validator=validators.POSITIVE_INTEGER,
)
EVICTION_STRATEGY = PropertySpec(
    key="eviction-strategy",
    display_name="Eviction Strategy",
    description="Which entry is evicted to make room for a new one when the cache is full.",
    required=True,
    default=LFU,
    allowed_values=(
        AllowableValue(LFU, description="The entry used least often (ties: the one used least recently)."),
        AllowableValue(LRU, description="The entry used least recently."),
        AllowableValue(FIFO, description="The entry written longest ago, however often it was used."),
    ),
)


class LocalMapCacheService(ControllerService, DistributedMapCacheClient):
    """An in-memory map cache inside the flowyard process, shared by every
    processor that names it.

    Differences from NiFi's MapCacheClientService + MapCacheServer pair: no
    network (and so no Server Hostname, Port or SSL properties), no
    Persistence Directory — the entries live only while the service is
    enabled, and disabling or restarting flowyard empties the cache — and in
    a cluster each node has its own cache, not one shared by all nodes.

    A use (get, contains_key, a put_if_absent that finds a value) counts for
    LFU and LRU; put over an existing key writes a new entry. Every method
    holds one lock for its whole operation, so each is atomic.
    """

    spec = ControllerServiceSpec(
        description=(
            "Provides a map (key/value) cache held in memory in the flowyard process, with a maximum size "
            "and an eviction strategy, for processors such as DetectDuplicate, PutDistributedMapCache and "
            "FetchDistributedMapCache."
        ),
        provides=(DISTRIBUTED_MAP_CACHE_CLIENT,),
        tags=("distributed", "map", "cache", "key/value", "local", "in-memory"),
        properties=(MAXIMUM_CACHE_ENTRIES, EVICTION_STRATEGY),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._map: BoundedMap | None = None

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Start with an empty cache of the configured size."""
        capacity = context.property(MAXIMUM_CACHE_ENTRIES).as_int()
        eviction = _EVICTIONS[context.property(EVICTION_STRATEGY).as_str()]
        with self._lock:
            self._map = BoundedMap(capacity, eviction)

    def on_disabled(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._map = None

    def _cache(self) -> BoundedMap:
        # called with the lock held
        if self._map is None:
            raise ProcessingError("the map cache is not enabled")
        return self._map

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None."""
        with self._lock:
            return self._cache().get(key)

    def put(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value`` (a new entry)."""
        with self._lock:
            self._cache().put(key, bytes(value))

    def put_if_absent(self, key: str, value: bytes) -> bool:
        """Set ``key`` only if it has no value; whether it was set."""
        with self._lock:
            return self._cache().put_if_absent(key, bytes(value)) is None

    def get_and_put_if_absent(self, key: str, value: bytes) -> bytes | None:
        """The existing value, or None after setting ``value``."""
        with self._lock:
            return self._cache().put_if_absent(key, bytes(value))

    def contains_key(self, key: str) -> bool:
        """Whether ``key`` has a value."""
        with self._lock:
            return self._cache().contains(key)

    def remove(self, key: str) -> bool:
        """Remove ``key``; whether it had a value."""
        with self._lock:
            return self._cache().remove(key)

    def sub_map(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """The value (or None) of each key, under one lock."""
        wanted = list(keys)
        with self._lock:
            cache = self._cache()
            return {key: cache.get(key) for key in wanted}

    def fetch(self, key: str) -> tuple[bytes, object] | None:
        """The value and its revision (the value itself: an entry whose value
        is unchanged counts as unchanged)."""
        with self._lock:
            value = self._cache().get(key)
        return None if value is None else (value, value)

    def replace(self, key: str, value: bytes | None, revision: object | None) -> bool:
        """Compare-and-set (or compare-and-remove when ``value`` is None) under one lock."""
        with self._lock:
            cache = self._cache()
            if cache.get(key) != revision:
                return False
            if value is None:
                cache.remove(key)
            else:
                cache.put(key, bytes(value))
            return True

    def size(self) -> int:
        """How many entries the cache holds now (0 when disabled)."""
        with self._lock:
            return len(self._map) if self._map is not None else 0

    @property
    def evictions(self) -> int:
        """How many entries were evicted since the service was enabled."""
        with self._lock:
            return self._map.evictions if self._map is not None else 0
