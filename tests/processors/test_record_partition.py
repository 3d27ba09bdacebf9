"""PartitionRecord with the JSON and CSV reader/writer services, through ProcessorRunner."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from flowyard.processors import _record_processing
from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.partition_record import PartitionRecord
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner

PEOPLE = json.dumps([
    {"name": "John", "state": "NY", "age": 30, "tags": ["a"], "home": {"city": "NYC"}},
    {"name": "Jane", "state": "MA", "age": 30, "tags": ["a"], "home": {"city": "Boston"}},
    {"name": "Jake", "state": "NY", "age": 31, "tags": ["a", "b"], "home": {"city": "NYC"}},
    {"name": "Jill", "state": None, "age": 31, "tags": [], "home": {"city": "NYC"}},
])


def runner(paths: Mapping[str, str], reader: type[ControllerService] = JsonTreeReader,
           writer: type[ControllerService] = JsonRecordSetWriter) -> ProcessorRunner:
    r = ProcessorRunner(PartitionRecord)
    r.add_controller_service("reader", reader, {})
    r.add_controller_service("writer", writer, {})
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    for name, value in paths.items():
        r.set_property(name, value)
    return r


def test_one_flowfile_per_value_with_the_value_as_an_attribute() -> None:
    r = runner({"state": "/state"})
    r.enqueue(PEOPLE, {"filename": "people.json"})
    r.run()
    r.assert_transferred("original", 1)
    r.assert_transferred("success", 3)
    out = r.flowfiles_for("success")
    assert [[p["name"] for p in json.loads(ff.content)] for ff in out] == [["John", "Jake"], ["Jane"], ["Jill"]]
    assert [ff.attributes.get("state") for ff in out] == ["NY", "MA", None]
    assert [ff.attributes["record.count"] for ff in out] == ["2", "1", "1"]
    assert [ff.attributes["fragment.index"] for ff in out] == ["0", "1", "2"]
    assert {ff.attributes["fragment.count"] for ff in out} == {"3"}
    assert len({ff.attributes["fragment.identifier"] for ff in out}) == 1
    assert {ff.attributes["segment.original.filename"] for ff in out} == {"people.json"}
    assert {ff.attributes["mime.type"] for ff in out} == {"application/json"}


def test_several_paths_partition_by_the_tuple_of_values() -> None:
    r = runner({"state": "/state", "age": "/age"})
    r.enqueue(PEOPLE)
    r.run()
    out = r.flowfiles_for("success")
    assert [(ff.attributes.get("state"), ff.attributes["age"], ff.attributes["record.count"]) for ff in out] == [
        ("NY", "30", "1"), ("MA", "30", "1"), ("NY", "31", "1"), (None, "31", "1")]


def test_nested_fields_arrays_and_records_as_keys() -> None:
    r = runner({"city": "/home/city", "tags": "/tags", "home": "/home"})
    r.enqueue(PEOPLE)
    r.run()
    out = r.flowfiles_for("success")
    assert [ff.attributes["record.count"] for ff in out] == ["1", "1", "1", "1"]
    assert all("tags" not in ff.attributes and "home" not in ff.attributes for ff in out)
    assert [ff.attributes["city"] for ff in out] == ["NYC", "Boston", "NYC", "NYC"]
    r = runner({"first": "/tags[0]"})
    r.enqueue(PEOPLE)
    r.run()
    assert [ff.attributes.get("first") for ff in r.flowfiles_for("success")] == ["a", None]


def test_csv_in_csv_out() -> None:
    r = runner({"k": "/k"}, CSVReader, CSVRecordSetWriter)
    r.enqueue("k,v\n1,a\n2,b\n1,c\n")
    r.run()
    assert [ff.content for ff in r.flowfiles_for("success")] == [b"k,v\n1,a\n1,c\n", b"k,v\n2,b\n"]


def test_large_partitions_spill_to_disk_and_keep_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_record_processing, "SPOOL_IN_MEMORY", 1024)
    rows = "".join(f"{i % 3},{'x' * 50}{i}\n" for i in range(3000))
    r = runner({"k": "/k"}, CSVReader, CSVRecordSetWriter)
    r.enqueue("k,v\n" + rows)
    r.run()
    out = r.flowfiles_for("success")
    assert [ff.attributes["record.count"] for ff in out] == ["1000", "1000", "1000"]
    assert out[1].content.splitlines()[1] == b"1," + b"x" * 50 + b"1"


def test_thousands_of_spilled_partitions_share_one_file_and_keep_their_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A partition no longer holds a file (nor 256 KiB of memory) of its own: 3,000 partitions that
    all spill open one temporary file, and memory is bounded by SPOOL_IN_MEMORY whatever their number."""
    import os

    monkeypatch.setattr(_record_processing, "SPOOL_IN_MEMORY", 4096)
    opened: list[int] = []
    real = _record_processing.tempfile.TemporaryFile

    def counting(*args: object, **kwargs: object) -> object:
        opened.append(1)
        return real()

    monkeypatch.setattr(_record_processing.tempfile, "TemporaryFile", counting)
    rows = "".join(f"{i % 3000},v{i}\n" for i in range(9000))
    r = runner({"k": "/k"}, CSVReader, CSVRecordSetWriter)
    r.enqueue("k,v\n" + rows)
    fds = len(os.listdir("/proc/self/fd"))
    r.run()
    out = r.flowfiles_for("success")
    assert len(out) == 3000 and opened == [1]
    assert out[7].content == b"k,v\n7,v7\n7,v3007\n7,v6007\n"
    assert len(os.listdir("/proc/self/fd")) <= fds + 2


def test_no_records_no_partitions() -> None:
    r = runner({"k": "/k"})
    r.enqueue("[]")
    r.run()
    r.assert_transferred("success", 0)
    r.assert_transferred("original", 1)


def test_unreadable_records_go_to_failure_without_partial_output() -> None:
    r = runner({"k": "/k"})
    r.enqueue('[{"k": 1}, {"k": 2}, {oops')
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].attributes["record.error.message"]


def test_record_paths_from_expression_language() -> None:
    r = runner({"k": "${path}"})
    r.enqueue(PEOPLE, {"path": "/state"})
    r.enqueue(PEOPLE, {"path": "/state["})
    r.run(2)
    assert [ff.attributes.get("k") for ff in r.flowfiles_for("success")] == ["NY", "MA", None]
    (failed,) = r.flowfiles_for("failure")
    assert "invalid RecordPath" in failed.attributes["record.error.message"]
    assert not runner({"k": "${path}"}).validation_results()


def test_invalid_configuration() -> None:
    assert any("at least one RecordPath" in str(p) for p in runner({}).validation_results())
    assert any("invalid RecordPath" in str(p) for p in runner({"k": "/k["}).validation_results())
