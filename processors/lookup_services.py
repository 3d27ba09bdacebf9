"""Lookup services: the ``LookupService`` / ``StringLookupService`` /
``RecordLookupService`` APIs and ``SimpleKeyValueLookupService``, a table of
keys and values typed into the service's dynamic properties.

A processor names a lookup service with a property declared as
``PropertySpec(..., identifies_controller_service=STRING_LOOKUP_SERVICE)``
(or ``LOOKUP_SERVICE`` for any kind, as LookupRecord does) and uses it through
``context.property(SPEC).as_controller_service(StringLookupService)``.

Coordinates are a mapping of the service's ``required_keys`` (and optional
keys) to values: text for string lookups, typed values (numbers, dates...)
when they come from records. A ``StringLookupService`` returns text; a
``RecordLookupService`` returns a ``SchemaRecord`` (a record with its schema),
as NiFi's ``RecordLookupService`` returns a ``Record``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flowyard.processors._db_avro import describe, record_schema
from flowyard.processors._records import RecordSchema, coerce, to_text
from flowyard.processors.dbcp_connection_pool import DBCP_SERVICE, DBCPService
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ExpressionScope,
    ProcessingError,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = [
    "LOOKUP_SERVICE",
    "RECORD_LOOKUP_SERVICE",
    "STRING_LOOKUP_SERVICE",
    "DatabaseRecordLookupService",
    "LookupFailureError",
    "LookupService",
    "RecordLookupService",
    "SchemaRecord",
    "SimpleKeyValueLookupService",
    "StringLookupService",
]

LOOKUP_SERVICE = "LookupService"
"""API name of services that map coordinates to a value (NiFi's ``LookupService``)."""
STRING_LOOKUP_SERVICE = "StringLookupService"
"""API name of lookup services whose values are text (NiFi's ``StringLookupService``)."""
RECORD_LOOKUP_SERVICE = "RecordLookupService"
"""API name of lookup services whose values are records (NiFi's ``RecordLookupService``)."""


class LookupFailureError(ProcessingError):
    """A lookup could not be made (bad coordinates, an unreachable source).
    Processors route the flowfile to ``failure``; "not found" is not a failure."""


class LookupService:
    """The ``LookupService`` API: find the value at some coordinates.

    Implementations must be safe to call from several threads at once.
    """

    @property
    def required_keys(self) -> frozenset[str]:
        """The coordinate names every lookup must supply."""
        raise NotImplementedError

    def lookup(self, coordinates: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> object | None:
        """The value at ``coordinates``, or None when there is none. ``attributes``
        are the flowfile's, for services whose lookups depend on them. Raises
        ``LookupFailureError`` when the lookup cannot be made."""
        raise NotImplementedError


class StringLookupService(LookupService):
    """The ``StringLookupService`` API: a ``LookupService`` whose values are text."""

    def lookup(self, coordinates: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> str | None:
        """The text at ``coordinates``, or None; see ``LookupService.lookup``."""
        raise NotImplementedError


@dataclass(frozen=True)
class SchemaRecord:
    """A record found by a ``RecordLookupService``: its values (field name → value, in the
    schema's order) and its schema. Callers must not change ``values``; copy it first."""

    values: Mapping[str, Any]
    schema: RecordSchema


class RecordLookupService(LookupService):
    """The ``RecordLookupService`` API: a ``LookupService`` whose values are records."""

    def lookup(self, coordinates: Mapping[str, Any],
               attributes: Mapping[str, str] | None = None) -> SchemaRecord | None:
        """The record at ``coordinates``, or None; see ``LookupService.lookup``."""
        raise NotImplementedError


KEY = "key"


class SimpleKeyValueLookupService(ControllerService, StringLookupService):
    """Each dynamic property is one entry: its name is the key, its value the
    value. Lookups take the coordinate ``key``.

    Values may use parameters and the environment's Expression Language; they
    are evaluated once, when the service is enabled. The table is replaced as
    a whole on enabling and never changed in place, so lookups need no lock.
    """

    spec = ControllerServiceSpec(
        description=(
            "Allows users to add key/value pairs as dynamic properties. Each property added can be looked up by "
            "its name; the lookup coordinates must contain the key 'key'."
        ),
        provides=(LOOKUP_SERVICE, STRING_LOOKUP_SERVICE),
        tags=("lookup", "enrich", "key", "value"),
        dynamic_properties=DynamicPropertySpec(
            name_description="A key to look up",
            value_description="The value that key maps to",
            expression_scope=ExpressionScope.ENVIRONMENT,
        ),
    )

    def __init__(self) -> None:
        self._values: Mapping[str, str] = MappingProxyType({})

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Evaluate and keep every dynamic property."""
        values = {name: value.evaluate().as_str() for name, value in context.dynamic_properties.items()}
        self._values = MappingProxyType(values)

    def on_disabled(self) -> None:
        """Forget the table."""
        self._values = MappingProxyType({})

    @property
    def required_keys(self) -> frozenset[str]:
        """Only ``key``."""
        return frozenset((KEY,))

    def lookup(self, coordinates: Mapping[str, Any], attributes: Mapping[str, str] | None = None) -> str | None:
        """The value of the dynamic property named ``coordinates['key']`` (as text), or None.
        Raises ``LookupFailureError`` when the coordinates have no ``key``."""
        key = coordinates.get(KEY)
        if key is None:
            raise LookupFailureError(f"lookup coordinates must contain {KEY!r}; found {sorted(coordinates)}")
        return self._values.get(key if isinstance(key, str) else to_text(key))


# -- DatabaseRecordLookupService ----------------------------------------------------------------------

_NAME_PART = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"]+"|`[^`]+`)'
_IDENTIFIER = re.compile(rf"{_NAME_PART}(?:\.{_NAME_PART})*")

DB_DBCP_SERVICE = PropertySpec(
    key="dbrecord-lookup-dbcp-service", display_name="Database Connection Pooling Service",
    description="The connection pool of the database to query.", required=True,
    identifies_controller_service=DBCP_SERVICE,
)
DB_TABLE_NAME = PropertySpec(
    key="dbrecord-lookup-table-name", display_name="Table Name",
    description="The table to query (may be case-sensitive, depending on the database).", required=True,
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_EMPTY,
)
DB_KEY_COLUMN = PropertySpec(
    key="dbrecord-lookup-key-column", display_name="Lookup Key Column",
    description="The column matched against the coordinate 'key'.", required=True,
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_EMPTY,
)
DB_VALUE_COLUMNS = PropertySpec(
    key="dbrecord-lookup-value-columns", display_name="Lookup Value Columns",
    description="Comma-separated columns returned when the key matches (default: all of them).",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_EMPTY,
)
DB_CACHE_SIZE = PropertySpec(
    key="dbrecord-lookup-cache-size", display_name="Cache Size",
    description="How many records found are cached (by table and key); 0 queries the table for every lookup.",
    required=True, default="0", expression_scope=ExpressionScope.ENVIRONMENT,
    validator=validators.NON_NEGATIVE_INTEGER,
)
DB_CLEAR_CACHE = PropertySpec(
    key="dbrecord-lookup-clear-cache-on-enabled", display_name="Clear Cache on Enabled",
    description="Whether the cache is emptied when the service is enabled.", required=True, default="true",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
)
DB_CACHE_EXPIRATION = PropertySpec(
    key="dbrecord-lookup-cache-expiration", display_name="Cache Expiration",
    description="How long a cached record is kept (default: until it is pushed out).",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.TIME_PERIOD,
)
DB_DEFAULT_PRECISION = PropertySpec(
    key="dbf-default-precision", display_name="Default Decimal Precision",
    description="The precision of a DECIMAL/NUMERIC column whose type has none.", required=True, default="10",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.POSITIVE_INTEGER,
)
DB_DEFAULT_SCALE = PropertySpec(
    key="dbf-default-scale", display_name="Default Decimal Scale",
    description="The scale of a DECIMAL/NUMERIC column whose type has none.", required=True, default="0",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=validators.NON_NEGATIVE_INTEGER,
)


class _Cache:
    """A thread-safe LRU cache with an optional time to live."""

    def __init__(self, size: int, ttl: float | None) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[Any, tuple[float, SchemaRecord]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> SchemaRecord | None:
        if self.size <= 0:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if self.ttl is not None and time.monotonic() - item[0] > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: Any, value: SchemaRecord) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = (time.monotonic(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class DatabaseRecordLookupService(ControllerService, RecordLookupService):
    """Looks a key up in a database table through a ``DBCPService`` connection pool: runs
    ``SELECT <Lookup Value Columns or *> FROM <Table Name> WHERE <Lookup Key Column> = ?`` with
    the coordinate ``key`` as the parameter and returns the first row found as a record (the
    columns with their database types, as ExecuteSQL reads them); a blank key finds nothing.

    Table Name, Lookup Value Columns and the decimal defaults are evaluated when the service is
    enabled. Found records are cached (by table and key) up to Cache Size, each for
    Cache Expiration when set; rows not found are not cached. A query that fails raises
    ``LookupFailureError`` with the statement and the database's message.

    Differences from NiFi: the table and column names must be plain or quoted SQL identifiers
    (NiFi pastes any text into the statement); Table Name, Lookup Value Columns and the decimal
    defaults take environment Expression Language only (NiFi also evaluates them against the
    flowfile's attributes, which flowyard services never see in expressions).
    """

    spec = ControllerServiceSpec(
        description="A relational-database-based lookup service: when the key is found in the Lookup Key Column, "
                    "the Lookup Value Columns (or all columns) of the first row are returned as a record.",
        provides=(LOOKUP_SERVICE, RECORD_LOOKUP_SERVICE),
        tags=("lookup", "cache", "enrich", "join", "rdbms", "database", "reloadable", "key", "value", "record"),
        properties=(DB_DBCP_SERVICE, DB_TABLE_NAME, DB_KEY_COLUMN, DB_VALUE_COLUMNS, DB_CACHE_SIZE, DB_CLEAR_CACHE,
                    DB_CACHE_EXPIRATION, DB_DEFAULT_PRECISION, DB_DEFAULT_SCALE),
    )

    def __init__(self) -> None:
        self._context: ConfigurationContext | None = None
        self._pool: DBCPService | None = None
        self._key_column = ""
        self._table = ""
        self._columns: list[str] = []
        self._precision = 10
        self._scale = 0
        self._cache = _Cache(0, None)

    def validate(self, context: ConfigurationContext) -> list[ValidationResult]:
        """The table and column names must be SQL identifiers."""
        results = []
        for spec in (DB_TABLE_NAME, DB_KEY_COLUMN, DB_VALUE_COLUMNS):
            raw = context.property(spec).raw or ""
            if "${" in raw or "#{" in raw:
                continue
            for name in raw.split(",") if spec is DB_VALUE_COLUMNS else [raw]:
                if name.strip() and not _IDENTIFIER.fullmatch(name.strip()):
                    results.append(ValidationResult(spec.display_name, f"{name.strip()!r} is not an SQL name",
                                                    spec.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Keep the pool, the key column and a cache."""
        self._context = context
        self._pool = context.property(DB_DBCP_SERVICE).as_controller_service(DBCPService)
        self._key_column = context.property(DB_KEY_COLUMN).evaluate().as_str().strip()
        self._table = context.property(DB_TABLE_NAME).evaluate().as_str().strip()
        columns_text = context.property(DB_VALUE_COLUMNS).evaluate().raw
        self._columns = list(dict.fromkeys(c.strip() for c in (columns_text or "").split(",") if c.strip()))
        self._precision = context.property(DB_DEFAULT_PRECISION).evaluate().as_int()
        self._scale = context.property(DB_DEFAULT_SCALE).evaluate().as_int()
        for name, what in [(self._table, "Table Name"), (self._key_column, "Lookup Key Column"),
                           *((c, "Lookup Value Columns") for c in self._columns)]:
            if not _IDENTIFIER.fullmatch(name):
                raise LookupFailureError(f"{what}: {name!r} is not an SQL name")
        size = context.property(DB_CACHE_SIZE).evaluate().as_int()
        expiration = context.property(DB_CACHE_EXPIRATION).evaluate()
        ttl = expiration.as_duration() if expiration.is_set else None
        if self._cache.size != size or self._cache.ttl != ttl or context.property(DB_CLEAR_CACHE).as_bool():
            self._cache = _Cache(size, ttl or None)

    def on_disabled(self) -> None:
        """Forget the pool."""
        self._pool = None

    @property
    def required_keys(self) -> frozenset[str]:
        """Only ``key``."""
        return frozenset((KEY,))

    def lookup(self, coordinates: Mapping[str, Any],
               attributes: Mapping[str, str] | None = None) -> SchemaRecord | None:
        """The first row whose key column equals ``coordinates['key']``, or None."""
        pool, context = self._pool, self._context
        if pool is None or context is None:
            raise LookupFailureError("the service is not enabled")
        key = coordinates.get(KEY)
        if key is None or (isinstance(key, str) and not key.strip()):
            return None
        table, columns, precision, scale = self._table, self._columns, self._precision, self._scale
        # the key's type is part of it: 1, 1.0 and true are equal in Python, not as database values
        cache_key = (table, ",".join(columns), type(key).__name__,
                     key if isinstance(key, (str, int, float, bool)) else to_text(key))
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        query = f"SELECT {', '.join(columns) if columns else '*'} FROM {table} WHERE {self._key_column} = %s"
        try:
            with pool.get_connection() as conn:
                cursor = conn.cursor()
                try:
                    cursor.execute(query, (key,))
                    row = cursor.fetchone()
                    if row is None:
                        return None
                    described = describe(cursor, conn, pool.dialect, {})
                finally:
                    cursor.close()
        except Exception as exc:  # the driver's errors have no common base class
            shown = query.replace("%s", "?")
            raise LookupFailureError(f"the lookup {shown!r} for {key!r} failed: "
                                     f"{str(exc).strip() or type(exc).__name__}") from None
        schema = record_schema(described, normalize=False, logical_types=True, default_precision=precision,
                               default_scale=scale)
        try:
            values = {f.name: coerce(v, f.data_type, name=f.name) for f, v in zip(schema.fields, row, strict=False)}
        except ValueError as exc:
            raise LookupFailureError(f"the row found for {key!r} in {table} cannot be read: {exc}") from None
        found = SchemaRecord(MappingProxyType(values), schema)
        self._cache.put(cache_key, found)
        return found
