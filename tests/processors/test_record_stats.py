"""CalculateRecordStats with the JSON reader, through ProcessorRunner (cases after NiFi's
TestCalculateRecordStats)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flowyard.processors.calculate_record_stats import CalculateRecordStats
from flowyard.processors.json_record_services import JsonTreeReader
from flowyard.runtime.sdk.testing import ProcessorRunner

SPORTS = json.dumps([{"sport": s, "name": n} for s, n in [
    ("Soccer", "John"), ("Soccer", "Jane"), ("Soccer", "Jim"), ("Football", "Jake"), ("Football", "Jill"),
    ("Basketball", "Joe"), (None, "Jay")]])


def run(props: Mapping[str, str], content: str = SPORTS, attributes: Mapping[str, str] | None = None,
        ) -> dict[str, str]:
    r = ProcessorRunner(CalculateRecordStats)
    r.add_controller_service("reader", JsonTreeReader, {})
    r.enable_controller_service("reader")
    r.set_property("Record Reader", "reader")
    for name, value in props.items():
        r.set_property(name, value)
    r.enqueue(content, dict(attributes or {}))
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    assert ff.content == content.encode()
    return {k: v for k, v in ff.attributes.items() if k.startswith("recordStats") or k == "record.count"}


def test_counts_per_value_and_totals() -> None:
    assert run({"sport": "/sport"}) == {
        "record.count": "7", "recordStats.sport": "6", "recordStats.sport.Soccer": "3",
        "recordStats.sport.Football": "2", "recordStats.sport.Basketball": "1", "recordStats.sport.<null>": "1"}


def test_the_limit_keeps_the_largest_counts_and_the_totals() -> None:
    assert run({"sport": "/sport", "Record Stats Limit": "2"}) == {
        "record.count": "7", "recordStats.sport": "6", "recordStats.sport.Soccer": "3",
        "recordStats.sport.Football": "2"}
    limited = run({"sport": "/sport", "Record Stats Limit": "${n}"}, attributes={"n": "1"})
    assert limited == {"record.count": "7", "recordStats.sport": "6", "recordStats.sport.Soccer": "3"}


def test_no_categories_counts_records_only() -> None:
    assert run({}) == {"record.count": "7"}
    assert run({}, "[]") == {"record.count": "0"}


def test_several_categories_nested_and_array_values() -> None:
    data = json.dumps([{"a": {"b": 1}, "tags": ["x", "y"]}, {"a": {"b": 1}, "tags": ["x"]}])
    assert run({"b": "/a/b", "tag": "/tags[*]"}, data) == {
        "record.count": "2", "recordStats.b": "2", "recordStats.b.1": "2", "recordStats.tag": "3",
        "recordStats.tag.x": "2", "recordStats.tag.y": "1"}


def test_failures() -> None:
    r = ProcessorRunner(CalculateRecordStats)
    r.add_controller_service("reader", JsonTreeReader, {})
    r.enable_controller_service("reader")
    r.set_property("Record Reader", "reader")
    r.set_property("sport", "${p}")
    r.enqueue(SPORTS, {"p": "/sport["})
    r.enqueue("[{oops")
    r.run(2)
    r.assert_all_transferred("failure", 2)
    messages = [ff.attributes["record.error.message"] for ff in r.flowfiles_for("failure")]
    assert "invalid RecordPath" in messages[0] and messages[1]
    r.set_property("sport", "/sport[")
    assert any("invalid RecordPath" in str(p) for p in r.validation_results())
