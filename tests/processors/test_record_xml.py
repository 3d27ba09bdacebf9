"""XMLReader and XMLRecordSetWriter, through ConvertRecord and directly."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from flowyard.processors._records import RecordFieldType
from flowyard.processors.avro_schema_registry import AvroSchemaRegistry
from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.xml_record_services import XMLReader, XMLRecordSetWriter
from flowyard.runtime.sdk import ControllerService, InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

PEOPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<root>
    <record>
        <name>John</name>
        <age>8</age>
        <values>N/A</values>
    </record>
    <!-- a comment between records -->
    <record>
        <name>Jane</name>
        <age>Ten</age>
        <values>8</values>
        <values>Ten</values>
    </record>
</root>
"""


def runner(reader: type[ControllerService], writer: type[ControllerService],
           reader_props: Mapping[str, str] | None = None,
           writer_props: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
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


def xml_to_json(content: bytes | str, reader_props: Mapping[str, str],
                attributes: Mapping[str, str] | None = None) -> Any:
    r = runner(XMLReader, JsonRecordSetWriter, reader_props)
    r.enqueue(content, dict(attributes or {}))
    r.run()
    return json.loads(only(r, "success").content)


# -- reader ---------------------------------------------------------------------------------------


def test_array_of_records_with_an_inferred_schema() -> None:
    assert xml_to_json(PEOPLE, {"Expect Records as Array": "true"}) == [
        {"name": "John", "age": "8", "values": "N/A"},
        {"name": "Jane", "age": "Ten", "values": ["8", "Ten"]},
    ]


@pytest.mark.parametrize("size", [10, 65_546, 200_000])
def test_white_space_only_content_has_no_records_whatever_its_size(size: int) -> None:
    assert xml_to_json(" " * size, {"Expect Records as Array": "true"}) == []
    assert xml_to_json("\n" * size + "<a><b>1</b></a>", {}) == [{"b": 1}]


def test_a_single_record_is_the_root_element() -> None:
    content = "<person><name>Ann</name><age>31</age><score>1.5</score><ok>true</ok></person>"
    assert xml_to_json(content, {}) == [{"name": "Ann", "age": 31, "score": 1.5, "ok": True}]


def test_expect_records_as_array_from_the_attribute() -> None:
    props = {"Expect Records as Array": "${xml.stream.is.array}"}
    assert len(xml_to_json(PEOPLE, props, {"xml.stream.is.array": "true"})) == 2
    assert len(xml_to_json(PEOPLE, props, {"xml.stream.is.array": "false"})) == 1
    r = runner(XMLReader, JsonRecordSetWriter, props)
    r.enqueue(PEOPLE)
    r.run()
    assert "xml.stream.is.array" in only(r, "failure").attributes["record.error.message"]


def test_attributes_with_prefix_and_content_field() -> None:
    content = '<record id="7"><field a="x">text</field><plain>p</plain></record>'
    assert xml_to_json(content, {"Attribute Prefix": "attr_", "Field Name for Content": "content"}) == [
        {"attr_id": 7, "field": {"attr_a": "x", "content": "text"}, "plain": "p"}]


def test_without_content_field_inference_adds_an_empty_value_field_as_nifi_does() -> None:
    content = '<record><field a="x">text</field></record>'
    assert xml_to_json(content, {}) == [{"field": {"a": "x", "value": None}}]


def test_parse_xml_attributes_false_ignores_them() -> None:
    content = '<record id="7"><field a="x">text</field></record>'
    assert xml_to_json(content, {"Parse XML Attributes": "false"}) == [{"field": "text"}]


def test_namespaces_are_dropped_from_names() -> None:
    content = '<r:root xmlns:r="urn:r" xmlns:p="urn:p"><r:rec p:id="1"><p:v>2</p:v></r:rec></r:root>'
    assert xml_to_json(content, {"Expect Records as Array": "true"}) == [{"id": 1, "v": 2}]


SCHEMA = json.dumps({"type": "record", "name": "person", "fields": [
    {"name": "id", "type": "int"},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "address", "type": ["null", {"type": "record", "name": "addr", "fields": [
        {"name": "street", "type": "string"}, {"name": "kind", "type": ["null", "string"]},
        {"name": "txt", "type": ["null", "string"]}]}]},
    {"name": "single", "type": ["null", "string"]},
]})


def test_explicit_schema_skips_unknown_fields_and_wraps_singles_in_arrays() -> None:
    content = ('<people><p><id>1</id><tags>a</tags><extra>x</extra><address kind="home"><street>Main</street>'
               '</address><single>one</single><single>two</single></p><p><id>2</id></p></people>')
    props = {"Expect Records as Array": "true", "Schema Access Strategy": "schema-text-property",
             "Schema Text": SCHEMA}
    assert xml_to_json(content, props) == [
        {"id": 1, "tags": ["a"], "address": {"street": "Main", "kind": "home", "txt": None}, "single": "two"},
        {"id": 2, "tags": None, "address": None, "single": None},
    ]


def test_explicit_schema_by_name_from_a_registry() -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("registry", AvroSchemaRegistry, {"person": SCHEMA})
    r.enable_controller_service("registry")
    r.add_controller_service("reader", XMLReader, {"Schema Access Strategy": "schema-name",
                                                   "Schema Registry": "registry"})
    r.add_controller_service("writer", JsonRecordSetWriter, {"Suppress Null Values": "always-suppress"})
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    r.enqueue("<p><id>3</id><tags>t</tags></p>", {"schema.name": "person"})
    r.run()
    assert json.loads(only(r, "success").content) == [{"id": 3, "tags": ["t"]}]


def test_a_value_that_cannot_be_coerced_names_record_and_field() -> None:
    r = runner(XMLReader, JsonRecordSetWriter, {"Expect Records as Array": "true",
                                                "Schema Access Strategy": "schema-text-property",
                                                "Schema Text": SCHEMA})
    content = b"<people><p><id>1</id></p><p><id>two</id></p></people>"
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content
    message = ff.attributes["record.error.message"]
    assert "record 2" in message and "'id'" in message


@pytest.mark.parametrize(("content", "reason"), [
    (b"<r><a>1</a>", "not well-formed"),
    (b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', "DOCTYPE"),
    (b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>', "DOCTYPE"),
    (b"<r>" + b"<a>" * 300 + b"</a>" * 300 + b"</r>", "cannot be read"),
    (b"\xff\xfe\x00garbage", "cannot be read"),
])
def test_malformed_or_unsafe_xml_goes_to_failure_unchanged(content: bytes, reason: str) -> None:
    r = runner(XMLReader, JsonRecordSetWriter)
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content
    assert reason in ff.attributes["record.error.message"]


@pytest.mark.parametrize("content", [b"", b"  \n ", b"<root/>"])
def test_no_records(content: bytes) -> None:
    assert xml_to_json(content, {"Expect Records as Array": "true"}) == []


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk


def _enabled(cls: type[ControllerService], props: Mapping[str, str]) -> Any:
    r = ProcessorRunner(ConvertRecord)
    service = r.add_controller_service("s", cls, dict(props))
    r.enable_controller_service("s")
    return service


def test_the_reader_streams_records_as_an_array() -> None:
    data = b"<root>" + b"".join(b"<r><n>%d</n><t>%s</t></r>" % (i, b"x" * 50) for i in range(40_000)) + b"</root>"
    reader_factory = _enabled(XMLReader, {"Expect Records as Array": "true", "Schema Access Strategy":
                                          "schema-text-property", "Schema Text": json.dumps(
        {"type": "record", "name": "r", "fields": [{"name": "n", "type": "int"}, {"name": "t", "type": "string"}]})})
    stream = _CountingStream(data)
    reader = reader_factory.create_reader({}, lambda: stream)
    records = iter(reader)
    assert next(records) == {"n": 0, "t": "x" * 50}
    assert stream.consumed < len(data) // 4, "the first record came only after most of the content was read"
    assert sum(1 for _ in records) == 39_999


def test_inferred_types_of_nested_elements() -> None:
    reader_factory = _enabled(XMLReader, {"Expect Records as Array": "true"})
    content = b"<root><r><n><a>1</a><b>x</b></n></r><r><n><a>99999999999</a></n></r></root>"
    reader = reader_factory.create_reader({}, lambda: io.BytesIO(content))
    nested = reader.schema.field("n")
    assert nested is not None and nested.data_type.field_type is RecordFieldType.RECORD
    assert nested.data_type.schema is not None
    a = nested.data_type.schema.field("a")
    assert a is not None and a.data_type.field_type is RecordFieldType.LONG
    assert list(reader) == [{"n": {"a": 1, "b": "x"}}, {"n": {"a": 99999999999}}]


# -- writer ---------------------------------------------------------------------------------------


def json_to_xml(content: str, writer_props: Mapping[str, str]) -> MockFlowFile:
    r = runner(JsonTreeReader, XMLRecordSetWriter, writer_props=writer_props)
    r.enqueue(content)
    r.run()
    return only(r, "success")


def test_records_in_a_root_tag() -> None:
    ff = json_to_xml('[{"name": "a", "n": 1}, {"name": "b<&>", "n": 2}]',
                     {"Name of Root Tag": "root", "Name of Record Tag": "record"})
    assert ff.content == (b'<?xml version="1.0" encoding="UTF-8"?><root><record><name>a</name><n>1</n></record>'
                          b"<record><name>b&lt;&amp;&gt;</name><n>2</n></record></root>")
    ff.assert_attribute_equals("mime.type", "application/xml")
    ff.assert_attribute_equals("record.count", "2")


def test_pretty_print_and_omitted_declaration() -> None:
    ff = json_to_xml('{"a": 1, "m": {"k": "v"}}', {"Name of Record Tag": "r", "Pretty Print XML": "true",
                                                   "Omit XML Declaration": "true"})
    assert ff.content.decode() == "<r>\n    <a>1</a>\n    <m>\n        <k>v</k>\n    </m>\n</r>\n"


@pytest.mark.parametrize(("wrapping", "expected"), [
    ("no-wrapping", "<a>1</a><a>2</a>"),
    ("use-property-as-wrapper", "<wrap><a>1</a><a>2</a></wrap>"),
    ("use-property-for-elements", "<a><wrap>1</wrap><wrap>2</wrap></a>"),
])
def test_array_wrapping(wrapping: str, expected: str) -> None:
    ff = json_to_xml('{"a": [1, 2]}', {"Name of Record Tag": "r", "Omit XML Declaration": "true",
                                       "Wrap Elements of Arrays": wrapping, "Array Tag Name": "wrap"})
    assert ff.content.decode() == f"<r>{expected}</r>"


@pytest.mark.parametrize(("suppress", "expected"), [
    ("never-suppress", "<r><a>1</a><b></b></r><r><a>2</a><b></b></r>"),
    ("suppress-missing", "<r><a>1</a><b></b></r><r><a>2</a></r>"),
    ("always-suppress", "<r><a>1</a></r><r><a>2</a></r>"),
])
def test_suppress_null_values(suppress: str, expected: str) -> None:
    ff = json_to_xml('[{"a": 1, "b": null}, {"a": 2}]', {"Name of Root Tag": "x", "Name of Record Tag": "r",
                                                         "Omit XML Declaration": "true",
                                                         "Suppress Null Values": suppress})
    assert ff.content.decode() == f"<x>{expected}</x>"


def test_character_set_and_characters_it_cannot_encode() -> None:
    ff = json_to_xml('{"a": "caf\\u00e9 \\u20ac"}', {"Name of Record Tag": "r", "Character Set": "ISO-8859-1"})
    assert ff.content == b'<?xml version="1.0" encoding="ISO-8859-1"?><r><a>caf\xe9 &#8364;</a></r>'
    ff16 = json_to_xml('{"a": "\\u00e9"}', {"Name of Record Tag": "r", "Character Set": "UTF-16"})
    assert ff16.content.decode("utf-16") == '<?xml version="1.0" encoding="UTF-16"?><r><a>\u00e9</a></r>'


def test_record_tag_defaults_to_the_schema_name() -> None:
    r = runner(JsonTreeReader, XMLRecordSetWriter, {"Schema Access Strategy": "schema-text-property",
                                                    "Schema Text": SCHEMA}, {"Omit XML Declaration": "true",
                                                                             "Suppress Null Values": "always-suppress"})
    r.enqueue('{"id": 5}')
    r.run()
    assert only(r, "success").content == b"<person><id>5</id></person>"


@pytest.mark.parametrize(("content", "props", "reason"), [
    ('[{"a": 1}, {"a": 2}]', {"Name of Record Tag": "r"}, "Name of Root Tag"),
    ('{"a": 1}', {}, "Name of Record Tag"),
    ('{"a b": 1}', {"Name of Record Tag": "r"}, "'a b' is not a valid XML element name"),
    ('{"a": "nul\\u0000"}', {"Name of Record Tag": "r"}, "U+0000"),
])
def test_what_xml_cannot_hold_fails_the_flowfile(content: str, props: dict[str, str], reason: str) -> None:
    r = runner(JsonTreeReader, XMLRecordSetWriter, writer_props=props)
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content.encode()
    assert reason in ff.attributes["record.error.message"]


def test_zero_records_with_a_root_tag() -> None:
    ff = json_to_xml("[]", {"Name of Root Tag": "root", "Name of Record Tag": "r"})
    assert ff.content == b'<?xml version="1.0" encoding="UTF-8"?><root></root>'


@pytest.mark.parametrize(("props", "subject"), [
    ({"Wrap Elements of Arrays": "use-property-as-wrapper"}, "Array Tag Name"),
    ({"Name of Root Tag": "1bad"}, "Name of Root Tag"),
])
def test_invalid_writer_configurations(props: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("w", XMLRecordSetWriter, props)
    with pytest.raises(InvalidComponentError, match=subject):
        r.enable_controller_service("w")


def test_the_writer_streams() -> None:
    writer_factory = _enabled(XMLRecordSetWriter, {"Name of Root Tag": "root", "Name of Record Tag": "r"})
    reader_factory = _enabled(JsonTreeReader, {})
    schema = reader_factory.create_reader({}, lambda: io.BytesIO(b'{"a": "x"}')).schema
    taken = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for _ in range(100_000):
            taken += 1
            yield {"a": "x" * 20}

    chunks = writer_factory.create_writer(schema, {}).write(records())
    next(chunks)
    assert taken < 10_000, "the first chunk came only after most records were taken"
    assert sum(len(c) for c in chunks) > 0


def test_xml_round_trip() -> None:
    r = runner(XMLReader, XMLRecordSetWriter, {"Expect Records as Array": "true"},
               {"Name of Root Tag": "root", "Name of Record Tag": "record", "Pretty Print XML": "true"})
    r.enqueue(PEOPLE)
    r.run()
    out = only(r, "success").content
    assert xml_to_json(out, {"Expect Records as Array": "true"}) == xml_to_json(PEOPLE,
                                                                               {"Expect Records as Array": "true"})


def test_a_field_name_with_a_namespace_prefix_fails_instead_of_writing_an_undeclared_prefix() -> None:
    r = runner(JsonTreeReader, XMLRecordSetWriter, writer_props={"Name of Record Tag": "r"})
    r.enqueue('{"x:y": 1}')
    r.run()
    assert "'x:y' is not a valid XML element name" in only(r, "failure").attributes["record.error.message"]
