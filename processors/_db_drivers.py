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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = [
    "JdbcTarget",
    "JdbcUrlError",
    "connect",
    "get_autocommit",
    "is_connection_problem",
    "is_open",
    "is_transient",
    "parse_jdbc_url",
    "set_autocommit",
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


#: MySQL/MariaDB errors worth retrying: lock wait timeout, deadlock, and the client's connection errors.
_MYSQL_TRANSIENT = frozenset({1205, 1213, 2002, 2003, 2006, 2013, 2055})


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
