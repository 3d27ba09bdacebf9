"""FreeFormTextRecordSetWriter, through ConvertRecord and directly."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from flowyard.processors.convert_record import ConvertRecord
from flowyard.processors.csv_record_services import CSVReader
from flowyard.processors.freeform_text_writer import FreeFormTextRecordSetWriter
from flowyard.processors.json_record_services import JsonTreeReader
from flowyard.runtime.sdk import ControllerService, InvalidComponentError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner


def runner(writer_props: Mapping[str, str], reader: type[ControllerService] = JsonTreeReader) -> ProcessorRunner:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("reader", reader, {})
    r.add_controller_service("writer", FreeFormTextRecordSetWriter, dict(writer_props))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    return r


def only(r: ProcessorRunner, relationship: str) -> MockFlowFile:
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0]


def convert(text: str, content: str, attributes: Mapping[str, str] | None = None,
            charset: str | None = None) -> MockFlowFile:
    props = {"Text": text, **({"Character Set": charset} if charset else {})}
    r = runner(props)
    r.enqueue(content, dict(attributes or {}))
    r.run()
    return only(r, "success")


def test_one_line_per_record_with_fields_as_variables() -> None:
    ff = convert("${name} is ${age:plus(1)} next year", '[{"name": "Ann", "age": 30}, {"name": "Bob", "age": 4}]')
    assert ff.content == b"Ann is 31 next year\nBob is 5 next year\n"
    ff.assert_attribute_equals("mime.type", "text/plain")
    ff.assert_attribute_equals("record.count", "2")


def test_fields_win_over_attributes_unless_null() -> None:
    ff = convert("${name}|${filename}|${nick}", '[{"name": "Ann", "nick": null}, {"name": "Bob", "nick": "B"}]',
                 {"name": "attribute", "nick": "from-attribute", "filename": "in.json"})
    assert ff.content == b"Ann|in.json|from-attribute\nBob|in.json|B\n"


def test_values_as_text() -> None:
    ff = convert("${d} ${b} ${n} ${nested} ${list}", '{"d": 1.5, "b": true, "n": null, "nested": {"a": 1}, '
                                                     '"list": [1, "x"]}')
    assert ff.content == b'1.5 true  {"a":1} [1,"x"]\n'


def test_csv_to_text_with_functions() -> None:
    r = runner({"Text": "${id:padLeft(3, '0')}: ${name:toUpper()}"}, CSVReader)
    r.enqueue("id,name\n7,ann\n12,bob\n")
    r.run()
    assert only(r, "success").content == b"007: ANN\n012: BOB\n"


def test_character_set() -> None:
    assert convert("${a}", '{"a": "caf\\u00e9 \\u20ac"}', charset="ISO-8859-1").content == b"caf\xe9 ?\n"
    assert convert("${a}", '{"a": "\\u00e9"}', charset="UTF-16").content.decode("utf-16") == "\u00e9\n"


def test_zero_records_give_no_output() -> None:
    ff = convert("${a}", "[]")
    assert ff.content == b""
    ff.assert_attribute_equals("record.count", "0")


def test_an_expression_failing_on_a_record_fails_the_flowfile_naming_it() -> None:
    r = runner({"Text": "${n:toNumber():divide(${d})}"})
    content = '[{"n": 4, "d": 2}, {"n": 4, "d": 0}]'
    r.enqueue(content)
    r.run()
    ff = only(r, "failure")
    assert ff.content == content.encode()
    assert "record 2" in ff.attributes["record.error.message"]


@pytest.mark.parametrize(("props", "subject"), [
    ({}, "Text"),
    ({"Text": "${a:noSuchFunction()}"}, "Text"),
    ({"Text": "${a}", "Character Set": "no-such-charset"}, "Character Set"),
])
def test_invalid_configurations(props: dict[str, str], subject: str) -> None:
    r = ProcessorRunner(ConvertRecord)
    r.add_controller_service("w", FreeFormTextRecordSetWriter, props)
    with pytest.raises(InvalidComponentError, match=subject):
        r.enable_controller_service("w")


def test_the_writer_streams() -> None:
    r = ProcessorRunner(ConvertRecord)
    writer_factory = r.add_controller_service("w", FreeFormTextRecordSetWriter, {"Text": "${a}"})
    reader_factory = r.add_controller_service("r", JsonTreeReader, {})
    r.enable_controller_service("w")
    r.enable_controller_service("r")
    assert isinstance(writer_factory, FreeFormTextRecordSetWriter) and isinstance(reader_factory, JsonTreeReader)
    schema = reader_factory.create_reader({}, lambda: io.BytesIO(b'{"a": "x"}')).schema
    taken = 0

    def records() -> Iterator[dict[str, Any]]:
        nonlocal taken
        for _ in range(50_000):
            taken += 1
            yield {"a": "x" * 20}

    chunks = writer_factory.create_writer(schema, {}).write(records())
    next(chunks)
    assert taken < 10_000
    assert sum(len(c) for c in chunks) > 0
