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
block by block, Parquet its footer and the row groups holding the rows shown),
and decodes only a bounded amount: Avro blocks are decompressed to at most
``MAX_DECODED`` bytes in all (a record running past that ends the table, or is
an error when it is the first) and at most ``MAX_VALUES`` fields, items and
entries are decoded (a few bytes may declare millions of items); a Parquet row
group is read only when its footer says it decodes to at most
``MAX_PARQUET_DECODED`` bytes (with the ones before it), else the table ends
there (or it is an error for the first). Avro codecs shown: null, deflate,
snappy, bzip2, xz. The caller bounds the
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

CSV, JSON and Parquet are read here; Avro in ``_preview_avro``; the limits (re-exported
here), cells, column types and the budgeted stream in ``_preview_base``.
"""

from __future__ import annotations

import csv
import io
import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, BinaryIO

from flowyard.processors._preview_avro import _avro
from flowyard.processors._preview_base import (
    _AVRO_MAGIC,
    _PARQUET_MAGIC,
    _TYPES,
    MAX_DECODED,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_PARQUET_DECODED,
    MAX_ROWS,
    MAX_TEXT,
    MAX_VALUES,
    _cell,
    _Columns,
    _cut,
    _table,
    _Tracked,
    _type_name,
)
from flowyard.processors._record_services import RecordError
from flowyard.processors._records import DataType, infer_text_type, merge_types
from flowyard.processors.json_record_services import iter_json_values

__all__ = ["CONTENT_VIEWERS", "MAX_DECODED", "MAX_DEPTH", "MAX_ITEMS", "MAX_PARQUET_DECODED", "MAX_ROWS", "MAX_TEXT",
           "MAX_VALUES", "preview_records", "record_format"]


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


# -- Parquet -------------------------------------------------------------------

def _parquet(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    """Parquet: the footer, then row group by row group while rows are wanted, each
    only when the footer says it decodes to what is left of ``MAX_PARQUET_DECODED`` (the row
    group's and its column chunks' uncompressed sizes), read a batch of the rows
    wanted at a time from the file (not buffered whole)."""
    import pyarrow.parquet as pq

    from flowyard.processors.parquet_record_services import _record_type

    try:
        parquet = pq.ParquetFile(stream, pre_buffer=False, buffer_size=1 << 16)
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
    metadata = parquet.metadata
    columns = _Columns(declared)
    left = MAX_PARQUET_DECODED
    for group in range(metadata.num_row_groups):
        if len(columns.rows) >= max_rows:
            break
        info = metadata.row_group(group)
        chunks = sum(max(0, info.column(i).total_uncompressed_size) for i in range(info.num_columns))
        decoded = max(info.total_byte_size, chunks)
        if decoded > left:
            if columns.rows:
                break
            raise RecordError(f"Parquet row group {group + 1} decodes to {decoded} bytes, more than the "
                              f"{MAX_PARQUET_DECODED // 2**20} MiB the preview decodes")
        left -= decoded
        try:
            for batch in parquet.iter_batches(batch_size=min(max_rows, 1024), row_groups=[group], use_threads=False):
                for record in batch.to_pylist():
                    columns.add(record)
                if len(columns.rows) >= max_rows:
                    break
        except Exception as exc:
            if _cut(stream, size):
                if columns.rows:
                    break
                raise RecordError("the first Parquet row group is larger than the preview reads") from None
            raise RecordError(f"the Parquet data is malformed: {exc}") from None
    return columns.table(max_rows, metadata.num_rows > min(len(columns.rows), max_rows))


_READERS: dict[str, Callable[[_Tracked, int, int], dict[str, Any]]] = {
    "csv": _csv, "json": _json, "avro": _avro, "parquet": _parquet,
}
