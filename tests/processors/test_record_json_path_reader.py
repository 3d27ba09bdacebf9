"""JsonPathReader, through ConvertRecord and directly."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import pytest

from flowyard.processors._records import RecordFieldType
from flowyard.processors.avro_schema_registry import AvroSchemaRegistry
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVRecordSetWriter
from flowyard.processors.json_path_reader import JsonPathReader
from flowyard.processors.json_record_services import JsonRecordSetWriter
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

# NiFi's documented example (JsonPathReader additionalDetails)
PEOPLE = json.dumps([
    {"id": 17, "name": "John", "child": {"id": "1"}, "siblingIds": [4, 8],
     "siblings": [{"name": "Jeremy", "id": 4}, {"name": "Julia", "id": 8}]},
    {"id": 98, "name": "Jane", "child": {"id": 2}, "gender": "F", "siblingIds": [], "siblings": []},
])
PERSON = json.dumps({"namespace": "nifi", "name": "person", "type": "record", "fields": [
    {"name": "id", "type": "int"}, {"name": "name", "type": "string"}, {"name": "childId", "type": "long"},
    {"name": "gender", "type": ["null", "string"]},
    {"name": "siblingNames", "type": {"type": "array", "items": "string"}}]})
PATHS = {"id": "$.id", "name": "$.name", "childId": "$.child.id", "gender": "$.gender",
         "siblingNames": "$.siblings[*].name"}
EXPECTED = [
    {"id": 17, "name": "John", "childId": 1, "gender": None, "siblingNames": ["Jeremy", "Julia"]},
    {"id": 98, "name": "Jane", "childId": 2, "gender": "F", "siblingNames": []},
]


def runner(reader_props: Mapping[str, str], writer: type[Any] = JsonRecordSetWriter,
           writer_props: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("registry", AvroSchemaRegistry, {"person": PERSON})
    r.enable_controller_service("registry")
    r.add_controller_service("reader", JsonPathReader, dict(reader_props))
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


def convert(reader_props: Mapping[str, str], content: str, attributes: Mapping[str, str] | None = None) -> Any:
    r = runner(reader_props)
    r.enqueue(content, dict(attributes or {}))
    r.run()
    return json.loads(only(r, "success").content)


def test_nifis_documented_example_with_a_schema_text() -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": PERSON, **PATHS}
    assert convert(props, PEOPLE) == EXPECTED


def test_schema_by_name_from_the_registry() -> None:
    props = {"Schema Access Strategy": "schema-name", "Schema Registry": "registry", **PATHS}
    assert convert(props, PEOPLE, {"schema.name": "person"}) == EXPECTED


def test_inferred_schema_has_one_field_per_path_in_property_order() -> None:
    records = convert({"name": "$.name", "siblingIds": "$.siblingIds", "missing": "$.nope", "id": "$.id"}, PEOPLE)
    assert records == [{"name": "John", "siblingIds": [4, 8], "missing": None, "id": 17},
                       {"name": "Jane", "siblingIds": [], "missing": None, "id": 98}]


def test_inferred_types() -> None:
    r = ProcessorRunner(ConvertRecord)
    factory = r.add_controller_service("reader", JsonPathReader, {"n": "$.a.n", "xs": "$..x", "obj": "$.a"})
    r.enable_controller_service("reader")
    assert isinstance(factory, JsonPathReader)
    content = b'{"a": {"n": 1, "x": 2}}\n{"a": {"n": 12345678901, "x": 3}}'
    reader = factory.create_reader({}, lambda: io.BytesIO(content))
    kinds = {f.name: f.data_type.field_type for f in reader.schema.fields}
    assert kinds == {"n": RecordFieldType.LONG, "xs": RecordFieldType.ARRAY, "obj": RecordFieldType.RECORD}
    assert list(reader)[1] == {"n": 12345678901, "xs": [3], "obj": {"n": 12345678901, "x": 3}}


def test_a_path_the_schema_does_not_have_is_skipped() -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": PERSON, **PATHS, "extra": "$.id"}
    assert convert(props, PEOPLE) == EXPECTED


def test_dates_with_a_format() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [
        {"name": "d", "type": {"type": "int", "logicalType": "date"}}]})
    r = runner({"Schema Access Strategy": "schema-text-property", "Schema Text": schema, "d": "$.when",
                "Date Format": "dd/MM/yyyy"}, CSVRecordSetWriter)
    r.enqueue('{"when": "05/03/2024"}')
    r.run()
    assert only(r, "success").content == b"d\n2024-03-05\n"


def test_a_value_that_cannot_be_coerced_names_record_and_field() -> None:
    props = {"Schema Access Strategy": "schema-text-property", "Schema Text": PERSON, **PATHS}
    r = runner(props)
    content = '[{"id": 1, "name": "a", "child": {"id": 1}}, {"id": "x", "name": "b", "child": {"id": 2}}]'
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content.encode()
    message = ff.attributes["record.error.message"]
    assert "record 2" in message and "'id'" in message


@pytest.mark.parametrize(("content", "reason"), [
    ('[{"id": 1}, ', "not closed"),
    ("[1, 2]", "must be an object"),
    ('{"id": 1} trailing', "malformed JSON"),
])
def test_malformed_json_goes_to_failure(content: str, reason: str) -> None:
    r = runner({"id": "$.id"})
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content.encode()
    assert reason in ff.attributes["record.error.message"]


def test_empty_content_has_no_records() -> None:
    assert convert({"id": "$.id"}, "") == []


def test_without_paths_or_with_a_bad_path_the_service_is_invalid() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("none", JsonPathReader, {})
    with pytest.raises(InvalidComponentError, match="no JSON Paths were specified"):
        r.enable_controller_service("none")
    r.add_controller_service("bad", JsonPathReader, {"good": "$.a", "broken": "$.a[?("})
    with pytest.raises(InvalidComponentError, match="'broken'"):
        r.enable_controller_service("bad")


def test_the_reader_streams_one_object_at_a_time() -> None:
    r = ProcessorRunner(ConvertRecord)
    factory = r.add_controller_service("reader", JsonPathReader, {
        "Schema Access Strategy": "schema-text-property", "n": "$.n",
        "Schema Text": json.dumps({"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}]})})
    r.enable_controller_service("reader")
    assert isinstance(factory, JsonPathReader)
    data = ("[" + ",".join(json.dumps({"n": i, "pad": "x" * 50}) for i in range(50_000)) + "]").encode()
    consumed = 0

    class Counting(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            nonlocal consumed
            chunk = super().read(size)
            consumed += len(chunk)
            return chunk

    records = iter(factory.create_reader({}, lambda: Counting(data)))
    assert next(records) == {"n": 0}
    assert consumed < len(data) // 4
    assert sum(1 for _ in records) == 49_999
