"""SplitJson: NiFi's TestSplitJson cases."""

from __future__ import annotations

import json

import pytest

from flowyard.processors.split_json import SplitJson
from flowyard.runtime.sdk.testing import ProcessorRunner

SAMPLE = json.dumps([
    {"_id": "a1", "name": {"first": "Shaffer", "last": "Pearson"}, "tags": ["x", "y", "z"],
     "friends": [{"id": 0, "name": "Holden"}, {"id": 1, "name": "Odom"}]},
    {"_id": "b2", "name": {"first": "Kate", "last": "Doe"}, "tags": [], "friends": []},
])


def runner(path: str, **properties: str) -> ProcessorRunner:
    r = ProcessorRunner(SplitJson)
    r.set_property("JsonPath Expression", path)
    for name, value in properties.items():
        r.set_property(name, value)
    return r


@pytest.mark.parametrize("path", ["", "   ", "$..", "$.a."])
def test_invalid_path(path: str) -> None:
    runner(path).assert_not_valid()


def test_split_the_root_array() -> None:
    r = runner("$")
    r.enqueue(SAMPLE, {"filename": "people.json"})
    r.run()
    r.assert_transferred("original", 1)
    r.assert_transferred("split", 2)
    original = r.flowfiles_for("original")[0]
    original.assert_content_equals(SAMPLE)
    original.assert_attribute_equals("fragment.count", "2")
    fragment_id = original.attributes["fragment.identifier"]
    splits = r.flowfiles_for("split")
    for index, split in enumerate(splits):
        split.assert_attribute_equals("fragment.identifier", fragment_id)
        split.assert_attribute_equals("fragment.index", str(index))
        split.assert_attribute_equals("fragment.count", "2")
        split.assert_attribute_equals("segment.original.filename", "people.json")
        split.assert_attribute_equals("filename", "people.json")
    splits[0].assert_content_equals(json.dumps(json.loads(SAMPLE)[0], separators=(",", ":")))


@pytest.mark.parametrize(
    ("path", "contents"),
    [
        ("$[0].tags", ["x", "y", "z"]),
        ("$[*].name.first", ["Shaffer", "Kate"]),
        ("$[0].friends", ['{"id":0,"name":"Holden"}', '{"id":1,"name":"Odom"}']),
        ("$[1].friends", []),
        ("$..friends[*].id", ["0", "1"]),
        ("$[?(@._id == 'zz')]", []),
    ],
)
def test_split_results(path: str, contents: list[str]) -> None:
    r = runner(path)
    r.enqueue(SAMPLE)
    r.run()
    r.assert_transferred("original", 1)
    assert [ff.content.decode() for ff in r.flowfiles_for("split")] == contents
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", str(len(contents)))


@pytest.mark.parametrize("path", ["$[0]._id", "$[0].name", "$[5]", "$[0].nonexistent"])
def test_not_an_array_or_not_found_goes_to_failure(path: str) -> None:
    r = runner(path)
    r.enqueue(SAMPLE)
    r.run()
    r.assert_all_transferred("failure", 1)
    out = r.flowfiles_for("failure")[0]
    out.assert_content_equals(SAMPLE)
    out.assert_attribute_equals("fragment.identifier", None)


@pytest.mark.parametrize("content", [b"not json", b"", b"[1, 2"])
def test_invalid_json_goes_to_failure(content: bytes) -> None:
    r = runner("$")
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.bulletins


@pytest.mark.parametrize(("representation", "expected"), [("empty string", ""), ("the string 'null'", "null")])
def test_null_elements(representation: str, expected: str) -> None:
    r = runner("$.a", **{"Null Value Representation": representation})
    r.enqueue(b'{"a": [null, 1.5, true, "s", {"b": null}]}')
    r.run()
    assert [ff.content.decode() for ff in r.flowfiles_for("split")] == [expected, "1.5", "true", "s", '{"b":null}']


def test_each_trigger_splits_one_flowfile() -> None:
    r = runner("$")
    r.enqueue_many([(b"[1,2]", {}), (b"[3]", {})])
    r.run()
    r.assert_transferred("split", 2)
    assert r.queue_size == 1
    r.run()
    r.assert_transferred("split", 3)


# -- NiFi's TestSplitJson over a rebuilt json-sample.json (seven people, each a range 0..9) -------------------

NIFI_SAMPLE = json.dumps([
    {"_id": "54df94072d5dbf7dc6340cc5" if i == 0 else f"54df9407{i:016x}", "index": i, "range": list(range(10)),
     "name": {"first": first, "last": last}, "tags": ["x", "y"], "friends": [{"id": 0, "name": "Holden"}]}
    for i, (first, last) in enumerate([("Shaffer", "Pearson"), ("Kate", "Doe"), ("Odom", "Ray"), ("Ann", "Bee"),
                                       ("Lou", "Kim"), ("Sam", "Fox"), ("Zoe", "Lee")])
], indent=2)


@pytest.mark.parametrize(
    ("path", "count", "first"),
    [
        pytest.param("$[0].range[?(@ == 0)]", 1, "0", id="array-result-one-value"),
        pytest.param("$[0].range", 10, "0", id="array-result-multiple-values"),
        pytest.param("$[*].name", 7, '{"first":"Shaffer","last":"Pearson"}', id="array-result-non-scalar-values"),
    ],
)
def test_nifi_splits(path: str, count: int, first: str) -> None:
    r = runner(path)
    r.enqueue(NIFI_SAMPLE, {"filename": "test.json"})
    r.run()
    r.assert_transferred("original", 1)
    r.assert_transferred("split", count)
    original = r.flowfiles_for("original")[0]
    original.assert_content_equals(NIFI_SAMPLE)
    original.assert_attribute_equals("fragment.count", str(count))
    original.assert_attribute_exists("fragment.identifier")
    splits = r.flowfiles_for("split")
    splits[0].assert_content_equals(first)
    for index in (0, count - 1):
        splits[index].assert_attribute_equals("fragment.count", str(count))
        splits[index].assert_attribute_equals("fragment.index", str(index))
        splits[index].assert_attribute_equals("segment.original.filename", "test.json")


def test_nifi_changing_the_path_applies_the_new_one() -> None:
    r = runner("$[0].range")
    r.enqueue(NIFI_SAMPLE)
    r.run()
    r.assert_transferred("split", 10)
    r.clear_transfer_state()
    r.set_property("JsonPath Expression", "$[*].name")
    r.enqueue(NIFI_SAMPLE, {"filename": "test.json"})
    r.run()
    r.assert_transferred("split", 7)
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "7")


@pytest.mark.parametrize(
    ("path", "content"),
    [
        pytest.param("$", b"<?xml version='1.0'?><a>not json</a>", id="invalid-json-document"),
        pytest.param("$[0]._id", NIFI_SAMPLE.encode(), id="non-array-result"),
        pytest.param("$.nonexistent", NIFI_SAMPLE.encode(), id="path-not-found"),
        pytest.param("$.nullField", b'{"stringField": "String Value", "nullField": null}', id="path-to-null-value"),
        pytest.param("$.*", b"null", id="input-string-null-value"),
    ],
)
def test_nifi_failures_keep_the_content(path: str, content: bytes) -> None:
    r = runner(path)
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("failure", 1)
    r.flowfiles_for("failure")[0].assert_content_equals(content)


@pytest.mark.parametrize(("representation", "expected"), [(None, ""), ("the string 'null'", "null")])
def test_nifi_array_of_nulls(representation: str | None, expected: str) -> None:
    r = runner("$.arrayOfNulls")
    if representation is not None:
        r.set_property("Null Value Representation", representation)
    r.enqueue(b'{"stringField": "String Value", "arrayOfNulls": [null, null, null]}')
    r.run()
    assert [ff.content.decode() for ff in r.flowfiles_for("split")] == [expected] * 3
