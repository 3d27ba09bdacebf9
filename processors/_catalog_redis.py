"""The redis family of the standard library. Redis (issue 13): the connection pool, the distributed map cache client
and PutRedisHashRecord.

One owner per family: add each class here once it is complete;
``flowyard.processors`` joins every family into ``PROCESSORS`` and
``CONTROLLER_SERVICES``.
"""

from __future__ import annotations

from flowyard.processors.redis_connection_pool import RedisConnectionPoolService
from flowyard.processors.redis_hash_record import PutRedisHashRecord
from flowyard.processors.redis_map_cache import RedisDistributedMapCacheClientService
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (PutRedisHashRecord,)
SERVICES: tuple[type[ControllerService], ...] = (RedisConnectionPoolService, RedisDistributedMapCacheClientService)
