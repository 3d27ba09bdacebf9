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
"""

from __future__ import annotations

import bz2
import csv
import io
import itertools
import lzma
import math
import sys
import threading
import uuid
import zlib
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
#: Bytes of Avro block data a preview decompresses and decodes at most.
MAX_DECODED = 16 * 1024 * 1024
#: Uncompressed bytes of the Parquet row groups a preview reads at most (as the file's footer gives them).
MAX_PARQUET_DECODED = 64 * 1024 * 1024
#: Values (fields, array items, map entries) of Avro records a preview decodes at most.
MAX_VALUES = 1_000_000
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

    def read(self, size: int | None = -1) -> bytes:
        """At most what is left of the content: a length declared in it never sizes a larger buffer."""
        left = max(0, self._size - self.tell())
        return super().read(left if size is None or size < 0 else min(size, left)) or b""

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

class _Short(Exception):
    """The datum runs past the end of the data decoded."""


class _TooMany(Exception):
    """The data declares more values than the preview decodes."""


_FIXED_SIZES = {"null": 0, "boolean": 1, "float": 4, "double": 8}


class _AvroWalk:
    """Finds where each datum of a block ends without building it, counting its values
    (fields, items, entries) against ``MAX_VALUES``: a few bytes may declare millions of
    items (an array of nulls takes no bytes per item), so the count is checked before
    fastavro builds them."""

    def __init__(self, schema: Any, named: Mapping[str, Any]) -> None:
        self.schema = schema
        self.named = named
        self.values = 0

    def spend(self, n: int) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise _TooMany

    def datum_end(self, buf: bytes, pos: int) -> int:
        return self._walk(self.schema, buf, pos)

    @staticmethod
    def varint(buf: bytes, pos: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            if pos >= len(buf):
                raise _Short
            byte = buf[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1), pos
            shift += 7
            if shift > 63:
                raise ValueError("a variable-length number runs over 10 bytes")

    def _sized(self, buf: bytes, pos: int) -> int:
        length, pos = self.varint(buf, pos)
        if length < 0:
            raise ValueError(f"a negative length {length}")
        if pos + length > len(buf):
            raise _Short
        return pos + length

    def _walk(self, schema: Any, buf: bytes, pos: int) -> int:
        if isinstance(schema, str):
            if schema in _FIXED_SIZES:
                pos += _FIXED_SIZES[schema]
                if pos > len(buf):
                    raise _Short
                return pos
            if schema in ("int", "long"):
                return self.varint(buf, pos)[1]
            if schema in ("bytes", "string"):
                return self._sized(buf, pos)
            return self._walk(self.named[schema], buf, pos)
        if isinstance(schema, list):
            index, pos = self.varint(buf, pos)
            if not 0 <= index < len(schema):
                raise ValueError(f"union branch {index} of {len(schema)}")
            return self._walk(schema[index], buf, pos)
        kind = schema["type"]
        if kind in ("record", "error"):
            self.spend(len(schema["fields"]))
            for field in schema["fields"]:
                pos = self._walk(field["type"], buf, pos)
            return pos
        if kind == "enum":
            return self.varint(buf, pos)[1]
        if kind == "fixed":
            pos += int(schema["size"])
            if pos > len(buf):
                raise _Short
            return pos
        if kind in ("array", "map"):
            items = schema["items"] if kind == "array" else schema["values"]
            while True:
                count, pos = self.varint(buf, pos)
                if count == 0:
                    return pos
                if count < 0:
                    count = -count
                    pos = self.varint(buf, pos)[1]  # the block's byte size
                self.spend(count)
                for _ in range(count):
                    if kind == "map":
                        pos = self._sized(buf, pos)
                    pos = self._walk(items, buf, pos)
        return self._walk(kind, buf, pos)


def _varint_from(stream: _Tracked) -> int | None:
    """A zigzag long read from the stream; None at its end (before the first byte)."""
    result = shift = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift == 0:
                return None
            raise EOFError("the content ends inside an Avro block header")
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return (result >> 1) ^ -(result & 1)
        shift += 7
        if shift > 63:
            raise ValueError("a variable-length number runs over 10 bytes")


def _read_up_to(stream: _Tracked, n: int) -> bytes:
    parts: list[bytes] = []
    while n > 0:
        part = stream.read(min(n, 1 << 20))
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _decompress(codec: str, data: bytes, complete: bool, limit: int) -> tuple[bytes, bool]:
    """The block's data decompressed, at most ``limit`` bytes of it, and whether that is all of it."""
    if codec == "null":
        return data[:limit], complete and len(data) <= limit
    if codec == "deflate":
        inflate = zlib.decompressobj(-15)
        out = inflate.decompress(data, limit)
        return out, complete and inflate.eof
    if codec in ("bzip2", "xz"):
        stream = bz2.BZ2Decompressor() if codec == "bzip2" else lzma.LZMADecompressor()
        out = stream.decompress(data, max_length=limit)
        return out, complete and stream.eof
    if codec == "snappy":
        import cramjam

        if not complete:
            return b"", False
        length, shift, i = 0, 0, 0
        while i < min(len(data), 10):  # the uncompressed length, an unsigned varint, comes first
            length |= (data[i] & 0x7F) << shift
            shift += 7
            i += 1
            if not data[i - 1] & 0x80:
                break
        if length > limit:
            return b"", False
        out = bytes(cramjam.snappy.decompress_raw(data[:-4]))
        if zlib.crc32(out) != int.from_bytes(data[-4:], "big"):
            raise ValueError("the snappy block's checksum does not match")
        return out, True
    raise RecordError(f"the Avro codec {codec!r} is not shown by the preview (null, deflate, snappy, bzip2 and xz are)")


def _avro(stream: _Tracked, size: int, max_rows: int) -> dict[str, Any]:
    """Avro: the header through fastavro, then block by block: each block's data read
    whole only up to ``MAX_DECODED`` bytes in all, decompressed to at most what is left
    of that, each datum measured (``_AvroWalk``) before fastavro decodes it, its cells
    kept and the datum dropped."""
    import fastavro
    from fastavro import parse_schema, schemaless_reader

    try:
        reader = fastavro.reader(cast(BinaryIO, stream))
        sync = reader._header["sync"]
        codec = reader.metadata.get("avro.codec", "null") or "null"
        named: dict[str, Any] = {}
        parsed = parse_schema(reader.writer_schema, named, _write_hint=False)
    except Exception as exc:  # fastavro raises many kinds for a bad header
        raise RecordError(f"the content is not an Avro data file: {exc or type(exc).__name__}") from None
    declared: dict[str, DataType | None] = {}
    try:
        schema = from_avro_schema(reader.writer_schema)
        declared = {f.name: f.data_type for f in schema.fields}
    except (ValueError, TypeError, KeyError):
        pass  # not a record schema: each datum goes in a "value" column
    columns = _Columns(declared)
    walk = _AvroWalk(parsed, named)
    left = MAX_DECODED
    truncated = False
    block = 0

    def malformed(why: str) -> RecordError:
        where = f" after record {len(columns.rows)}" if columns.rows else ""
        return RecordError(f"the Avro data is malformed{where} (block {block}): {why}")

    def too_large(why: str) -> RecordError:
        return RecordError(f"the first Avro record is larger than the preview decodes: {why}")

    while True:
        block += 1
        try:
            count = _varint_from(stream)
            if count is None:
                if _cut(stream, size):
                    truncated = True
                break
            length = _varint_from(stream)
        except (EOFError, ValueError) as exc:
            if _cut(stream, size) and columns.rows:
                truncated = True
                break
            raise malformed(str(exc)) from None
        if count < 0 or length is None or length < 0:
            raise malformed(f"a block declares {count} records in {length} bytes")
        if count and len(columns.rows) >= max_rows:
            truncated = True
            break
        data = _read_up_to(stream, min(length, MAX_DECODED))
        complete = len(data) == length
        if complete:
            marker = _read_up_to(stream, 16)
            if len(marker) < 16 and _cut(stream, size):
                complete = False  # the block's data stands; what follows it is past what the preview reads
            elif marker != sync:
                raise malformed("the block's sync marker does not match the header's")
        elif not _cut(stream, size) and len(data) < min(length, MAX_DECODED):
            raise malformed(f"the block declares {length} bytes, the content ends before them")
        try:
            buf, whole = _decompress(codec, data, complete, left)
        except (OSError, ValueError, zlib.error, lzma.LZMAError) as exc:
            if complete or not columns.rows:
                raise malformed(f"{codec} data: {exc}") from None
            truncated = True
            break
        except Exception as exc:  # cramjam raises its own errors
            raise malformed(f"{codec} data: {exc or type(exc).__name__}") from None
        left -= len(buf)
        view = io.BytesIO(buf)
        pos = 0
        for _ in range(count):
            if len(columns.rows) >= max_rows:
                truncated = True
                break
            try:
                end = walk.datum_end(buf, pos)
            except _Short:
                if whole:
                    raise malformed("a record runs past the end of its block") from None
                if not columns.rows:
                    raise too_large(f"it runs past the first {MAX_DECODED // 2**20} MiB decoded") from None
                truncated = True
                break
            except _TooMany:
                if not columns.rows:
                    raise too_large(f"it holds more than {MAX_VALUES} values") from None
                truncated = True
                break
            except RecursionError:
                raise RecordError(f"record {len(columns.rows) + 1} nests deeper than the preview decodes") from None
            except (ValueError, KeyError, TypeError) as exc:
                raise malformed(str(exc)) from None
            view.seek(pos)
            try:
                datum = schemaless_reader(view, parsed, None)
            except Exception as exc:  # fastavro raises many kinds for bad data
                raise malformed(f"{exc or type(exc).__name__}") from None
            pos = end
            columns.add(datum if isinstance(datum, dict) else {"value": datum})
        else:
            if not whole:
                truncated = True
                break
            continue
        break
    return columns.table(max_rows, truncated)


class _Columns:
    """Rows kept as their cells (the decoded values dropped as they come), columns
    declared by the schema first, others inferred from the values."""

    def __init__(self, declared: Mapping[str, DataType | None]) -> None:
        self.declared = declared
        self.names: dict[str, None] = dict.fromkeys(declared)
        self.inferred: dict[str, DataType | None] = {}
        self.rows: list[dict[str, Any]] = []

    def add(self, record: Mapping[str, Any]) -> None:
        for key, value in record.items():
            self.names.setdefault(key)
            if key not in self.declared:
                self.inferred[key] = merge_types(self.inferred.get(key), infer_type(value))
        self.rows.append({key: _cell(value) for key, value in record.items()})

    def table(self, max_rows: int, truncated: bool) -> dict[str, Any]:
        columns = [{"name": n, "type": _type_name(self.declared[n] if n in self.declared else self.inferred.get(n))}
                   for n in self.names]
        rows = [[row.get(n) for n in self.names] for row in self.rows[:max_rows]]
        return {"columns": columns, "rows": rows, "truncated": truncated}


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
