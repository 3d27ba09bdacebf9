"""The redis family of the standard library. Redis (issue 13): the connection pool, the distributed map cache client
and PutRedisHashRecord.

One owner per family: add each class here once it is complete, and its
type name and module to the lazy ``PROCESSORS`` or ``CONTROLLER_SERVICES``
table of ``flowyard.processors`` (a test pins the tables to the families).
"""

from __future__ import annotations

from flowyard.processors.redis_connection_pool import RedisConnectionPoolService
from flowyard.processors.redis_hash_record import PutRedisHashRecord
from flowyard.processors.redis_map_cache import RedisDistributedMapCacheClientService
from flowyard.runtime.sdk import ControllerService, Processor

__all__ = ["PROCESSORS", "SERVICES"]

PROCESSORS: tuple[type[Processor], ...] = (PutRedisHashRecord,)
SERVICES: tuple[type[ControllerService], ...] = (RedisConnectionPoolService, RedisDistributedMapCacheClientService)
