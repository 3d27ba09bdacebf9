"""PutDatabaseRecord's SQL: field names translated to column names, record values
converted to column types, and the batched INSERT/UPDATE/UPSERT/DELETE statements
generated for one table (``_TableWriter``), per database dialect.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyard.processors._db_tables import ColumnInfo, TableInfo
from flowyard.processors._db_type import (
    _PLAIN_IDENTIFIER,
    MYSQL,
    PHOENIX,
    POSTGRESQL,
    quote_identifier,
)
from flowyard.processors._put_database_record_props import (
    DELETE,
    FAIL_COLUMNS,
    FAIL_FIELDS,
    INSERT,
    INSERT_IGNORE,
    TRANSLATE,
    TRANSLATION_PATTERN,
    TRANSLATION_STRATEGY,
    UPDATE,
    UPSERT,
    WARN_COLUMNS,
)
from flowyard.processors._records import DataType, IllegalTypeConversion, RecordFieldType, coerce
from flowyard.runtime.sdk import (
    FlowFile,
    ProcessContext,
)


class _DataError(Exception):
    """The FlowFile cannot be written as configured (mapping, conversion, bad statement type): failure."""


# -- name translation, value conversion -----------------------------------------------------------------


def _translator(context: ProcessContext) -> Callable[[str], str]:
    if not context.property(TRANSLATE).as_bool():
        return lambda name: name
    strategy = context.property(TRANSLATION_STRATEGY).as_str()
    if strategy == "REMOVE_SPACE":
        return lambda name: name.upper().replace(" ", "")
    if strategy == "REMOVE_UNDERSCORE_AND_SPACE":
        return lambda name: name.upper().replace("_", "").replace(" ", "")
    if strategy == "REMOVE_ALL_SPECIAL_CHAR":
        return lambda name: re.sub(r"[^A-Za-z0-9]", "", name).upper()
    if strategy == "PATTERN":
        pattern = context.property(TRANSLATION_PATTERN).as_regex()
        return lambda name: pattern.sub("", name).upper()
    return lambda name: name.upper().replace("_", "")


_TARGET = {"int": RecordFieldType.LONG.data_type(), "long": RecordFieldType.LONG.data_type(),
           "float": RecordFieldType.DOUBLE.data_type(), "decimal": DataType(RecordFieldType.DECIMAL),
           "boolean": RecordFieldType.BOOLEAN.data_type(), "date": RecordFieldType.DATE.data_type(),
           "time": RecordFieldType.TIME.data_type(), "timestamp": RecordFieldType.TIMESTAMP.data_type()}
_ALREADY = {"int": (int,), "long": (int,), "float": (float, int), "decimal": (decimal.Decimal, int),
            "boolean": (bool,), "date": (dt.date,), "time": (dt.time,), "timestamp": (dt.datetime,)}


def _int(text: str) -> int:
    if "_" in text:
        raise ValueError("underscores are no digits")
    return int(text)


def _decimal(text: str) -> decimal.Decimal:
    if "_" in text:
        raise ValueError("underscores are no digits")
    value = decimal.Decimal(text)
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


#: Fast conversions of text in the plain (ISO) form; anything else goes through NiFi's conversion rules.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "int": _int, "long": _int, "decimal": _decimal, "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat, "time": dt.time.fromisoformat,
}


def _converter(column: ColumnInfo, binary_format: str) -> Callable[[Any], Any]:
    """A function turning a record value into the value bound for ``column``."""
    kind = column.kind
    if kind in _TARGET:
        target, already = _TARGET[kind], _ALREADY[kind]

        fast = _FROM_TEXT.get(kind)

        def convert(value: Any) -> Any:
            if value is None or (type(value) in already and not (kind != "boolean" and type(value) is bool)):
                return value
            if fast is not None and type(value) is str:
                try:
                    return fast(value)
                except (ValueError, ArithmeticError):
                    pass  # not the plain form: NiFi's conversion below decides
            if kind == "timestamp" and type(value) is dt.date:
                return dt.datetime(value.year, value.month, value.day)
            try:
                return coerce(value, target, name=column.name)
            except (IllegalTypeConversion, ValueError, ArithmeticError):
                return value  # as NiFi: the original value, for the database to take or refuse
        return convert
    if kind == "bytes":
        def to_bytes(value: Any) -> Any:
            if value is None or isinstance(value, bytes):
                return value
            if isinstance(value, str):
                try:
                    if binary_format == "Hexadecimal":
                        return bytes.fromhex(value)
                    if binary_format == "Base64":
                        return base64.b64decode(value, validate=True)
                except (ValueError, binascii.Error) as exc:
                    raise IllegalTypeConversion(
                        f"the value of field '{column.name}' is not {binary_format}: {exc}") from None
                return value.encode("utf-8")
            if isinstance(value, (list, tuple)):
                return bytes((b + 256) % 256 for b in value)
            if isinstance(value, (bytearray, memoryview)):
                return bytes(value)
            raise IllegalTypeConversion(f"cannot write a {type(value).__name__} to binary column '{column.name}'")
        return to_bytes
    if kind == "json":
        return lambda v: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v
    if kind == "array":
        return lambda v: list(v) if isinstance(v, tuple) else v

    def to_text(value: Any) -> Any:
        if value is None or type(value) is str:
            return value
        if isinstance(value, (dict, list)):
            return json.dumps(value, default=str)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return coerce(value, RecordFieldType.STRING.data_type(), name=column.name)
    return to_text


# -- statements -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Statement:
    """A generated statement: its SQL and how to take its parameters from a record."""

    sql: str
    extract: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    #: PostgreSQL plain INSERTs: (head, row of placeholders, tail) of a multi-row VALUES statement, which
    #: PostgreSQL runs much faster than the same rows one by one.
    multi: tuple[str, str, str] | None = None

    _texts: dict[int, str] = field(default_factory=dict)

    def run(self, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        """Send ``rows`` as one batch."""
        if self.multi is None or len(rows) == 1:
            cursor.executemany(self.sql, rows)
            return
        import psycopg

        width = max(1, len(rows[0]))
        per_statement = max(1, min(1000, 65535 // width))
        with psycopg.RawCursor(cursor.connection) as raw:  # $n placeholders: psycopg parses nothing
            for start in range(0, len(rows), per_statement):
                chunk = rows[start:start + per_statement]
                raw.execute(self._text(len(chunk), width), [value for values in chunk for value in values])

    def _text(self, count: int, width: int) -> str:
        text = self._texts.get(count)
        if text is None:
            assert self.multi is not None
            head, _, tail = self.multi
            rows = ("(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(count))
            text = self._texts[count] = head + ", ".join(rows) + tail
        return text


class _TableWriter:
    """Generates the statements of one table for one FlowFile's field names."""

    def __init__(self, table: TableInfo, dialect: str, db_type: str, fields: list[str],
                 translate: Callable[[str], str], settings: _Settings) -> None:
        self.table, self.dialect, self.db_type, self.settings = table, dialect, db_type, settings
        by_name = {translate(c.name): c for c in table.columns}
        self.matched: list[tuple[str, ColumnInfo]] = []
        unmatched = []
        for name in fields:
            column = by_name.get(translate(name))
            if column is None:
                unmatched.append(name)
            elif all(c.name != column.name for _, c in self.matched):
                self.matched.append((name, column))
        if unmatched and settings.unmatched_field == FAIL_FIELDS:
            raise _DataError(f"the field(s) {', '.join(map(repr, unmatched))} match no column of table "
                             f"'{table.name}'")
        self.unmatched_fields = unmatched
        self.field_of = {c.name: name for name, c in self.matched}
        self.converters = {c.name: _converter(c, settings.binary_format) for _, c in self.matched}
        self.translate = translate
        self.cache: dict[str, _Statement] = {}

    def _q(self, name: str) -> str:
        return quote_identifier(name, self.dialect) if self.settings.quote_columns else name

    def table_name(self) -> str:
        """The table as the SQL names it. The catalog and schema are the names the database gave when the
        table was looked up (never the property text, which may come from a FlowFile attribute); an unquoted
        part that is not a plain identifier is refused."""
        s, t = self.settings, self.table
        parts: list[tuple[str, str]] = []
        if self.dialect == "postgresql":
            if s.catalog:
                parts.append(("Database Name", t.catalog or s.catalog))
            if s.schema:
                parts.append(("Schema Name", t.schema))
        elif s.catalog and s.schema:
            raise _DataError(f"MySQL/MariaDB has no schemas inside a database: set Database Name ({s.catalog!r}) or "
                             f"Schema Name ({s.schema!r}), not both")
        elif s.catalog or s.schema:
            parts.append(("Database Name" if s.catalog else "Schema Name", t.schema))
        parts.append(("Table Name", s.table))
        if s.quote_table:
            return ".".join(quote_identifier(p, self.dialect) for _, p in parts)
        plain = _PLAIN_IDENTIFIER[self.dialect == "postgresql"]
        for label, name in parts:
            if not plain.fullmatch(name):
                raise _DataError(f"the {label} {name!r} is not a plain SQL identifier; set Quote Table Identifiers "
                                 "to true to use it as it is")
        return ".".join(p for _, p in parts)

    def check_required(self, context: ProcessContext, ff: FlowFile, kind: str) -> None:
        if kind not in (INSERT, UPSERT, INSERT_IGNORE):
            return
        have = {c.name for _, c in self.matched}
        missing = [c.name for c in self.table.columns if c.required and c.name not in have]
        if not missing:
            return
        message = (f"the records of {ff!r} have no value for the required column(s) "
                   f"{', '.join(map(repr, missing))} of table '{self.table.name}'")
        if self.settings.unmatched_column == FAIL_COLUMNS:
            raise _DataError(message)
        if self.settings.unmatched_column == WARN_COLUMNS:
            context.logger.warning(message)

    def _keys(self, configured: str | None, kind: str) -> list[ColumnInfo]:
        by_translated = {self.translate(c.name): c for c in self.table.columns}
        if configured:
            keys = []
            for name in (k.strip() for k in configured.split(",")):
                if not name:
                    continue
                column = by_translated.get(self.translate(name))
                if column is None:
                    raise _DataError(f"the key column '{name}' is not a column of table '{self.table.name}'")
                keys.append(column)
        else:
            keys = [c for c in self.table.columns if c.name in self.table.primary_keys]
            if not keys:
                raise _DataError(f"table '{self.table.name}' has no primary key and no "
                                 f"{'Delete' if kind == DELETE else 'Update'} Keys are set: cannot {kind}")
        missing = [c.name for c in keys if c.name not in self.field_of]
        if missing:
            raise _DataError(f"the records have no field for the key column(s) {', '.join(map(repr, missing))}")
        return keys

    def statement(self, kind: str) -> _Statement:
        cached = self.cache.get(kind)
        if cached is None:
            cached = self.cache[kind] = self._generate(kind)
        return cached

    def _extractor(self, columns: list[ColumnInfo]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
        plan = [(self.field_of[c.name], self.converters[c.name]) for c in columns]

        def extract(record: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(convert(record.get(name)) for name, convert in plan)
        return extract

    def _generate(self, kind: str) -> _Statement:
        if not self.matched:
            raise _DataError(f"no field of the records matches a column of table '{self.table.name}'")
        table = self.table_name()
        columns = [c for _, c in self.matched]
        names = ", ".join(self._q(c.name) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        if kind in (INSERT, UPSERT, INSERT_IGNORE):
            if kind != INSERT and self.db_type not in (MYSQL, POSTGRESQL, PHOENIX):
                raise _DataError(f"{kind} is not supported for Database Type {self.db_type}; choose MySQL or "
                                 "PostgreSQL")
            if kind == INSERT_IGNORE and self.dialect == "mysql":
                return _Statement(f"INSERT IGNORE INTO {table} ({names}) VALUES ({marks})", self._extractor(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
            if kind in (INSERT, INSERT_IGNORE) and self.dialect == "postgresql":
                tail = ""
                if kind == INSERT_IGNORE:
                    keys = self._keys(self.settings.update_keys, UPSERT)
                    tail = f" ON CONFLICT ({', '.join(self._q(c.name) for c in keys)}) DO NOTHING"
                return _Statement(sql + tail, self._extractor(columns),
                                  (f"INSERT INTO {table} ({names}) VALUES ", f"({marks})", tail))
            elif kind == UPSERT:
                keys = self._keys(self.settings.update_keys, kind)
                others = [c for c in columns if c not in keys]
                if self.dialect == "mysql":
                    sets = ", ".join(f"{self._q(c.name)} = VALUES({self._q(c.name)})" for c in others or keys)
                    sql += f" ON DUPLICATE KEY UPDATE {sets}"
                else:
                    target = ", ".join(self._q(c.name) for c in keys)
                    if others:
                        sets = ", ".join(f"{self._q(c.name)} = EXCLUDED.{self._q(c.name)}" for c in others)
                        sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
                    else:
                        sql += f" ON CONFLICT ({target}) DO NOTHING"
            return _Statement(sql, self._extractor(columns))
        if kind == UPDATE:
            keys = self._keys(self.settings.update_keys, kind)
            others = [c for c in columns if c not in keys]
            if not others:
                raise _DataError("the records have no field to update besides the key column(s)")
            sets = ", ".join(f"{self._q(c.name)} = %s" for c in others)
            where = " AND ".join(f"{self._q(c.name)} = %s" for c in keys)
            return _Statement(f"UPDATE {table} SET {sets} WHERE {where}", self._extractor(others + keys))
        if kind == DELETE:
            keys = self._keys(self.settings.delete_keys, kind) if self.settings.delete_keys else columns
            if self.dialect == "postgresql":
                where = " AND ".join(f"{self._q(c.name)} IS NOT DISTINCT FROM %s" for c in keys)
                return _Statement(f"DELETE FROM {table} WHERE {where}", self._extractor(keys))
            if self.dialect == "mysql":
                where = " AND ".join(f"{self._q(c.name)} <=> %s" for c in keys)
                return _Statement(f"DELETE FROM {table} WHERE {where}", self._extractor(keys))
            where = " AND ".join(f"({self._q(c.name)} = %s OR ({self._q(c.name)} IS NULL AND %s IS NULL))"
                                 for c in keys)
            single = self._extractor(keys)
            return _Statement(f"DELETE FROM {table} WHERE {where}",
                              lambda r: tuple(v for value in single(r) for v in (value, value)))
        raise _DataError(f"unknown statement type {kind!r}")


@dataclass(slots=True)
class _Settings:
    catalog: str | None
    schema: str | None
    table: str
    binary_format: str
    unmatched_field: str
    unmatched_column: str
    update_keys: str | None
    delete_keys: str | None
    quote_columns: bool
    quote_table: bool
    max_batch: int
    sql_field: str | None
    allow_multiple: bool
