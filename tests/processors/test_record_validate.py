"""ValidateRecord through ProcessorRunner with the CSV and JSON services."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flowyard.processors._records import DataType, RecordField, RecordFieldType, RecordSchema
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.validate_record import RecordValidator, ValidateRecord
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

T = RecordFieldType
PERSON = json.dumps({"type": "record", "name": "person", "fields": [
    {"name": "id", "type": "int"}, {"name": "name", "type": "string"},
    {"name": "email", "type": ["null", "string"], "default": None}]})


def runner(reader: type[ControllerService] = JsonTreeReader, writer: type[ControllerService] = JsonRecordSetWriter,
           reader_props: Mapping[str, str] | None = None, invalid_writer: type[ControllerService] | None = None,
           **props: str) -> ProcessorRunner:
    r = ProcessorRunner(ValidateRecord)
    r.add_controller_service("reader", reader, dict(reader_props or {}))
    r.add_controller_service("writer", writer)
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    if invalid_writer is not None:
        r.add_controller_service("invalid", invalid_writer)
        r.enable_controller_service("invalid")
        r.set_property("Record Writer for Invalid Records", "invalid")
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


def test_valid_and_invalid_records_are_split_with_the_reasons() -> None:
    r = runner(Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON,
               Validation_Details_Attribute_Name="why", invalid_writer=CSVRecordSetWriter)
    r.enqueue(json.dumps([{"id": 1, "name": "Ann"}, {"id": "two", "name": "Bob"}, {"id": 3},
                          {"id": 4, "name": "Dee", "email": "d@x"}]))
    r.run()
    valid = only(r, "valid")
    assert json.loads(valid.content) == [{"id": 1, "name": "Ann", "email": None},
                                         {"id": 4, "name": "Dee", "email": "d@x"}]
    valid.assert_attribute_equals("record.count", "2")
    valid.assert_attribute_equals("valid.record.count", "2")
    valid.assert_attribute_equals("invalid.record.count", "2")
    invalid = only(r, "invalid")
    assert invalid.content.decode().splitlines() == ["id,name,email", "two,Bob,", "3,,"]
    invalid.assert_attribute_equals("record.count", "2")
    invalid.assert_attribute_equals("mime.type", "text/csv")
    why = invalid.attributes["why"]
    assert why.startswith("Records in this FlowFile were invalid for the following reasons: ")
    assert "1 fields were missing: [/name]" in why
    assert "/id (a value of type STRING where INT is expected)" in why
    r.assert_transferred("failure", 0)


def test_a_value_the_reader_cannot_convert_makes_its_record_invalid_not_the_flowfile() -> None:
    """NiFi's readers, asked not to force types, keep such a value as read: the record is invalid."""
    explicit = {"Schema Access Strategy": "schema-text-property", "Schema Text": PERSON}
    for reader, props, content in (
            (CSVReader, {**explicit, "Treat First Line as Header": "true"}, "id,name\n1,Ann\nThree,Bob\n4,Dee\n"),
            (JsonTreeReader, explicit, '[{"id": 1, "name": "Ann"}, {"id": "Three", "name": "Bob"}, '
                                       '{"id": 4, "name": "Dee"}]')):
        r = runner(reader, reader_props=props, invalid_writer=CSVRecordSetWriter,
                   Validation_Details_Attribute_Name="why")
        r.enqueue(content)
        r.run()
        assert [rec["id"] for rec in json.loads(only(r, "valid").content)] == [1, 4], reader.__name__
        invalid = only(r, "invalid")
        assert "Three,Bob" in invalid.content.decode(), reader.__name__
        assert "/id (a value of type STRING where INT is expected)" in invalid.attributes["why"]
        forced = runner(reader, reader_props=props, Force_Types_From_Reader_Schema="true")
        forced.enqueue(content)
        forced.run()
        assert "Three" in only(forced, "failure").attributes["record.error.message"], reader.__name__


def test_non_strict_type_checking_accepts_and_converts_convertible_values() -> None:
    r = runner(CSVReader, reader_props={"Schema Access Strategy": "csv-header-derived"},
               Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON, Strict_Type_Checking="false")
    r.enqueue("id,name\n1,Ann\nThree,Jack\n")
    r.run()
    assert json.loads(only(r, "valid").content) == [{"id": 1, "name": "Ann", "email": None}]
    only(r, "invalid").assert_attribute_equals("record.count", "1")

    r = runner(CSVReader, reader_props={"Schema Access Strategy": "csv-header-derived"},
               Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON)
    r.enqueue("id,name\n1,Ann\nThree,Jack\n")
    r.run()
    r.assert_transferred("valid", 0)
    only(r, "invalid").assert_attribute_equals("record.count", "2")


def test_extra_fields_are_refused_only_when_not_allowed() -> None:
    content = json.dumps([{"id": 1, "name": "Ann", "age": 3}])
    r = runner(Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON)
    r.enqueue(content)
    r.run()
    assert json.loads(only(r, "valid").content) == [{"id": 1, "name": "Ann", "email": None}]
    r = runner(Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON, Allow_Extra_Fields="false",
               Validation_Details_Attribute_Name="why")
    r.enqueue(content)
    r.run()
    assert "present in the Record but not in the schema: [/age]" in only(r, "invalid").attributes["why"]


def test_the_readers_schema_by_default_and_schema_from_an_attribute() -> None:
    r = runner()
    r.enqueue(json.dumps([{"a": 1}, {"a": 2}]))
    r.run()
    only(r, "valid").assert_attribute_equals("record.count", "2")
    r.assert_transferred("invalid", 0)
    r.assert_queue_empty()

    r = runner(Schema_Access_Strategy="schema-text-property")
    r.enqueue(json.dumps([{"id": 1, "name": "a"}]), {"avro.schema": PERSON})
    r.enqueue(json.dumps([{"id": 1, "name": "a"}]))
    r.run(2)
    only(r, "valid")
    assert "avro.schema" in only(r, "failure").attributes["record.error.message"]


def test_unreadable_content_goes_to_failure_unchanged() -> None:
    r = runner()
    r.enqueue('[{"a": 1}, {')
    r.run()
    failed = only(r, "failure")
    failed.assert_content_equals('[{"a": 1}, {')
    assert failed.attributes["record.error.message"]
    r.assert_transferred("valid", 0)
    r.assert_transferred("invalid", 0)


def test_details_are_cut_to_the_maximum_length() -> None:
    r = runner(Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON,
               Validation_Details_Attribute_Name="why", Maximum_Validation_Details_Length="20")
    r.enqueue(json.dumps([{"id": 1}]))
    r.run()
    assert len(only(r, "invalid").attributes["why"]) == 20


def test_a_bad_schema_text_makes_the_processor_invalid() -> None:
    r = runner(Schema_Access_Strategy="schema-text-property", Schema_Text="{not json")
    r.assert_not_valid()


def test_nested_values_are_checked_by_path() -> None:
    inner = RecordSchema((RecordField("zip", T.INT.data_type(), nullable=False),))
    schema = RecordSchema((
        RecordField("address", DataType.record(inner)),
        RecordField("tags", DataType.array(T.STRING.data_type())),
        RecordField("scores", DataType.map(T.DOUBLE.data_type())),
        RecordField("either", DataType.choice([T.INT.data_type(), T.BOOLEAN.data_type()])),
    ))
    strict = RecordValidator(schema, strict=True, allow_extra=True)
    assert strict.problems({"address": {"zip": 1}, "tags": ["a"], "scores": {"x": 1.5}, "either": True}) is None
    found = strict.problems({"address": {"zip": "1"}, "tags": ["a", 2], "scores": {"x": 1}, "either": "no"})
    assert found is not None
    assert [p.split(" ")[0] for p in found.wrong_type] == ["/address/zip", "/tags[1]", "/scores['x']", "/either"]
    missing = strict.problems({"address": {}})
    assert missing is not None and missing.missing == ["/address/zip"]
    lenient = RecordValidator(schema, strict=False, allow_extra=True)
    assert lenient.problems({"address": {"zip": "1"}, "scores": {"x": 1}}) is None
    assert lenient.problems({"address": {"zip": 2**40}}) is not None


def test_many_records_stream_through() -> None:
    rows = 20_000
    r = runner(CSVReader, CSVRecordSetWriter, {"Schema Access Strategy": "csv-header-derived"},
               Schema_Access_Strategy="schema-text-property", Schema_Text=PERSON, Strict_Type_Checking="false")
    r.enqueue("id,name\n" + "".join(f"{i if i % 1000 else 'x'},n\n" for i in range(rows)))
    r.run()
    only(r, "valid").assert_attribute_equals("record.count", str(rows - rows // 1000))
    only(r, "invalid").assert_attribute_equals("record.count", str(rows // 1000))


def test_the_validation_schema_from_a_schema_registry_by_name() -> None:
    from flowyard.processors.avro_schema_registry import AvroSchemaRegistry

    r = runner(Schema_Access_Strategy="schema-name", Schema_Registry="registry")
    r.add_controller_service("registry", AvroSchemaRegistry, {"person": PERSON})
    r.enable_controller_service("registry")
    r.enqueue(json.dumps([{"id": 1, "name": "a"}, {"id": 2}]), {"schema.name": "person"})
    r.enqueue(json.dumps([{"id": 1, "name": "a"}]), {"schema.name": "nobody"})
    r.run(2)
    only(r, "valid").assert_attribute_equals("record.count", "1")
    only(r, "invalid").assert_attribute_equals("record.count", "1")
    assert "nobody" in only(r, "failure").attributes["record.error.message"]


def test_the_schema_name_strategy_needs_a_registry() -> None:
    runner(Schema_Access_Strategy="schema-name").assert_not_valid()
