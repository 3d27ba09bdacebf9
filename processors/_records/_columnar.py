"""The columnar fast path of record conversion: Arrow record batches instead of one dict per record.

The record reader/writer API (``processors/_record_services.py``) moves one
``dict`` per record. Where both sides can, a processor may move
``pyarrow.RecordBatch`` es instead. This is an optional, duck-typed extension
of that API: a reader or writer that does not have the methods below simply
takes the row path.

**Reader**: ``reader.batches() -> Iterator[pa.RecordBatch] | None``

- None: this reader cannot give this content as batches (its configuration or
  its schema is outside what the fast path reproduces exactly); iterate it.
- Otherwise an iterator of batches of ``columnar_schema(reader.schema)``: the
  very values iterating the reader would give, in the Arrow types the Parquet
  writer stores them as (a field a record would lack is null).
- While iterating, the iterator may raise ``ColumnarFallback``: the content
  turned out to hold something the fast path cannot reproduce exactly (a ragged
  row, a value the row path would reject or read differently, ...). Nothing is
  lost: the caller discards what it wrote and starts again on the row path
  (``iter(reader)`` opens the content afresh), which then gives the exact
  result or the exact error.

**Writer**: ``writer.write_batches(batches) -> Iterator[bytes] | None``

- None: this writer cannot take batches of its schema; write records.
- Otherwise the serialized record set, in chunks, exactly as ``write`` would
  produce it from the same records; ``record_count`` is final once exhausted.
  ``ColumnarFallback`` from the batches passes through.

``convert(reader, writer)`` puts the two together: the chunks to write, or
None when either side cannot. ``ConvertRecord`` uses it when the writer
writes with the reader's schema.

**The CSV side** (``ArrowCSV``): ``pyarrow.csv.open_csv`` reads the content in
blocks (about 1 MiB each), every column as text; the reader's dialect is then
applied column by column with Arrow compute kernels, so memory is bounded by a
few blocks, not by the content. What is exact and what falls back:

- Parsed by Arrow exactly as Python's ``csv`` module (the row path) parses it:
  separator, quote (or none), doubled quotes, escape character (also none when
  the Null String starts with it, as on the row path), quoted values with
  separators and line ends, any line end, blank lines skipped. Falls back: a
  comment marker, a character set other than UTF-8, a byte order mark, fewer
  than two columns, rows of differing width, duplicate header names, invalid
  UTF-8, a value longer than Python's csv field size limit and anything else
  Arrow's parser rejects.
- Trim Fields removes exactly the characters Python's ``str.strip`` removes
  (``utf8_trim`` with Python's whitespace set); the Null String becomes null
  after trimming, as on the row path.
- Schema inference reproduces ``SchemaInference`` (NiFi's CSV inference):
  whole numbers int/long/bigint by size, decimal numbers double, true/false
  (any case) boolean, dates/times/timestamps only when a format is set and
  matches, string otherwise; a column of mixed kinds is merged by
  ``merge_types`` in the order the kinds first appear (which gives the same
  type as merging value by value). With a Date/Time/Timestamp Format set,
  each distinct text value of a block that is not a number or boolean is
  matched in Python with the same Java pattern code, so inference is then
  much slower on columns of distinct strings (as on the row path).
- Values: strings as they are; int/long/short/byte (one optional sign and
  ASCII digits) and float/double (plain decimal or exponent notation) parsed
  by Arrow, whose parsing is correctly rounded as Python's ``float`` is;
  booleans from true/false in any case; an empty value of a typed field null;
  decimals, dates, times and timestamps through the row path's own converter,
  once per distinct value of a block. Falls back: any value the vectorised
  rule does not cover (``0x10``, ``1_000``, ``inf``, non-ASCII digits, a number
  out of the field's range, a blank value with Trim Fields off, a null in a
  field that is not nullable, a value the converter rejects) and schemas with
  choice, bigint, char, uuid, enum, record, array or map fields (those go the
  row path from the start).

Where the time went before this path (py-spy, 200,000 records, 11 MB,
CSV → Parquet, inferred schema): about 45 % inferring the schema (Python's
``csv`` parsing plus ``infer_text_type`` on every value), about 30 % parsing the
content again and converting each value to its type into a dict, about 15 %
appending the dict values to column lists and ``pa.array``, under 10 % in
pyarrow's Parquet encoding. CSV → JSON: about 25 % inference, 20 % parsing and
converting again, 50 % encoding JSON. Both are per-value Python work, which this
path moves into Arrow's C++ kernels.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flowyard.processors._common import PrefixedStream
from flowyard.processors._records._coerce import TimeFormats
from flowyard.processors._records._infer import infer_text_type, merge_types
from flowyard.processors._records._types import DataType, RecordField, RecordFieldType, RecordSchema

__all__ = ["ArrowCSV", "CSVOptions", "ColumnarFallback", "columnar_schema", "columnar_type", "convert"]

T = RecordFieldType
BLOCK_SIZE = 1 << 20
_BOM = b"\xef\xbb\xbf"
_FLOAT_RE = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_BOOL_RE = r"^(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"
#: true/false after ``ascii_lower``: no other character lowers to these letters in Python either
_BOOLEANS = pa.array(["true", "false"])
_INT_BOUNDS = {T.BYTE: (-(2**7), 2**7 - 1), T.SHORT: (-(2**15), 2**15 - 1), T.INT: (-(2**31), 2**31 - 1),
               T.LONG: (-(2**63), 2**63 - 1)}
_SIMPLE: dict[RecordFieldType, pa.DataType] = {
    T.STRING: pa.string(), T.BOOLEAN: pa.bool_(), T.BYTE: pa.int8(), T.SHORT: pa.int16(), T.INT: pa.int32(),
    T.LONG: pa.int64(), T.FLOAT: pa.float32(), T.DOUBLE: pa.float64(), T.DATE: pa.date32(),
    T.TIME: pa.time32("ms"), T.TIMESTAMP: pa.timestamp("ms"),
}


class ColumnarFallback(Exception):
    """The content cannot be converted exactly on the columnar path; start again on the row path.

    Deliberately not a ``ValueError``: it never means the data is bad."""


def columnar_type(data_type: DataType) -> pa.DataType | None:
    """The Arrow type of a field on the fast path (as the Parquet writer stores it), or None."""
    kind = data_type.field_type
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind is T.DECIMAL and data_type.scale is not None:
        return pa.decimal128(data_type.precision or 38, data_type.scale)
    return None


def columnar_schema(schema: RecordSchema) -> pa.Schema | None:
    """The Arrow schema of batches of ``schema``, or None when a field has no columnar type."""
    fields = []
    for f in schema.fields:
        arrow = columnar_type(f.data_type)
        if arrow is None:
            return None
        fields.append(pa.field(f.name, arrow, nullable=f.nullable))
    return pa.schema(fields)


def convert(reader: object, writer: object) -> Iterator[bytes] | None:
    """The chunks of ``writer`` writing ``reader``'s batches, or None when either cannot."""
    write_batches = getattr(writer, "write_batches", None)
    batches_of = getattr(reader, "batches", None)
    if write_batches is None or batches_of is None:
        return None
    batches = batches_of()
    if batches is None:
        return None
    chunks = write_batches(batches)
    return None if chunks is None else iter(chunks)


@functools.cache
def python_whitespace() -> str:
    """Every character Python's ``str.strip`` removes."""
    return "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


@dataclass(frozen=True, slots=True)
class CSVOptions:
    """What the CSV reader's configuration means to the fast path (Python ``csv`` semantics)."""

    separator: str
    quote: str | None
    escape: str | None
    trim: bool
    null_string: str | None
    formats: TimeFormats
    #: The row path's converter of text to a field's type (used for decimals and temporal types).
    converter: Callable[[DataType, TimeFormats], Callable[[str], Any]]


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream`` (fewer only at its end)."""
    parts = []
    while size > 0:
        data = stream.read(size)
        if not data:
            break
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _first(mask: pa.Array) -> int:
    """The index of the first true in ``mask`` (nulls are false), or -1."""
    return int(pc.index(pc.fill_null(mask, False), True).as_py())


def _any(mask: pa.Array) -> bool:
    return bool(pc.any(pc.fill_null(mask, False)).as_py())


def _unsigned(text: pa.Array) -> pa.Array:
    """``text`` without one leading '+' or '-' (``infer_text_type``'s body)."""
    signed = pc.or_(pc.starts_with(text, "-"), pc.starts_with(text, "+"))
    return pc.if_else(signed, pc.utf8_slice_codeunits(text, 1), text) if _any(signed) else text


def _decimal(body: pa.Array) -> pa.Array:
    """Where ``body`` is ASCII digits with one '.' among or around them (not '.' alone), as
    ``infer_text_type`` takes a decimal number; nulls are false."""
    dotted = pc.fill_null(pc.match_substring(body, "."), False)
    digits = pc.fill_null(pc.ascii_is_decimal(pc.replace_substring(body, ".", "", max_replacements=1)), False)
    return pc.and_(dotted, digits)


class ArrowCSV:
    """Reads one flowfile's CSV content with Arrow (see the module docstring).

    Every method raises ``ColumnarFallback`` when the content is outside what
    this class reproduces exactly."""

    def __init__(self, options: CSVOptions, open_stream: Callable[[], BinaryIO]) -> None:
        self._o = options
        self._open = open_stream
        self._width: int | None = None

    # -- reading ----------------------------------------------------------------------------------

    def _options(self, width: int | None) -> tuple[Any, Any, Any]:
        o = self._o
        read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=BLOCK_SIZE, use_threads=True)
        parse = pacsv.ParseOptions(delimiter=o.separator, quote_char=o.quote or False, double_quote=True,
                                   escape_char=o.escape or False, newlines_in_values=True, ignore_empty_lines=True)
        types = {} if width is None else {f"f{i}": pa.string() for i in range(width)}
        convert = pacsv.ConvertOptions(check_utf8=True, column_types=types, null_values=[],
                                       strings_can_be_null=False, quoted_strings_can_be_null=False)
        return read, parse, convert

    def _reader(self) -> tuple[Any, BinaryIO]:
        """Arrow's streaming reader of the content, every column text, and the stream it reads."""
        stream = self._open()
        try:
            head = _read_up_to(stream, 2 * BLOCK_SIZE)
            if head.startswith(_BOM):
                raise ColumnarFallback("byte order mark")  # Arrow drops it; Python's csv keeps it in the header
            if self._width is None:  # the number of columns, from the first block (of complete rows)
                read, parse, convert = self._options(None)
                width = len(pacsv.open_csv(io.BytesIO(head), read_options=read, parse_options=parse,
                                           convert_options=convert).schema)
                if width < 2:
                    raise ColumnarFallback("fewer than two columns")  # a lone "" would be a record here, not there
                self._width = width
            read, parse, convert = self._options(self._width)
            return pacsv.open_csv(PrefixedStream(head, stream), read_options=read, parse_options=parse,
                                  convert_options=convert), stream
        except (pa.ArrowException, OSError, ValueError) as exc:
            stream.close()
            raise ColumnarFallback(str(exc)) from None
        except BaseException:
            stream.close()
            raise

    def _blocks(self) -> Iterator[list[pa.Array]]:
        """The prepared text columns (trimmed, the Null String null) of each block, first row included."""
        reader, stream = self._reader()
        width = len(reader.schema)
        limit = csv.field_size_limit()
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowException, OSError, ValueError) as exc:
                    raise ColumnarFallback(str(exc)) from None
                if not batch.num_rows:
                    continue
                raw = [batch.column(i) for i in range(width)]
                if any((pc.max(pc.utf8_length(column)).as_py() or 0) > limit for column in raw):
                    raise ColumnarFallback("a value longer than Python's csv field limit")  # the row path fails
                yield [self._prepare(column) for column in raw]
        finally:
            stream.close()

    def _prepare(self, column: pa.Array) -> pa.Array:
        o = self._o
        if o.trim:
            column = pc.utf8_trim(column, characters=python_whitespace())
        if o.null_string is not None:
            column = pc.if_else(pc.equal(column, o.null_string), pa.scalar(None, pa.string()), column)
        return column

    def _rows(self, header_line: bool) -> Iterator[tuple[list[str] | None, list[pa.Array]]]:
        """``(header, columns)`` per block: the header (first row) only with the first block."""
        first = True
        for columns in self._blocks():
            header: list[str] | None = None
            if first and header_line:
                header = [column[0].as_py() or f"field_{i}" for i, column in enumerate(columns)]
                if len(set(header)) != len(header):
                    raise ColumnarFallback("duplicate header names")
                columns = [column.slice(1) for column in columns]
            first = False
            if len(columns[0]) or header is not None:
                yield header, columns

    # -- schema inference ---------------------------------------------------------------------------

    def infer(self) -> RecordSchema:
        """The schema ``SchemaInference`` gives for the content (header line first)."""
        header: list[str] = []
        firsts: list[dict[DataType, int]] = []
        offset = 0
        for found, columns in self._rows(header_line=True):
            if found is not None:
                header = found
                firsts = [{} for _ in header]
            for column, seen in zip(columns, firsts, strict=True):
                self._classify(column, offset, seen)
            offset += len(columns[0])
        if not header:
            raise ColumnarFallback("no header")
        fields = []
        for name, seen in zip(header, firsts, strict=True):
            merged: DataType | None = None
            for data_type, _ in sorted(seen.items(), key=lambda item: item[1]):
                merged = merge_types(merged, data_type)
            fields.append(RecordField(name, merged or T.STRING.data_type()))
        return RecordSchema(tuple(fields))

    def _classify(self, column: pa.Array, offset: int, seen: dict[DataType, int]) -> None:
        """Note the position of the first value of each inferred type in ``column``."""

        def note(data_type: DataType, index: int) -> None:
            if index >= 0 and (data_type not in seen or seen[data_type] > offset + index):
                seen[data_type] = offset + index

        text = column if self._o.trim else pc.utf8_trim(column, characters=python_whitespace())
        rest = pc.fill_null(pc.not_equal(text, ""), False)
        if not _any(rest):
            return
        body = _unsigned(text)
        # each test runs only while values are left that earlier tests did not place
        whole = pc.fill_null(pc.ascii_is_decimal(body), False)
        if _any(whole):  # int below ten characters, else as infer_text_type says (int, long or bigint)
            long = pc.and_(whole, pc.greater_equal(pc.fill_null(pc.utf8_length(text), 0), 10))
            note(T.INT.data_type(), _first(pc.and_(whole, pc.invert(long))))
            if _any(long):
                self._classify_python(text, long, offset, note)
            rest = pc.and_(rest, pc.invert(whole))
            if not _any(rest):
                return
        decimal = pc.and_(rest, _decimal(body))
        note(T.DOUBLE.data_type(), _first(decimal))
        rest = pc.and_(rest, pc.invert(decimal))
        if not _any(rest):
            return
        boolean = pc.and_(rest, pc.fill_null(pc.is_in(pc.ascii_lower(text), value_set=_BOOLEANS), False))
        note(T.BOOLEAN.data_type(), _first(boolean))
        rest = pc.and_(rest, pc.invert(boolean))
        if not _any(rest):
            return
        formats = self._o.formats
        if formats.date or formats.time or formats.timestamp:
            self._classify_python(text, rest, offset, note)
        else:
            note(T.STRING.data_type(), _first(rest))

    def _classify_python(self, text: pa.Array, mask: pa.Array, offset: int,
                         note: Callable[[DataType, int], None]) -> None:
        """``infer_text_type`` on each distinct value where ``mask`` holds (in order of first appearance)."""
        positions = pc.indices_nonzero(mask)
        encoded = pc.dictionary_encode(pc.take(text, positions))
        found: set[DataType] = set()
        for k, value in enumerate(encoded.dictionary.to_pylist()):
            data_type = infer_text_type(value, self._o.formats)
            if data_type is not None and data_type not in found:
                found.add(data_type)
                note(data_type, int(positions[int(pc.index(encoded.indices, k).as_py())].as_py()))

    # -- record batches -----------------------------------------------------------------------------

    def batches(self, schema: RecordSchema, header_line: bool, names: list[str] | None) -> Iterator[pa.RecordBatch]:
        """The records as batches of ``columnar_schema(schema)``; ``header_line``: the first row is a
        header (not a record); ``names``: the field names of the columns by position (None: the header's)."""
        target = columnar_schema(schema)
        if target is None:
            raise ColumnarFallback("a field has no columnar type")
        place: dict[str, int] | None = None
        for header, columns in self._rows(header_line):
            if place is None:
                place = {}
                for i, name in enumerate(names if names is not None else header or []):
                    field = schema.field(name)
                    if field is not None and i < len(columns):
                        place[field.name] = i  # the last column of a field wins, as on the row path
            rows = len(columns[0])
            if not rows:
                continue
            arrays = []
            for field, arrow in zip(schema.fields, target, strict=True):
                index = place.get(field.name)
                array = pa.nulls(rows, arrow.type) if index is None else self._typed(columns[index], field, arrow.type)
                if not field.nullable and array.null_count:
                    raise ColumnarFallback(f"a null in the non-nullable field {field.name!r}")
                arrays.append(array)
            yield pa.RecordBatch.from_arrays(arrays, schema=target)

    def _typed(self, column: pa.Array, field: RecordField, arrow: pa.DataType) -> pa.Array:
        kind = field.data_type.field_type
        if kind is T.STRING:
            return column
        text = column if self._o.trim else pc.utf8_trim(column, characters=python_whitespace())
        empty = pc.equal(column, "")
        if not self._o.trim and _any(pc.and_(pc.invert(empty), pc.equal(text, ""))):
            raise ColumnarFallback("a blank value in a typed field")  # the row path rejects it
        text = pc.if_else(empty, pa.scalar(None, pa.string()), text)  # an empty value of a typed field is null

        def require(pattern: str) -> None:
            if not bool(pc.all(pc.fill_null(pc.match_substring_regex(text, pattern), True)).as_py()):
                raise ColumnarFallback(f"a value of {field.name!r} outside the fast path")

        try:
            if kind in _INT_BOUNDS:
                # one optional sign and ASCII digits, as the row path takes them (Arrow's cast alone would
                # also take '0x10'); a '+' Arrow does not take, so it goes
                body = _unsigned(text)
                if not bool(pc.all(pc.fill_null(pc.ascii_is_decimal(body), True)).as_py()):
                    raise ColumnarFallback(f"a value of {field.name!r} that is not a plain whole number")
                plus = pc.starts_with(text, "+")
                numbers = pc.cast(pc.if_else(plus, body, text) if _any(plus) else text, pa.int64())
                low, high = _INT_BOUNDS[kind]
                if numbers.null_count < len(numbers):
                    least, most = pc.min_max(numbers).values()
                    if least.as_py() < low or most.as_py() > high:
                        raise ColumnarFallback("a number out of range")
                return pc.cast(numbers, arrow)
            if kind is T.DOUBLE or kind is T.FLOAT:
                body = _unsigned(text)
                plain = pc.or_(pc.fill_null(pc.ascii_is_decimal(body), True), _decimal(body))
                if not bool(pc.all(plain).as_py()):  # the cheap test first, the full pattern if it does not do
                    require(_FLOAT_RE)
                return pc.cast(pc.cast(text, pa.float64()), arrow, safe=False)
            if kind is T.BOOLEAN:
                require(_BOOL_RE)
                return pc.match_substring_regex(text, "^[Tt]")
            # the row path's own converter, once per distinct value of the block
            convert = self._o.converter(field.data_type, self._o.formats)
            encoded = pc.dictionary_encode(column)
            values = pa.array([convert(v) for v in encoded.dictionary.to_pylist()], type=arrow)
            return pc.take(values, encoded.indices)
        except ColumnarFallback:
            raise
        except (pa.ArrowException, ValueError, ArithmeticError, TypeError, OverflowError) as exc:
            raise ColumnarFallback(f"field {field.name!r}: {exc}") from None


def write_row_groups(batches: Iterable[pa.RecordBatch], schema: pa.Schema, group: int,
                     write: Callable[[pa.Table, int], None]) -> Iterator[int]:
    """Regroup ``batches`` into tables of ``group`` rows (the last one shorter) and ``write`` each; yields
    after each write, then ends; the number of rows is the sum of what it yields."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if not batch.num_rows:
            continue
        pending.append(batch)
        rows += batch.num_rows
        while rows >= group:
            table = pa.Table.from_batches(pending, schema=schema)
            write(table.slice(0, group), group)
            rest = table.slice(group)
            pending = rest.to_batches()
            rows = rest.num_rows
            yield group
    if rows:
        write(pa.Table.from_batches(pending, schema=schema), rows)
        yield rows
