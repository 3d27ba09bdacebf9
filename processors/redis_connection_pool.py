"""RedisConnectionPoolService: a pool of connections to a Redis server (redis-py),
shared by the Redis-backed services and processors that name it.

Other components ask it for ``client()``, a ``redis.Redis`` bound to the pool;
the client is thread-safe (each command borrows a connection from the pool).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flowyard.processors._common import boolean_property
from flowyard.processors.ssl_context_service import SSL_CONTEXT_SERVICE
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    ProcessingError,
    PropertySpec,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    import redis

__all__ = ["REDIS_CONNECTION_POOL", "RedisConnectionPool", "RedisConnectionPoolService", "parse_connection_string"]

REDIS_CONNECTION_POOL = "RedisConnectionPool"
"""API name of Redis connection pools (NiFi's ``RedisConnectionPool``)."""

STANDALONE = "Standalone"
SENTINEL = "Sentinel"
CLUSTER = "Cluster"


class RedisConnectionPool:
    """The ``RedisConnectionPool`` API: thread-safe Redis clients over one pool."""

    def client(self) -> redis.Redis:
        """A client bound to the pool (safe to share between threads). Raises
        ``ProcessingError`` while the service is not enabled."""
        raise NotImplementedError

    def transit_uri(self) -> str:
        """Where the pool connects, as ``redis://host:port/db`` (for provenance)."""
        raise NotImplementedError


def parse_connection_string(text: str) -> list[tuple[str, int]]:
    """``host:port`` pairs separated by commas, as NiFi writes them; raises
    ``ValueError`` naming the first bad one."""
    nodes = []
    for part in text.split(","):
        item = part.strip()
        host, sep, port = item.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item!r} is not host:port")
        nodes.append((host, int(port)))
    return nodes


def _check_connection_string(value: str) -> str | None:
    try:
        parse_connection_string(value)
    except ValueError as exc:
        return str(exc)
    return None


_CONNECTION_STRING_VALIDATOR = validators.Validator(
    "redis-connection-string", "host:port pairs separated by commas", _check_connection_string)

REDIS_MODE = PropertySpec(
    key="redis-mode",
    display_name="Redis Mode",
    description="How the Redis servers are deployed. Only Standalone is supported so far.",
    required=True,
    default=STANDALONE,
    allowed_values=(
        AllowableValue(STANDALONE, description="One Redis server."),
        AllowableValue(SENTINEL, description="Servers watched by Sentinels (not supported yet)."),
        AllowableValue(CLUSTER, description="A Redis Cluster (not supported yet)."),
    ),
)
CONNECTION_STRING = PropertySpec(
    key="connection-string",
    display_name="Connection String",
    description="Where the server listens, as host:port (Standalone takes exactly one).",
    required=True,
    validator=_CONNECTION_STRING_VALIDATOR,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
DATABASE_INDEX = PropertySpec(
    key="database-index",
    display_name="Database Index",
    description="The number of the Redis database to use.",
    required=True,
    default="0",
    validator=validators.NON_NEGATIVE_INTEGER,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
COMMUNICATION_TIMEOUT = PropertySpec(
    key="communication-timeout",
    display_name="Communication Timeout",
    description="How long to wait when connecting and for each reply before the command fails.",
    required=True,
    default="10 seconds",
    validator=validators.TIME_PERIOD,
)
CLUSTER_MAX_REDIRECTS = PropertySpec(
    key="cluster-max-redirects",
    display_name="Cluster Max Redirects",
    description="How many cluster redirects a command may follow (Cluster mode; not supported yet).",
    required=True,
    default="5",
    validator=validators.NON_NEGATIVE_INTEGER,
)
SENTINEL_MASTER = PropertySpec(
    key="sentinel-master",
    display_name="Sentinel Master",
    description="The name of the master the Sentinels watch (Sentinel mode; not supported yet).",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
USERNAME = PropertySpec(
    key="username",
    display_name="Username",
    description="The user to authenticate as (Redis 6 ACLs); unset: the default user.",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
PASSWORD = PropertySpec(
    key="password",
    display_name="Password",
    description="The password to authenticate with; unset: no authentication.",
    sensitive=True,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
SENTINEL_USERNAME = PropertySpec(
    key="sentinel-username",
    display_name="Sentinel Username",
    description="The user to authenticate to the Sentinels as (Sentinel mode; not supported yet).",
    expression_scope=ExpressionScope.ENVIRONMENT,
)
SENTINEL_PASSWORD = PropertySpec(
    key="sentinel-password",
    display_name="Sentinel Password",
    description="The password for the Sentinels (Sentinel mode; not supported yet).",
    sensitive=True,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service",
    display_name="SSL Context Service",
    description="TLS to the server (not supported yet: leave unset).",
    identifies_controller_service=SSL_CONTEXT_SERVICE,
)
POOL_MAX_TOTAL = PropertySpec(
    key="pool-max-total",
    display_name="Pool - Max Total",
    description="The most connections the pool opens at once.",
    required=True,
    default="8",
    validator=validators.POSITIVE_INTEGER,
)
POOL_MAX_IDLE = PropertySpec(
    key="pool-max-idle",
    display_name="Pool - Max Idle",
    description="Accepted for NiFi flows; redis-py keeps every returned connection open.",
    required=True,
    default="8",
    validator=validators.INTEGER,
)
POOL_MIN_IDLE = PropertySpec(
    key="pool-min-idle",
    display_name="Pool - Min Idle",
    description="Accepted for NiFi flows; redis-py opens connections only when they are needed.",
    required=True,
    default="0",
    validator=validators.INTEGER,
)
POOL_BLOCK_WHEN_EXHAUSTED = boolean_property(
    "pool-block-when-exhausted",
    "Pool - Block When Exhausted",
    "Whether a command waits (up to Pool - Max Wait Time) for a free connection when all are in use; "
    "false: it fails at once.",
    "true",
)
POOL_MAX_WAIT_TIME = PropertySpec(
    key="pool-max-wait-time",
    display_name="Pool - Max Wait Time",
    description="How long a command waits for a free connection when the pool blocks when exhausted.",
    required=True,
    default="10 seconds",
    validator=validators.TIME_PERIOD,
)
POOL_MIN_EVICTABLE_IDLE_TIME = PropertySpec(
    key="pool-min-evictable-idle-time",
    display_name="Pool - Min Evictable Idle Time",
    description="Accepted for NiFi flows; idle connections are not evicted.",
    required=True,
    default="60 seconds",
    validator=validators.TIME_PERIOD,
)
POOL_TIME_BETWEEN_EVICTION_RUNS = PropertySpec(
    key="pool-time-between-eviction-runs",
    display_name="Pool - Time Between Eviction Runs",
    description="Accepted for NiFi flows; there are no eviction runs.",
    required=True,
    default="30 seconds",
    validator=validators.TIME_PERIOD,
)
POOL_NUM_TESTS_PER_EVICTION_RUN = PropertySpec(
    key="pool-num-tests-per-eviction-run",
    display_name="Pool - Num Tests Per Eviction Run",
    description="Accepted for NiFi flows; there are no eviction runs.",
    required=True,
    default="-1",
    validator=validators.INTEGER,
)
POOL_TEST_ON_CREATE = boolean_property(
    "pool-test-on-create", "Pool - Test On Create",
    "Whether a new connection is checked with PING before use.", "false")
POOL_TEST_ON_BORROW = boolean_property(
    "pool-test-on-borrow", "Pool - Test On Borrow",
    "Whether a pooled connection is checked with PING before each use.", "false")
POOL_TEST_ON_RETURN = boolean_property(
    "pool-test-on-return", "Pool - Test On Return",
    "Accepted for NiFi flows; connections are not checked when returned.", "false")
POOL_TEST_WHILE_IDLE = boolean_property(
    "pool-test-while-idle", "Pool - Test While Idle",
    "Accepted for NiFi flows; idle connections are not checked.", "true")


class RedisConnectionPoolService(ControllerService, RedisConnectionPool):
    """A pool of connections to one Redis server (redis-py), for the Redis map
    cache client and other Redis components.

    Enabling connects once and sends PING, so a wrong address, database or
    password keeps the service disabled with the server's reason. Commands
    that find a broken pooled connection reconnect once.

    Differences from NiFi: only the Standalone mode is supported — Sentinel
    and Cluster are listed, as NiFi lists them, but make the service invalid
    with a reason (no such deployment could be tested here); so Cluster Max
    Redirects and the Sentinel properties have no effect. TLS is not
    supported yet: an SSL Context Service makes the service invalid. redis-py's
    pool differs from Jedis's: Pool - Max Idle, Min Idle, Min Evictable Idle
    Time, Time Between Eviction Runs, Num Tests Per Eviction Run, Test On
    Return and Test While Idle are accepted (so NiFi flows load) but have no
    effect; Test On Create or Test On Borrow make redis-py check a connection
    before use (its health check).
    """

    spec = ControllerServiceSpec(
        description=(
            "Keeps a pool of connections to a Redis server for the Redis map cache client and other Redis "
            "components."
        ),
        provides=(REDIS_CONNECTION_POOL,),
        tags=("redis", "cache", "connection", "pool"),
        properties=(
            REDIS_MODE, CONNECTION_STRING, DATABASE_INDEX, COMMUNICATION_TIMEOUT, CLUSTER_MAX_REDIRECTS,
            SENTINEL_MASTER, USERNAME, PASSWORD, SENTINEL_USERNAME, SENTINEL_PASSWORD, SSL_CONTEXT,
            POOL_MAX_TOTAL, POOL_MAX_IDLE, POOL_MIN_IDLE, POOL_BLOCK_WHEN_EXHAUSTED, POOL_MAX_WAIT_TIME,
            POOL_MIN_EVICTABLE_IDLE_TIME, POOL_TIME_BETWEEN_EVICTION_RUNS, POOL_NUM_TESTS_PER_EVICTION_RUN,
            POOL_TEST_ON_CREATE, POOL_TEST_ON_BORROW, POOL_TEST_ON_RETURN, POOL_TEST_WHILE_IDLE,
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: redis.Redis | None = None
        self._uri = "redis://"

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Standalone only, one host:port, no TLS."""
        results = []
        mode = context.property(REDIS_MODE).as_str()
        if mode != STANDALONE:
            results.append(ValidationResult(
                REDIS_MODE.display_name, f"the {mode} mode is not supported yet (only Standalone)", REDIS_MODE.key))
        else:
            try:
                nodes = parse_connection_string(context.property(CONNECTION_STRING).evaluate().value or "")
            except ValueError as exc:
                nodes = []
                results.append(ValidationResult(CONNECTION_STRING.display_name, str(exc), CONNECTION_STRING.key))
            if len(nodes) > 1:
                results.append(ValidationResult(
                    CONNECTION_STRING.display_name, "the Standalone mode takes exactly one host:port",
                    CONNECTION_STRING.key))
        if context.properties.get(SSL_CONTEXT.key):
            results.append(ValidationResult(
                SSL_CONTEXT.display_name, "TLS to Redis is not supported yet", SSL_CONTEXT.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Build the pool and PING the server; raises ``ProcessingError`` with
        the server's reason when it cannot be reached or refuses the login."""
        import redis
        ((host, port),) = parse_connection_string(context.property(CONNECTION_STRING).evaluate().value or "")
        timeout = context.property(COMMUNICATION_TIMEOUT).as_duration()
        checked = context.property(POOL_TEST_ON_BORROW).as_bool() or context.property(POOL_TEST_ON_CREATE).as_bool()
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "db": int(context.property(DATABASE_INDEX).evaluate().value or "0"),
            "username": context.property(USERNAME).evaluate().value or None,
            "password": context.property(PASSWORD).evaluate().value or None,
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry_on_timeout": False,
            "health_check_interval": 1 if checked else 0,
            "max_connections": context.property(POOL_MAX_TOTAL).as_int(),
        }
        pool: redis.ConnectionPool
        if context.property(POOL_BLOCK_WHEN_EXHAUSTED).as_bool():
            pool = redis.BlockingConnectionPool(  # type: ignore[no-untyped-call]
                timeout=context.property(POOL_MAX_WAIT_TIME).as_duration(), **options)
        else:
            pool = redis.ConnectionPool(**options)
        client = redis.Redis(connection_pool=pool)
        try:
            client.ping()
        except redis.RedisError as exc:
            pool.disconnect()
            raise ProcessingError(f"cannot reach Redis at {host}:{port}: {exc}") from None
        with self._lock:
            self._client = client
            self._uri = f"redis://{host}:{port}/{options['db']}"

    def on_disabled(self) -> None:
        """Close every connection of the pool."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.connection_pool.disconnect()

    def client(self) -> redis.Redis:
        """A client bound to the pool; raises ``ProcessingError`` while disabled."""
        client = self._client
        if client is None:
            raise ProcessingError("the Redis connection pool is not enabled")
        return client

    def transit_uri(self) -> str:
        """``redis://host:port/db`` of the server."""
        return self._uri
