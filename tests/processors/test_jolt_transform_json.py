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


# -- NiFi's TestJoltTransformJSON, its input and specs rebuilt from the expected outputs ---------------------

NIFI_INPUT = '{"rating": {"primary": {"value": 3}, "series": {"value": [5, 4]}, "quality": {"value": 3}}}'
NIFI_SHIFT = {"rating": {"primary": {"value": "Rating", "max": "RatingRange"},
                         "*": {"max": "SecondaryRatings.&1.Range", "value": "SecondaryRatings.&1.Value",
                               "$": "SecondaryRatings.&1.Id"}}}
NIFI_CHAIN = [{"operation": "shift", "spec": NIFI_SHIFT},
              {"operation": "default", "spec": {"Range": 5, "SecondaryRatings": {"*": {"Range": 5}}}}]
NIFI_CHAIN_OUTPUT = {"Range": 5, "Rating": 3,
                     "SecondaryRatings": {"quality": {"Id": "quality", "Range": 5, "Value": 3},
                                          "series": {"Id": "series", "Range": 5, "Value": [5, 4]}}}
NIFI_DEFAULT = {"RatingRange": 5, "rating": {"*": {"MaxLabel": "High", "MinLabel": "Low", "DisplayType": "NORMAL"}}}
_LABELS = {"MaxLabel": "High", "MinLabel": "Low", "DisplayType": "NORMAL"}
NIFI_DEFAULT_OUTPUT = {"RatingRange": 5, "rating": {"primary": {"value": 3, **_LABELS},
                                                    "quality": {"value": 3, **_LABELS},
                                                    "series": {"value": [5, 4], **_LABELS}}}


@pytest.mark.parametrize(
    ("transform", "spec", "expected"),
    [
        pytest.param("jolt-transform-chain", json.dumps(NIFI_CHAIN), NIFI_CHAIN_OUTPUT, id="chainr"),
        pytest.param("jolt-transform-chain", "// Single line comment\n" + json.dumps(NIFI_CHAIN, indent=2),
                     NIFI_CHAIN_OUTPUT, id="chainr-single-line-comment"),
        pytest.param("jolt-transform-shift", json.dumps(NIFI_SHIFT),
                     {"Rating": 3, "SecondaryRatings": {"quality": {"Id": "quality", "Value": 3},
                                                        "series": {"Id": "series", "Value": [5, 4]}}}, id="shiftr"),
        pytest.param("jolt-transform-default", json.dumps(NIFI_DEFAULT), NIFI_DEFAULT_OUTPUT, id="defaultr"),
        pytest.param("jolt-transform-remove", '{"rating": {"quality": ""}}',
                     {"rating": {"primary": {"value": 3}, "series": {"value": [5, 4]}}}, id="removr"),
        pytest.param("jolt-transform-card", '{"rating": {"*": {"value": "ONE"}}}',
                     {"rating": {"primary": {"value": 3}, "quality": {"value": 3}, "series": {"value": 5}}},
                     id="cardinality"),
        # NiFi runs all three modifier specs with Modify - Default; '+value' overwrites (Jolt's key prefix)
        pytest.param("jolt-transform-modify-default", '{"rating": {"primary?": {"+value": 0}}}',
                     {"rating": {"primary": {"value": 0}, "quality": {"value": 3}, "series": {"value": [5, 4]}}},
                     id="modifier-default"),
        pytest.param("jolt-transform-modify-default", '{"rating": {"question": {"value": 0}}}',
                     {"rating": {"primary": {"value": 3}, "series": {"value": [5, 4]}, "quality": {"value": 3},
                                 "question": {"value": 0}}}, id="modifier-define"),
        pytest.param("jolt-transform-modify-default",
                     '{"rating": {"series": {"series_first": "=firstElement(@(1,value))"}}}',
                     {"rating": {"primary": {"value": 3}, "quality": {"value": 3},
                                 "series": {"series_first": 5, "value": [5, 4]}}}, id="modifier-overwrite"),
    ],
)
def test_nifi_transforms(transform: str, spec: str, expected: object) -> None:
    r = runner(transform, spec)
    r.assert_valid()
    assert json.loads(run_one(r, NIFI_INPUT)) == expected
    r.flowfiles_for("success")[0].assert_attribute_equals("mime.type", "application/json")


@pytest.mark.parametrize("spec", [None, "abcd"])
def test_nifi_sortr_ignores_any_spec(spec: str | None) -> None:
    out = run_one(runner("jolt-transform-sort", spec), NIFI_INPUT)
    assert out == b'{"rating":{"primary":{"value":3},"quality":{"value":3},"series":{"value":[5,4]}}}'
    r = runner("jolt-transform-sort", spec)
    r.assert_valid()


def test_nifi_shiftr_with_accented_characters() -> None:
    spec = json.dumps(NIFI_SHIFT).replace('"primary"', '"primary\u00c4\u00d6\u00dc"')
    out = run_one(runner("jolt-transform-shift", spec), NIFI_INPUT.replace('"primary"', '"primary\u00c4\u00d6\u00dc"'))
    assert json.loads(out)["Rating"] == 3


def test_nifi_defaultr_expression_language_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("quota", "5")
    spec = ('{"RatingRange": 5, "rating": {"primary": {"value": 3, "MaxLabel": "High", "MinLabel": "Low", '
            '"DisplayType": "NORMAL"}, "quality": {"value": 3, "MaxLabel": "High", "MinLabel": "Low", '
            '"DisplayType": "NORMAL"}, "series": {"value": [5,4], "MaxLabel": "High", "MinLabel": "Low", '
            '"DisplayType": "NORMAL"}, "quota": {"value": "${quota}"}}}')
    expected = {**NIFI_DEFAULT_OUTPUT, "rating": {**NIFI_DEFAULT_OUTPUT["rating"],  # type: ignore[dict-item]
                                                  "quota": {"value": "5"}}}
    assert json.loads(run_one(runner("jolt-transform-default", spec), NIFI_INPUT)) == expected


def test_nifi_spec_from_an_attribute_expression() -> None:
    r = runner("jolt-transform-default", "${joltSpec}")
    r.assert_valid()
    assert json.loads(run_one(r, NIFI_INPUT, {"joltSpec": json.dumps(NIFI_DEFAULT)})) == NIFI_DEFAULT_OUTPUT


@pytest.mark.parametrize("by_expression", [False, True])
def test_nifi_spec_from_a_file(tmp_path: Path, by_expression: bool) -> None:
    (tmp_path / "shiftrSpec.json").write_text(json.dumps(NIFI_SHIFT, indent=2))
    value = str(tmp_path / ("${filename}" if by_expression else "shiftrSpec.json"))
    r = runner("jolt-transform-shift", value)
    r.assert_valid()
    out = run_one(r, NIFI_INPUT, {"filename": "shiftrSpec.json"})
    assert json.loads(out)["SecondaryRatings"]["series"] == {"Id": "series", "Value": [5, 4]}


def test_nifi_chain_spec_from_a_file_is_not_a_shift_spec(tmp_path: Path) -> None:
    path = tmp_path / "chainrSpec.json"
    path.write_text(json.dumps(NIFI_CHAIN))
    runner("jolt-transform-chain", str(path)).assert_valid()
    runner("jolt-transform-shift", str(path)).assert_not_valid()


@pytest.mark.parametrize(
    ("transform", "spec"),
    [
        pytest.param("jolt-transform-chain", "[{}]", id="invalid-jolt-spec"),
        pytest.param("jolt-transform-shift", json.dumps(NIFI_CHAIN), id="incorrect-jolt-spec"),
        pytest.param("jolt-transform-shift", None, id="spec-is-not-set"),
        pytest.param("jolt-transform-shift", "", id="spec-is-empty"),
        pytest.param("jolt-transform-chain", "${joltSpec:nonExistingFunction()}", id="invalid-expression"),
    ],
)
def test_nifi_invalid_specs(transform: str, spec: str | None) -> None:
    runner(transform, spec).assert_not_valid()


def test_nifi_no_flowfile_does_nothing() -> None:
    r = runner("jolt-transform-chain", json.dumps(NIFI_CHAIN))
    r.run()
    r.assert_queue_empty()
    r.assert_transferred("success", 0)
    r.assert_transferred("failure", 0)


def test_nifi_invalid_content_and_a_failing_expression_go_to_failure() -> None:
    r = runner("jolt-transform-chain", json.dumps(NIFI_CHAIN))
    run_one(r, "invalid json", relationship="failure")
    r = runner("jolt-transform-shift", '{"a": "${fails:toNumber():divide(0)}"}')
    r.enqueue(NIFI_INPUT, {"fails": "1"})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert any("Jolt Specification" in message for _, message in r.bulletins)


def test_nifi_invalid_content_with_the_spec_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "chainrSpec.json"
    path.write_text(json.dumps(NIFI_CHAIN))
    r = runner("jolt-transform-chain", str(path))
    run_one(r, "invalid json", relationship="failure")


def test_nifi_custom_transformation_properties_are_ignored_for_other_transforms() -> None:
    r = runner("jolt-transform-default", json.dumps(NIFI_DEFAULT),
               Custom_Transformation_Class_Name="TestCustomJoltTransform",
               Custom_Module_Directory="TestJoltTransformJson/TestCustomJoltTransform.jar")
    r.assert_valid()
    assert json.loads(run_one(r, NIFI_INPUT)) == NIFI_DEFAULT_OUTPUT
