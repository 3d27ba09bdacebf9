"""Result sets as Avro, the way NiFi's ExecuteSQL writes them.

The schema is a record named after the table of the first column (or
``NiFi_ExecuteSQL_Record``) in namespace ``any.data``; every field is a union
of ``null`` and its type, without a default. With logical types, DECIMAL and
NUMERIC are ``bytes``/decimal, DATE ``int``/date, TIME ``int``/time-millis and
TIMESTAMP ``long``/timestamp-millis; without them all four are strings (a
timestamp as Java's ``Timestamp.toString`` prints it).

``describe(cursor, connection, dialect)`` reads the columns of a cursor;
``avro_schema`` builds the schema; ``write_avro`` streams rows into an Avro
container file and returns the number of rows written.

For the record-writing processors (ExecuteSQLRecord, QueryDatabaseTableRecord)
``record_schema`` gives the same fields as a ``RecordSchema`` and
``record_rows`` turns result rows into records of it, with the same values
the Avro writer would write.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

__all__ = ["AvroResultWriter", "Column", "RecordResultWriter", "ResultWriter", "avro_schema", "describe",
           "empty_avro", "normalize_name", "record_rows", "record_schema", "write_avro"]

DEFAULT_RECORD_NAME = "NiFi_ExecuteSQL_Record"
CODECS = {"NONE": "null", "DEFLATE": "deflate", "BZIP2": "bzip2", "SNAPPY": "snappy", "LZO": "xz"}

# Avro kinds of a column: string boolean int long float double decimal date time timestamp bytes
_PG_KINDS = {16: "boolean", 21: "int", 23: "int", 20: "long", 26: "long", 700: "float", 701: "double",
             1700: "decimal", 1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamp", 17: "bytes"}
# PyMySQL FIELD_TYPE codes
_MYSQL_KINDS = {0: "decimal", 246: "decimal", 1: "int", 2: "int", 9: "int", 3: "int", 8: "long", 4: "float",
                5: "double", 10: "date", 11: "time", 7: "timestamp", 12: "timestamp", 13: "int", 16: "bytes"}
_MYSQL_BLOBS = frozenset({249, 250, 251, 252, 253, 254})
_MYSQL_UNSIGNED = 32
_MYSQL_BINARY_CHARSET = 63


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a result: its name, Avro kind, precision/scale and table."""

    name: str
    kind: str
    precision: int = 0
    scale: int = 0
    table: str = ""


def normalize_name(name: str) -> str:
    """NiFi's normalization of table and column names for Avro: every character
    other than a letter, digit or underscore becomes ``_``; a leading digit gets ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return "_" + name if name[:1].isdigit() else name


def describe(cursor: Any, connection: Any, dialect: str, table_names: dict[int, str]) -> list[Column]:
    """The columns of ``cursor``'s current result (empty when it has none)."""
    if cursor.description is None:
        return []
    if dialect == "postgresql":
        table = ""
        pgresult = getattr(cursor, "pgresult", None)
        oid = pgresult.ftable(0) if pgresult is not None and pgresult.nfields else 0
        if oid:
            if oid not in table_names:
                with connection.cursor() as lookup:
                    lookup.execute("SELECT relname FROM pg_class WHERE oid = %s", (oid,))
                    found = lookup.fetchone()
                table_names[oid] = found[0] if found else ""
            table = table_names[oid]
        return [Column(c.name, _PG_KINDS.get(c.type_code, "string"), c.precision or 0, c.scale or 0, table)
                for c in cursor.description]
    fields = getattr(getattr(cursor, "_result", None), "fields", None) or []
    columns = []
    for i, d in enumerate(cursor.description):
        field = fields[i] if i < len(fields) else None
        kind = _MYSQL_KINDS.get(d[1], "string")
        flags = getattr(field, "flags", 0)
        if kind == "int" and d[1] == 3 and flags & _MYSQL_UNSIGNED:
            kind = "long"
        if kind == "long" and flags & _MYSQL_UNSIGNED:
            kind = "string"  # BIGINT UNSIGNED has 20 digits: NiFi writes it as a string
        if d[1] in _MYSQL_BLOBS and getattr(field, "charsetnr", 0) == _MYSQL_BINARY_CHARSET:
            kind = "bytes"
        table = getattr(field, "table_name", "") or ""
        precision, scale = d[4] or 0, d[5] or 0
        if kind == "decimal" and precision:  # the display length counts the sign and the point
            precision -= (1 if scale > 0 else 0) + (0 if flags & _MYSQL_UNSIGNED else 1)
        columns.append(Column(d[0], kind, max(0, precision), scale, table))
    return columns


def avro_schema(columns: list[Column], *, normalize: bool, logical_types: bool, default_precision: int,
                default_scale: int) -> dict[str, Any]:
    """The Avro schema of ``columns`` (see the module docstring)."""
    name = columns[0].table if columns and columns[0].table else DEFAULT_RECORD_NAME
    fields = []
    for column in columns:
        fields.append({"name": normalize_name(column.name) if normalize else column.name,
                       "type": ["null", _avro_type(column, logical_types, default_precision, default_scale)]})
    return {"type": "record", "name": normalize_name(name) if normalize else name, "namespace": "any.data",
            "fields": fields}


def _avro_type(column: Column, logical: bool, default_precision: int, default_scale: int) -> Any:
    kind = column.kind
    if kind == "decimal":
        if not logical:
            return "string"
        if column.precision > 0:
            precision, scale = column.precision, column.scale
        else:
            precision, scale = default_precision, column.scale if column.scale > 0 else default_scale
        return {"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": max(0, scale)}
    if kind in ("date", "time", "timestamp"):
        if not logical:
            return "string"
        return {"date": {"type": "int", "logicalType": "date"},
                "time": {"type": "int", "logicalType": "time-millis"},
                "timestamp": {"type": "long", "logicalType": "timestamp-millis"}}[kind]
    return kind


def _java_timestamp(value: dt.datetime) -> str:
    fraction = f"{value.microsecond:06d}".rstrip("0") or "0"
    return value.strftime("%Y-%m-%d %H:%M:%S") + "." + fraction


def _time_of(value: Any) -> dt.time:
    if isinstance(value, dt.timedelta):  # PyMySQL returns TIME as a duration
        seconds = int(value.total_seconds()) % 86400
        return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, value.microseconds)
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))


def _converter(avro_type: Any) -> Callable[[Any], Any]:
    if isinstance(avro_type, dict):
        logical = avro_type["logicalType"]
        if logical == "decimal":
            quantum = decimal.Decimal(1).scaleb(-avro_type["scale"])
            return lambda v: decimal.Decimal(v).quantize(quantum, rounding=decimal.ROUND_HALF_UP)
        if logical == "date":
            return lambda v: v.date() if isinstance(v, dt.datetime) else v
        if logical == "time-millis":
            return lambda v: _time_of(v).replace(tzinfo=None)
        return lambda v: v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)
    if avro_type == "string":
        return _to_string
    if avro_type == "bytes":
        return lambda v: bytes(v) if not isinstance(v, str) else v.encode()
    if avro_type == "boolean":
        return lambda v: bool(v) if not isinstance(v, bytes) else v != b"\x00" * len(v)
    if avro_type in ("int", "long"):
        return int
    return float


def _to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return _java_timestamp(value)
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _time_of(value).isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    return str(value)


class _Sink:
    """A write-only stream as fastavro wants it (it asks whether it may seek)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, data: bytes) -> int:
        self._out.write(data)
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise OSError("not seekable")


def write_avro(out: IO[bytes], schema: dict[str, Any], rows: Iterator[tuple[Any, ...]], *, codec: str) -> int:
    """Write ``rows`` (tuples in the schema's field order) as an Avro container
    to ``out``; return how many were written."""
    import fastavro
    names = [f["name"] for f in schema["fields"]]
    converters = [_converter(f["type"][1]) for f in schema["fields"]]
    count = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield {name: (None if value is None else convert(value))
                   for name, convert, value in zip(names, converters, row, strict=False)}

    fastavro.writer(cast(IO[bytes], _Sink(out)), fastavro.parse_schema(schema), records(),
                    codec=CODECS.get(codec, "null"))
    return count


def empty_avro(out: IO[bytes], *, codec: str = "NONE") -> None:
    """An Avro container with an empty record schema and no rows (NiFi's empty result)."""
    import fastavro
    schema = {"type": "record", "name": DEFAULT_RECORD_NAME, "namespace": "any.data", "fields": []}
    fastavro.writer(cast(IO[bytes], _Sink(out)), fastavro.parse_schema(schema), [], codec=CODECS.get(codec, "null"))


def record_schema(columns: list[Column], *, normalize: bool, logical_types: bool, default_precision: int,
                  default_scale: int) -> Any:
    """The ``RecordSchema`` of ``columns``: the fields of ``avro_schema`` in NiFi's record types."""
    from flowyard.processors._records import from_avro_schema

    return from_avro_schema(avro_schema(columns, normalize=normalize, logical_types=logical_types,
                                        default_precision=default_precision, default_scale=default_scale))


def record_rows(schema: dict[str, Any], rows: Iterator[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    """``rows`` as records (dicts) of the Avro ``schema`` (from ``avro_schema``), values as ``write_avro``
    writes them."""
    names = [f["name"] for f in schema["fields"]]
    converters = [_converter(f["type"][1]) for f in schema["fields"]]
    for row in rows:
        yield {name: (None if value is None else convert(value))
               for name, convert, value in zip(names, converters, row, strict=False)}


class ResultWriter:
    """How a result set becomes FlowFile content: Avro (ExecuteSQL, QueryDatabaseTable) or a Record Writer
    (the *Record processors). ``write`` consumes ``rows`` into ``ff`` and returns the FlowFile, the number of
    rows and the attributes to set (``mime.type``, and ``record.count`` for records)."""

    def __init__(self, *, normalize: bool, logical_types: bool, default_precision: int, default_scale: int) -> None:
        self.normalize, self.logical_types = normalize, logical_types
        self.default_precision, self.default_scale = default_precision, default_scale

    def schema(self, columns: list[Column]) -> dict[str, Any]:
        """The Avro schema of ``columns`` under this writer's settings."""
        return avro_schema(columns, normalize=self.normalize, logical_types=self.logical_types,
                           default_precision=self.default_precision, default_scale=self.default_scale)

    def write(self, session: Any, ff: Any, columns: list[Column], rows: Iterator[tuple[Any, ...]]) -> (
        tuple[Any, int, dict[str, str]]
    ):
        raise NotImplementedError

    def write_empty(self, session: Any, ff: Any) -> tuple[Any, dict[str, str]]:
        """An empty result (no columns, no rows)."""
        ff, _, attributes = self.write(session, ff, [], iter(()))
        return ff, attributes


class AvroResultWriter(ResultWriter):
    """Avro container files, as NiFi's ExecuteSQL writes them."""

    def __init__(self, *, codec: str = "NONE", **settings: Any) -> None:
        super().__init__(**settings)
        self.codec = codec

    def write(self, session: Any, ff: Any, columns: list[Column], rows: Iterator[tuple[Any, ...]]) -> (
        tuple[Any, int, dict[str, str]]
    ):
        schema = self.schema(columns)
        count = 0

        def write(stream: IO[bytes]) -> None:
            nonlocal count
            if columns:
                count = write_avro(stream, schema, rows, codec=self.codec)
            else:
                empty_avro(stream, codec=self.codec)

        ff = session.write(ff, write)
        return ff, count, {"mime.type": "application/avro-binary"}


class RecordResultWriter(ResultWriter):
    """Records written by a Record Writer service (``RecordSetWriterFactory``)."""

    def __init__(self, factory: Any, attributes: dict[str, str], **settings: Any) -> None:
        super().__init__(**settings)
        self.factory, self.attributes = factory, attributes

    def write(self, session: Any, ff: Any, columns: list[Column], rows: Iterator[tuple[Any, ...]]) -> (
        tuple[Any, int, dict[str, str]]
    ):
        schema = self.schema(columns)
        from flowyard.processors._records import from_avro_schema

        read_schema = from_avro_schema(schema)
        record_schema_ = self.factory.get_schema(self.attributes, read_schema)
        writer = self.factory.create_writer(record_schema_, self.attributes)
        records = record_rows(schema, rows)
        if record_schema_ is not read_schema and record_schema_ != read_schema:
            from flowyard.processors._records import coerce_record

            records = (coerce_record(r, record_schema_) for r in records)
        ff = session.write(ff, writer.write(records))
        count = writer.record_count
        return ff, count, {**writer.attributes(), "record.count": str(count), "mime.type": writer.mime_type}
