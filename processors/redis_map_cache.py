"""RedisDistributedMapCacheClientService: the ``DistributedMapCacheClient`` API
over Redis, so DetectDuplicate, Wait/Notify and Put/FetchDistributedMapCache
share one cache across processes and nodes.

Keys are stored as their UTF-8 bytes and values as they are (no prefix), as
NiFi's string serializer writes them, so a NiFi flow and a flowyard flow can
share a Redis database. Every operation is one Redis command or one Lua script
(atomic on the server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flowyard.processors.map_cache import DISTRIBUTED_MAP_CACHE_CLIENT, DistributedMapCacheClient
from flowyard.processors.redis_connection_pool import REDIS_CONNECTION_POOL, RedisConnectionPool
from flowyard.runtime.sdk import (
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ProcessingError,
    PropertySpec,
    validators,
)

if TYPE_CHECKING:
    import redis

__all__ = ["RedisDistributedMapCacheClientService"]

_T = TypeVar("_T")

REDIS_CONNECTION_POOL_PROPERTY = PropertySpec(
    key="redis-connection-pool",
    display_name="Redis Connection Pool",
    description="The Redis connection pool service to reach the server through.",
    required=True,
    identifies_controller_service=REDIS_CONNECTION_POOL,
)
TTL = PropertySpec(
    key="redis-cache-ttl",
    display_name="TTL",
    description="How long an entry lives after it was last written; 0 secs: for ever.",
    required=True,
    default="0 secs",
    validator=validators.TIME_PERIOD,
)

# KEYS[1]; ARGV: value, ttl ms. The existing value, or nil after setting ours.
_GET_AND_PUT_IF_ABSENT = """
local current = redis.call('GET', KEYS[1])
if current then return current end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return false
"""

# KEYS[1]; ARGV: expect absent ('1'/'0'), expected value, remove ('1'/'0'), new value, ttl ms. 1 if done.
_REPLACE = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1])
elseif tonumber(ARGV[5]) > 0 then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[4])
end
return 1
"""


class RedisDistributedMapCacheClientService(ControllerService, DistributedMapCacheClient):
    """A map cache held in Redis, reached through a RedisConnectionPoolService:
    every flowyard process (and NiFi) that points at the same Redis database
    shares the entries, so duplicates are detected and Wait/Notify signals
    seen across processes and nodes.

    Each operation is atomic on the server: put-if-absent is ``SET NX``,
    get-and-put-if-absent and compare-and-set (``fetch``/``replace``, used by
    Wait/Notify) are Lua scripts, ``sub_map`` is one ``MGET``. A TTL above 0
    gives every written entry that expiry (refreshed by each write). Redis
    errors (unreachable server, timeout) raise ``ProcessingError``, so the
    processors route to failure or roll back as with any cache failure.

    Differences from NiFi: the revision of an entry (fetch/replace) is its
    value, so a value changed and changed back between a fetch and a replace
    counts as unchanged; Wait/Notify write a new signal value each time, so
    it makes no difference to them. NiFi's client also lists and removes keys
    by pattern; flowyard's map cache API has no such calls.
    """

    spec = ControllerServiceSpec(
        description=(
            "Provides a map (key/value) cache held in Redis, shared by every process that uses the same Redis "
            "database, for processors such as DetectDuplicate, Wait, Notify and Put/FetchDistributedMapCache."
        ),
        provides=(DISTRIBUTED_MAP_CACHE_CLIENT,),
        tags=("redis", "distributed", "map", "cache", "key/value"),
        properties=(REDIS_CONNECTION_POOL_PROPERTY, TTL),
    )

    def __init__(self) -> None:
        self._pool: RedisConnectionPool | None = None
        self._ttl_ms = 0
        self._get_and_put: Any = None
        self._replace: Any = None

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Take the pool and the TTL."""
        pool = context.property(REDIS_CONNECTION_POOL_PROPERTY).as_controller_service(RedisConnectionPool)
        self._ttl_ms = int(context.property(TTL).as_duration() * 1000)
        client = pool.client()
        self._get_and_put = client.register_script(_GET_AND_PUT_IF_ABSENT)
        self._replace = client.register_script(_REPLACE)
        self._pool = pool

    def on_disabled(self) -> None:
        """Forget the pool (the pool service owns the connections)."""
        self._pool = None

    def _call(self, operation: Callable[[redis.Redis], _T]) -> _T:
        import redis
        pool = self._pool
        if pool is None:
            raise ProcessingError("the Redis map cache is not enabled")
        try:
            return operation(pool.client())
        except redis.RedisError as exc:
            raise ProcessingError(f"Redis: {exc}") from None

    def _px(self) -> int | None:
        return self._ttl_ms if self._ttl_ms > 0 else None

    def get(self, key: str) -> bytes | None:
        """The value of ``key``, or None (``GET``)."""
        return cast("bytes | None", self._call(lambda r: r.get(key)))

    def put(self, key: str, value: bytes) -> None:
        """Set ``key`` to ``value`` (``SET``, with the TTL)."""
        self._call(lambda r: r.set(key, bytes(value), px=self._px()))

    def put_if_absent(self, key: str, value: bytes) -> bool:
        """Set ``key`` only if it has no value (``SET NX``); whether it was set."""
        return bool(self._call(lambda r: r.set(key, bytes(value), px=self._px(), nx=True)))

    def get_and_put_if_absent(self, key: str, value: bytes) -> bytes | None:
        """The existing value, or None after setting ``value`` (one script)."""
        return self._call(  # type: ignore[no-any-return]
            lambda r: self._get_and_put(keys=[key], args=[bytes(value), self._ttl_ms], client=r))

    def contains_key(self, key: str) -> bool:
        """Whether ``key`` has a value (``EXISTS``)."""
        return bool(self._call(lambda r: r.exists(key)))

    def remove(self, key: str) -> bool:
        """Remove ``key`` (``DEL``); whether it had a value."""
        return bool(self._call(lambda r: r.delete(key)))

    def sub_map(self, keys: Iterable[str]) -> dict[str, bytes | None]:
        """The value (or None) of each key, read by one ``MGET``."""
        wanted = list(keys)
        if not wanted:
            return {}
        values = self._call(lambda r: r.mget(wanted))
        return dict(zip(wanted, cast("list[bytes | None]", values), strict=True))

    def fetch(self, key: str) -> tuple[bytes, object] | None:
        """The value and its revision (the value itself)."""
        value = self.get(key)
        return None if value is None else (value, value)

    def replace(self, key: str, value: bytes | None, revision: object | None) -> bool:
        """Compare-and-set (or compare-and-remove when ``value`` is None) in one script."""
        if revision is not None and not isinstance(revision, bytes | bytearray):
            return False
        args = [
            "1" if revision is None else "0",
            bytes(revision) if revision is not None else b"",
            "1" if value is None else "0",
            bytes(value) if value is not None else b"",
            self._ttl_ms,
        ]
        return bool(self._call(lambda r: self._replace(keys=[key], args=args, client=r)))
