"""AvroSchemaRegistry and the "Use 'Schema Name' Property" strategy of the record readers and writers."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping

import fastavro
import pytest

from flowyard.processors._record_services import IdentifiedSchema, SchemaIdentifier, SchemaNotFoundError
from flowyard.processors.avro_record_services import AvroReader, AvroRecordSetWriter
from flowyard.processors.avro_schema_registry import AvroSchemaRegistry, parse_registry_schema
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.parquet_record_services import ParquetRecordSetWriter
from flowyard.runtime.sdk import ControllerService, FlowyardError, InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

PERSON = json.dumps({"type": "record", "name": "person", "fields": [
    {"name": "id", "type": "int"}, {"name": "name", "type": ["null", "string"]}]})
ORDER = json.dumps({"type": "record", "name": "order", "fields": [
    {"name": "sku", "type": "string"}, {"name": "qty", "type": "long"}]})
BY_NAME = {"Schema Access Strategy": "schema-name", "Schema Registry": "registry"}


def runner(reader: type[ControllerService], writer: type[ControllerService],
           reader_props: Mapping[str, str] | None = None, writer_props: Mapping[str, str] | None = None,
           schemas: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("registry", AvroSchemaRegistry, dict(schemas if schemas is not None else
                                                                  {"person": PERSON, "order": ORDER}))
    r.enable_controller_service("registry")
    r.add_controller_service("reader", reader, dict(reader_props or {}))
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


# -- the registry on its own ------------------------------------------------------------------


def registry(properties: Mapping[str, str]) -> tuple[ProcessorRunner, AvroSchemaRegistry]:
    r = ProcessorRunner(ConvertRecord)
    service = r.add_controller_service("registry", AvroSchemaRegistry, dict(properties))
    assert isinstance(service, AvroSchemaRegistry)
    return r, service


def test_the_registry_hands_out_schemas_by_name() -> None:
    r, service = registry({"person": PERSON, "order": ORDER})
    r.enable_controller_service("registry")
    schema = service.retrieve_schema(SchemaIdentifier("order"))
    assert schema.field_names == ["sku", "qty"]
    assert isinstance(schema, IdentifiedSchema) and schema.identifier.name == "order"
    assert service.retrieve_schema(SchemaIdentifier("person", version=3, branch="b")).field_names == ["id", "name"]
    with pytest.raises(SchemaNotFoundError, match="'nobody'"):
        service.retrieve_schema(SchemaIdentifier("nobody"))


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not JSON"),
    ('{"type": "record", "name": "r", "fields": [{"name": "a", "type": "nope"}]}', "nope"),
    ('"string"', "not a record schema"),
    ('{"type": "record", "name": "r", "fields": [{"name": "a-b", "type": "int"}]}', "'a-b' is not a valid Avro"),
    ('{"type": "record", "name": "r", "fields": [{"name": "a", "type": "int", "default": "x"}]}', "Default"),
])
def test_an_invalid_schema_makes_the_registry_invalid_naming_the_property(text: str, reason: str) -> None:
    r, _ = registry({"good": PERSON, "broken": text})
    with pytest.raises(InvalidComponentError) as caught:
        r.enable_controller_service("registry")
    message = str(caught.value)
    assert "'broken'" in message and reason in message and "'good'" not in message


def test_do_not_validate_takes_names_and_defaults_avro_would_refuse() -> None:
    loose = '{"type": "record", "name": "r-1", "fields": [{"name": "a-b", "type": "int", "default": "x"}]}'
    r, service = registry({"Validation Strategy": "NONE", "loose": loose})
    r.enable_controller_service("registry")
    assert service.retrieve_schema(SchemaIdentifier("loose")).field_names == ["a-b"]


def test_nifi_1_validate_field_names_false_turns_validation_off() -> None:
    loose = '{"type": "record", "name": "r", "fields": [{"name": "a b", "type": "string"}]}'
    r, service = registry({"avro-reg-validated-field-names": "false", "loose": loose})
    r.enable_controller_service("registry")
    assert service.schema_names == ("loose",)


def test_parse_registry_schema_nested_names_are_checked() -> None:
    nested = {"type": "record", "name": "outer", "fields": [
        {"name": "inner", "type": {"type": "record", "name": "in.ner-x", "fields": []}}]}
    with pytest.raises(ValueError, match=r"in\.ner-x"):
        parse_registry_schema(json.dumps(nested), strict=True)
    enum = {"type": "record", "name": "r", "fields": [
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["ok", "not ok"]}}]}
    with pytest.raises(ValueError, match="'not ok'"):
        parse_registry_schema(json.dumps(enum), strict=True)
    assert parse_registry_schema(json.dumps(enum), strict=False).field_names == ["e"]


# -- readers and writers by schema name ---------------------------------------------------------


def test_csv_reader_by_schema_name_from_the_schema_name_attribute() -> None:
    r = runner(CSVReader, JsonRecordSetWriter, {**BY_NAME, "Treat First Line as Header": "true"},
               {"Schema Write Strategy": "schema-name"})
    r.enqueue("id,name\n1,Ann\n2,\n", {"schema.name": "person"})
    r.run()
    ff = only(r, "success")
    assert json.loads(ff.content) == [{"id": 1, "name": "Ann"}, {"id": 2, "name": ""}]
    ff.assert_attribute_equals("schema.name", "person")
    ff.assert_attribute_equals("record.count", "2")


def test_json_reader_by_a_fixed_schema_name_coerces_to_the_registry_schema() -> None:
    r = runner(JsonTreeReader, CSVRecordSetWriter, {**BY_NAME, "Schema Name": "order"})
    r.enqueue('[{"sku": "a", "qty": "3", "extra": true}, {"sku": 7, "qty": 4}]')
    r.run()
    assert only(r, "success").content == b"sku,qty\na,3\n7,4\n"


def test_schema_name_takes_expression_language_over_attributes() -> None:
    r = runner(JsonTreeReader, JsonRecordSetWriter, {**BY_NAME, "Schema Name": "${kind:toLower()}"})
    r.enqueue('{"sku": "a", "qty": 1}', {"kind": "ORDER"})
    r.run()
    assert json.loads(only(r, "success").content) == [{"sku": "a", "qty": 1}]


def test_writer_by_schema_name_writes_the_registry_schema_and_its_name() -> None:
    r = runner(JsonTreeReader, AvroRecordSetWriter, writer_props={**BY_NAME, "Schema Name": "person",
                                                                 "Schema Write Strategy": "schema-name"})
    r.enqueue('{"id": "5", "name": "Zed", "dropped": 1}')
    r.run()
    ff = only(r, "success")
    ff.assert_attribute_equals("schema.name", "person")
    records = list(fastavro.schemaless_reader(io.BytesIO(ff.content), fastavro.parse_schema(json.loads(PERSON)),
                                              None) for _ in range(1))
    assert records == [{"id": 5, "name": "Zed"}]


def test_avro_reader_and_parquet_writer_by_schema_name() -> None:
    avro = io.BytesIO()
    fastavro.writer(avro, fastavro.parse_schema(json.loads(ORDER)), [{"sku": "x", "qty": 2}])
    r = runner(AvroReader, ParquetRecordSetWriter, {**BY_NAME, "Schema Name": "order"},
               {**BY_NAME, "Schema Name": "order", "Schema Write Strategy": "schema-name"})
    r.enqueue(avro.getvalue())
    r.run()
    ff = only(r, "success")
    ff.assert_attribute_equals("schema.name", "order")
    ff.assert_attribute_equals("record.count", "1")


@pytest.mark.parametrize(("attributes", "props", "expected"), [
    ({}, {}, "Schema Name is empty"),
    ({"schema.name": "nobody"}, {}, "'nobody'"),
    ({"schema.name": "person"}, {"Schema Version": "two"}, "'two' is not a whole number"),
])
def test_no_schema_sends_the_flowfile_to_failure_naming_the_name(attributes: dict[str, str],
                                                                 props: dict[str, str], expected: str) -> None:
    r = runner(JsonTreeReader, JsonRecordSetWriter, {**BY_NAME, **props})
    r.enqueue('{"id": 1}', attributes)
    r.run()
    ff = only(r, "failure")
    assert ff.content == b'{"id": 1}'
    assert expected in ff.attributes["record.error.message"]
    assert any(expected in message for _, message in r.bulletins)


def test_schema_name_strategy_without_a_registry_is_invalid() -> None:
    r = ProcessorRunner(ConvertRecord)
    for service in (JsonTreeReader, CSVReader, AvroReader, JsonRecordSetWriter, AvroRecordSetWriter):
        r.add_controller_service("s", service, {"Schema Access Strategy": "schema-name"})
        with pytest.raises(InvalidComponentError, match="needs a Schema Registry"):
            r.enable_controller_service("s")


def test_schema_name_with_an_expression_that_does_not_compile_is_invalid() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("registry", AvroSchemaRegistry, {"person": PERSON})
    r.enable_controller_service("registry")
    r.add_controller_service("s", JsonTreeReader, {**BY_NAME, "Schema Name": "${kind:noSuchFunction()}"})
    with pytest.raises((InvalidComponentError, FlowyardError), match="Schema Name"):
        r.enable_controller_service("s")


def test_the_registry_must_be_enabled_for_the_reader() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("registry", AvroSchemaRegistry, {"person": PERSON})
    r.add_controller_service("s", JsonTreeReader, dict(BY_NAME))
    with pytest.raises(InvalidComponentError, match="Schema Registry"):
        r.enable_controller_service("s")


def test_identified_schema_equals_the_plain_schema() -> None:
    plain = parse_registry_schema(PERSON, strict=True)
    identified = IdentifiedSchema(plain, SchemaIdentifier("person", 1))
    assert identified == plain and plain == identified and hash(identified) == hash(plain)
    assert identified.field("id") is not None and identified.identifier.version == 1


def test_csv_writer_by_schema_name() -> None:
    r = runner(JsonTreeReader, CSVRecordSetWriter, writer_props={**BY_NAME, "Schema Name": "order"})
    r.enqueue('{"qty": 2, "sku": "s", "other": 1}')
    r.run()
    assert only(r, "success").content == b"sku,qty\ns,2\n"


def test_csv_reader_by_schema_name_without_a_header_line() -> None:
    r = runner(CSVReader, JsonRecordSetWriter, {**BY_NAME, "Schema Name": "person"})
    r.enqueue("1,Ann\n2,Bob\n")
    r.run()
    assert json.loads(only(r, "success").content) == [{"id": 1, "name": "Ann"}, {"id": 2, "name": "Bob"}]
