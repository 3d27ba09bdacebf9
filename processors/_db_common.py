"""What the SQL processors share: property specs that differ only by key or Expression Language
scope, the options of a result writer, and streaming of result rows.

Property keys, display names, defaults and descriptions are NiFi's (the conformance test checks
them); each processor still declares its own spec objects, made here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from flowyard.processors.dbcp_connection_pool import DBCP_SERVICE
from flowyard.runtime.sdk import ExpressionScope, ProcessContext, PropertySpec, validators

__all__ = ["connection_pool_property", "default_precision_property", "default_scale_property", "fetch_rows",
           "open_cursor", "writer_options"]

_LOGICAL_TYPES_KEY = "dbf-user-logical-types"
_DEFAULT_PRECISION_KEY = "dbf-default-precision"
_DEFAULT_SCALE_KEY = "dbf-default-scale"


def connection_pool_property(key: str, display_name: str = "Database Connection Pooling Service") -> PropertySpec:
    """The required property naming the DBCPService, under ``key``."""
    return PropertySpec(
        key=key, display_name=display_name,
        description="The connection pool that gives the connection to the database.", required=True,
        identifies_controller_service=DBCP_SERVICE,
    )


def default_precision_property(scope: ExpressionScope) -> PropertySpec:
    """NiFi's Default Decimal Precision, with Expression Language of ``scope``."""
    return PropertySpec(
        key=_DEFAULT_PRECISION_KEY, display_name="Default Decimal Precision",
        description="The precision of a DECIMAL/NUMERIC column whose type has none, with logical types.",
        required=True, default="10", expression_scope=scope, validator=validators.POSITIVE_INTEGER,
    )


def default_scale_property(scope: ExpressionScope) -> PropertySpec:
    """NiFi's Default Decimal Scale, with Expression Language of ``scope``."""
    return PropertySpec(
        key=_DEFAULT_SCALE_KEY, display_name="Default Decimal Scale",
        description="The scale of a DECIMAL/NUMERIC column whose type has none, with logical types.",
        required=True, default="0", expression_scope=scope, validator=validators.NON_NEGATIVE_INTEGER,
    )


def writer_options(context: ProcessContext, normalize: PropertySpec,
                   attributes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The keyword options of an Avro or record result writer (``_db_avro``): the processor's ``normalize``
    property, Use Avro Logical Types, and Default Decimal Precision / Scale evaluated against
    ``attributes``."""
    prop = context.property
    return {"normalize": prop(normalize).as_bool(), "logical_types": prop(_LOGICAL_TYPES_KEY).as_bool(),
            "default_precision": prop(_DEFAULT_PRECISION_KEY).evaluate(attributes).as_int(),
            "default_scale": prop(_DEFAULT_SCALE_KEY).evaluate(attributes).as_int()}


_LEADING_COMMENTS = re.compile(r"\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*", re.DOTALL)
#: What a cursor cannot be declared for (SELECT INTO, FOR UPDATE/SHARE) or a WITH that changes data.
_NOT_A_CURSOR = re.compile(r"\binto\b|\bfor\s+(?:no\s+key\s+)?(?:update|share|key\s+share)\b", re.IGNORECASE)
_DATA_CHANGING = re.compile(r"\b(?:insert|update|delete|merge)\b", re.IGNORECASE)


def is_plain_query(sql: str) -> bool:
    """Whether ``sql`` is one query a PostgreSQL cursor can be declared for (SELECT, VALUES, TABLE,
    or WITH ... SELECT without data-changing parts), so its rows can stream from the server.
    Errs on the side of no: a query it refuses is simply read the ordinary way."""
    match = _LEADING_COMMENTS.match(sql)
    text = sql[match.end() if match else 0:].strip().rstrip(";").strip()
    if not text or ";" in text or _NOT_A_CURSOR.search(text):
        return False
    first = text.split(None, 1)[0].lower()
    return first in ("select", "values", "table") or (first == "with" and not _DATA_CHANGING.search(text))


def open_cursor(conn: Any, dialect: str, server_side_fetch: int | None = None) -> Any:
    """A cursor whose rows stream: unbuffered for MariaDB/MySQL; for PostgreSQL a server-side cursor
    fetching ``server_side_fetch`` rows at a time when given (the connection must be in a transaction),
    else the driver's ordinary (buffering) cursor."""
    if dialect == "mysql":
        import pymysql.cursors

        return conn.cursor(pymysql.cursors.SSCursor)
    if server_side_fetch is not None:
        cursor = conn.cursor(name=f"flowyard_{uuid.uuid4().hex[:12]}")
        cursor.itersize = server_side_fetch
        return cursor
    return conn.cursor()


def open_query_cursor(conn: Any, dialect: str, sql: str, fetch: int, autocommit: bool) -> Any:
    """A cursor for ``sql`` whose rows stream: for PostgreSQL a server-side cursor (held past the
    commit in autocommit mode) when ``sql`` is a plain query (``is_plain_query``), so a large
    result set never sits whole in memory; otherwise as ``open_cursor``."""
    if dialect == "postgresql" and is_plain_query(sql):
        cursor = conn.cursor(name=f"flowyard_{uuid.uuid4().hex[:12]}", withhold=autocommit)
        cursor.itersize = fetch
        return cursor
    return open_cursor(conn, dialect)


def fetch_rows(cursor: Any, fetch_size: int) -> Iterator[tuple[Any, ...]]:
    """The rows of ``cursor``'s result set, taken ``fetch_size`` at a time."""
    while True:
        batch = cursor.fetchmany(fetch_size)
        if not batch:
            return
        yield from batch
