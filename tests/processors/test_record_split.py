"""SplitRecord through ProcessorRunner with the CSV and JSON services."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.split_record import SplitRecord
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import ProcessorRunner


def runner(per_split: str, reader: type[ControllerService] = CSVReader,
           writer: type[ControllerService] = JsonRecordSetWriter,
           writer_props: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(SplitRecord)
    r.add_controller_service("reader", reader)
    r.add_controller_service("writer", writer, dict(writer_props or {}))
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    r.set_property("Records Per Split", per_split)
    return r


def test_records_are_split_with_fragment_attributes() -> None:
    r = runner("2")
    r.enqueue("id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n", {"filename": "in.csv"})
    r.run()
    splits = r.flowfiles_for("splits")
    assert [json.loads(s.content) for s in splits] == [
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], [{"id": 3, "name": "c"}, {"id": 4, "name": "d"}],
        [{"id": 5, "name": "e"}]]
    assert [s.attributes["record.count"] for s in splits] == ["2", "2", "1"]
    assert [s.attributes["fragment.index"] for s in splits] == ["0", "1", "2"]
    ids = {s.attributes["fragment.identifier"] for s in splits}
    assert len(ids) == 1
    for s in splits:
        s.assert_attribute_equals("fragment.count", "3")
        s.assert_attribute_equals("segment.original.filename", "in.csv")
        s.assert_attribute_equals("mime.type", "application/json")
    original = r.flowfiles_for("original")[0]
    original.assert_content_equals("id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n")
    original.assert_attribute_equals("fragment.identifier", ids.pop())
    original.assert_attribute_equals("fragment.count", "3")


def test_records_per_split_comes_from_an_attribute() -> None:
    r = runner("${n}", writer=CSVRecordSetWriter)
    r.enqueue("id\n1\n2\n3\n", {"n": "3"})
    r.enqueue("id\n1\n2\n3\n", {"n": "0"})
    r.enqueue("id\n1\n2\n3\n", {"n": "many"})
    r.run(3)
    assert [s.content.decode() for s in r.flowfiles_for("splits")] == ["id\n1\n2\n3\n"]
    failed = r.flowfiles_for("failure")
    assert len(failed) == 2
    assert "positive" in failed[0].attributes["record.error.message"]
    assert "many" in failed[1].attributes["record.error.message"]


def test_no_records_gives_no_split() -> None:
    r = runner("10", reader=JsonTreeReader)
    r.enqueue("[]")
    r.run()
    r.assert_transferred("splits", 0)
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "0")


def test_a_bad_record_drops_the_splits_made_and_fails_the_original() -> None:
    r = runner("1", reader=JsonTreeReader)
    r.enqueue('[{"a": 1}, {"a": 2}, {"a": ')
    r.run()
    r.assert_transferred("splits", 0)
    r.assert_transferred("original", 0)
    failed = r.flowfiles_for("failure")[0]
    failed.assert_content_equals('[{"a": 1}, {"a": 2}, {"a": ')
    assert failed.attributes["record.error.message"]


def test_many_records_split_evenly() -> None:
    r = runner("1000", writer=CSVRecordSetWriter)
    r.enqueue("id\n" + "".join(f"{i}\n" for i in range(10_500)))
    r.run()
    splits = r.flowfiles_for("splits")
    assert [s.attributes["record.count"] for s in splits] == ["1000"] * 10 + ["500"]
    assert splits[-1].content.decode().splitlines()[1] == "10000"
