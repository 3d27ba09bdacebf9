"""The maximum-value machinery of QueryDatabaseTable(Record) and GenerateTableFetch:
state keys, the kinds of maximum-value columns, parsing, formatting and comparing their
values, SQL literals for them, and ``MaxValues`` (the maxima kept in state, the
conditions selecting rows past them). ``query_database_table`` re-exports it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from flowyard.processors._db_avro import Column, _java_timestamp, _time_of, describe
from flowyard.processors._db_type import ORACLE, ORACLE12, PHOENIX
from flowyard.runtime.sdk import ProcessContext

NAMESPACE_DELIMITER = "@!@"
INITIAL_MAX_VALUE_PREFIX = "initial.maxvalue."
_NUMERIC_KINDS = frozenset({"int", "long", "float", "double", "decimal"})
_TRACKABLE = _NUMERIC_KINDS | {"date", "time", "timestamp", "string"}


# -- maximum values --------------------------------------------------------------------------------------


def state_key(table: str | None, column: str) -> str:
    """NiFi's state key of a column's maximum value: ``table@!@column``, lower case, quotes removed."""
    strip = str.maketrans("", "", '"`[]')
    column_part = column.lower().translate(strip)
    if table is None:
        return column_part
    return table.lower().translate(strip) + NAMESPACE_DELIMITER + column_part


def parse_max(kind: str, text: str) -> Any:
    """A stored maximum value (text) as a comparable value of ``kind``; ValueError when it is not one."""
    text = text.strip()
    if kind in ("int", "long"):
        return int(text)
    if kind in ("float", "double"):
        return float(text)
    if kind == "decimal":
        return decimal.Decimal(text.replace(",", ""))
    if kind == "date":
        return dt.date.fromisoformat(text)
    if kind == "time":
        return dt.time.fromisoformat(text)
    if kind == "timestamp":
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
    return text


def _typed(kind: str, value: Any) -> Any:
    """A column value from the driver, comparable with ``parse_max`` values."""
    if kind in ("int", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "decimal":
        return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    if kind == "time":
        return _time_of(value)
    if kind == "timestamp":
        return value if isinstance(value, dt.datetime) else dt.datetime(value.year, value.month, value.day)
    if kind == "date":
        return value.date() if isinstance(value, dt.datetime) else value
    return value if isinstance(value, str) else str(value)


def format_max(kind: str, value: Any) -> str:
    """A maximum value as NiFi stores it (Java's toString of the JDBC type; a time as HH:mm:ss.SSS, with all
    six digits of the fraction when it has microseconds, which NiFi would lose: a row whose time is below
    the millisecond-rounded value would be fetched again for ever, or never)."""
    if kind == "timestamp":
        text = _java_timestamp(value)
        if value.tzinfo is not None:
            offset = value.strftime("%z")
            text += f"{offset[:3]}:{offset[3:]}"
        return text
    if kind == "time":
        if value.microsecond % 1000:
            return str(value.strftime("%H:%M:%S.%f"))
        return str(value.strftime("%H:%M:%S.")) + f"{value.microsecond // 1000:03d}"
    if kind == "date":
        return str(value.isoformat())
    return str(value)


def _later(kind: str, a: Any, b: Any) -> bool:
    """Whether ``a`` is after ``b`` (naive and aware timestamps compare as UTC)."""
    if kind == "timestamp" and (a.tzinfo is None) != (b.tzinfo is None):
        a = a if a.tzinfo is not None else a.replace(tzinfo=dt.UTC)
        b = b if b.tzinfo is not None else b.replace(tzinfo=dt.UTC)
    return bool(a > b)


def literal(kind: str, value: str, db_type: str, dialect: str) -> str:
    """``value`` as a SQL literal of a column of ``kind`` (NiFi's getLiteralByType, quotes escaped). A
    single-precision ``float`` column (PostgreSQL ``real``, MySQL/MariaDB ``FLOAT``) is compared with the value
    cast to its own type: as a plain number the database would widen the column to double precision, and
    0.1 stored as a real is larger than the double 0.1, so the row would be fetched again on every run."""
    quoted = "'" + value.replace("'", "''") + "'"
    if dialect == "mysql":
        quoted = quoted.replace("\\", "\\\\")
    if kind == "float":
        return f"CAST({quoted} AS {'FLOAT' if dialect == 'mysql' else 'real'})"
    if kind in _NUMERIC_KINDS:
        return value
    if kind == "time" and db_type == PHOENIX:
        return "time " + quoted
    if kind in ("date", "timestamp", "time") and db_type in (ORACLE, ORACLE12, PHOENIX):
        return ("date " if len(value) == 10 else "timestamp ") + quoted
    return quoted


def column_kinds(conn: Any, dialect: str, source: str, columns: list[str], table: str) -> dict[str, str]:
    """The kind of each maximum-value column (state key → kind), from ``SELECT cols FROM source WHERE 1 = 0``.
    Raises ValueError naming a column the table lacks or whose type cannot hold a maximum."""
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {source} WHERE 1 = 0")
        described = describe(cursor, conn, dialect, {})
        cursor.fetchall()
    finally:
        cursor.close()
    kinds = {state_key(table, c.name): c.kind for c in described}
    for name in columns:
        kind = kinds.get(state_key(table, name))
        if kind is None:
            raise ValueError(f"Column not found in the table/query specified: {name}")
        if kind not in _TRACKABLE:
            raise ValueError(f"the type of column {name} ({kind}) is not valid for maintaining a maximum value")
    return kinds


class MaxValues:
    """The maximum values of one table: NiFi's state map, updated row by row."""

    def __init__(self, table: str, state: Mapping[str, str], kinds: Mapping[str, str]) -> None:
        self.table, self.values, self.kinds = table, dict(state), dict(kinds)
        self._typed: dict[str, Any] = {}

    def current(self, column: str) -> str | None:
        """The stored maximum of ``column`` (under its full key, else NiFi's older column-only key)."""
        return self.values.get(state_key(self.table, column)) or self.values.get(state_key(None, column)) or None

    def check(self) -> None:
        """ValueError naming the state key when a stored value is not of its column's type."""
        for key, kind in self.kinds.items():
            text = self.values.get(key)
            if text:
                try:
                    self._typed[key] = parse_max(kind, text)
                except (ValueError, ArithmeticError):
                    raise ValueError(f"the stored maximum value of {key!r} is {text[:40]!r}, not a {kind}; clear "
                                     "the processor's state to start over") from None

    def tracker(self, columns: list[Column], *, database_max: bool = False) -> Any:
        """A function taking each result row and keeping the largest values of the tracked columns. With
        ``database_max`` the row holds the database's ``MAX()`` over rows beyond the kept maxima (ordered by
        the column's collation), so its values are taken as they are, not compared again in Python."""
        tracked = []
        for i, column in enumerate(columns):
            key = state_key(self.table, column.name)
            kind = self.kinds.get(key)
            if kind is not None:
                if key not in self._typed:
                    old = self.values.get(key) or self.values.get(state_key(None, column.name))
                    if old:
                        self._typed[key] = parse_max(kind, old)
                tracked.append((i, key, kind))

        def see(row: tuple[Any, ...]) -> None:
            for i, key, kind in tracked:
                value = row[i]
                if value is None:
                    continue
                value = _typed(kind, value)
                old = self._typed.get(key)
                if old is None or database_max or _later(kind, value, old):
                    self._typed[key] = value
                    self.values[key] = format_max(kind, value)
        return see

    def conditions(self, columns: list[str], db_type: str, dialect: str, *, upper: bool = False) -> list[str]:
        """SQL conditions from the stored maxima of ``columns``: the rows beyond them (the first column
        ``>``, the others ``>=``, as NiFi), or with ``upper`` the rows up to them (``<=``)."""
        out = []
        for index, column in enumerate(columns):
            current = self.current(column)
            if current:
                kind = self.kinds[state_key(self.table, column)]
                op = "<=" if upper else (">" if index == 0 else ">=")
                out.append(f"{column} {op} {literal(kind, current, db_type, dialect)}")
        return out


def with_initial_max_values(context: ProcessContext, state: Mapping[str, str], table: str,
                            attributes: Mapping[str, str] | None = None) -> dict[str, str]:
    """``state`` plus, for each ``initial.maxvalue.<column>`` dynamic property whose column the state
    lacks, the stored value under NiFi's older column-only key or else the property's value (evaluated
    against ``attributes``)."""
    values = dict(state)
    for name, value in context.dynamic_properties.items():
        if name.startswith(INITIAL_MAX_VALUE_PREFIX) and value.value is not None:
            column = name[len(INITIAL_MAX_VALUE_PREFIX):].lower()
            key = state_key(table, column)
            if key not in values:
                values[key] = values.get(column) or value.evaluate(attributes).as_str()
    return values
