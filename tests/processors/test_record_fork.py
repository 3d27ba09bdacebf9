"""ForkRecord with the JSON reader/writer services, through ProcessorRunner (cases after NiFi's
ForkRecord documentation)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowyard.processors.csv_record_services import CSVRecordSetWriter
from flowyard.processors.fork_record import ForkRecord
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner

CUSTOMERS = [
    {"id": 1, "name": "John Doe", "address": "123 My Street", "city": "My City", "state": "MS", "zipCode": "11111",
     "country": "USA",
     "accounts": [{"id": 42, "balance": 4750.89}, {"id": 43, "balance": 48212.38}]},
    {"id": 2, "name": "Jane Doe", "address": "345 My Street", "city": "Her City", "state": "NY", "zipCode": "22222",
     "country": "USA", "accounts": [{"id": 45, "balance": 6578.45}]},
    {"id": 3, "name": "Nobody", "address": None, "city": None, "state": None, "zipCode": None, "country": None,
     "accounts": []},
]


def runner(props: Mapping[str, str], writer: type[ControllerService] = JsonRecordSetWriter) -> ProcessorRunner:
    r = ProcessorRunner(ForkRecord)
    r.add_controller_service("reader", JsonTreeReader, {})
    r.add_controller_service("writer", writer, {})
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    for name, value in props.items():
        r.set_property(name, value)
    return r


def fork(r: ProcessorRunner, data: Any, attributes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    r.enqueue(json.dumps(data), dict(attributes or {}))
    r.run()
    r.assert_transferred("original", 1)
    r.assert_transferred("fork", 1)
    ff = r.flowfiles_for("fork")[0]
    out: list[dict[str, Any]] = json.loads(ff.content)
    ff.assert_attribute_equals("record.count", str(len(out)))
    ff.assert_attribute_equals("mime.type", "application/json")
    return out


def test_split_writes_the_whole_record_once_per_element() -> None:
    out = fork(runner({"accounts": "/accounts"}), CUSTOMERS)
    assert [(o["id"], o["accounts"]) for o in out] == [
        (1, [{"id": 42, "balance": 4750.89}]), (1, [{"id": 43, "balance": 48212.38}]),
        (2, [{"id": 45, "balance": 6578.45}])]
    assert out[0]["name"] == "John Doe"


def test_extract_writes_each_element() -> None:
    out = fork(runner({"accounts": "/accounts", "Mode": "extract"}), CUSTOMERS)
    assert out == [{"id": 42, "balance": 4750.89}, {"id": 43, "balance": 48212.38}, {"id": 45, "balance": 6578.45}]


def test_extract_with_parent_fields_keeps_the_elements_own_values() -> None:
    out = fork(runner({"accounts": "/accounts", "Mode": "extract", "Include Parent Fields": "true"}), CUSTOMERS)
    assert out[0] == {"id": 42, "balance": 4750.89, "name": "John Doe", "address": "123 My Street",
                      "city": "My City", "state": "MS", "zipCode": "11111", "country": "USA"}
    assert [o["name"] for o in out] == ["John Doe", "John Doe", "Jane Doe"]


def test_nested_arrays_with_parent_fields_from_every_level() -> None:
    data = [{"customer": "c1", "orders": [{"order": "o1", "items": [{"sku": "a"}, {"sku": "b"}]},
                                          {"order": "o2", "items": [{"sku": "c"}]}]}]
    out = fork(runner({"items": "/orders[*]/items", "Mode": "extract", "Include Parent Fields": "true"}), data)
    assert [(o["sku"], o["order"], o["customer"]) for o in out] == [("a", "o1", "c1"), ("b", "o1", "c1"),
                                                                  ("c", "o2", "c1")]
    split = fork(runner({"items": "/orders[*]/items"}), data)
    assert [[[i["sku"] for i in o["items"]] for o in s["orders"]] for s in split] == [
        [["a"], ["c"]], [["b"], ["c"]], [["a", "b"], ["c"]]]


def test_descendant_paths_expression_language_and_several_properties() -> None:
    data = [{"a": [{"x": 1}], "b": {"c": [{"x": 2}, {"x": 3}]}}]
    out = fork(runner({"p": "${path}", "q": "/b/c", "Mode": "extract"}), data, {"path": "/a"})
    assert sorted(o["x"] for o in out) == [1, 2, 3]
    out = fork(runner({"all": "//c", "Mode": "extract"}), data)
    assert [o["x"] for o in out] == [2, 3]


def test_fields_that_are_not_arrays_and_non_record_elements_are_skipped() -> None:
    data = [{"name": "x", "tags": ["a", "b"], "none": None}]
    assert fork(runner({"n": "/name", "z": "/none", "Mode": "extract"}), data) == []
    assert fork(runner({"t": "/tags", "Mode": "extract"}), data) == []
    assert [o["tags"] for o in fork(runner({"t": "/tags"}), data)] == [["a"], ["b"]]


def test_extract_to_csv_uses_the_element_schema() -> None:
    r = runner({"accounts": "/accounts", "Mode": "extract"}, CSVRecordSetWriter)
    r.enqueue(json.dumps(CUSTOMERS))
    r.run()
    assert r.flowfiles_for("fork")[0].content == b"id,balance\n42,4750.89\n43,48212.38\n45,6578.45\n"


def test_failures_and_validation() -> None:
    r = runner({"accounts": "/accounts"})
    r.enqueue("[{oops")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].attributes["record.error.message"]
    r = runner({"accounts": "${p}"})
    r.enqueue("[]", {"p": "/accounts["})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert any("invalid RecordPath" in str(p) for p in runner({"a": "/a["}).validation_results())
    assert any("at least one RecordPath" in str(p) for p in runner({}).validation_results())
