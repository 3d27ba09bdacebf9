"""ValidateJson: NiFi's TestValidateJson cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowyard.processors.json_schema_registry import StandardJsonSchemaRegistry
from flowyard.processors.validate_json import ValidateJson, strip_comments
from flowyard.runtime.sdk import ConfigurationError, InvalidComponentError, ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

SIMPLE_SCHEMA = json.dumps({
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "FieldOne": {"type": "string"},
        "FieldTwo": {"type": "integer"},
        "FieldThree": {"type": "array", "items": {"type": "object",
                                                  "properties": {"arrayField": {"type": "string"}}}},
    },
    "required": ["FieldOne", "FieldTwo"],
})
JSON = '{"FieldOne": "stringValue", "FieldTwo": 1234, "FieldThree": [{"arrayField": "arrayValue"}]}'
WITH_COMMENTS = """{
  // a line comment
  "FieldOne": "stringValue", /* a block
  comment */ "FieldTwo": 1234,
  "FieldThree": [{"arrayField": "http://not/a/comment"}]
}"""


def runner(schema: str | None = SIMPLE_SCHEMA, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(ValidateJson)
    if schema is not None:
        r.set_property("JSON Schema", schema)
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r


def route(r: ProcessorRunner, content: str | bytes, relationship: str) -> dict[str, str]:
    r.enqueue(content)
    r.run()
    r.assert_all_transferred(relationship, 1)
    events = r.provenance_events(ProvenanceEventType.ROUTE)
    assert [e.relationship for e in events] == [relationship]
    return r.flowfiles_for(relationship)[0].attributes


@pytest.mark.parametrize("version", ["DRAFT_4", "DRAFT_6", "DRAFT_7", "DRAFT_2019_09", "DRAFT_2020_12"])
def test_valid_with_every_draft(version: str) -> None:
    attributes = route(runner(JSON_Schema_Version=version), JSON, "valid")
    assert "json.validation.errors" not in attributes


def test_schema_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(SIMPLE_SCHEMA)
    route(runner(str(path)), JSON, "valid")
    route(runner(path.as_uri()), JSON, "valid")


@pytest.mark.parametrize("schema", ["{}", '{"fruit": "Apple", "size": "Large", "color": "Red"}'])
def test_empty_and_unknown_keyword_schemas_accept_everything(schema: str) -> None:
    route(runner(schema), JSON, "valid")


@pytest.mark.parametrize(
    ("schema", "content", "expected"),
    [
        ('{"properties": {"FieldOne": {"pattern": "^x"}}}', JSON, "[$.FieldOne: does not match the regex pattern ^x]"),
        (SIMPLE_SCHEMA, '{"FieldOne": "s"}', "[$: required property 'FieldTwo' not found]"),
        (SIMPLE_SCHEMA, '{"FieldOne": 1, "FieldTwo": "NAN"}',
         "[$.FieldOne: integer found, string expected, $.FieldTwo: string found, integer expected]"),
        ('{"properties": {"n": {"minimum": 5, "maximum": 9}}}', '{"n": 3}', "[$.n: must have a minimum value of 5]"),
        ('{"properties": {"s": {"maxLength": 2}}}', '{"s": "abc"}', "[$.s: must be at most 2 characters long]"),
        ('{"properties": {"e": {"enum": ["a", "b"]}}}', '{"e": "c"}',
         "[$.e: does not have a value in the enumeration [a, b]]"),
        ('{"properties": {"l": {"minItems": 2}}}', '{"l": [1]}', "[$.l: expected at least 2 items but found 1]"),
        ('{"properties": {"a": {}}, "additionalProperties": false}', '{"a": 1, "z": 2}',
         "[$: property 'z' is not defined in the schema and the schema does not allow additional properties]"),
        ('{"type": "object", "properties": {"when": {"format": "date"}}}', '{"when": "not a date"}',
         "[$.when: 'not a date' is not a 'date']"),
    ],
)
def test_invalid_content(schema: str, content: str, expected: str) -> None:
    r = runner(schema)
    attributes = route(r, content, "invalid")
    assert attributes["json.validation.errors"] == expected
    assert any("is invalid" in message for level, message in r.bulletins if level == "WARNING")


@pytest.mark.parametrize("content", ["Not JSON", "", '{"FieldOne": ', '{"a": NaN}'])
def test_content_that_is_not_json_fails(content: str) -> None:
    attributes = route(runner(), content, "failure")
    assert "json.validation.errors" not in attributes


def test_content_with_comments_is_read() -> None:
    route(runner(), WITH_COMMENTS, "valid")


def test_only_the_first_document_of_a_flowfile_is_validated() -> None:
    multiline = JSON + "\n" + JSON.replace("1234", '"NAN"') + "\n"
    route(runner(), multiline, "valid")


def test_json_lines_validates_every_line() -> None:
    multiline = JSON + "\n\n" + JSON.replace("1234", '"NAN"') + "\n"
    r = runner(Input_Format="JSON_LINES")
    attributes = route(r, multiline, "invalid")
    assert attributes["json.validation.errors"] == "[$.FieldTwo: string found, integer expected]"
    assert any("JSON at line 3" in message and "is invalid" in message for _, message in r.bulletins)
    route(runner(Input_Format="JSON_LINES"), JSON + "\n" + JSON, "valid")


def test_json_lines_with_a_bad_line_fails() -> None:
    route(runner(Input_Format="JSON_LINES"), JSON + "\nnope\n", "failure")


@pytest.mark.parametrize(
    "schema",
    ["Not JSON", "not-found.json", '// leading\n{"type": "object"}', '{\n // embedded\n "type": "object"}',
     '{"type": 5}', "http://example.com/schema.json"],
)
def test_schemas_that_cannot_be_used_stop_the_start(schema: str) -> None:
    r = runner(schema)
    r.assert_valid()
    r.enqueue(JSON)
    with pytest.raises(ConfigurationError):  # on_scheduled refuses, as NiFi's run fails
        r.run()
    assert r.queue_size == 1


def test_trailing_comments_after_the_schema_are_ignored() -> None:
    route(runner('{"type": "object"}\n// trailing\n/* more */'), JSON, "valid")


@pytest.mark.parametrize(
    ("strategy", "subject"),
    [("SCHEMA_NAME_PROPERTY", "JSON Schema Registry"), ("SCHEMA_CONTENT_PROPERTY", "JSON Schema")],
)
def test_the_strategy_needs_its_property(strategy: str, subject: str) -> None:
    r = runner(None, Schema_Access_Strategy=strategy)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def registry_runner() -> ProcessorRunner:
    r = ProcessorRunner(ValidateJson)
    r.add_controller_service("registry", StandardJsonSchemaRegistry, {"someSchema": SIMPLE_SCHEMA,
                                                                      "JSON Schema Version": "DRAFT_7"})
    r.enable_controller_service("registry")
    r.set_property("Schema Access Strategy", "SCHEMA_NAME_PROPERTY")
    r.set_property("JSON Schema Registry", "registry")
    return r


def test_schema_from_the_registry() -> None:
    r = registry_runner()
    r.enqueue(JSON, {"schema.name": "someSchema"})
    r.enqueue('{"FieldOne": 5, "FieldTwo": 1}', {"schema.name": "someSchema"})
    r.enqueue(JSON, {"schema.name": "unknown"})
    r.run(3)
    r.assert_transferred("valid", 1)
    r.assert_transferred("invalid", 1)
    r.assert_transferred("failure", 1)
    assert any("unknown" in message for _, message in r.bulletins)


def test_registry_refuses_a_schema_that_is_not_json() -> None:
    r = ProcessorRunner(ValidateJson)
    r.add_controller_service("registry", StandardJsonSchemaRegistry, {"bad": "{nope"})
    assert [result.subject for result in r.controller_service_validation_results("registry")] == ["bad"]


def test_max_string_length() -> None:
    route(runner(Max_String_Length="5 B"), '{"FieldOne": "far too long", "FieldTwo": 1}', "failure")


def test_legacy_schema_version_name() -> None:
    r = ProcessorRunner(ValidateJson)
    r.set_property("JSON Schema", "{}")
    r.set_property("Schema Version", "DRAFT_4")
    r.assert_valid()
    assert r.context.property("json-schema-version").value == "DRAFT_4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [('{"a": "//x"} // c', '{"a": "//x"}  '), ('/* c */1', " 1"), ('{"a\\"//": 1}', '{"a\\"//": 1}')],
)
def test_strip_comments(text: str, expected: str) -> None:
    assert strip_comments(text) == expected


def test_a_remote_reference_is_not_fetched() -> None:
    r = runner('{"$ref": "http://127.0.0.1:9/schema.json"}')
    attributes = route(r, JSON, "failure")
    assert "json.validation.errors" not in attributes
    assert any("not fetched" in message for _, message in r.bulletins)


# -- NiFi's TestValidateJson with its resources (simple-example.json and the draft-07 schemas) -------------

NIFI_JSON = ('{\n    "FieldOne": "stringValue",\n    "FieldTwo": 1234,\n    "FieldThree": [\n        {\n'
             '            "arrayField": "arrayValue"\n        }\n    ]\n}\n')
NIFI_JSON_WITH_COMMENTS = ('{\n    //First comment\n    "FieldOne": "stringValue",\n    /*Second comment*/\n'
                           '    "FieldTwo": 1234,\n    //Third comment\n    "FieldThree": [\n        {\n'
                           '            "arrayField": "arrayValue"\n        }\n    ]\n}\n')


def nifi_schema(pattern: str, required: list[str]) -> str:
    """NiFi's draft-07 test schemas: FieldThree's ``items`` is a tuple (an array), which draft 2020-12 refuses."""
    return json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "FieldOne": {"type": "string", "pattern": pattern},
            "FieldTwo": {"type": "integer"},
            "FieldThree": {"type": "array", "items": [{"type": "object",
                                                       "properties": {"arrayField": {"type": "string"}},
                                                       "required": ["arrayField"]}]},
        },
        "required": required,
    }, indent=4)


NIFI_SIMPLE = nifi_schema("[a-z]*Value", ["FieldOne", "FieldTwo", "FieldThree"])
NIFI_UNMATCHED_PATTERN = nifi_schema("^unmatched$", ["FieldOne", "FieldTwo", "FieldThree"])
NIFI_MISSING_REQUIRED = nifi_schema("[a-z]*Value", ["FieldOne", "FieldTwo", "FieldThree", "FieldFour"])


@pytest.mark.parametrize(
    ("schema", "version", "content", "relationship"),
    [
        pytest.param("file", "DRAFT_7", NIFI_JSON, "valid", id="pass-schema"),
        pytest.param("file", None, NIFI_JSON, "valid", id="no-schema-version-specified"),
        pytest.param("{}", "DRAFT_7", NIFI_JSON, "valid", id="empty-schema"),
        pytest.param('{"fruit": "Apple", "size": "Large", "color": "Red"}', "DRAFT_7", NIFI_JSON, "valid",
                     id="all-unknown-keywords-schema"),
        pytest.param(NIFI_UNMATCHED_PATTERN, "DRAFT_7", NIFI_JSON, "invalid", id="pattern-schema-check"),
        pytest.param(NIFI_MISSING_REQUIRED, "DRAFT_7", NIFI_JSON, "invalid", id="missing-required-value"),
        pytest.param(NIFI_SIMPLE, "DRAFT_7", "Not JSON", "failure", id="invalid-json"),
        pytest.param("file", "DRAFT_7", NIFI_JSON_WITH_COMMENTS, "valid", id="json-with-comments"),
    ],
)
def test_nifi_validate_json(tmp_path: Path, schema: str, version: str | None, content: str,
                            relationship: str) -> None:
    if schema == "file":
        path = tmp_path / "schema-simple-example.json"
        path.write_text(NIFI_SIMPLE)
        schema = str(path)
    r = runner(schema) if version is None else runner(schema, JSON_Schema_Version=version)
    attributes = route(r, content, relationship)  # exactly one ROUTE event, to the relationship
    assert len(r.provenance_events()) == 1
    if relationship == "invalid":
        assert attributes["json.validation.errors"]
    else:
        assert "json.validation.errors" not in attributes


@pytest.mark.parametrize("schema", ["not-found.json", "Not JSON"])
def test_nifi_non_existing_or_bad_schema_fails_the_run(schema: str) -> None:
    r = runner(schema, JSON_Schema_Version="DRAFT_7")
    r.enqueue(NIFI_JSON)
    with pytest.raises(ConfigurationError):
        r.run()


def test_nifi_schema_retrieval_from_registry() -> None:
    r = ProcessorRunner(ValidateJson)
    r.add_controller_service("registry", StandardJsonSchemaRegistry, {"someSchema": "{}"})
    r.enable_controller_service("registry")
    r.set_property("Schema Access Strategy", "SCHEMA_NAME_PROPERTY")
    r.set_property("JSON Schema Registry", "registry")
    route(r, NIFI_JSON, "failure")  # no schema.name attribute: no schema by that name
    r.clear_transfer_state()
    r.enqueue(NIFI_JSON, {"schema.name": "someSchema"})
    r.run()
    r.assert_all_transferred("valid", 1)


def test_a_schema_declaring_its_draft_is_validated_with_that_draft() -> None:
    # draft 4's boolean exclusiveMaximum, under the default version 2020-12
    schema = '{"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 5, "exclusiveMaximum": true}'
    route(runner(schema), "5", "invalid")
    route(runner(schema), "4", "valid")


def test_a_failing_schema_name_expression_sends_the_flowfile_to_failure() -> None:
    r = registry_runner()
    r.set_property("Schema Name", "${fails:toNumber():divide(0)}")
    r.enqueue(NIFI_JSON, {"fails": "1"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert any("Schema Name" in message for _, message in r.bulletins)


@pytest.mark.parametrize("schema", ["-1", "1e400", '"text"', "[1]", "null"])
def test_a_schema_that_is_not_an_object_stops_the_start_clearly(schema: str) -> None:
    r = runner(schema)
    r.enqueue(NIFI_JSON)
    with pytest.raises(ConfigurationError, match="JSON Schema"):
        r.run()
