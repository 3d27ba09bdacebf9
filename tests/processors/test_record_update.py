"""UpdateRecord with the JSON and CSV reader/writer services, through ProcessorRunner."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.update_record import UpdateRecord
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner

PEOPLE = json.dumps([
    {"id": 1, "name": "John Doe", "address": {"city": "New York", "state": "NY"}, "tags": ["a", "b"]},
    {"id": 2, "name": "Jane Roe", "address": {"city": "Boston", "state": "MA"}, "tags": []},
])


def runner(updates: Mapping[str, str], strategy: str | None = None, reader: type[ControllerService] = JsonTreeReader,
           writer: type[ControllerService] = JsonRecordSetWriter) -> ProcessorRunner:
    r = ProcessorRunner(UpdateRecord)
    r.add_controller_service("reader", reader, {})
    r.add_controller_service("writer", writer, {})
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    if strategy is not None:
        r.set_property("Replacement Value Strategy", strategy)
    for name, value in updates.items():
        r.set_property(name, value)
    return r


def run(r: ProcessorRunner, content: str, attributes: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    r.enqueue(content, dict(attributes or {}))
    r.run()
    r.assert_all_transferred("success", 1)
    ff = r.flowfiles_for("success")[0]
    out: list[dict[str, Any]] = json.loads(ff.content)
    ff.assert_attribute_equals("record.count", str(len(out)))
    ff.assert_attribute_equals("mime.type", "application/json")
    return out


def test_literal_value_with_attributes_and_field_variables() -> None:
    r = runner({"/name": "${field.value:toUpper()} (${field.name}, ${field.type}, #${record.index})",
                "/address/city": "${city}"})
    out = run(r, PEOPLE, {"city": "Paris"})
    assert out[0]["name"] == "JOHN DOE (name, STRING, #1)"
    assert out[1]["name"] == "JANE ROE (name, STRING, #2)"
    assert [o["address"]["city"] for o in out] == ["Paris", "Paris"]
    assert out[0]["address"]["state"] == "NY"


def test_literal_value_is_converted_to_the_fields_type() -> None:
    out = run(runner({"/id": "${field.value:plus(10)}"}), PEOPLE)
    assert [o["id"] for o in out] == [11, 12]


def test_a_value_the_field_cannot_take_fails_the_flowfile_unchanged() -> None:
    r = runner({"/id": "not a number"})
    r.enqueue(PEOPLE)
    r.run()
    r.assert_all_transferred("failure", 1)
    ff = r.flowfiles_for("failure")[0]
    assert ff.content == PEOPLE.encode()
    assert "'id'" in ff.attributes["record.error.message"]


def test_new_fields_are_added_to_the_records_and_the_schema() -> None:
    r = runner({"/source": "${filename}", "/address/country": "US"})
    out = run(r, PEOPLE, {"filename": "people.json"})
    assert [o["source"] for o in out] == ["people.json", "people.json"]
    assert [o["address"]["country"] for o in out] == ["US", "US"]
    assert list(out[0]) == ["id", "name", "address", "tags", "source"]


def test_new_fields_reach_a_csv_writer() -> None:
    r = runner({"/full": "${field.name}"}, reader=CSVReader, writer=CSVRecordSetWriter)
    r.enqueue("a,b\n1,2\n3,4\n")
    r.run()
    r.assert_all_transferred("success", 1)
    assert r.flowfiles_for("success")[0].content == b"a,b,full\n1,2,full\n3,4,full\n"


def test_descendants_wildcards_and_predicates_select_what_is_updated() -> None:
    out = run(runner({"//state": "XX"}), PEOPLE)
    assert [o["address"]["state"] for o in out] == ["XX", "XX"]
    out = run(runner({"/address[./state = 'MA']/city": "Cambridge"}), PEOPLE)
    assert [o["address"]["city"] for o in out] == ["New York", "Cambridge"]
    out = run(runner({"/tags[*]": "${field.value:append('!')}"}), PEOPLE)
    assert [o["tags"] for o in out] == [["a!", "b!"], []]
    out = run(runner({"/tags[0]": "first"}), PEOPLE)
    assert [o["tags"] for o in out] == [["first", "b"], []]


def test_record_path_value_copies_fields() -> None:
    r = runner({"/copy": "/address/city", "/name": "concat(/name, ' of ', /address/state)"}, "record-path-value")
    out = run(r, PEOPLE)
    assert [o["copy"] for o in out] == ["New York", "Boston"]
    assert [o["name"] for o in out] == ["John Doe of NY", "Jane Roe of MA"]


def test_record_path_value_relative_to_each_field() -> None:
    r = runner({"/address/city": "toUpperCase(.)", "/name": "substringBefore(., ' ')"}, "record-path-value")
    out = run(r, PEOPLE)
    assert [o["address"]["city"] for o in out] == ["NEW YORK", "BOSTON"]
    assert [o["name"] for o in out] == ["John", "Jane"]


def test_record_path_value_keeps_the_type_of_a_new_field() -> None:
    r = runner({"/where": "/address", "/n": "/id"}, "record-path-value")
    out = run(r, PEOPLE)
    assert out[0]["where"] == {"city": "New York", "state": "NY"} and out[0]["n"] == 1


def test_record_path_value_that_selects_nothing_sets_null() -> None:
    out = run(runner({"/name": "/nothing"}, "record-path-value"), PEOPLE)
    assert [o["name"] for o in out] == [None, None]


def test_replacing_the_root_record() -> None:
    out = run(runner({"/": "/address"}, "record-path-value"), PEOPLE)
    assert out == [{"city": "New York", "state": "NY"}, {"city": "Boston", "state": "MA"}]


def test_fields_of_a_null_record_are_left_alone() -> None:
    data = json.dumps([{"id": 1, "address": {"city": "A"}}, {"id": 2, "address": None}])
    out = run(runner({"/address/city": "Z"}), data)
    assert [o["address"] for o in out] == [{"city": "Z"}, None]


def test_a_literal_for_the_root_record_fails_clearly() -> None:
    r = runner({"/": "x"})
    r.enqueue(PEOPLE)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "the record itself (/) cannot be set" in r.flowfiles_for("failure")[0].attributes["record.error.message"]


def test_invalid_record_paths_make_the_processor_invalid() -> None:
    r = runner({"/name[": "x"})
    problems = [str(p) for p in r.validation_results()]
    assert any("invalid RecordPath '/name['" in p for p in problems)
    r = runner({"/name": "substring(/name"}, "record-path-value")
    assert any("not a RecordPath" in str(p) for p in r.validation_results())
    r = runner({})
    assert any("at least one RecordPath" in str(p) for p in r.validation_results())


def test_an_expression_that_builds_a_bad_record_path_fails_the_flowfile() -> None:
    r = runner({"/name": "${path}"}, "record-path-value")
    r.enqueue(PEOPLE, {"path": "/name["})
    r.run()
    r.assert_all_transferred("failure", 1)
    assert "invalid RecordPath" in r.flowfiles_for("failure")[0].attributes["record.error.message"]


def test_unreadable_records_fail_and_empty_input_succeeds() -> None:
    r = runner({"/name": "x"})
    r.enqueue("[{not json")
    r.run()
    r.assert_all_transferred("failure", 1)
    r = runner({"/name": "x"})
    r.enqueue("[]")
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_attribute_equals("record.count", "0")
