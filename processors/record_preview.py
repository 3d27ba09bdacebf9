"""Record previews for the canvas: the first rows of a flowfile's content as a table.

The canvas's data preview, queue viewer and provenance content viewer show
record content (CSV, JSON, Avro data files, Parquet) as a table. The web API
may not import processors, so this module reaches it through discovery: the
``flowyard.content_viewers`` entry point group names ``CONTENT_VIEWERS``, a
mapping of viewer name to a callable ``viewer(stream, mime, max_rows)`` (see
``flowyard.runtime.registry.discover_content_viewers``).

``preview_records(stream, mime, max_rows)``:

- picks the format from the ``mime.type`` (``text/csv``, ``application/json``
  and the JSON-lines types, ``avro/binary`` / ``application/avro``,
  ``application/vnd.apache.parquet`` / ``application/parquet``), else by
  sniffing the content's magic bytes (``Obj\\x01`` for an Avro data file,
  ``PAR1`` for Parquet); answers ``None`` for content of any other kind;
- answers ``{"format", "columns": [{"name", "type"}], "rows": [[...]],
  "truncated"}``: at most ``max_rows`` rows, column types in NiFi's record
  field type names (inferred from the rows shown for CSV and JSON, from the
  schema for Avro and Parquet); ``truncated`` says the content holds more;
- raises ``RecordError`` (a ``ValueError``) naming what is wrong and where
  when the content is not what its type says.

It reads only what the rows shown need (CSV and JSON from the start, Avro
block by block, Parquet its footer and first row group). The caller bounds the
stream: past its budget a read answers end of file while ``tell()`` stays
before the end, which this module reports as ``truncated`` (a record cut by
the budget is left out; a first record larger than the budget is an error).

Cells are JSON values: text, numbers, booleans and null as they are; whole
numbers beyond what JavaScript holds exactly, decimals, dates, times, UUIDs,
non-finite floats as text; bytes as hex; nested records, maps and arrays as
JSON objects and arrays, cut to a few levels and items so that one cell stays
small. The CSV header is NiFi's CSVReader default (first line is the header,
comma separated; a tab, semicolon or pipe is taken instead when the header
holds more of it than commas).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, BinaryIO, cast

from flowyard.processors._record_services import RecordError
from flowyard.processors._records import (
    DataType,
    RecordFieldType,
    from_avro_schema,
    infer_text_type,
    infer_type,
    merge_types,
)
from flowyard.processors.json_record_services import iter_json_values

__all__ = ["CONTENT_VIEWERS", "MAX_ROWS", "preview_records", "record_format"]

#: Rows shown when the caller does not say.
MAX_ROWS = 100
#: Characters of one text cell shown (longer text ends with an ellipsis).
MAX_TEXT = 1_000
#: Levels and items of a nested value shown.
MAX_DEPTH = 4
MAX_ITEMS = 20
#: Largest whole number JavaScript holds exactly; larger ones go out as text.
_JS_SAFE = 2**53 - 1

_AVRO_MAGIC = b"Obj\x01"
_PARQUET_MAGIC = b"PAR1"
_TYPES = {
    "text/csv": "csv", "application/csv": "csv", "text/tab-separated-values": "csv",
    "application/json": "json", "text/json": "json", "application/x-ndjson": "json",
    "application/ndjson": "json", "application/jsonlines": "json", "application/x-jsonlines": "json",
    "application/json-lines": "json", "application/jsonl": "json",
    "avro/binary": "avro", "application/avro": "avro", "application/avro-binary": "avro",
    "application/x-avro": "avro", "application/vnd.apache.avro": "avro",
    "application/vnd.apache.parquet": "parquet", "application/parquet": "parquet",
    "application/x-parquet": "parquet",
}


def record_format(mime: str, head: bytes) -> str | None:
    """``csv``, ``json``, ``avro`` or ``parquet`` for a ``mime.type`` and the
    content's first bytes (magic bytes win over a generic type); else None."""
    essence = mime.split(";", 1)[0].strip().lower()
    by_type = _TYPES.get(essence)
    if by_type is None and essence.endswith("+json"):
        by_type = "json"
    if head.startswith(_AVRO_MAGIC):
        return "avro"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return by_type


def preview_records(stream: BinaryIO, mime: str, max_rows: int = MAX_ROWS) -> dict[str, Any] | None:
    """The first ``max_rows`` records of ``stream`` as a table (see the module's
    docstring), None when the content is of no record format known here."""
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    fmt = record_format(mime, head)
    if fmt is None:
        return None
    if size == 0:
        return {"format": fmt, "columns": [], "rows": [], "truncated": False}
    preview = _READERS[fmt](_Tracked(stream, size), size, max(1, max_rows))
    return {"format": fmt, **preview}


CONTENT_VIEWERS: Mapping[str, Callable[[BinaryIO, str, int], dict[str, Any] | None]] = {"records": preview_records}


# -- cells and types -----------------------------------------------------------

def _cell(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, bounded form of one value (see the module's docstring)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -_JS_SAFE <= value <= _JS_SAFE else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        text = data[:MAX_TEXT // 2].hex()
        return text + ("…" if len(data) > MAX_TEXT // 2 else "")
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return "{…}"
        out: dict[str, Any] = {}
        for i, (key, item) in enumerate(value.items()):
            if i == MAX_ITEMS:
                out["…"] = f"{len(value) - MAX_ITEMS} more"
                break
            out[str(key)] = _cell(item, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            return ["…"]
        items = [_cell(item, depth + 1) for item in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… {len(value) - MAX_ITEMS} more")
        return items
    return _cell(str(value), depth)


def _type_name(data_type: DataType | None, depth: int = 0) -> str:
    """A record field type as NiFi names it, nested records with their fields."""
    if data_type is None:
        return RecordFieldType.STRING.name
    kind = data_type.field_type
    if kind is RecordFieldType.RECORD and data_type.schema is not None:
        if depth >= 2:
            return "RECORD"
        fields = data_type.schema.fields
        inner = ", ".join(f"{f.name}: {_type_name(f.data_type, depth + 1)}" for f in fields[:8])
        return f"RECORD{{{inner}{', …' if len(fields) > 8 else ''}}}"
    if kind in (RecordFieldType.ARRAY, RecordFieldType.MAP):
        return f"{kind.name}[{_type_name(data_type.element, depth + 1)}]"
    if kind is RecordFieldType.CHOICE:
        return f"CHOICE[{', '.join(_type_name(c, depth + 1) for c in data_type.choices)}]"
    if kind is RecordFieldType.DECIMAL and data_type.precision is not None:
        return f"DECIMAL({data_type.precision},{data_type.scale})"
    return kind.name


class _Tracked(io.RawIOBase):
    """``stream`` noting whether a read found its end before the content's end
    (the caller's budget ran out)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        super().__init__()
        self._stream = stream
        self._size = size
        self.starved = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream.seek(offset, whence)

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        if len(data) < len(buffer) and self._stream.tell() < self._size:
            self.starved = True
        buffer[:len(data)] = data
        return len(data)


def _cut(stream: _Tracked, size: int) -> bool:
    """Whether the stream ended before the content did (the caller's budget ran out)."""
    return stream.starved


# -- CSV -----------------------------------------------------------------------

def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in ",\t;|"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved = 0


@contextmanager
def _field_size_limit(limit: int) -> Iterator[None]:
    """Python's csv field size limit (process-wide, 128 KiB by default) raised to at
    least ``limit`` while the block runs, put back when the last preview parsing CSV
    ends (previews run in worker threads, two at a time)."""
    global _limit_users, _limit_saved
    with _limit_lock:
        if _limit_users == 0:
            _limit_saved = csv.field_size_limit()
        _limit_users += 1
        if csv.field_size_limit() < limit:
            csv.field_size_limit(min(limit, sys.maxsize))
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                csv.field_size_limit(_limit_saved)


def _csv(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", newline="")
    header: list[str] | None = None
    rows: list[list[str]] = []
    line = 1
    try:
        first = text.readline()
        with _field_size_limit(size + 1):  # any field the stream hands out: cells are trimmed when shown
            reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first), strict=True)
            header = next(reader, None)
            for row in reader:
                line = reader.line_num
                if row:
                    rows.append(row)
                if len(rows) > max_rows:
                    break
    except csv.Error as exc:
        if not _cut(stream, size):
            raise RecordError(f"the CSV is malformed on line {line + 1}: {exc}") from None
        # a quoted field cut where the preview stopped reading: the rows before it stand
    except UnicodeDecodeError as exc:
        if not (_cut(stream, size) and rows):
            raise RecordError(f"the content is not UTF-8 text (CSV line {line + 1}): {exc.reason}") from None
    finally:
        text.detach()
    cut = _cut(stream, size)
    if header is None:
        if cut:
            raise RecordError("the CSV header line is longer than the preview reads")
        return {"columns": [], "rows": [], "truncated": False}
    if cut and len(rows) <= max_rows:
        if not rows and not first.endswith(("\n", "\r")):
            raise RecordError("the CSV header line is longer than the preview reads")
        if rows:
            rows.pop()  # the last line may end where the preview stopped reading
    truncated = cut or len(rows) > max_rows
    rows = rows[:max_rows]
    width = max([len(header), *(len(r) for r in rows)])
    names = [*header, *(f"(column {i + 1})" for i in range(len(header), width))]
    types: list[DataType | None] = [None] * width
    for row in rows:
        for i, cell in enumerate(row):
            types[i] = merge_types(types[i], infer_text_type(cell))
    table = [[_cell(row[i]) if i < len(row) else None for i in range(width)] for row in rows]
    return {"columns": [{"name": n, "type": _type_name(t)} for n, t in zip(names, types, strict=True)],
            "rows": table, "truncated": truncated}


# -- JSON ----------------------------------------------------------------------

def _objects(stream: _Tracked, size: int, max_rows: int) -> tuple[list[dict[str, Any]], bool]:
    values: Iterator[Any] = iter_json_values(io.BufferedReader(stream))
    records: list[dict[str, Any]] = []
    while True:
        try:
            value = next(values, _END)
        except RecordError as exc:
            if not _cut(stream, size):
                where = f" after record {len(records)}" if records else ""
                raise RecordError(f"the content is not valid JSON{where}: {exc}") from None
            if not records:
                raise RecordError("the first JSON record is larger than the preview reads") from None
            return records, True  # the budget ended inside a record: the ones before it stand
        if value is _END:
            return records, _cut(stream, size)
        if not isinstance(value, dict):
            kind = ("an array" if isinstance(value, list) else "null" if value is None else
                    "a boolean" if isinstance(value, bool) else "a string" if isinstance(value, str) else "a number")
            raise RecordError(f"record {len(records) + 1} is {kind}, not a JSON object (record content is "
                              "an array of objects or one object per line)")
        records.append(value)
        if len(records) > max_rows:
            return records[:max_rows], True


_END = object()


def _json(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    records, truncated = _objects(stream, size, max_rows)
    return _table(records, truncated, {})


def _table(records: Iterable[Mapping[str, Any]], truncated: bool,
           declared: Mapping[str, DataType | None]) -> dict[str, Any]:
    """Rows of ``records`` under the declared columns (in order) and any other field they hold."""
    records = list(records)
    names: dict[str, None] = dict.fromkeys(declared)
    inferred: dict[str, DataType | None] = {}
    for record in records:
        for key, value in record.items():
            names.setdefault(key)
            if key not in declared:
                inferred[key] = merge_types(inferred.get(key), infer_type(value))
    columns = [{"name": n, "type": _type_name(declared[n] if n in declared else inferred.get(n))} for n in names]
    rows = [[_cell(record.get(n)) for n in names] for record in records]
    return {"columns": columns, "rows": rows, "truncated": truncated}


# -- Avro ----------------------------------------------------------------------

def _avro(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    import fastavro

    try:
        reader = fastavro.reader(cast(BinaryIO, stream))
    except Exception as exc:  # fastavro raises many kinds for a bad header
        raise RecordError(f"the content is not an Avro data file: {exc or type(exc).__name__}") from None
    declared: dict[str, DataType | None] = {}
    try:
        schema = from_avro_schema(reader.writer_schema)
        declared = {f.name: f.data_type for f in schema.fields}
    except (ValueError, TypeError, KeyError):
        pass  # not a record schema: each datum goes in a "value" column
    records: list[dict[str, Any]] = []
    truncated = False
    try:
        for datum in reader:
            if len(records) == max_rows:
                truncated = True
                break
            records.append(datum if isinstance(datum, dict) else {"value": datum})
    except Exception as exc:  # a cut or damaged block: fastavro raises EOFError, ValueError, ...
        if not (_cut(stream, size) and records):
            where = f" after record {len(records)}" if records else ""
            raise RecordError(f"the Avro data is malformed{where}: {exc or type(exc).__name__}") from None
        truncated = True
    return _table(records, truncated, declared if declared else {})


# -- Parquet -------------------------------------------------------------------

def _parquet(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from flowyard.processors.parquet_record_services import _record_type

    try:
        parquet = pq.ParquetFile(stream)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        if _cut(stream, size):
            raise RecordError("the Parquet footer could not be read within what the preview reads") from None
        raise RecordError(f"the content is not a Parquet file: {exc}") from None
    declared: dict[str, DataType | None] = {}
    for field in parquet.schema_arrow:
        try:
            declared[field.name] = _record_type(field.type)
        except Exception:  # a type the record model does not name
            declared[field.name] = None
    try:
        batch = next(parquet.iter_batches(batch_size=max_rows), None)
    except Exception as exc:
        if _cut(stream, size):
            raise RecordError("the first Parquet row group is larger than the preview reads") from None
        raise RecordError(f"the Parquet data is malformed: {exc}") from None
    records = batch.to_pylist() if batch is not None else []
    return _table(records[:max_rows], parquet.metadata.num_rows > len(records[:max_rows]), declared)


_READERS: dict[str, Callable[[_Tracked, int, int], dict[str, Any]]] = {
    "csv": _csv, "json": _json, "avro": _avro, "parquet": _parquet,
}
