"""The record model: inference, coercion, Java date patterns and Avro schemas."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from flowyard.processors._records import (
    DataType,
    IllegalTypeConversion,
    JavaDateFormat,
    RecordField,
    RecordFieldType,
    RecordSchema,
    SchemaInference,
    TimeFormats,
    coerce,
    coerce_record,
    from_avro_schema,
    infer_text_type,
    infer_type,
    merge_types,
    parse_avro_schema_text,
    to_avro_schema,
    to_text,
)

T = RecordFieldType


@pytest.mark.parametrize(("text", "expected"), [
    ("1", T.INT), ("-2147483648", T.INT), ("2147483648", T.LONG), ("9223372036854775808", T.BIGINT),
    ("1.5", T.DOUBLE), ("true", T.BOOLEAN), ("FALSE", T.BOOLEAN), ("abc", T.STRING), ("1e5", T.STRING),
    ("2024-01-02", T.STRING),  # no date format set: no date inferred
])
def test_text_inference(text: str, expected: RecordFieldType) -> None:
    found = infer_text_type(text)
    assert found is not None and found.field_type is expected


def test_text_inference_of_dates_needs_a_format() -> None:
    formats = TimeFormats(date="yyyy-MM-dd", timestamp="yyyy-MM-dd HH:mm:ss")
    assert infer_text_type("2024-01-02", formats) == T.DATE.data_type()
    assert infer_text_type("2024-01-02 10:00:00", formats) == T.TIMESTAMP.data_type()
    assert infer_text_type("", formats) is None


@pytest.mark.parametrize(("value", "expected"), [
    (1, T.INT), (2**40, T.LONG), (2**70, T.BIGINT), (1.0, T.DOUBLE), (True, T.BOOLEAN), ("x", T.STRING),
    ({"a": 1}, T.RECORD), ([1, 2], T.ARRAY),
])
def test_value_inference(value: Any, expected: RecordFieldType) -> None:
    found = infer_type(value)
    assert found is not None and found.field_type is expected


def test_merging_widens_numbers_and_makes_choices() -> None:
    assert merge_types(T.INT.data_type(), T.LONG.data_type()) == T.LONG.data_type()
    assert merge_types(T.LONG.data_type(), T.INT.data_type()) == T.LONG.data_type()
    assert merge_types(T.INT.data_type(), T.DOUBLE.data_type()) == T.DOUBLE.data_type()
    mixed = merge_types(T.INT.data_type(), T.STRING.data_type())
    assert mixed is not None and mixed.field_type is T.CHOICE
    assert set(mixed.choices) == {T.INT.data_type(), T.STRING.data_type()}
    assert merge_types(mixed, T.LONG.data_type()) == DataType.choice([T.LONG.data_type(), T.STRING.data_type()])


def test_schema_inference_over_records() -> None:
    inference = SchemaInference()
    inference.add({"id": 1, "name": "a", "tags": [1], "nested": {"x": 1}})
    inference.add({"id": 2**40, "name": None, "extra": True, "nested": {"y": "z"}})
    schema = inference.schema()
    assert schema.field_names == ["id", "name", "tags", "nested", "extra"]
    assert schema.field("id") is not None and schema.field("id").data_type == T.LONG.data_type()  # type: ignore[union-attr]
    nested = schema.field("nested").data_type.schema  # type: ignore[union-attr]
    assert nested is not None and nested.field_names == ["x", "y"]


D = T.DATE.data_type()


@pytest.mark.parametrize(("value", "data_type", "expected"), [
    ("12", T.INT.data_type(), 12),
    (" 12 ", T.LONG.data_type(), 12),
    (3.9, T.INT.data_type(), 3),
    (7, T.DOUBLE.data_type(), 7.0),
    ("1.25", T.FLOAT.data_type(), 1.25),
    ("true", T.BOOLEAN.data_type(), True),
    ("False", T.BOOLEAN.data_type(), False),
    (12, T.STRING.data_type(), "12"),
    (1.0, T.STRING.data_type(), "1.0"),
    (True, T.STRING.data_type(), "true"),
    ("1.50", DataType.decimal(5, 2), Decimal("1.50")),
    (2, DataType.decimal(5, 2), Decimal("2.00")),
    ("2024-01-02", D, date(2024, 1, 2)),
    (86_400_000, D, date(1970, 1, 2)),
    ("10:11:12", T.TIME.data_type(), time(10, 11, 12)),
    ("2024-01-02 10:11:12", T.TIMESTAMP.data_type(), datetime(2024, 1, 2, 10, 11, 12)),
    ("0", T.TIMESTAMP.data_type(), datetime(1970, 1, 1)),
    ("abc", T.CHAR.data_type(), "a"),
    ("6ba7b810-9dad-11d1-80b4-00c04fd430c8", T.UUID.data_type(), uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")),
    ("b", DataType.enum(["a", "b"]), "b"),
    (["1", 2], DataType.array(T.INT.data_type()), [1, 2]),
    ({"k": "1"}, DataType.map(T.LONG.data_type()), {"k": 1}),
    ("5", DataType.choice([T.BOOLEAN.data_type(), T.INT.data_type()]), 5),
    (5, DataType.choice([T.STRING.data_type(), T.INT.data_type()]), 5),
    (None, T.INT.data_type(), None),
])
def test_coercion(value: Any, data_type: DataType, expected: Any) -> None:
    assert coerce(value, data_type) == expected


@pytest.mark.parametrize(("value", "data_type"), [
    ("abc", T.INT.data_type()),
    ("1.5", T.INT.data_type()),
    ("2147483648", T.INT.data_type()),
    ("yes", T.BOOLEAN.data_type()),
    (True, T.INT.data_type()),
    ("x", T.DOUBLE.data_type()),
    ("2024-13-45", D),
    ({"a": 1}, T.STRING.data_type()),
    ("c", DataType.enum(["a", "b"])),
    ("not-a-uuid", T.UUID.data_type()),
    ("x", DataType.array(T.INT.data_type())),
])
def test_coercion_refuses(value: Any, data_type: DataType) -> None:
    with pytest.raises(IllegalTypeConversion):
        coerce(value, data_type)


def test_coerce_record_names_the_field_and_applies_defaults() -> None:
    schema = RecordSchema((RecordField("id", T.INT.data_type(), nullable=False),
                           RecordField("n", T.STRING.data_type(), default="none")))
    assert coerce_record({"id": "3", "other": 1}, schema) == {"id": 3, "n": "none"}
    with pytest.raises(IllegalTypeConversion, match="'id'"):
        coerce_record({"id": "x"}, schema)
    with pytest.raises(IllegalTypeConversion, match="cannot be null"):
        coerce_record({"n": "a"}, schema)


@pytest.mark.parametrize(("pattern", "text", "expected"), [
    ("yyyy-MM-dd", "2024-03-05", datetime(2024, 3, 5)),
    ("M/d/yyyy", "3/5/2024", datetime(2024, 3, 5)),
    ("dd-MMM-yy", "05-Mar-24", datetime(2024, 3, 5)),
    ("yyyyMMddHHmmss", "20240305101112", datetime(2024, 3, 5, 10, 11, 12)),
    ("hh:mm a", "01:30 PM", datetime(1970, 1, 1, 13, 30)),
    ("yyyy-MM-dd'T'HH:mm:ss.SSSX", "2024-03-05T10:11:12.345Z",
     datetime(2024, 3, 5, 10, 11, 12, 345000, tzinfo=UTC)),
    ("yyyy-MM-dd'T'HH:mm:ssXXX", "2024-03-05T10:11:12+01:00",
     datetime(2024, 3, 5, 10, 11, 12, tzinfo=timezone(timedelta(hours=1)))),
])
def test_java_patterns_parse(pattern: str, text: str, expected: datetime) -> None:
    assert JavaDateFormat(pattern).parse(text) == expected


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("yyyy-MM-dd", date(2024, 3, 5), "2024-03-05"),
    ("dd MMMM yyyy", date(2024, 3, 5), "05 March 2024"),
    ("EEE, d MMM yyyy", date(2024, 3, 5), "Tue, 5 Mar 2024"),
    ("HH:mm:ss.SSS", time(1, 2, 3, 45000), "01:02:03.045"),
    ("yyyy-MM-dd'T'HH:mm:ss'Z'", datetime(2024, 3, 5, 1, 2, 3), "2024-03-05T01:02:03Z"),
    ("h:mm a", time(13, 5), "1:05 PM"),
])
def test_java_patterns_format(pattern: str, value: Any, expected: str) -> None:
    assert JavaDateFormat(pattern).format(value) == expected


def test_java_patterns_refuse_bad_input() -> None:
    with pytest.raises(ValueError):
        JavaDateFormat("yyyy-MM-dd").parse("05/03/2024")
    with pytest.raises(ValueError):
        JavaDateFormat("MM/dd/yyyy").parse("3/5/2024")
    with pytest.raises(ValueError, match="illegal pattern character 'b'"):
        JavaDateFormat("yyyy-bb")
    with pytest.raises(ValueError, match="does not match"):
        JavaDateFormat("yyyy-MM-dd").parse("2024-13-05")  # DateTimeFormatter checks ranges


def test_time_formats_drive_coercion_and_text() -> None:
    formats = TimeFormats(date="dd/MM/yyyy", timestamp="yyyy-MM-dd'T'HH:mm:ss")
    assert coerce("05/03/2024", D, formats) == date(2024, 3, 5)
    assert to_text(date(2024, 3, 5), formats) == "05/03/2024"
    assert to_text(datetime(2024, 3, 5, 1, 2, 3), formats) == "2024-03-05T01:02:03"


def test_avro_round_trip_through_fastavro() -> None:
    schema = RecordSchema((
        RecordField("id", T.INT.data_type(), nullable=False),
        RecordField("name", T.STRING.data_type()),
        RecordField("amount", DataType.decimal(10, 2)),
        RecordField("day", D),
        RecordField("at", T.TIMESTAMP.data_type()),
        RecordField("tags", DataType.array(T.STRING.data_type())),
        RecordField("attrs", DataType.map(T.LONG.data_type())),
        RecordField("inner", DataType.record(RecordSchema((RecordField("x", T.DOUBLE.data_type()),)))),
        RecordField("kind", DataType.enum(["A", "B"])),
        RecordField("either", DataType.choice([T.INT.data_type(), T.STRING.data_type()])),
    ))
    avro = to_avro_schema(schema)
    fastavro.parse_schema(avro)  # fastavro accepts it
    back = from_avro_schema(avro)
    assert back.field_names == schema.field_names
    assert [f.data_type.field_type for f in back.fields] == [f.data_type.field_type for f in schema.fields]
    assert back.field("id").nullable is False  # type: ignore[union-attr]
    assert back.field("amount").data_type.scale == 2  # type: ignore[union-attr]


def test_avro_schema_text_errors() -> None:
    with pytest.raises(ValueError, match="JSON"):
        parse_avro_schema_text("{nope")
    with pytest.raises(ValueError, match="record"):
        parse_avro_schema_text('"string"')
    parsed = parse_avro_schema_text('{"type":"record","name":"r","fields":[{"name":"a","type":["null","long"]}]}')
    assert parsed.field("a") == RecordField("a", T.LONG.data_type(), True, None)


def test_nested_values_as_text_are_json_not_python() -> None:
    nested = {"b": 1, "c": True, "d": None, "e": [1.5, date(2024, 3, 5)], "f": Decimal("1.10"), "g": b"\x01"}
    assert to_text(nested) == '{"b":1,"c":true,"d":null,"e":[1.5,"2024-03-05"],"f":"1.10","g":[1]}'
    assert to_text([{"x": "é"}]) == '[{"x":"é"}]'
