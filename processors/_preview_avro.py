"""The Avro data file preview: reads block by block within the preview's budgets,
walking each datum's bytes to find where it ends before decoding, and stops at
``MAX_DECODED`` bytes or ``MAX_VALUES`` values.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO, cast

from flowyard.processors._preview_base import MAX_DECODED, MAX_VALUES, _Columns, _cut, _Tracked
from flowyard.processors._record_services import RecordError
from flowyard.processors._records import DataType, from_avro_schema

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
