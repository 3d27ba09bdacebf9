"""The ``DBCPService`` API and ``DBCPConnectionPool``: pooled connections to a
relational database, shared by the SQL processors.

A processor names the service in a property with
``identifies_controller_service=DBCP_SERVICE`` and borrows a DB-API 2.0
connection for one unit of work::

    pool = context.property(DBCP).as_controller_service(DBCPService)
    with pool.get_connection() as conn:       # raises PoolError / the driver's error
        cur = conn.cursor()
        cur.execute("SELECT 1")

The connection is in autocommit mode (JDBC's default); whatever the block
leaves uncommitted is rolled back when it is given back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flowyard.processors._db_drivers import JdbcTarget, JdbcUrlError, connect, parse_jdbc_url
from flowyard.processors._db_pool import ConnectionPool, PoolClosedError
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    parse_duration,
    validators,
)

__all__ = ["DBCP_SERVICE", "DBCPConnectionPool", "DBCPService", "dialect_of"]

DBCP_SERVICE = "DBCPService"
"""API name of database connection pools (NiFi's ``DBCPService``)."""

_ENV = ExpressionScope.ENVIRONMENT


def _check_period_or_negative(value: str) -> str | None:
    text = value.strip()
    if text.lstrip("-").isdigit() and text.startswith("-"):
        return None
    try:
        parse_duration(text)
    except ValueError as exc:
        return str(exc)
    return None


PERIOD_OR_NEGATIVE = validators.Validator(
    "time period or -1", "a time period such as '500 millis', or -1 for none", _check_period_or_negative)


class DBCPService:
    """The ``DBCPService`` API: a source of DB-API connections."""

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        """A DB-API 2.0 connection (autocommit on) for the caller alone during the
        block; rolled back and returned to the pool afterwards. Raises
        ``PoolError`` (a ``ConnectionError``) when none is free within Max Wait
        Time or the service is disabled, or the driver's ``OperationalError``
        when the database cannot be reached."""
        raise NotImplementedError
        yield  # pragma: no cover

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``mysql`` (MariaDB and MySQL): the SQL dialect of the database."""
        raise NotImplementedError

    @property
    def connection_url(self) -> str:
        """The JDBC URL connections go to (for provenance transit URIs)."""
        raise NotImplementedError


def dialect_of(service: DBCPService) -> str:
    """The dialect of ``service`` (``postgresql`` or ``mysql``)."""
    return service.dialect


URL = PropertySpec(
    key="database-connection-url", display_name="Database Connection URL",
    description="The JDBC URL of the database: jdbc:postgresql://host:port/database, jdbc:mariadb://host:port/database "
                "or jdbc:mysql://host:port/database.",
    required=True, expression_scope=_ENV, validator=validators.NON_EMPTY,
)
DRIVER_CLASS = PropertySpec(
    key="database-driver-class-name", display_name="Database Driver Class Name",
    description="The JDBC driver class NiFi would load (e.g. org.postgresql.Driver); kept for flows from NiFi, "
                "flowyard picks its Python driver from the URL.",
    required=True, expression_scope=_ENV, validator=validators.NON_EMPTY,
)
DRIVER_LOCATIONS = PropertySpec(
    key="database-driver-locations", display_name="Database Driver Locations",
    description="Where NiFi finds the driver's JAR files; accepted and not used (the Python drivers are installed).",
    expression_scope=_ENV, aliases=("Database Driver Location(s)",),
)
KERBEROS_USER_SERVICE = PropertySpec(
    key="kerberos-user-service", display_name="Kerberos User Service",
    description="Kerberos authentication; not supported by flowyard (validation refuses a value).",
    identifies_controller_service="KerberosUserService",
)
USER = PropertySpec(
    key="database-user", display_name="Database User", description="The user to log in as.", expression_scope=_ENV,
)
PASSWORD_SOURCE = PropertySpec(
    key="password-source", display_name="Password Source", description="Where the password comes from.",
    required=True, default="PASSWORD",
    allowed_values=(AllowableValue("PASSWORD", "Password", "The Password property."),
                    AllowableValue("PASSWORD_PROVIDER", "Password Provider",
                                   "A password provider service (not supported by flowyard).")),
)
PASSWORD = PropertySpec(
    key="password", display_name="Password", description="The password of the user.", expression_scope=_ENV,
    sensitive=True, dependencies=(PropertyDependency("password-source", ("PASSWORD",)),),
)
PASSWORD_PROVIDER = PropertySpec(
    key="database-password-provider", display_name="Database Password Provider",
    description="A service supplying the password; not supported by flowyard.", required=True,
    identifies_controller_service="DatabasePasswordProvider",
    dependencies=(PropertyDependency("password-source", ("PASSWORD_PROVIDER",)),),
)
MAX_WAIT = PropertySpec(
    key="max-wait-time", display_name="Max Wait Time",
    description="How long a borrower waits for a free connection before failing; -1 waits for ever.",
    required=True, default="500 millis", expression_scope=_ENV, validator=PERIOD_OR_NEGATIVE,
)
MAX_TOTAL = PropertySpec(
    key="max-total-connections", display_name="Max Total Connections",
    description="The most connections open at once; a negative number sets no limit.",
    required=True, default="8", expression_scope=_ENV, validator=validators.INTEGER,
)
VALIDATION_QUERY = PropertySpec(
    key="validation-query", display_name="Validation Query",
    description="A query run on an idle connection before it is handed out (e.g. SELECT 1); a connection on "
                "which it fails is closed and replaced.",
    expression_scope=_ENV, aliases=("Validation-query",),
)
MIN_IDLE = PropertySpec(
    key="dbcp-min-idle-conns", display_name="Minimum Idle Connections",
    description="Accepted for NiFi flows; flowyard opens connections only on demand.",
    default="0", expression_scope=_ENV, validator=validators.NON_NEGATIVE_INTEGER,
)
MAX_IDLE = PropertySpec(
    key="dbcp-max-idle-conns", display_name="Maximum Idle Connections",
    description="The most unused connections kept open; a negative number keeps them all.",
    default="8", expression_scope=_ENV, validator=validators.INTEGER,
)
MAX_LIFETIME = PropertySpec(
    key="dbcp-max-conn-lifetime", display_name="Maximum Connection Lifetime",
    description="A connection older than this is closed instead of reused; -1 for no limit.",
    default="-1", expression_scope=_ENV, validator=PERIOD_OR_NEGATIVE,
)
EVICTION_RUNS = PropertySpec(
    key="dbcp-time-between-eviction-runs", display_name="Time Between Eviction Runs",
    description="Accepted for NiFi flows; flowyard checks idle connections when they are borrowed instead of "
                "in a background thread.",
    default="-1", expression_scope=_ENV, validator=PERIOD_OR_NEGATIVE,
)
MIN_EVICTABLE_IDLE = PropertySpec(
    key="dbcp-min-evictable-idle-time", display_name="Minimum Evictable Idle Time",
    description="A connection idle longer than this is closed instead of reused.",
    default="30 mins", expression_scope=_ENV, validator=PERIOD_OR_NEGATIVE,
)
SOFT_MIN_EVICTABLE_IDLE = PropertySpec(
    key="dbcp-soft-min-evictable-idle-time", display_name="Soft Minimum Evictable Idle Time",
    description="Accepted for NiFi flows; not used (there is no minimum of idle connections to keep).",
    default="-1", expression_scope=_ENV, validator=PERIOD_OR_NEGATIVE,
)


def _seconds(text: str) -> float:
    text = text.strip()
    if text.startswith("-"):
        return -1.0
    return parse_duration(text)


class DBCPConnectionPool(ControllerService, DBCPService):
    """A bounded, thread-safe pool of connections to PostgreSQL (psycopg 3) or
    MariaDB/MySQL (PyMySQL), chosen by the Database Connection URL; any other
    URL is a validation error naming it. At most Max Total Connections are
    open at once; a borrower waits up to Max Wait Time and then fails with a
    clear error. The Validation Query runs on each idle connection before it is
    handed out. Disabling the service closes the idle connections at once and
    the borrowed ones when they come back. Dynamic properties are driver
    options: libpq connection parameters for PostgreSQL (e.g. ``sslmode``),
    as are the URL's query parameters; they are ignored for MariaDB/MySQL.

    The ``DBCPService`` API: ``get_connection()`` is a context manager yielding
    a DB-API 2.0 connection in autocommit mode; what is left uncommitted is
    rolled back when the block ends.

    Differences from NiFi: there is no JVM, so Database Driver Class Name and
    Database Driver Locations are accepted and not used (the driver follows the
    URL); only ``jdbc:postgresql``, ``jdbc:mariadb`` and ``jdbc:mysql`` URLs
    with one host are supported. Kerberos User Service and Database Password
    Provider are listed but not supported: a Kerberos service or Password
    Source "Password Provider" is refused by validation. Idle connections are checked when borrowed, not by a
    background evictor: Time Between Eviction Runs, Minimum Idle Connections
    and Soft Minimum Evictable Idle Time are accepted and not used. Connection
    opening is bounded by Max Wait Time (at least one second).
    """

    spec = ControllerServiceSpec(
        description="Hands out pooled connections to a relational database (PostgreSQL, MariaDB or MySQL) named "
                    "by a JDBC URL, with a bound on the number of connections and on the wait for a free one.",
        provides=(DBCP_SERVICE,),
        tags=("dbcp", "jdbc", "database", "connection", "pooling", "store", "sql", "postgresql", "mysql"),
        properties=(URL, DRIVER_CLASS, DRIVER_LOCATIONS, KERBEROS_USER_SERVICE, USER, PASSWORD_SOURCE, PASSWORD,
                    PASSWORD_PROVIDER, MAX_WAIT, MAX_TOTAL,
                    VALIDATION_QUERY, MIN_IDLE, MAX_IDLE, MAX_LIFETIME, EVICTION_RUNS, MIN_EVICTABLE_IDLE,
                    SOFT_MIN_EVICTABLE_IDLE),
        dynamic_properties=DynamicPropertySpec(
            name_description="A driver connection option (libpq parameter for PostgreSQL)",
            value_description="The option's value", expression_scope=_ENV, sensitive=True),
    )

    def __init__(self) -> None:
        self._pool: ConnectionPool | None = None
        self._target: JdbcTarget | None = None
        self._url = ""

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """The URL must name a supported driver; the password provider is not supported."""
        results = []
        url = context.property(URL).evaluate().as_str()
        try:
            parse_jdbc_url(url)
        except JdbcUrlError as exc:
            results.append(ValidationResult(URL.display_name, str(exc), URL.key))
        if context.property(PASSWORD_SOURCE).as_str() != "PASSWORD":
            results.append(ValidationResult(PASSWORD_SOURCE.display_name,
                                            "a password provider service is not supported; use Password",
                                            PASSWORD_SOURCE.key))
        if context.property(KERBEROS_USER_SERVICE).value:
            results.append(ValidationResult(KERBEROS_USER_SERVICE.display_name,
                                            "Kerberos authentication is not supported", KERBEROS_USER_SERVICE.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Build the pool (no connection is opened until one is borrowed)."""
        target = parse_jdbc_url(context.property(URL).evaluate().as_str())
        user = context.property(USER).evaluate().value or None
        password = context.property(PASSWORD).evaluate().value or None
        max_wait = _seconds(context.property(MAX_WAIT).evaluate().as_str())
        options = {name: value.evaluate().as_str() for name, value in context.dynamic_properties.items()
                   if value.value is not None}
        options = {name.removeprefix("SENSITIVE."): value for name, value in options.items()}
        connect_timeout = max_wait if max_wait > 0 else 10.0
        self._target = target
        self._url = context.property(URL).evaluate().as_str().strip()
        self._pool = ConnectionPool(
            lambda: connect(target, user, password, connect_timeout=connect_timeout, properties=options),
            max_total=context.property(MAX_TOTAL).evaluate().as_int(),
            max_wait=max_wait,
            validation_query=context.property(VALIDATION_QUERY).evaluate().value or None,
            max_idle=_max_idle(context.property(MAX_IDLE).evaluate().as_int()),
            max_lifetime=_seconds(context.property(MAX_LIFETIME).evaluate().as_str()),
            min_evictable_idle=_seconds(context.property(MIN_EVICTABLE_IDLE).evaluate().as_str()),
        )

    def on_disabled(self) -> None:
        """Close the pool's connections."""
        if self._pool is not None:
            self._pool.close()

    @contextmanager
    def get_connection(self) -> Iterator[Any]:
        """A pooled connection for the block (see ``DBCPService.get_connection``)."""
        if self._pool is None:
            raise PoolClosedError("the DBCPConnectionPool is not enabled")
        with self._pool.connection() as conn:
            yield conn

    @property
    def dialect(self) -> str:
        """``postgresql`` or ``mysql``."""
        if self._target is None:
            raise PoolClosedError("the DBCPConnectionPool is not enabled")
        return self._target.dialect

    @property
    def connection_url(self) -> str:
        """The configured Database Connection URL."""
        return self._url

    def statistics(self) -> tuple[int, int]:
        """(connections in use, idle connections)."""
        return self._pool.statistics() if self._pool is not None else (0, 0)


def _max_idle(value: int) -> int:
    return 1 << 30 if value < 0 else value
