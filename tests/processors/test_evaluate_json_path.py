"""EvaluateJsonPath: NiFi's TestEvaluateJsonPath cases plus Jayway's semantics."""

from __future__ import annotations

import json

import pytest

from flowyard.processors.evaluate_json_path import EvaluateJsonPath
from flowyard.runtime.sdk import InvalidComponentError
from flowyard.runtime.sdk.testing import ProcessorRunner

SAMPLE = json.dumps([
    {
        "_id": "54df94072d5dbf7dc6340cc5",
        "index": 0,
        "isActive": True,
        "balance": 2284.55,
        "name": {"first": "Shaffer", "last": "Pearson"},
        "tags": ["a", "b"],
        "friends": [{"id": 0, "name": "Holden"}, {"id": 1, "name": "Odom"}, {"id": 2, "name": "Kate"}],
        "nothing": None,
    }
], indent=2)


def runner(properties: dict[str, str]) -> ProcessorRunner:
    r = ProcessorRunner(EvaluateJsonPath)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize("path", ["$..", "$.xyz.", "LoremIpsum []", "LoremIpsum[]", "   ", "$[0]. _id",
                                  "$[?(@.a ==)]", "$['a'", "$[0:1:2]", "$.a.nosuchfn()"])
def test_invalid_json_paths_make_the_processor_invalid(path: str) -> None:
    r = runner({"Destination": "flowfile-attribute", "bad.path": path})
    results = r.validation_results()
    assert [res.subject for res in results] == ["bad.path"]


@pytest.mark.parametrize("path", ["$", "$.xyz", "$['xyz']", "$.*['xyz']", "LoremIpsum@$Q#$^Q$%Q#",
                                  "TestTest['sdfadsf']#$%#$^#$^.xyz", "$..book[?(@.price < 10)].title"])
def test_paths_jayway_accepts_are_valid(path: str) -> None:
    runner({"Destination": "flowfile-attribute", "p": path}).assert_valid()


@pytest.mark.parametrize("paths", [{}, {"JsonPath1": "$[0]._id", "JsonPath2": "$[0].name"}])
def test_content_destination_needs_exactly_one_path(paths: dict[str, str]) -> None:
    r = runner({"Destination": "flowfile-content", **paths})
    assert [res.subject for res in r.validation_results()] == ["JsonPaths"]
    with pytest.raises(InvalidComponentError):
        r.run()


@pytest.mark.parametrize("content", [b"<xml>not json</xml>", b"", b"   ", b"{\"a\": NaN}", b"{\"a\": 1"])
def test_content_that_is_not_json_goes_to_failure_unchanged(content: bytes) -> None:
    r = runner({"Destination": "flowfile-attribute", "x": "$.a"})
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(content)
    assert r.bulletins


def test_two_scalar_paths_one_of_them_an_object_fails() -> None:
    r = runner({"Destination": "flowfile-attribute", "JsonPath1": "$[0]._id", "JsonPath2": "$[0].name"})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "JsonPath1" not in r.flowfiles_for("failure")[0].attributes


@pytest.mark.parametrize(
    ("return_type", "paths", "expected"),
    [
        ("auto-detect", {"JsonPath": "$[0]._id"}, {"JsonPath": "54df94072d5dbf7dc6340cc5"}),
        ("json", {"evaluatejson.id": "$[0]._id", "evaluatejson.name": "$[0].name"},
         {"evaluatejson.id": "54df94072d5dbf7dc6340cc5", "evaluatejson.name": '{"first":"Shaffer","last":"Pearson"}'}),
        ("scalar", {"i": "$[0].index", "b": "$[0].isActive", "d": "$[0].balance"},
         {"i": "0", "b": "true", "d": "2284.55"}),
        ("json", {"ids": "$[0].friends[*].id", "len": "$[0].friends.length()", "tags": "$[0].tags"},
         {"ids": "[0,1,2]", "len": "3", "tags": '["a","b"]'}),
        ("json", {"none": "$[0].friends[?(@.id > 5)].name"}, {"none": "[]"}),
    ],
)
def test_attribute_destination(return_type: str, paths: dict[str, str], expected: dict[str, str]) -> None:
    r = runner({"Destination": "flowfile-attribute", "Return Type": return_type, **paths})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("matched", 1)
    out = r.flowfiles_for("matched")[0]
    for name, value in expected.items():
        out.assert_attribute_equals(name, value)
    out.assert_content_equals(SAMPLE)


@pytest.mark.parametrize(
    ("behavior", "expected_name", "warned"),
    [("warn", "", True), ("ignore", "", False), ("skip", None, False)],
)
def test_path_not_found_behaviour(behavior: str, expected_name: str | None, warned: bool) -> None:
    r = runner({"Destination": "flowfile-attribute", "Path Not Found Behavior": behavior,
                "evaluatejson.id": "$[0]._id", "evaluatejson.name": "$[0].name.nonexistent"})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("matched", 1)
    out = r.flowfiles_for("matched")[0]
    out.assert_attribute_equals("evaluatejson.id", "54df94072d5dbf7dc6340cc5")
    out.assert_attribute_equals("evaluatejson.name", expected_name)
    assert bool(r.bulletins) is warned


def test_indefinite_path_with_nothing_found_is_not_scalar() -> None:
    r = runner({"Destination": "flowfile-attribute", "x": "$[0].friends[?(@.id > 5)].name"})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$[0]._id", "54df94072d5dbf7dc6340cc5"),
        ("$[0].friends.[*].id", "[0,1,2]"),
        ("$[0].friends[?(@.id < 3)].id", "[0,1,2]"),
        ("$[0].name", '{"first":"Shaffer","last":"Pearson"}'),
        ("$[0]['_id','index']", '{"_id":"54df94072d5dbf7dc6340cc5","index":0}'),
        ("$[0].balance", "2284.55"),
        ("$..friends[-1:].name", '["Kate"]'),
    ],
)
def test_content_destination(path: str, expected: str) -> None:
    r = runner({"Destination": "flowfile-content", "JsonPath": path})
    r.enqueue(SAMPLE, {"filename": "in.json"})
    r.run()
    r.assert_all_transferred("matched", 1)
    out = r.flowfiles_for("matched")[0]
    out.assert_content_equals(expected)
    out.assert_attribute_equals("filename", "in.json")


def test_content_destination_no_match_goes_unmatched_unchanged() -> None:
    r = runner({"Destination": "flowfile-content", "jsonPath": "$[0].nonexistent.key"})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("unmatched", 1)
    r.flowfiles_for("unmatched")[0].assert_content_equals(SAMPLE)


def test_scalar_return_type_with_array_result_on_content_fails() -> None:
    r = runner({"Destination": "flowfile-content", "Return Type": "scalar", "p": "$[0].friends[?(@.id < 3)].id"})
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(SAMPLE)


@pytest.mark.parametrize(("representation", "expected"), [("empty string", ""), ("the string 'null'", "null")])
def test_null_value_representation(representation: str, expected: str) -> None:
    r = runner({"Destination": "flowfile-attribute", "Return Type": "json",
                "Null Value Representation": representation,
                "stringField": "$.stringField", "missingField": "$.missingField", "nullField": "$.nullField"})
    r.enqueue(b'{"stringField": "String Value", "nullField": null}')
    r.run()
    out = r.flowfiles_for("matched")[0]
    out.assert_attribute_equals("stringField", "String Value")
    out.assert_attribute_equals("missingField", "")
    out.assert_attribute_equals("nullField", expected)


def test_null_on_content_destination() -> None:
    r = runner({"Destination": "flowfile-content", "Null Value Representation": "the string 'null'", "p": "$.n"})
    r.enqueue(b'{"n": null}')
    r.run()
    r.flowfiles_for("matched")[0].assert_content_equals("null")


def test_control_characters_and_unicode() -> None:
    r = runner({"Destination": "flowfile-attribute", "Return Type": "json", "p": "$.a.b", "u": "$.u"})
    r.enqueue('{"a": {"b": {"c": "x\\u0001y\\n"}}, "u": "h\u00e9llo \u2603"}'.encode())
    r.run()
    out = r.flowfiles_for("matched")[0]
    out.assert_attribute_equals("p", '{"c":"x\\u0001y\\n"}')
    out.assert_attribute_equals("u", "h\u00e9llo \u2603")


def test_trailing_text_after_the_document_is_ignored_as_jackson_does() -> None:
    r = runner({"Destination": "flowfile-attribute", "p": "$.a"})
    r.enqueue(b'{"a": 1} trailing')
    r.run()
    r.flowfiles_for("matched")[0].assert_attribute_equals("p", "1")


def test_max_string_length() -> None:
    r = runner({"Destination": "flowfile-attribute", "p": "$.a", "Max String Length": "10 B"})
    r.enqueue(b'{"a": "short"}')
    r.enqueue(b'{"a": "much longer than ten"}')
    r.run(2)
    r.assert_transferred("matched", 1)
    r.assert_transferred("failure", 1)


def test_doubles_print_as_java() -> None:
    r = runner({"Destination": "flowfile-attribute", "a": "$.a", "b": "$.b", "c": "$.c", "j": "$.j"})
    r.enqueue(b'{"a": 1e-5, "b": 100.0, "c": 12345678901234567890, "j": 1e7}')
    r.run()
    out = r.flowfiles_for("matched")[0]
    assert [out.attributes[k] for k in "abcj"] == ["1.0E-5", "100.0", "12345678901234567890", "1.0E7"]


def test_a_batch_of_flowfiles_is_routed_each_on_its_own() -> None:
    r = runner({"Destination": "flowfile-attribute", "id": "$.id"})
    r.enqueue_many([(json.dumps({"id": i}), {}) for i in range(5)] + [(b"nope", {})])
    r.run()
    assert sorted(ff.attributes["id"] for ff in r.flowfiles_for("matched")) == ["0", "1", "2", "3", "4"]
    r.assert_transferred("failure", 1)


def test_filter_on_a_scalar_goes_to_failure() -> None:
    r = runner({"Destination": "flowfile-attribute", "p": "$.a[?(@.b)]", "Return Type": "json"})
    r.enqueue(b'{"a": 5}')
    r.run()
    r.assert_all_transferred("failure", 1)


@pytest.mark.parametrize("content", [b"null", b"  null  "])
def test_a_bare_null_document_is_invalid_json_as_in_nifi(content: bytes) -> None:
    r = runner({"Destination": "flowfile-attribute", "p": "$.a"})
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("failure", 1)
