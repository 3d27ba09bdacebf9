"""flowyard record types and Arrow types, both ways, as QueryRecord streams records
through DuckDB: the Arrow type and schema of a record schema, records turned into Arrow
record batches (``batches_of``), the record schema of a query result and its rows turned
back into records (``records_of``). ``query_record`` re-exports the public names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC
from decimal import Decimal
from typing import Any

import pyarrow as pa

from flowyard.processors._records import DataType, RecordField, RecordFieldType, RecordSchema, coerce, to_text
from flowyard.processors._records import RecordFieldType as T

BATCH_ROWS = 4096
_EMPTY_COLUMN = "__flowyard_no_fields"
_MAX_PRECISION = 38


# -- flowyard record types <-> Arrow types -------------------------------------------------

Converter = Callable[[Any], Any]


def _decimal_type(precision: int, scale: int) -> pa.DataType:
    precision = min(max(precision, 1), _MAX_PRECISION)
    return pa.decimal128(precision, min(max(scale, 0), precision))


def arrow_type(data_type: DataType, precision: int = 10, scale: int = 0) -> pa.DataType:
    """The Arrow type ``data_type`` values are given to DuckDB as. ``precision``/``scale``
    are used for decimals that do not say theirs."""
    kind = data_type.field_type
    simple = _SIMPLE_ARROW.get(kind)
    if simple is not None:
        return simple
    if kind is T.DECIMAL:
        return _decimal_type(data_type.precision or precision,
                             data_type.scale if data_type.scale is not None else scale)
    if kind is T.ARRAY:
        element = data_type.element or T.STRING.data_type()
        if element.field_type is T.BYTE:
            return pa.binary()
        return pa.list_(arrow_type(element, precision, scale))
    if kind is T.MAP:
        return pa.map_(pa.string(), arrow_type(data_type.element or T.STRING.data_type(), precision, scale))
    if kind is T.RECORD:
        fields = data_type.schema.fields if data_type.schema is not None else ()
        if not fields:
            return pa.string()
        return pa.struct([pa.field(f.name, arrow_type(f.data_type, precision, scale)) for f in fields])
    if kind is T.CHOICE:
        kinds = {c.field_type for c in data_type.choices}
        if kinds and kinds <= {T.BYTE, T.SHORT, T.INT, T.LONG}:
            return pa.int64()
        if kinds and kinds <= {T.BYTE, T.SHORT, T.INT, T.LONG, T.FLOAT, T.DOUBLE}:
            return pa.float64()
        return pa.string()
    return pa.string()


_SIMPLE_ARROW: dict[RecordFieldType, pa.DataType] = {
    T.STRING: pa.string(), T.CHAR: pa.string(), T.ENUM: pa.string(), T.UUID: pa.string(),
    T.BOOLEAN: pa.bool_(), T.BYTE: pa.int8(), T.SHORT: pa.int16(), T.INT: pa.int32(), T.LONG: pa.int64(),
    T.BIGINT: pa.decimal128(_MAX_PRECISION, 0), T.FLOAT: pa.float32(), T.DOUBLE: pa.float64(),
    T.DATE: pa.date32(), T.TIME: pa.time64("us"), T.TIMESTAMP: pa.timestamp("us"),
}


def arrow_schema(schema: RecordSchema, precision: int = 10, scale: int = 0) -> pa.Schema:
    """The Arrow schema of records of ``schema`` (a placeholder column when it has no field:
    DuckDB needs one)."""
    if not schema.fields:
        return pa.schema([pa.field(_EMPTY_COLUMN, pa.null())])
    return pa.schema([pa.field(f.name, arrow_type(f.data_type, precision, scale)) for f in schema.fields])


def _to_arrow_converter(data_type: DataType, arrow: pa.DataType) -> Converter | None:
    """A function making a record value acceptable to Arrow as ``arrow``; None when values pass as they are."""
    kind = data_type.field_type
    if pa.types.is_string(arrow) and kind not in (T.STRING, T.CHAR, T.ENUM):
        return lambda v: None if v is None else to_text(v)
    if kind is T.BIGINT:
        return lambda v: None if v is None else Decimal(v)
    if kind is T.CHOICE:
        number = int if pa.types.is_integer(arrow) else float
        return lambda v: None if v is None else number(v)
    if pa.types.is_binary(arrow):
        return lambda v: v if v is None or isinstance(v, bytes) else bytes(v)
    if pa.types.is_list(arrow) and data_type.element is not None:
        inner = _to_arrow_converter(data_type.element, arrow.value_type)
        if inner is None:
            return None
        each: Converter = inner
        return lambda v: None if v is None else [each(x) for x in v]
    if pa.types.is_map(arrow) and data_type.element is not None:
        inner = _to_arrow_converter(data_type.element, arrow.item_type)
        if inner is None:
            return None
        value_fn: Converter = inner
        return lambda v: None if v is None else {k: value_fn(x) for k, x in v.items()}
    if pa.types.is_struct(arrow) and data_type.schema is not None:
        return _record_converter(data_type.schema, arrow)
    return None


def _record_converter(schema: RecordSchema, arrow: pa.StructType | pa.Schema) -> Converter | None:
    converters = []
    for index, f in enumerate(schema.fields):
        converter = _to_arrow_converter(f.data_type, arrow.field(index).type)
        if converter is not None:
            converters.append((f.name, converter))
    if not converters:
        return None

    def convert(record: Any) -> Any:
        if record is None:
            return None
        record = dict(record)
        for name, fn in converters:
            if name in record:
                record[name] = fn(record[name])
        return record
    return convert


def batches_of(records: Iterator[dict[str, Any]], schema: RecordSchema, target: pa.Schema,
               rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """``records`` (of ``schema``) as Arrow record batches of ``target``, ``rows`` at a time."""
    if not schema.fields:
        count = 0
        for _ in records:
            count += 1
            if count == rows:
                yield pa.RecordBatch.from_arrays([pa.nulls(count)], schema=target)
                count = 0
        if count:
            yield pa.RecordBatch.from_arrays([pa.nulls(count)], schema=target)
        return
    convert = _record_converter(schema, target)
    chunk: list[dict[str, Any]] = []
    for record in records:
        chunk.append(record if convert is None else convert(record))
        if len(chunk) == rows:
            yield pa.RecordBatch.from_pylist(chunk, schema=target)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=target)


def data_type_of(arrow: pa.DataType) -> DataType:
    """The record type of values of an Arrow type (DuckDB's result columns)."""
    if pa.types.is_boolean(arrow):
        return T.BOOLEAN.data_type()
    if pa.types.is_integer(arrow):
        width = arrow.bit_width
        if pa.types.is_unsigned_integer(arrow):
            return (T.SHORT if width <= 8 else T.INT if width <= 16 else T.LONG if width <= 32 else T.BIGINT
                    ).data_type()
        return {8: T.BYTE, 16: T.SHORT, 32: T.INT}.get(width, T.LONG).data_type()
    if pa.types.is_float16(arrow) or pa.types.is_float32(arrow):
        return T.FLOAT.data_type()
    if pa.types.is_floating(arrow):
        return T.DOUBLE.data_type()
    if pa.types.is_decimal(arrow):
        return DataType.decimal(arrow.precision, arrow.scale)
    if pa.types.is_date(arrow):
        return T.DATE.data_type()
    if pa.types.is_time(arrow):
        return T.TIME.data_type()
    if pa.types.is_timestamp(arrow):
        return T.TIMESTAMP.data_type()
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return DataType.array(T.BYTE.data_type())
    if pa.types.is_map(arrow):
        return DataType.map(data_type_of(arrow.item_type))
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_fixed_size_list(arrow):
        return DataType.array(data_type_of(arrow.value_type))
    if pa.types.is_struct(arrow):
        return DataType.record(RecordSchema(tuple(
            RecordField(arrow.field(i).name, data_type_of(arrow.field(i).type)) for i in range(arrow.num_fields))))
    return T.STRING.data_type()


def record_schema_of(result: pa.Schema, source: RecordSchema, precision: int = 10, scale: int = 0) -> RecordSchema:
    """The record schema of a query result: a column named as an input field, of the Arrow type that field
    was given as, keeps the field's type (so UUIDs, enums, big integers come back as they went in);
    any other column gets the type of its Arrow type."""
    fields = []
    names = [column.name for column in result]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"the query's result has several columns named {twice[0]!r}: name them apart with AS")
    for column in result:
        if column.name == _EMPTY_COLUMN:
            continue
        original = source.field(column.name)
        if (original is not None and original.data_type.field_type is not T.CHOICE
                and arrow_type(original.data_type, precision, scale) == column.type):
            fields.append(RecordField(column.name, original.data_type))
        else:
            fields.append(RecordField(column.name, data_type_of(column.type)))
    return RecordSchema(tuple(fields))


def _from_arrow_converter(data_type: DataType, arrow: pa.DataType) -> Converter | None:
    """A function turning a value Arrow gives back (``to_pylist``) into a record value of ``data_type``."""
    kind = data_type.field_type
    if kind in (T.BIGINT, T.UUID):
        return lambda v: None if v is None else coerce(v, data_type)
    if pa.types.is_timestamp(arrow) and arrow.tz is not None:
        return lambda v: None if v is None else v.astimezone(UTC).replace(tzinfo=None)
    if pa.types.is_map(arrow):
        inner = _from_arrow_converter(data_type.element or data_type_of(arrow.item_type), arrow.item_type)
        if inner is None:
            return lambda v: None if v is None else dict(v)
        item_fn: Converter = inner
        return lambda v: None if v is None else {k: item_fn(x) for k, x in v}
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow) or pa.types.is_fixed_size_list(arrow):
        inner = _from_arrow_converter(data_type.element or data_type_of(arrow.value_type), arrow.value_type)
        if inner is None:
            return None
        each: Converter = inner
        return lambda v: None if v is None else [each(x) for x in v]
    if pa.types.is_struct(arrow):
        schema = data_type.schema or RecordSchema(())
        converters = []
        for i in range(arrow.num_fields):
            sub = arrow.field(i)
            declared = schema.field(sub.name)
            converter = _from_arrow_converter(declared.data_type if declared else data_type_of(sub.type), sub.type)
            if converter is not None:
                converters.append((sub.name, converter))
        if not converters:
            return None

        def convert(record: Any) -> Any:
            if record is None:
                return None
            for name, fn in converters:
                record[name] = fn(record.get(name))
            return record
        return convert
    if pa.types.is_null(arrow) or pa.types.is_dictionary(arrow):
        return None
    if kind is T.STRING and not (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)):
        return lambda v: None if v is None else str(v)
    return None


def records_of(result: pa.RecordBatchReader, schema: RecordSchema) -> Iterator[dict[str, Any]]:
    """The rows of ``result`` as records of ``schema`` (see ``record_schema_of``)."""
    converters = []
    for f in schema.fields:
        converter = _from_arrow_converter(f.data_type, result.schema.field(f.name).type)
        if converter is not None:
            converters.append((f.name, converter))
    drop = _EMPTY_COLUMN in result.schema.names
    for batch in result:
        for row in batch.to_pylist():
            if drop:
                del row[_EMPTY_COLUMN]
            for name, fn in converters:
                row[name] = fn(row[name])
            yield row
