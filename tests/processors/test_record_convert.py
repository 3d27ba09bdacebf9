"""ConvertRecord with the CSV and JSON reader/writer services, through ProcessorRunner."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner

SCHEMA = json.dumps({"type": "record", "name": "person", "fields": [
    {"name": "id", "type": "int"}, {"name": "name", "type": ["null", "string"]},
    {"name": "score", "type": ["null", "double"]}]})


def runner(reader: type[ControllerService], writer: type[ControllerService],
           reader_props: Mapping[str, str] | None = None, writer_props: Mapping[str, str] | None = None,
           include_zero: str | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("reader", reader, dict(reader_props or {}))
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    if include_zero is not None:
        r.set_property("Include Zero Record FlowFiles", include_zero)
    return r


def only(r: ProcessorRunner, relationship: str) -> object:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


def test_csv_to_json_with_an_inferred_schema() -> None:
    r = runner(CSVReader, JsonRecordSetWriter)
    r.enqueue("id,name,score,ok\n1,Ann,1.5,true\n2,Bob,,false\n")
    r.run()
    ff = only(r, "success")
    assert json.loads(ff.content) == [  # type: ignore[attr-defined]
        {"id": 1, "name": "Ann", "score": 1.5, "ok": True},
        {"id": 2, "name": "Bob", "score": None, "ok": False},
    ]
    ff.assert_attribute_equals("record.count", "2")  # type: ignore[attr-defined]
    ff.assert_attribute_equals("mime.type", "application/json")  # type: ignore[attr-defined]


def test_csv_to_json_with_an_explicit_schema_from_the_avro_schema_attribute() -> None:
    r = runner(CSVReader, JsonRecordSetWriter,
               {"Schema Access Strategy": "schema-text-property", "Treat First Line as Header": "true"},
               {"Output Grouping": "output-oneline", "Schema Write Strategy": "full-schema-attribute"})
    r.enqueue("id,name,score,extra\n7, Zed ,2,x\n", {"avro.schema": SCHEMA})
    r.run()
    ff = only(r, "success")
    assert ff.content == b'{"id":7,"name":"Zed","score":2.0}'  # type: ignore[attr-defined]
    assert json.loads(ff.attributes["avro.schema"])["fields"][0]["name"] == "id"  # type: ignore[attr-defined]


def test_schema_text_is_expression_language_over_the_flowfile_attributes() -> None:
    """NiFi evaluates Schema Text per flowfile: functions too, not only ${attribute}."""
    template = SCHEMA.replace('"person"', '"${kind:toLower()}"')
    r = runner(CSVReader, JsonRecordSetWriter,
               {"Schema Access Strategy": "schema-text-property", "Schema Text": template,
                "Treat First Line as Header": "true"},
               {"Output Grouping": "output-oneline", "Schema Write Strategy": "full-schema-attribute"})
    r.enqueue("id,name,score\n7,Zed,2\n", {"kind": "CUSTOMER"})
    r.enqueue("id,name,score\n8,Ann,1\n", {"kind": "Order"})
    r.run(2)
    names = [json.loads(ff.attributes["avro.schema"])["name"] for ff in r.flowfiles_for("success")]
    assert names == ["customer", "order"]


def test_a_flowfile_without_the_schema_attribute_fails_naming_it() -> None:
    r = runner(CSVReader, JsonRecordSetWriter, {"Schema Access Strategy": "schema-text-property"})
    r.enqueue("id,name,score\n8,Ann,1\n")
    r.run()
    failed = only(r, "failure")
    assert "has no attribute 'avro.schema'" in failed.attributes["record.error.message"]  # type: ignore[attr-defined]


def test_json_to_csv() -> None:
    r = runner(JsonTreeReader, CSVRecordSetWriter)
    r.enqueue('[{"a": 1, "b": "x,y", "c": null}, {"a": 2, "b": "q\\"r", "d": true}]')
    r.run()
    ff = only(r, "success")
    assert ff.content == b'a,b,c,d\n1,"x,y",,\n2,"q""r",,true\n'  # type: ignore[attr-defined]
    ff.assert_attribute_equals("mime.type", "text/csv")  # type: ignore[attr-defined]
    ff.assert_attribute_equals("record.count", "2")  # type: ignore[attr-defined]


def test_json_lines_and_single_objects_are_records() -> None:
    r = runner(JsonTreeReader, JsonRecordSetWriter, writer_props={"Suppress Null Values": "always-suppress"})
    r.enqueue('{"a": 1}\n{"a": 2, "b": null}\n')
    r.run()
    assert json.loads(only(r, "success").content) == [{"a": 1}, {"a": 2}]  # type: ignore[attr-defined]


def test_a_value_that_cannot_be_coerced_fails_the_flowfile_unchanged() -> None:
    r = runner(CSVReader, JsonRecordSetWriter,
               {"Schema Access Strategy": "schema-text-property", "Schema Text": SCHEMA,
                "Treat First Line as Header": "true"})
    content = "id,name\n1,a\nnot-a-number,b\n"
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content.encode()  # type: ignore[attr-defined]
    message = ff.attributes["record.error.message"]  # type: ignore[attr-defined]
    assert "record 2" in message and "'id'" in message


@pytest.mark.parametrize("content", ['[{"a": 1}, {"a": ', '{"a": 1} garbage', '[1, 2]', "\xff\xfe\x00"])
def test_malformed_json_goes_to_failure(content: str) -> None:
    r = runner(JsonTreeReader, CSVRecordSetWriter)
    r.enqueue(content.encode("latin-1"))
    r.run()
    assert only(r, "failure").attributes["record.error.message"]  # type: ignore[attr-defined]


def test_a_missing_schema_attribute_goes_to_failure() -> None:
    r = runner(JsonTreeReader, JsonRecordSetWriter, {"Schema Access Strategy": "schema-text-property"})
    r.enqueue('{"id": 1}')
    r.run()
    assert "avro.schema" in only(r, "failure").attributes["record.error.message"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("include_zero", "content", "expected"), [
    ("true", "", b"[]"),
    ("true", "[]", b"[]"),
    ("false", "", None),
    ("false", "   \n", None),
])
def test_empty_input(include_zero: str, content: str, expected: bytes | None) -> None:
    r = runner(JsonTreeReader, JsonRecordSetWriter, include_zero=include_zero)
    r.enqueue(content)
    r.run()
    if expected is None:
        r.assert_transferred("success", 0)
        r.assert_transferred("failure", 0)
        r.assert_queue_empty()
    else:
        ff = only(r, "success")
        assert ff.content == expected  # type: ignore[attr-defined]
        ff.assert_attribute_equals("record.count", "0")  # type: ignore[attr-defined]


def test_empty_csv_with_header_only() -> None:
    r = runner(CSVReader, CSVRecordSetWriter)
    r.enqueue("a,b\n")
    r.run()
    ff = only(r, "success")
    ff.assert_attribute_equals("record.count", "0")  # type: ignore[attr-defined]


def test_dates_with_java_patterns_both_ways() -> None:
    r = runner(CSVReader, JsonRecordSetWriter, {"Date Format": "dd/MM/yyyy", "Timestamp Format": "yyyy-MM-dd HH:mm"},
               {"Date Format": "yyyy-MM-dd", "Timestamp Format": "yyyy-MM-dd'T'HH:mm:ss"})
    r.enqueue("d,t\n05/03/2024,2024-03-05 10:11\n")
    r.run()
    assert json.loads(only(r, "success").content) == [  # type: ignore[attr-defined]
        {"d": "2024-03-05", "t": "2024-03-05T10:11:00"}]


def test_the_writer_schema_coerces_records() -> None:
    schema = json.dumps({"type": "record", "name": "r", "fields": [{"name": "n", "type": "string"},
                                                                   {"name": "v", "type": "long"}]})
    r = runner(JsonTreeReader, JsonRecordSetWriter, writer_props={
        "Schema Access Strategy": "schema-text-property", "Schema Text": schema})
    r.enqueue('[{"n": 5, "v": "12", "drop": 1}]')
    r.run()
    assert json.loads(only(r, "success").content) == [{"n": "5", "v": 12}]  # type: ignore[attr-defined]


def test_unsupported_schema_strategies_make_the_service_invalid() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("reader", CSVReader, {"Schema Access Strategy": "schema-name"})
    assert any("registry" in str(v) for v in r.controller_service_validation_results("reader"))
