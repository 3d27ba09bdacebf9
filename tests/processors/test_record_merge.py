"""MergeRecord through ProcessorRunner with the CSV and JSON services."""

from __future__ import annotations

import json

from flowyard.processors.csv_record_services import CSVReader, CSVRecordSetWriter
from flowyard.processors.json_record_services import JsonRecordSetWriter, JsonTreeReader
from flowyard.processors.merge_record import MergeRecord
from flowyard.runtime.sdk import ControllerService
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner


def runner(reader: type[ControllerService] = JsonTreeReader, writer: type[ControllerService] = JsonRecordSetWriter,
           **props: str) -> ProcessorRunner:
    r = ProcessorRunner(MergeRecord)
    r.add_controller_service("reader", reader)
    r.add_controller_service("writer", writer)
    r.enable_controller_service("reader")
    r.enable_controller_service("writer")
    r.set_property("Record Reader", "reader")
    r.set_property("Record Writer", "writer")
    for name, value in props.items():
        r.set_property(name.replace("_", " "), value)
    return r


def records(ff: MockFlowFile) -> object:
    return json.loads(ff.content)


def test_flowfiles_of_one_schema_merge_into_one_record_set() -> None:
    r = runner()
    r.enqueue(json.dumps([{"a": 1}, {"a": 2}]), {"filename": "x", "common": "c", "only": "1"})
    r.enqueue(json.dumps([{"a": 3}]), {"filename": "y", "common": "c"})
    r.run()
    merged = r.flowfiles_for("merged")
    assert len(merged) == 1
    assert records(merged[0]) == [{"a": 1}, {"a": 2}, {"a": 3}]
    m = merged[0]
    m.assert_attribute_equals("record.count", "3")
    m.assert_attribute_equals("merge.count", "2")
    m.assert_attribute_equals("mime.type", "application/json")
    m.assert_attribute_equals("common", "c")
    m.assert_attribute_equals("only", None)
    m.assert_attribute_equals("merge.completion.reason", "Bin has reached its minimum thresholds")
    originals = r.flowfiles_for("original")
    assert len(originals) == 2
    assert {o.attributes["merge.uuid"] for o in originals} == {m.attributes["uuid"]}


def test_different_schemas_go_to_different_bins() -> None:
    r = runner()
    r.enqueue(json.dumps([{"a": 1}]))
    r.enqueue(json.dumps([{"b": "x"}]))
    r.enqueue(json.dumps([{"a": 2}]))
    r.run()
    merged = sorted((records(ff) for ff in r.flowfiles_for("merged")), key=str)
    assert merged == [[{"a": 1}, {"a": 2}], [{"b": "x"}]]


def test_correlation_attribute_separates_bins() -> None:
    r = runner(Correlation_Attribute_Name="k")
    for k, a in (("x", 1), ("y", 2), ("x", 3)):
        r.enqueue(json.dumps([{"a": a}]), {"k": k})
    r.run()
    merged = {ff.attributes["k"]: records(ff) for ff in r.flowfiles_for("merged")}
    assert merged == {"x": [{"a": 1}, {"a": 3}], "y": [{"a": 2}]}


def test_max_records_closes_a_bin_and_min_records_keeps_one_waiting_until_max_bin_age() -> None:
    r = runner(CSVReader, CSVRecordSetWriter, Minimum_Number_of_Records="3", Maximum_Number_of_Records="4",
               Max_Bin_Age="5 sec")
    for i in range(5):
        r.enqueue(f"n\n{i}\n")
    r.run(stop_on_finish=False)
    full = r.flowfiles_for("merged")
    assert [f.content.decode() for f in full] == ["n\n0\n1\n2\n3\n"]
    full[0].assert_attribute_equals("merge.completion.reason", "Bin is full")
    assert r.queue_size == 1  # one record waits for the minimum of 3
    r.clock.advance(3)
    r.run(stop_on_finish=False)
    r.assert_transferred("merged", 1)
    r.clock.advance(3)
    r.run()
    late = r.flowfiles_for("merged")[1]
    late.assert_content_equals("n\n4\n")
    late.assert_attribute_equals("merge.completion.reason", "Bin is older than 5 sec")
    late.assert_attribute_equals("merge.bin.age", "6000")
    r.assert_queue_empty()


def test_a_flowfile_brings_all_its_records_past_the_maximum() -> None:
    r = runner(Maximum_Number_of_Records="2")
    r.enqueue(json.dumps([{"a": 1}]))
    r.enqueue(json.dumps([{"a": 2}, {"a": 3}, {"a": 4}]))
    r.enqueue(json.dumps([{"a": 5}]))
    r.run()
    assert [records(ff) for ff in r.flowfiles_for("merged")] == [
        [{"a": 1}, {"a": 2}, {"a": 3}, {"a": 4}], [{"a": 5}]]


def test_max_bin_size_closes_a_bin() -> None:
    r = runner(Maximum_Bin_Size="20 B", Maximum_Number_of_Records="100")
    for i in range(3):
        r.enqueue(json.dumps([{"a": i}]))  # 10 bytes each
    r.run()
    merged = r.flowfiles_for("merged")
    assert [records(ff) for ff in merged] == [[{"a": 0}, {"a": 1}], [{"a": 2}]]
    assert [ff.attributes["merge.completion.reason"] for ff in merged] == [
        "Bin is full", "Bin has reached its minimum thresholds"]


def test_maximum_number_of_bins_merges_the_oldest() -> None:
    r = runner(Correlation_Attribute_Name="k", Minimum_Number_of_Records="10", Maximum_Number_of_Bins="2")
    for k in ("a", "b", "c"):
        r.enqueue(json.dumps([{"v": 1}]), {"k": k})
    r.run(stop_on_finish=False)
    merged = r.flowfiles_for("merged")
    assert [ff.attributes["k"] for ff in merged] == ["a"]
    merged[0].assert_attribute_equals("merge.completion.reason", "Maximum number of bins has been exceeded")
    assert r.queue_size == 2


def test_defragment_puts_fragments_back_in_order() -> None:
    r = runner(Merge_Strategy="Defragment")
    for index in (2, 0, 1):
        r.enqueue(json.dumps([{"i": index}]), {"fragment.identifier": "f", "fragment.index": str(index),
                                                "fragment.count": "3"})
    r.enqueue(json.dumps([{"i": 0}]), {"fragment.identifier": "g", "fragment.index": "0", "fragment.count": "2"})
    r.run(stop_on_finish=False)
    merged = r.flowfiles_for("merged")
    assert [records(ff) for ff in merged] == [[{"i": 0}, {"i": 1}, {"i": 2}]]
    assert r.queue_size == 1  # g waits for its second fragment


def test_a_repeated_fragment_index_does_not_stand_in_for_a_missing_fragment() -> None:
    """As NiFi's bins refuse a second flowfile with the same fragment.index: 0, 0, 1 of 3 is not complete."""
    r = runner(Merge_Strategy="Defragment")
    for index in (0, 0, 1):
        r.enqueue(json.dumps([{"i": index}]), {"fragment.identifier": "f", "fragment.index": str(index),
                                                "fragment.count": "3"})
    r.run(stop_on_finish=False)
    r.assert_transferred("merged", 0)
    r.enqueue(json.dumps([{"i": 2}]), {"fragment.identifier": "f", "fragment.index": "2", "fragment.count": "3"})
    r.run(stop_on_finish=False)
    assert [records(ff) for ff in r.flowfiles_for("merged")] == [[{"i": 0}, {"i": 1}, {"i": 2}]]
    assert r.queue_size == 1  # the repeated fragment 0 waits in a bin of its own


def test_an_incomplete_defragment_bin_fails_at_max_bin_age() -> None:
    r = runner(Merge_Strategy="Defragment", Max_Bin_Age="2 sec")
    r.enqueue(json.dumps([{"i": 0}]), {"fragment.identifier": "g", "fragment.index": "0", "fragment.count": "2"})
    r.run(stop_on_finish=False)
    r.clock.advance(3)
    r.run()
    r.assert_transferred("merged", 0)
    r.assert_transferred("failure", 1)
    assert any("expected number of fragments is 2" in m for _, m in r.bulletins)


def test_unreadable_flowfile_fails_alone_and_the_rest_merge() -> None:
    r = runner()
    r.enqueue(json.dumps([{"a": 1}]))
    r.enqueue('[{"a": ')
    r.enqueue(json.dumps([{"a": 2}]))
    r.run()
    failed = r.flowfiles_for("failure")
    assert len(failed) == 1 and failed[0].content == b'[{"a": '
    assert failed[0].attributes["record.error.message"]
    assert records(r.flowfiles_for("merged")[0]) == [{"a": 1}, {"a": 2}]


def test_minimum_larger_than_maximum_is_invalid() -> None:
    r = runner(Minimum_Number_of_Records="10", Maximum_Number_of_Records="5")
    r.assert_not_valid()


def test_defragment_refuses_a_flowfile_that_is_no_fragment() -> None:
    r = runner(Merge_Strategy="Defragment")
    r.enqueue(json.dumps([{"i": 0}]))
    r.enqueue(json.dumps([{"i": 0}]), {"fragment.identifier": "f", "fragment.index": "first"})
    r.run()
    failed = r.flowfiles_for("failure")
    assert [f.attributes["record.error.message"] for f in failed] == [
        "it has no fragment.identifier attribute",
        "it does not have an integer value for the fragment.index attribute ('first')"]
    r.assert_queue_empty()
