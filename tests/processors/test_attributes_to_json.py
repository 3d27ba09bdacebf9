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


# -- NiFi's TestAttributesToJSON --------------------------------------------------------------------------

NESTED_LIST = json.dumps([{"_id": "54df94072d5dbf7dc6340cc5", "range": [0, 1]}, {"_id": "b"}], indent=2)
NESTED_MAP = json.dumps({"name": "Apple", "tags": ["fruit"], "size": {"value": 3}}, indent=2)
CORE = {"filename", "path", "uuid"}


@pytest.mark.parametrize(("name", "value"), [("Attributes List", ""), ("Include Core Attributes", "maybe")])
def test_nifi_invalid_properties(name: str, value: str) -> None:
    r = ProcessorRunner(AttributesToJSON)
    r.set_property(name, value)
    r.assert_not_valid()


@pytest.mark.parametrize(
    ("properties", "attributes", "expected"),
    [
        pytest.param({"Attributes List": "NonExistingAttributeKey", "Null Value": "true"}, {},
                     {"NonExistingAttributeKey": None}, id="null-value-for-empty-attribute"),
        pytest.param({"Attributes List": "NonExistingAttributeKey", "Null Value": "false"}, {},
                     {"NonExistingAttributeKey": ""}, id="empty-string-value-for-empty-attribute"),
        pytest.param({"Attributes List": "TestAttribute"}, {"TestAttribute": "TestValue"},
                     {"TestAttribute": "TestValue"}, id="single-user-defined-attribute"),
        pytest.param({"Attributes List": " TestAttribute "}, {"TestAttribute": "TestValue"},
                     {"TestAttribute": "TestValue"}, id="single-user-defined-attribute-with-white-space"),
        pytest.param({"Attributes List": "NonExistingAttribute"}, {"TestAttribute": "TestValue"},
                     {"NonExistingAttribute": ""}, id="single-non-existing-user-defined-attribute"),
        pytest.param({"Attributes List": " TestAttribute , path ", "Include Core Attributes": "false"},
                     {"TestAttribute": "TestValue", "path": "TestValue"},
                     {"TestAttribute": "TestValue", "path": "TestValue"}, id="no-include-core-attributes-user-defined"),
        pytest.param({"Attributes Regular Expression": "path.*", "Include Core Attributes": "false"},
                     {"TestAttribute": "TestValue", "path": "TestValue"}, {"path": "TestValue"},
                     id="no-include-core-attributes-regex"),
    ],
)
def test_nifi_attribute_destination(properties: dict[str, str], attributes: dict[str, str],
                                    expected: dict[str, object]) -> None:
    r = run({"Destination": "flowfile-attribute", **properties}, attributes)
    r.assert_all_transferred("success", 1)
    assert json.loads(r.flowfiles_for("success")[0].attributes["JSONAttributes"]) == expected


def test_nifi_invalid_json_value_in_an_attribute_is_escaped() -> None:
    r = run({}, {"TestAttribute": "'badjson'"})
    r.assert_all_transferred("success", 1)
    assert json.loads(r.flowfiles_for("success")[0].attributes["JSONAttributes"])["TestAttribute"] == "'badjson'"


def test_nifi_empty_list_takes_every_attribute() -> None:
    r = run({"Destination": "flowfile-attribute"}, {"TestAttribute": "TestValue"})
    assert json.loads(r.flowfiles_for("success")[0].attributes["JSONAttributes"])["TestAttribute"] == "TestValue"


def test_nifi_content_without_core_attributes() -> None:
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false"}, {}, b"")
    out = r.flowfiles_for("success")[0]
    out.assert_content_equals("{}")
    out.assert_attribute_equals("JSONAttributes", None)
    r = run({"Destination": "flowfile-content", "Include Core Attributes": "false"},
            {"TestAttribute": "TestValue", "path": "TestValue"}, b"")
    assert json.loads(r.flowfiles_for("success")[0].content) == {"TestAttribute": "TestValue"}


@pytest.mark.parametrize("destination", ["flowfile-content", "flowfile-attribute"])
def test_nifi_include_core_attributes(destination: str) -> None:
    r = run({"Destination": destination, "Include Core Attributes": "true"}, {}, b"")
    out = r.flowfiles_for("success")[0]
    if destination == "flowfile-content":
        out.assert_attribute_equals("mime.type", "application/json")
        data = json.loads(out.content)
    else:
        out.assert_attribute_equals("mime.type", None)
        data = json.loads(out.attributes["JSONAttributes"])
    assert set(data) == CORE


def test_nifi_regex_from_the_environment_with_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("regex", "delimited\\.header\\.column\\.[0-9]+")
    attributes = {f"delimited.header.column.{i}": f"v{i}" for i in range(1, 5)}
    r = run({"Attributes Regular Expression": "${regex}", "Attributes List": "test, test1"},
            {**attributes, "delimited.footer.column.1": "not included", "test": "test", "test1": "test1"}, b"")
    data = json.loads(r.flowfiles_for("success")[0].attributes["JSONAttributes"])
    assert set(data) == {*attributes, "test", "test1"}


@pytest.mark.parametrize("destination", ["flowfile-content", "flowfile-attribute"])
@pytest.mark.parametrize(("nested", "kind"), [(NESTED_LIST, list), (NESTED_MAP, dict),
                                              ("\n{\n    \"fruit\": \"Apple\",\n    \"size\": \"Large\"\n}\n", dict)])
def test_nifi_nested_json(destination: str, nested: str, kind: type) -> None:
    r = run({"Destination": destination, "JSON Handling Strategy": "NESTED"}, {"TestAttribute": nested}, b"")
    r.assert_all_transferred("success", 1)
    out = r.flowfiles_for("success")[0]
    data = json.loads(out.content if destination == "flowfile-content" else out.attributes["JSONAttributes"])
    assert isinstance(data["TestAttribute"], kind)
    escaped = run({"Destination": destination}, {"TestAttribute": nested}, b"").flowfiles_for("success")[0]
    data = json.loads(escaped.content if destination == "flowfile-content" else escaped.attributes["JSONAttributes"])
    assert data["TestAttribute"] == nested


@pytest.mark.parametrize("look_alike", ["[THIS IS NOT JSON]", "{THIS IS NOT JSON}"])
def test_nifi_look_alike_json_fails_saying_what_was_expected(look_alike: str) -> None:
    r = run({"Destination": "flowfile-content", "JSON Handling Strategy": "NESTED"}, {"TestAttribute": look_alike})
    r.assert_all_transferred("failure", 1)
    assert "expecting" in r.bulletins[0][1]
