"""JDBC URLs mapped to Python DB-API drivers, and how their errors are classified.

flowyard has no JVM, so a ``jdbc:`` URL chooses a Python driver:

- ``jdbc:postgresql://host[:port]/database[?libpq parameters]`` (or ``jdbc:postgresql:database``)
  → psycopg 3;
- ``jdbc:mariadb://host[:port]/database`` and ``jdbc:mysql://host[:port]/database`` → PyMySQL.

Every connection is opened in autocommit mode, JDBC's default; a processor that
needs a transaction turns it off and the pool turns it back on when the
connection is returned.

Errors: ``JdbcUrlError`` (a URL no driver takes, raised before connecting) is a
``ValueError``. Driver errors stay the driver's own PEP 249 exceptions;
``is_connection_problem`` and ``is_transient`` say what NiFi would make of
them (a ``SQLTransientException`` or a lost connection is worth retrying, a
``SQLNonTransientException`` is not).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "JdbcTarget",
    "JdbcUrlError",
    "connect",
    "get_autocommit",
    "is_connection_problem",
    "is_mariadb",
    "is_open",
    "is_transient",
    "parse_jdbc_url",
    "reset_statement_timeout",
    "set_autocommit",
    "set_statement_timeout",
]

POSTGRESQL = "postgresql"
MYSQL = "mysql"

_URL = re.compile(r"jdbc:(?P<scheme>postgresql|mariadb|mysql):(?://(?P<hosts>[^/?]*))?/?(?P<db>[^?]*)(?:\?(?P<q>.*))?",
                  re.IGNORECASE | re.DOTALL)


class JdbcUrlError(ValueError):
    """A Database Connection URL that no driver flowyard has accepts."""


@dataclass(frozen=True, slots=True)
class JdbcTarget:
    """Where a JDBC URL points: the driver ``dialect`` (``postgresql`` or ``mysql``) and its parameters."""

    dialect: str
    host: str
    port: int
    database: str
    parameters: dict[str, str] = field(default_factory=dict)


def parse_jdbc_url(url: str) -> JdbcTarget:
    """The target of ``url``; raises ``JdbcUrlError`` naming the URL when no driver takes it."""
    match = _URL.fullmatch(url.strip())
    if match is None:
        raise JdbcUrlError(
            f"Database Connection URL {url!r} is not supported: flowyard connects to jdbc:postgresql:// "
            "(psycopg) and jdbc:mariadb:// or jdbc:mysql:// (PyMySQL) URLs only")
    scheme = match["scheme"].lower()
    dialect = POSTGRESQL if scheme == POSTGRESQL else MYSQL
    hosts = match["hosts"] or ""
    if "," in hosts:
        raise JdbcUrlError(f"Database Connection URL {url!r}: several hosts (failover) are not supported")
    host, _, port_text = hosts.rpartition(":") if hosts.count(":") == 1 else (hosts, "", "")
    default_port = 5432 if dialect == POSTGRESQL else 3306
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise JdbcUrlError(f"Database Connection URL {url!r}: port {port_text!r} is not a number") from None
    if not 0 < port < 65536:
        raise JdbcUrlError(f"Database Connection URL {url!r}: port {port} is out of range")
    parameters = dict(parse_qsl(match["q"] or "", keep_blank_values=True))
    return JdbcTarget(dialect, unquote(host) or "localhost", port, unquote(match["db"]), parameters)


def connect(target: JdbcTarget, user: str | None, password: str | None, *, connect_timeout: float,
            properties: dict[str, str] | None = None) -> Any:
    """A new DB-API connection to ``target`` in autocommit mode. ``properties`` are
    driver options (NiFi's JDBC dynamic properties), merged over the URL's parameters.
    Raises the driver's ``OperationalError`` when the server cannot be reached."""
    options = {**target.parameters, **(properties or {})}
    timeout = max(1, int(connect_timeout + 0.999))
    if target.dialect == POSTGRESQL:
        import psycopg

        kwargs: dict[str, Any] = {"host": target.host, "port": target.port, "connect_timeout": timeout,
                                  "autocommit": True}
        if target.database:
            kwargs["dbname"] = target.database
        if user:
            kwargs["user"] = user
        if password:
            kwargs["password"] = password
        # libpq names only: JDBC driver options such as currentSchema mean nothing to libpq
        kwargs.update({k: v for k, v in options.items() if k not in ("user", "password")})
        return psycopg.connect(**kwargs)
    import pymysql

    return pymysql.connect(host=target.host, port=target.port, user=user or None, password=password or "",
                           database=target.database or None, connect_timeout=timeout, autocommit=True,
                           charset="utf8mb4")


def is_open(connection: Any) -> bool:
    """Whether ``connection`` is still usable (not closed, not broken)."""
    closed = getattr(connection, "closed", None)
    if isinstance(closed, bool):  # psycopg
        return not closed and not getattr(connection, "broken", False)
    return bool(getattr(connection, "open", False))  # PyMySQL


#: MySQL/MariaDB errors worth retrying: lock wait timeout, deadlock, statement timeout (MariaDB 1969
#: ER_STATEMENT_TIMEOUT, MySQL 3024 ER_QUERY_TIMEOUT: NiFi's SQLTimeoutException is transient, as
#: PostgreSQL's QueryCanceled is here), and the client's connection errors.
_MYSQL_TRANSIENT = frozenset({1205, 1213, 1969, 2002, 2003, 2006, 2013, 2055, 3024})


def is_connection_problem(exc: BaseException, connection: Any | None = None) -> bool:
    """Whether ``exc`` means the database could not be reached or the connection was lost."""
    if connection is not None and not is_open(connection):
        return True
    module = type(exc).__module__
    if module.startswith("psycopg"):
        import psycopg

        return isinstance(exc, psycopg.OperationalError) and connection is None
    if module.startswith("pymysql"):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        return 2000 <= code < 3000
    return isinstance(exc, (ConnectionError, TimeoutError))


def is_transient(exc: BaseException, connection: Any | None = None) -> bool:
    """Whether retrying the same statement later may succeed (NiFi's ``SQLTransientException``):
    a connection problem, a deadlock, a serialization failure or a lock wait timeout."""
    if is_connection_problem(exc, connection):
        return True
    module = type(exc).__module__
    if module.startswith("psycopg"):
        import psycopg.errors

        return isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                                psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled))
    if module.startswith("pymysql"):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        return code in _MYSQL_TRANSIENT
    return False


def get_autocommit(connection: Any) -> bool:
    """Whether ``connection`` commits every statement by itself."""
    mode = getattr(connection, "autocommit_mode", None)  # PyMySQL: autocommit() is a method
    if mode is not None:
        return bool(mode)
    return bool(connection.autocommit)


def set_autocommit(connection: Any, on: bool) -> None:
    """Turn autocommit on or off (ends no transaction: roll back or commit first)."""
    if callable(getattr(connection, "autocommit", None)):
        connection.autocommit(on)
    else:
        connection.autocommit = on


#: Connections whose session statement timeout a processor changed, with their dialect: the pool resets
#: them when they come back (``reset_statement_timeout``), so no later borrower is cancelled by it.
_TIMEOUT_SET: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
#: Whether a MySQL-protocol connection's server is MariaDB (asked once per connection).
_MARIADB: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _dialect_of(connection: Any) -> str:
    return POSTGRESQL if type(connection).__module__.startswith("psycopg") else MYSQL


def is_mariadb(connection: Any) -> bool:
    """Whether ``connection`` (PyMySQL) talks to MariaDB rather than MySQL; ``SELECT VERSION()`` is asked
    once per connection."""
    known = _MARIADB.get(connection)
    if known is None:
        cursor = connection.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            row = cursor.fetchone()
        finally:
            cursor.close()
        known = "mariadb" in str(row[0] if row else "").lower()
        _MARIADB[connection] = known
    return known


def _timeout_statement(connection: Any, dialect: str, seconds: int | None) -> str:
    """The statement setting the session statement timeout to ``seconds`` (None: the server default)."""
    if dialect == POSTGRESQL:
        return "RESET statement_timeout" if seconds is None else f"SET statement_timeout = {int(seconds) * 1000}"
    value = "DEFAULT" if seconds is None else None
    if is_mariadb(connection):  # seconds, fractions allowed
        return f"SET SESSION max_statement_time = {value or int(seconds or 0)}"
    # MySQL: milliseconds, SELECT statements only
    return f"SET SESSION max_execution_time = {value or int(seconds or 0) * 1000}"


def set_statement_timeout(cursor: Any, seconds: int) -> None:
    """Make the server cancel this session's statements after ``seconds`` (0: never): PostgreSQL
    ``statement_timeout``, MariaDB ``max_statement_time``, MySQL ``max_execution_time``. A connection
    given a timeout is marked, and ``reset_statement_timeout`` (run by the pool when the connection comes
    back) puts the server default back, whatever the processor did since."""
    connection = cursor.connection
    dialect = _dialect_of(connection)
    if seconds > 0:
        _TIMEOUT_SET[connection] = dialect
    cursor.execute(_timeout_statement(connection, dialect, seconds))


def reset_statement_timeout(connection: Any) -> None:
    """Put the server's default statement timeout back on ``connection`` if a processor set one. Call it
    outside a transaction (autocommit on) so that the reset is not rolled back. Raises the driver's error."""
    try:
        dialect = _TIMEOUT_SET.get(connection)
    except TypeError:  # not weak-referenceable, so never marked (a test double)
        return
    if dialect is None:
        return
    cursor = connection.cursor()
    try:
        cursor.execute(_timeout_statement(connection, dialect, None))
    finally:
        cursor.close()
    _TIMEOUT_SET.pop(connection, None)
