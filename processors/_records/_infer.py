"""Schema inference from values, after NiFi's ``FieldTypeInference`` and the
CSV/JSON schema inference of its readers."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flowyard.processors._records._coerce import DEFAULT_FORMATS, TimeFormats
from flowyard.processors._records._types import DataType, Record, RecordField, RecordFieldType, RecordSchema
from flowyard.runtime.sdk.javatime import compiled

__all__ = ["SchemaInference", "infer_text_type", "infer_type", "merge_types"]

T = RecordFieldType
_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1
#: A kind that another widens into (NiFi's ``isWiderThan``): narrow → the wider kinds.
_WIDER: dict[RecordFieldType, tuple[RecordFieldType, ...]] = {
    T.BYTE: (T.SHORT, T.INT, T.LONG, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL),
    T.SHORT: (T.INT, T.LONG, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL),
    T.INT: (T.LONG, T.BIGINT, T.FLOAT, T.DOUBLE, T.DECIMAL),
    T.LONG: (T.BIGINT, T.DOUBLE, T.DECIMAL),
    T.BIGINT: (T.DECIMAL,),
    T.FLOAT: (T.DOUBLE, T.DECIMAL),
    T.DOUBLE: (T.DECIMAL,),
    T.DATE: (T.TIMESTAMP,),
}


_INT = T.INT.data_type()
_DOUBLE = T.DOUBLE.data_type()
_BOOLEAN = T.BOOLEAN.data_type()
_STRING = T.STRING.data_type()


def _integer_type(number: int) -> DataType:
    if -_INT_MAX - 1 <= number <= _INT_MAX:
        return T.INT.data_type()
    if -_LONG_MAX - 1 <= number <= _LONG_MAX:
        return T.LONG.data_type()
    return T.BIGINT.data_type()


def _matches(text: str, pattern: str | None) -> bool:
    if not pattern:
        return False
    try:
        compiled(pattern).parse(text)
    except ValueError:
        return False
    return True


def _temporal_type(text: str, formats: TimeFormats) -> DataType | None:
    # NiFi infers a temporal type only for a format the reader sets, timestamp first.
    if _matches(text, formats.timestamp):
        return T.TIMESTAMP.data_type()
    if _matches(text, formats.date):
        return T.DATE.data_type()
    if _matches(text, formats.time):
        return T.TIME.data_type()
    return None


def infer_text_type(text: str, formats: TimeFormats = DEFAULT_FORMATS) -> DataType | None:
    """The type of a value read as text (CSV): int/long/bigint for whole numbers,
    double for decimal numbers, boolean for true/false (any case), a temporal
    type when a set format matches, string otherwise; None for empty text."""
    value = text.strip()
    if not value:
        return None
    body = value[1:] if value[0] in "+-" else value
    if body.isdigit() and body.isascii():
        return _INT if len(body) < 10 else _integer_type(int(value))
    if body.count(".") == 1 and body != "." and body.replace(".", "").isdigit() and body.isascii():
        return _DOUBLE
    if len(value) in (4, 5) and value.lower() in ("true", "false"):
        return _BOOLEAN
    if formats.date or formats.time or formats.timestamp:
        return _temporal_type(value, formats) or _STRING
    return _STRING


def infer_type(value: Any, formats: TimeFormats = DEFAULT_FORMATS) -> DataType | None:
    """The type of a value parsed from a typed format (JSON, Avro); None for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return T.BOOLEAN.data_type()
    if isinstance(value, int):
        return _integer_type(value)
    if isinstance(value, float):
        return T.DOUBLE.data_type()
    if isinstance(value, Decimal):
        return T.DECIMAL.data_type()
    if isinstance(value, str):
        return _temporal_type(value, formats) or T.STRING.data_type()
    if isinstance(value, datetime):
        return T.TIMESTAMP.data_type()
    if isinstance(value, date):
        return T.DATE.data_type()
    if isinstance(value, time):
        return T.TIME.data_type()
    if isinstance(value, (bytes, bytearray)):
        return DataType.array(T.BYTE.data_type())
    if isinstance(value, dict):
        inference = SchemaInference(formats)
        inference.add(value)
        return DataType.record(inference.schema())
    if isinstance(value, (list, tuple)):
        element: DataType | None = None
        for item in value:
            element = merge_types(element, infer_type(item, formats))
        return DataType.array(element or T.STRING.data_type())
    return T.STRING.data_type()


def merge_types(current: DataType | None, new: DataType | None) -> DataType | None:
    """The type that holds values of both: the wider of two numeric (or
    date/timestamp) types, records merged field by field, arrays by element,
    otherwise a choice of both."""
    if current is None:
        return new
    if new is None or new is current or new == current:
        return current
    if current.field_type is T.CHOICE:
        for i, choice in enumerate(current.choices):
            merged = merge_types(choice, new)
            if merged is not None and merged.field_type is not T.CHOICE:
                return DataType.choice([*current.choices[:i], merged, *current.choices[i + 1:]])
        return DataType.choice([*current.choices, new])
    a, b = current.field_type, new.field_type
    if b in _WIDER.get(a, ()):
        return new
    if a in _WIDER.get(b, ()):
        return current
    if a is b is T.RECORD and current.schema is not None and new.schema is not None:
        return DataType.record(_merge_schemas(current.schema, new.schema))
    if a is b is T.ARRAY:
        return DataType.array(merge_types(current.element, new.element) or T.STRING.data_type())
    return DataType.choice([current, new])


def _merge_schemas(left: RecordSchema, right: RecordSchema) -> RecordSchema:
    fields = {f.name: f.data_type for f in left.fields}
    for f in right.fields:
        fields[f.name] = merge_types(fields.get(f.name), f.data_type) or f.data_type
    return RecordSchema(tuple(RecordField(n, t) for n, t in fields.items()))


class SchemaInference:
    """Infers one schema from many records, one ``add`` at a time (bounded by
    the number of distinct fields, not of records). Field order is that of
    first appearance; a field only ever null is a string."""

    def __init__(self, formats: TimeFormats = DEFAULT_FORMATS, *, text: bool = False) -> None:
        self._formats = formats
        self._text = text
        self._types: dict[str, DataType | None] = {}

    def add(self, record: Record) -> None:
        """Take ``record``'s values into account (text values when ``text``)."""
        types = self._types
        formats = self._formats
        for name, value in record.items():
            text = self._text and type(value) is str
            found = infer_text_type(value, formats) if text else infer_type(value, formats)
            if name not in types:
                types[name] = found
            elif found is not None and found is not types[name]:
                types[name] = merge_types(types[name], found)

    def schema(self) -> RecordSchema:
        """The schema of every record added so far."""
        return RecordSchema(tuple(RecordField(name, dt or T.STRING.data_type()) for name, dt in self._types.items()))
