"""JoltTransformJSON: NiFi's TestJoltTransformJSON behaviours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowyard.processors.jolt_transform_json import JoltTransformJSON
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

INPUT = {"rating": {"primary": {"value": 3}, "quality": {"value": 3, "max": 7}}}
SHIFT = {"rating": {"primary": {"value": "Rating"},
                    "*": {"value": "SecondaryRatings.&1.Value", "max": "SecondaryRatings.&1.Range"}}}
SHIFTED = {"Rating": 3, "SecondaryRatings": {"quality": {"Value": 3, "Range": 7}}}
CHAIN = [{"operation": "shift", "spec": SHIFT},
         {"operation": "default", "spec": {"Range": 5, "SecondaryRatings": {"*": {"Range": 5}}}}]


def runner(transform: str | None, spec: object | None, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(JoltTransformJSON)
    if transform is not None:
        r.set_property("Jolt Transform", transform)
    if spec is not None:
        r.set_property("Jolt Specification", spec if isinstance(spec, str) else json.dumps(spec))
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r


def run_one(r: ProcessorRunner, content: str | bytes, attributes: dict[str, str] | None = None,
            relationship: str = "success") -> bytes:
    r.enqueue(content, attributes or {})
    r.run()
    r.assert_all_transferred(relationship, 1)
    return r.flowfiles_for(relationship)[0].content


@pytest.mark.parametrize(
    ("transform", "spec", "expected"),
    [
        ("jolt-transform-chain", CHAIN, {"Rating": 3, "SecondaryRatings": {"quality": {"Value": 3, "Range": 7}},
                                         "Range": 5}),
        ("jolt-transform-shift", SHIFT, SHIFTED),
        ("jolt-transform-default", {"rating": {"*": {"max": 10}}, "extra": "x"},
         {"rating": {"primary": {"value": 3, "max": 10}, "quality": {"value": 3, "max": 7}}, "extra": "x"}),
        ("jolt-transform-remove", {"rating": {"quality": ""}}, {"rating": {"primary": {"value": 3}}}),
        ("jolt-transform-card", {"rating": {"primary": {"value": "MANY"}}},
         {"rating": {"primary": {"value": [3]}, "quality": {"value": 3, "max": 7}}}),
        ("jolt-transform-sort", None, {"rating": {"primary": {"value": 3}, "quality": {"max": 7, "value": 3}}}),
        ("jolt-transform-modify-overwrite", {"rating": {"*": {"value": "=toString"}}},
         {"rating": {"primary": {"value": "3"}, "quality": {"value": "3", "max": 7}}}),
        ("jolt-transform-modify-default", {"rating": {"*": {"max": 10}}},
         {"rating": {"primary": {"value": 3, "max": 10}, "quality": {"value": 3, "max": 7}}}),
        ("jolt-transform-modify-define", {"rating": {"quality": {"max": 1, "min": 0}}},
         {"rating": {"primary": {"value": 3}, "quality": {"value": 3, "max": 7, "min": 0}}}),
    ],
)
def test_every_transform(transform: str, spec: object, expected: object) -> None:
    r = runner(transform, spec)
    r.assert_valid()
    out = run_one(r, json.dumps(INPUT), {"filename": "in.json"})
    assert json.loads(out) == expected
    flowfile = r.flowfiles_for("success")[0]
    flowfile.assert_attribute_equals("mime.type", "application/json")
    flowfile.assert_attribute_equals("filename", "in.json")


def test_sort_keeps_key_order_in_the_output() -> None:
    out = run_one(runner("jolt-transform-sort", None), '{"b": 1, "a": {"d": 1, "c": 2}}')
    assert out == b'{"a":{"c":2,"d":1},"b":1}'


def test_pretty_print_is_jacksons() -> None:
    out = run_one(runner("jolt-transform-shift", SHIFT, Pretty_Print="true"), json.dumps(INPUT))
    assert out.decode() == ('{\n  "Rating" : 3,\n  "SecondaryRatings" : {\n    "quality" : {\n      "Value" : 3,\n'
                            '      "Range" : 7\n    }\n  }\n}')


def test_the_display_names_of_transforms_are_accepted() -> None:
    r = runner("Shift", SHIFT)
    r.assert_valid()
    assert json.loads(run_one(r, json.dumps(INPUT))) == SHIFTED


@pytest.mark.parametrize(
    ("transform", "spec", "subject"),
    [
        ("jolt-transform-shift", None, "Jolt Specification"),
        ("jolt-transform-chain", "not json", "Jolt Specification"),
        ("jolt-transform-chain", {"not": "a list"}, "Jolt Specification"),
        ("jolt-transform-shift", {"a": {}}, "Jolt Specification"),
        ("jolt-transform-remove", [1, 2], "Jolt Specification"),
        ("jolt-transform-custom", {"a": "b"}, "Jolt Transform"),
    ],
)
def test_invalid_configurations(transform: str, spec: object, subject: str) -> None:
    r = runner(transform, spec)
    assert subject in [result.subject for result in r.validation_results()]
    with pytest.raises(InvalidComponentError):
        r.run()


def test_spec_from_a_file_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text("// a chain\n" + json.dumps(CHAIN))
    r = runner("jolt-transform-chain", str(path))
    r.assert_valid()
    assert json.loads(run_one(r, json.dumps(INPUT)))["Range"] == 5


def test_spec_with_expression_language_is_evaluated_per_flowfile() -> None:
    r = runner("jolt-transform-shift", '{"rating": {"primary": {"value": "${target}"}}}', Transform_Cache_Size="2")
    r.assert_valid()
    r.enqueue(json.dumps(INPUT), {"target": "first"})
    r.enqueue(json.dumps(INPUT), {"target": "second"})
    r.enqueue(json.dumps(INPUT), {"target": "first"})
    r.run()
    assert [json.loads(ff.content) for ff in r.flowfiles_for("success")] == [
        {"first": 3}, {"second": 3}, {"first": 3}]


def test_spec_that_breaks_after_expression_language_fails_the_flowfile() -> None:
    r = runner("jolt-transform-shift", '{"rating": ${spec}}')
    run_one(r, json.dumps(INPUT), {"spec": "{}"}, "failure")
    assert r.bulletins


@pytest.mark.parametrize("content", [b"", b"   ", b"<xml/>", b'{"a": ', b'{"a": NaN}'])
def test_content_that_is_not_json_fails_unchanged(content: bytes) -> None:
    r = runner("jolt-transform-shift", SHIFT)
    assert run_one(r, content, relationship="failure") == content
    r.flowfiles_for("failure")[0].assert_attribute_equals("mime.type", None)
    assert r.bulletins


def test_a_null_result_is_written_as_null() -> None:
    assert run_one(runner("jolt-transform-shift", {"nothing": "here"}), json.dumps(INPUT)) == b"null"


def test_attribute_source() -> None:
    r = runner("jolt-transform-shift", SHIFT, JSON_Source="ATTRIBUTE", JSON_Source_Attribute="payload")
    r.assert_valid()
    out = run_one(r, b"untouched", {"payload": json.dumps(INPUT)})
    assert out == b"untouched"
    flowfile = r.flowfiles_for("success")[0]
    assert json.loads(flowfile.attributes["payload"]) == SHIFTED
    flowfile.assert_attribute_equals("mime.type", None)


@pytest.mark.parametrize("attributes", [{}, {"payload": "  "}, {"payload": "nope"}])
def test_attribute_source_blank_or_invalid_fails(attributes: dict[str, str]) -> None:
    r = runner("jolt-transform-shift", SHIFT, JSON_Source="ATTRIBUTE", JSON_Source_Attribute="payload")
    run_one(r, b"x", attributes, "failure")


def test_attribute_source_needs_the_attribute_name() -> None:
    r = runner("jolt-transform-shift", SHIFT, JSON_Source="ATTRIBUTE")
    assert "JSON Source Attribute" in [result.subject for result in r.validation_results()]


def test_json_lines() -> None:
    r = runner("jolt-transform-shift", {"id": "ident"}, JSON_Source="JSON_LINES")
    out = run_one(r, b'{"id": 1}\n\n{"id": 2, "x": 0}\n{"y": 3}')
    assert out == b'{"ident":1}\n{"ident":2}\nnull\n'
    r.flowfiles_for("success")[0].assert_attribute_equals("mime.type", "application/jsonl")


def test_json_lines_with_a_bad_line_fails() -> None:
    r = runner("jolt-transform-shift", {"id": "ident"}, JSON_Source="JSON_LINES")
    run_one(r, b'{"id": 1}\nnot json\n', relationship="failure")


@pytest.mark.parametrize(
    ("retain", "expected"),
    [("false", '{"b":"\u00e9\u2603\U0001f447"}'), ("true", '{"b":"\\u00E9\\u2603\\uD83D\\uDC47"}')],
)
def test_retain_unicode_escape_sequences(retain: str, expected: str) -> None:
    r = runner("jolt-transform-shift", {"a": "b"}, Retain_Unicode_Escape_Sequences=retain)
    assert run_one(r, '{"a": "\\u00e9\u2603\\ud83d\\udc47"}').decode() == expected


def test_doubles_are_written_as_java_writes_them() -> None:
    out = run_one(runner("jolt-transform-shift", {"*": "&"}), '{"a": 1e-5, "b": 2.50, "c": 10}')
    assert out == b'{"a":1.0E-5,"b":2.5,"c":10}'


def test_max_string_length() -> None:
    r = runner("jolt-transform-shift", {"a": "b"}, Max_String_Length="4 B")
    run_one(r, '{"a": "too long"}', relationship="failure")


@pytest.mark.parametrize("legacy", ["jolt-spec", "jolt-transform"])
def test_legacy_names(legacy: str) -> None:
    r = ProcessorRunner(JoltTransformJSON)
    r.set_property("jolt-transform", "jolt-transform-shift")
    r.set_property("jolt-spec", json.dumps(SHIFT))
    r.assert_valid()
