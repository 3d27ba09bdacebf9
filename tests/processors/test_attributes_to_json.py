"""AttributesToJSON: NiFi's TestAttributesToJSON cases."""

from __future__ import annotations

import json

import pytest

from flowyard.processors.attributes_to_json import AttributesToJSON
from flowyard.runtime.sdk.testing import ProcessorRunner


def run(properties: dict[str, str], attributes: dict[str, str] | None = None,
        content: bytes = b"original") -> ProcessorRunner:
    r = ProcessorRunner(AttributesToJSON)
    for name, value in properties.items():
        r.set_property(name, value)
    r.enqueue(content, attributes or {})
    r.run()
    return r


def test_default_writes_every_attribute_to_an_attribute() -> None:
    r = run({}, {"a": "1", "b": "two"})
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    data = json.loads(out.attributes["JSONAttributes"])
    assert data["a"] == "1" and data["b"] == "two"
    assert data["uuid"] == out.attributes["uuid"] and "filename" in data and "path" in data
    out.assert_content_equals("original")


def test_without_core_attributes() -> None:
    r = run({"Include Core Attributes": "false"}, {"a": "1", "mime.type": "text/plain"})
    assert r.flowfiles_for("success")[0].attributes["JSONAttributes"] == '{"a":"1"}'


@pytest.mark.parametrize(("null_value", "expected"), [("false", '{"missing":""}'), ("true", '{"missing":null}')])
def test_missing_listed_attribute(null_value: str, expected: str) -> None:
    r = run({"Attributes List": "missing", "Null Value": null_value})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", expected)


def test_listed_core_attributes_are_kept_even_without_core() -> None:
    r = run({"Attributes List": " a , uuid,a", "Include Core Attributes": "false"}, {"a": "x", "b": "y"})
    out = r.flowfiles_for("success")[0]
    assert json.loads(out.attributes["JSONAttributes"]) == {"a": "x", "uuid": out.attributes["uuid"]}


def test_empty_listed_attribute_stays_empty_with_null_value() -> None:
    r = run({"Attributes List": "e", "Null Value": "true"}, {"e": ""})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"e":""}')


def test_regex_combines_with_the_list() -> None:
    r = run({"Attributes List": "a", "Attributes Regular Expression": "delimited\\.header\\.column\\.[0-9]+"},
            {"a": "1", "delimited.header.column.1": "x", "delimited.header.column.2": "y", "other": "z"})
    data = json.loads(r.flowfiles_for("success")[0].attributes["JSONAttributes"])
    assert data == {"a": "1", "delimited.header.column.1": "x", "delimited.header.column.2": "y"}


def test_legacy_regex_name_loads() -> None:
    r = run({"attributes-to-json-regex": "a.*", "Include Core Attributes": "false"}, {"ab": "1", "b": "2"})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"ab":"1"}')


def test_content_destination() -> None:
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false"}, {"a": "1"})
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals('{"a":"1"}')
    out.assert_attribute_equals("mime.type", "application/json")
    out.assert_attribute_equals("JSONAttributes", None)


def test_pretty_print_only_for_content() -> None:
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false", "Pretty Print": "true"},
            {"a": "1", "b": "2"})
    r.flowfiles_for("success")[0].assert_content_equals('{\n  "a" : "1",\n  "b" : "2"\n}')
    r = run({"Include Core Attributes": "false", "Pretty Print": "true"}, {"a": "1"})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"a":"1"}')


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("ESCAPED", {"obj": '{"k": 1.50}', "arr": " [1, 2] ", "text": "{not"}),
        ("NESTED", {"obj": {"k": 1.5}, "arr": [1, 2], "text": "{not"}),
    ],
)
def test_json_handling_strategy(strategy: str, expected: dict[str, object]) -> None:
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false", "JSON Handling Strategy": strategy},
            {"obj": '{"k": 1.50}', "arr": " [1, 2] ", "text": "{not"})
    out = r.flowfiles_for("success")[0]
    assert json.loads(out.content) == expected
    if strategy == "NESTED":
        assert out.content == b'{"obj":{"k":1.5},"arr":[1,2],"text":"{not"}'


def test_nested_value_that_is_not_json_fails() -> None:
    r = run({"JSON Handling Strategy": "NESTED"}, {"bad": "{not json}"})
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_attribute_equals("JSONAttributes", None)
    assert r.bulletins


def test_display_name_of_the_strategy_is_accepted() -> None:
    r = run({"JSON Handling Strategy": "Nested", "Include Core Attributes": "false"}, {"a": "[1]"})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"a":[1]}')


def test_special_characters_are_escaped() -> None:
    r = run({"Include Core Attributes": "false"}, {"q": 'say "hi"\n\\', "u": "h\u00e9"})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"q":"say \\"hi\\"\\n\\\\","u":"h\u00e9"}')


@pytest.mark.parametrize("regex", ["(", "   "])
def test_invalid_regex_is_invalid(regex: str) -> None:
    r = ProcessorRunner(AttributesToJSON)
    r.set_property("Attributes Regular Expression", regex)
    r.assert_not_valid()


def test_batch() -> None:
    r = ProcessorRunner(AttributesToJSON)
    r.set_property("Attributes List", "n")
    r.enqueue_many([(b"", {"n": str(i)}) for i in range(10)])
    r.run()
    assert [ff.attributes["JSONAttributes"] for ff in r.flowfiles_for("success")] == [
        f'{{"n":"{i}"}}' for i in range(10)]


def test_the_regular_expression_is_javas() -> None:
    r = run({"Attributes Regular Expression": "beach-\\p{Alpha}+", "Include Core Attributes": "false"},
            {"beach-name": "Malibu", "beach-2": "x"})
    r.flowfiles_for("success")[0].assert_attribute_equals("JSONAttributes", '{"beach-name":"Malibu"}')
