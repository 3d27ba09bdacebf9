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
