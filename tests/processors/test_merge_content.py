"""MergeContent: bin packing, defragment, formats and attributes (cases of NiFi's TestMergeContent)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from flowyard.processors import merge_content
from flowyard.processors._flowfile_v3 import FlowFileUnpackager
from flowyard.processors.merge_content import MergeContent
from flowyard.processors.unpack_content import UnpackContent
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

TEXT = {"mime.type": "application/plain-text"}


def hello_world(runner: ProcessorRunner, extra: dict[str, str] | None = None) -> None:
    """NiFi's createFlowFiles: "Hello", ", ", "World!" as application/plain-text."""
    attributes = {**TEXT, **(extra or {})}
    runner.enqueue_many([(b"Hello", attributes), (b", ", attributes), (b"World!", attributes)])


def merge_runner(**properties: str) -> ProcessorRunner:
    runner = ProcessorRunner(MergeContent)
    for name, value in properties.items():
        runner.set_property(name.replace("_", " "), value)
    return runner


# -- binary concatenation -------------------------------------------------------------


def test_simple_binary_concat() -> None:
    runner = merge_runner()
    hello_world(runner, {"filename": "f"})
    runner.run()
    runner.assert_queue_empty()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("failure", 0)
    runner.assert_transferred("original", 3)
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("Hello, World!")
    bundle.assert_attribute_equals("mime.type", "application/plain-text")
    bundle.assert_attribute_equals("merge.count", "3")
    bundle.assert_attribute_equals("merge.bin.age", "0")
    bundle.assert_attribute_equals("merge.reason", "MIN_THRESHOLDS_REACHED")
    assert bundle.attributes["filename"].isdigit()  # several FlowFiles without segment.original.filename
    originals = runner.flowfiles_for("original")
    assert {o.attributes["merge.uuid"] for o in originals} == {bundle.attributes["uuid"]}
    [join] = runner.provenance_events(ProvenanceEventType.JOIN)
    assert join.flowfile_uuid == bundle.attributes["uuid"]
    assert sorted(join.parent_uuids) == sorted(o.attributes["uuid"] for o in originals)


@pytest.mark.parametrize(
    ("header", "demarcator", "footer", "expected"),
    [
        ("@", "#", "$", "@Hello#, #World!$"),
        ("@", None, None, "@Hello, World!"),
        (None, "\n", None, "Hello\n, \nWorld!"),
    ],
)
def test_text_delimiters(header: str | None, demarcator: str | None, footer: str | None, expected: str) -> None:
    runner = merge_runner(Delimiter_Strategy="Text")
    for name, value in (("Header", header), ("Demarcator", demarcator), ("Footer", footer)):
        if value is not None:
            runner.set_property(name, value)
    hello_world(runner)
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals(expected)
    bundle.assert_attribute_equals("mime.type", "application/plain-text")


def test_file_delimiters_with_expressions(tmp_path: Path) -> None:
    for name, text in (("head", "(|)"), ("demarcate", "***"), ("foot", "___")):
        (tmp_path / name).write_text(text)
    runner = merge_runner(Delimiter_Strategy="Filename", Header="${header}", Demarcator="${demarcator}",
                          Footer="${footer}")
    hello_world(runner, {"header": str(tmp_path / "head"), "demarcator": str(tmp_path / "demarcate"),
                         "footer": str(tmp_path / "foot")})
    runner.run()
    runner.flowfiles_for("merged")[0].assert_content_equals("(|)Hello***, ***World!___")


def test_missing_delimiter_file_at_run_time_fails_the_bin(tmp_path: Path) -> None:
    runner = merge_runner(Delimiter_Strategy="Filename", Header="${header}")
    hello_world(runner, {"header": str(tmp_path / "gone")})
    runner.run()
    runner.assert_all_transferred("failure", 3)
    assert any("Failed to process bundle" in message for _, message in runner.bulletins)


def test_delimiters_not_used_without_a_strategy() -> None:
    runner = merge_runner(Header="aHeader", Demarcator="; ", Footer="aFooter")
    runner.enqueue_many([(b"First", TEXT), (b"Second", TEXT), (b"Third", TEXT)])
    runner.run()
    runner.flowfiles_for("merged")[0].assert_content_equals("FirstSecondThird")


def test_mime_type_is_octet_stream_if_conflicting() -> None:
    runner = merge_runner()
    hello_world(runner)
    runner.enqueue(b"", {"mime.type": "application/zip"})
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("Hello, World!")
    bundle.assert_attribute_equals("mime.type", "application/octet-stream")


def test_delimiter_files_must_exist(tmp_path: Path) -> None:
    missing = str(tmp_path / "does_not_exist")
    runner = merge_runner(Delimiter_Strategy="Filename", Header=missing, Demarcator=missing, Footer=missing)
    results = runner.validation_results()
    assert len(results) == 3 and all("not an existing file" in str(r) for r in results)


@pytest.mark.parametrize(
    ("properties", "problem"),
    [
        ({"Minimum Number of Entries": "5", "Maximum Number of Entries": "2"}, "Min Entries"),
        ({"Minimum Group Size": "2 KB", "Maximum Group Size": "1 KB"}, "Min Size"),
        ({"Maximum Number of Bins": "0"}, "Maximum Number of Bins"),
        ({"Bin Termination Check": "${a}"}, "boolean"),
        ({"Max Bin Age": "500 millis"}, "at least 1 sec"),
    ],
)
def test_invalid_configurations(properties: dict[str, str], problem: str) -> None:
    runner = merge_runner()
    for name, value in properties.items():
        runner.set_property(name, value)
    assert any(problem in str(r) for r in runner.validation_results()), runner.validation_results()


# -- thresholds, bins and age -------------------------------------------------------------


def test_waits_for_minimum_size_then_merges_at_max_bin_age() -> None:
    runner = merge_runner(Minimum_Group_Size="20 KB", Max_Bin_Age="5 sec")
    hello_world(runner)
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    assert runner.queue_size == 3  # the bin's FlowFiles wait, committed, in the input queue
    assert runner.yield_count == 1
    runner.clock.advance(4)
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    runner.clock.advance(2)
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("Hello, World!")
    bundle.assert_attribute_equals("merge.reason", "TIMEOUT")
    bundle.assert_attribute_equals("merge.bin.age", "6000")
    runner.assert_queue_empty()


def test_stopping_resets_the_bin_age_as_nifi_purges_its_bins() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="5", Max_Bin_Age="5 sec")
    hello_world(runner)
    runner.run()  # stops: the bins are forgotten, their FlowFiles stay queued
    runner.clock.advance(10)
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    runner.clock.advance(6)
    runner.run()
    runner.assert_transferred("merged", 1)


def test_new_flowfiles_join_a_waiting_bin_in_arrival_order() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="4")
    hello_world(runner)
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    runner.enqueue(b"!!", TEXT)
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("Hello, World!!!")
    bundle.assert_attribute_equals("merge.count", "4")


def test_flowfile_larger_than_bin_is_merged_alone() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="2", Maximum_Number_of_Entries="2", Minimum_Group_Size="1 KB",
                          Maximum_Group_Size="5 KB")
    runner.enqueue(bytes(1026))
    runner.enqueue(bytes(6 * 1024))
    runner.run(2)
    runner.assert_transferred("original", 1)
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("failure", 0)
    bundle = runner.flowfiles_for("merged")[0]
    assert bundle.size == 6 * 1024
    bundle.assert_attribute_equals("merge.reason", "UNSET")
    assert runner.flowfiles_for("original")[0].attributes["merge.uuid"] == bundle.attributes["uuid"]
    assert runner.queue_size == 1


def test_maximum_entries_make_several_bins_in_one_trigger() -> None:
    runner = merge_runner(Maximum_Number_of_Entries="1000")
    runner.enqueue_many((b"x", {}) for _ in range(2500))
    runner.run()
    merged = runner.flowfiles_for("merged")
    assert sorted(int(m.attributes["merge.count"]) for m in merged) == [500, 1000, 1000]
    assert sorted(m.attributes["merge.reason"] for m in merged) == [
        "MAX_ENTRIES_THRESHOLD_REACHED", "MAX_ENTRIES_THRESHOLD_REACHED", "MIN_THRESHOLDS_REACHED"]
    runner.assert_transferred("original", 2500)


def test_maximum_group_size() -> None:
    runner = merge_runner(Maximum_Group_Size="10 B")
    runner.enqueue_many((b"abcd", {}) for _ in range(5))
    runner.run()
    merged = runner.flowfiles_for("merged")
    assert [m.size for m in merged] == [8, 8, 4]


def test_oldest_bin_is_expired_when_all_bins_are_taken() -> None:
    runner = merge_runner(Max_Bin_Age="1 day", Maximum_Number_of_Bins="50", Minimum_Number_of_Entries="10",
                          Maximum_Number_of_Entries="10", Correlation_Attribute_Name="correlationId")
    runner.enqueue_many((b"", {"correlationId": str(i)}) for i in range(49) for _ in range(5))
    runner.run()
    runner.assert_transferred("merged", 0)
    assert runner.queue_size == 245
    runner.run(1, stop_on_finish=False)
    runner.enqueue(b"", {})
    runner.enqueue(b"", {"correlationId": "abc"})
    runner.run()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("failure", 0)
    runner.assert_transferred("original", 5)
    runner.flowfiles_for("merged")[0].assert_attribute_equals("merge.reason", "BIN_MANAGER_FULL")


def test_correlation_attribute_bins_by_value() -> None:
    runner = merge_runner(Correlation_Attribute_Name="${which}", Minimum_Number_of_Entries="2")
    runner.enqueue_many([(b"a1", {"which": "k", "k": "A"}), (b"b1", {"which": "k", "k": "B"}),
                         (b"a2", {"which": "k", "k": "A"}), (b"c1", {"which": "k", "k": "C"})])
    runner.run(stop_on_finish=False)
    contents = sorted(m.content for m in runner.flowfiles_for("merged"))
    assert contents == [b"a1a2"]
    runner.flowfiles_for("merged")[0].assert_attribute_equals("k", "A")
    assert runner.queue_size == 2  # B and C wait for a second FlowFile


def test_yields_when_nothing_can_merge() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="10")
    runner.run()
    assert runner.yield_count == 1
    hello_world(runner)
    runner.run(3)
    assert runner.yield_count == 4
    assert runner.queue_size == 3


# -- attributes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("Keep Only Common Attributes", {"same": "s"}),
        ("Keep All Unique Attributes", {"same": "s", "only1": "x", "only3": "z"}),
    ],
)
def test_attribute_strategies(strategy: str, expected: dict[str, str]) -> None:
    runner = merge_runner(Attribute_Strategy=strategy)
    runner.enqueue_many([(b"1", {"same": "s", "differs": "1", "only1": "x"}), (b"2", {"same": "s", "differs": "2"}),
                         (b"3", {"same": "s", "differs": "3", "only3": "z"})])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0].attributes
    for key in ("same", "differs", "only1", "only3"):
        assert bundle.get(key) == expected.get(key), key


def test_a_single_flowfile_keeps_its_filename_and_attributes() -> None:
    runner = merge_runner()
    runner.enqueue(b"one", {"filename": "one.txt", "color": "red"})
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_attribute_equals("filename", "one.txt")
    bundle.assert_attribute_equals("color", "red")
    bundle.assert_attribute_equals("merge.count", "1")


# -- archive formats ---------------------------------------------------------------------


def test_zip() -> None:
    runner = merge_runner(Merge_Format="ZIP")
    runner.enqueue_many([(b"Hello", {"filename": "a"}), (b", ", {"filename": "b"}), (b"World!", {"filename": "c"})])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_attribute_equals("mime.type", "application/zip")
    assert bundle.attributes["filename"].endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        assert [(i.filename, archive.read(i)) for i in archive.infolist()] == [
            ("a", b"Hello"), ("b", b", "), ("c", b"World!")]


def test_zip_duplicate_names_go_to_failure_as_copies() -> None:
    runner = merge_runner(Merge_Format="ZIP")
    hello_world(runner, {"filename": "duplicate-filename.txt"})
    runner.run()
    runner.assert_queue_empty()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("failure", 2)
    runner.assert_transferred("original", 3)
    assert sorted(f.content for f in runner.flowfiles_for("failure")) == [b", ", b"World!"]


@pytest.mark.parametrize(("keep_path", "names"), [("false", ["a.txt", "b.txt"]), ("true", ["dir/a.txt", "b.txt"])])
def test_zip_keep_path(keep_path: str, names: list[str]) -> None:
    runner = merge_runner(Merge_Format="ZIP", Keep_Path=keep_path, Compression_Level="9")
    runner.enqueue_many([(b"a" * 1000, {"filename": "a.txt", "path": "./dir/"}), (b"b", {"filename": "b.txt",
                                                                                        "path": "./"})])
    runner.run()
    with zipfile.ZipFile(io.BytesIO(runner.flowfiles_for("merged")[0].content)) as archive:
        assert archive.namelist() == names
        assert archive.infolist()[0].compress_size < 100


def test_tar_with_long_names_permissions_and_times() -> None:
    runner = merge_runner(Merge_Format="TAR")
    long_name = "AReally" + "g" * 100 + "FileName"
    runner.enqueue_many([
        (b"Hello", {"filename": "AShortFileName", "tar.permissions": "755",
                    "file.lastModifiedTime": "2020-09-13T12:26:40Z"}),
        (b", ", {"filename": "ALongerrrFileName", "tar.permissions": "99x",
                 "file.lastModifiedTime": "2020-09-13T12:26:40+0000"}),
        (b"World!", {"filename": long_name}),
    ])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_attribute_equals("mime.type", "application/tar")
    assert bundle.attributes["filename"].endswith(".tar")
    with tarfile.open(fileobj=io.BytesIO(bundle.content)) as archive:
        members = archive.getmembers()
        assert [m.name for m in members] == ["AShortFileName", "ALongerrrFileName", long_name]
        assert [archive.extractfile(m).read() for m in members] == [b"Hello", b", ", b"World!"]  # type: ignore[union-attr]
        assert [m.mode for m in members] == [0o755, 0o644, 0o644]
        assert members[0].mtime == members[1].mtime == 1_600_000_000


def test_tar_keep_path() -> None:
    runner = merge_runner(Merge_Format="TAR", Keep_Path="true")
    runner.enqueue(b"x", {"filename": "f", "path": "a/b"})
    runner.run()
    with tarfile.open(fileobj=io.BytesIO(runner.flowfiles_for("merged")[0].content)) as archive:
        assert archive.getnames() == ["a/b/f"]


@pytest.mark.parametrize(("merge_format", "version"), [("FlowFile Stream, v3", 3), ("FlowFile Stream, v2", 2)])
def test_flowfile_stream(merge_format: str, version: int) -> None:
    runner = merge_runner(Merge_Format=merge_format, Minimum_Number_of_Entries="2", Maximum_Number_of_Entries="2")
    runner.enqueue_many([(b"one", {"path": "folder", "filename": "1"}), (b"two", {"path": "folder"})])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_attribute_equals("mime.type", f"application/flowfile-v{version}")
    assert bundle.attributes["filename"].endswith(".pkg")
    reader = FlowFileUnpackager(io.BytesIO(bundle.content), version)
    got = []
    while (header := reader.next_flowfile()) is not None:
        got.append((header[0]["path"], b"".join(reader.content())))
    assert got == [("folder", b"one"), ("folder", b"two")]


@pytest.mark.parametrize("merge_format", ["FlowFile Stream, v3", "FlowFile Stream, v2", "FlowFile Tar, v1"])
def test_flowfile_stream_round_trip_through_unpack_content(merge_format: str) -> None:
    merge = merge_runner(Merge_Format=merge_format)
    merge.enqueue_many([(b"alpha", {"filename": "a", "k": "1"}), (b"", {"filename": "b", "k": "2"})])
    merge.run()
    unpack = ProcessorRunner(UnpackContent)
    bundle = merge.flowfiles_for("merged")[0]
    unpack.enqueue(bundle.content, bundle.attributes)
    unpack.run()
    out = [(f.attributes["filename"], f.attributes["k"], f.content) for f in unpack.flowfiles_for("success")]
    assert out == [("a", "1", b"alpha"), ("b", "2", b"")]


# -- defragment --------------------------------------------------------------------------


def fragments(identifier: str, count: int | None, indexes: list[int], *, name: str = "orig.txt") -> list[
    tuple[bytes, dict[str, str]]
]:
    items = []
    for index in indexes:
        attributes = {"fragment.identifier": identifier, "fragment.index": str(index),
                      "segment.original.filename": name}
        if count is not None:
            attributes["fragment.count"] = str(count)
        items.append((f"<{index}>".encode(), attributes))
    return items


def test_defragment_orders_by_index() -> None:
    runner = merge_runner(Merge_Strategy="Defragment")
    runner.enqueue_many(fragments("1", 4, [3, 1, 4, 2]))
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("<1><2><3><4>")
    bundle.assert_attribute_equals("filename", "orig.txt")
    bundle.assert_attribute_equals("merge.reason", "MAX_ENTRIES_THRESHOLD_REACHED")
    runner.assert_transferred("original", 4)


def test_defragment_several_identifiers_interleaved() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Merge_Format="TAR")
    a, b = fragments("a", 2, [2, 1], name="a"), fragments("b", 2, [1, 2], name="b")
    runner.enqueue_many([a[0], b[0], a[1], b[1]])
    runner.run()
    names = sorted(m.attributes["filename"] for m in runner.flowfiles_for("merged"))
    assert names == ["a.tar", "b.tar"]


def test_defragment_waits_for_missing_fragment_then_fails_at_max_bin_age() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min")
    runner.enqueue_many(fragments("1", 4, [1, 2, 4]))
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    assert runner.queue_size == 3
    runner.clock.advance(61)
    runner.run()
    runner.assert_all_transferred("failure", 3)
    assert any("expected number of fragments is 4 but found only 3" in m for _, m in runner.bulletins)


def test_defragment_completes_when_the_last_fragment_arrives() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min")
    runner.enqueue_many(fragments("1", 3, [1, 3]))
    runner.run(stop_on_finish=False)
    runner.clock.advance(30)
    runner.enqueue_many(fragments("1", 3, [2]))
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("<1><2><3>")
    bundle.assert_attribute_equals("merge.bin.age", "30000")


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (fragments("1", None, [1, 2]), "no FlowFile arrived with the fragment.count"),
        ([*fragments("1", 2, [1]), (b"x", {"fragment.identifier": "1", "fragment.index": "2",
                                           "fragment.count": "3"})], "differing values"),
        ([(b"x", {"fragment.identifier": "1", "fragment.index": "one", "fragment.count": "1"})],
         "integer value for the fragment.index"),
    ],
)
def test_defragment_errors_go_to_failure(items: list[tuple[bytes, dict[str, str]]], message: str) -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 sec")
    runner.enqueue_many(items)
    runner.run(stop_on_finish=False)
    runner.clock.advance(2)
    runner.run()
    runner.assert_all_transferred("failure", len(items))
    assert any(message in m for _, m in runner.bulletins), runner.bulletins


def test_defragment_duplicate_index_is_not_merged_twice() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 sec")
    runner.enqueue_many(fragments("1", 2, [1, 1, 2]))
    runner.run(stop_on_finish=False)
    runner.assert_transferred("merged", 1)
    runner.flowfiles_for("merged")[0].assert_content_equals("<1><2>")
    runner.clock.advance(2)
    runner.run()
    runner.assert_transferred("failure", 1)  # the duplicate's own bin never completes


def test_defragment_bin_pushed_out_by_maximum_bins_fails() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Maximum_Number_of_Bins="1")
    runner.enqueue_many(fragments("a", 2, [1]) + fragments("b", 2, [1, 2]))
    runner.run()
    runner.assert_transferred("failure", 1)
    runner.assert_transferred("merged", 1)


# -- bin termination check ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("insertion", "contents"),
    [
        ("Last in Bin", [b"abEND", b"c"]),
        ("First in New Bin", [b"ab", b"ENDc"]),
        ("Isolated", [b"ab", b"END", b"c"]),
    ],
)
def test_bin_termination_check(insertion: str, contents: list[bytes]) -> None:
    runner = merge_runner(Bin_Termination_Check="${end:equals('yes')}", FlowFile_Insertion_Strategy=insertion,
                          Minimum_Number_of_Entries="10", Max_Bin_Age="1 sec")
    runner.enqueue_many([(b"a", {}), (b"b", {}), (b"END", {"end": "yes"}), (b"c", {})])
    runner.run(stop_on_finish=False)
    runner.clock.advance(2)
    runner.run()
    assert sorted(m.content for m in runner.flowfiles_for("merged")) == sorted(contents)


# -- robustness ------------------------------------------------------------------------------


def test_expression_failure_sends_the_flowfile_to_failure() -> None:
    runner = merge_runner(Correlation_Attribute_Name="${a:matches(${b})}")
    runner.enqueue(b"x", {"a": "1", "b": "["})
    runner.enqueue(b"y", {"a": "1", "b": "1"})
    runner.run()
    runner.assert_transferred("failure", 1)
    runner.flowfiles_for("failure")[0].assert_content_equals("x")
    runner.flowfiles_for("merged")[0].assert_content_equals("y")
    assert "Could not determine which Bin" in runner.bulletins[0][1]


def test_more_than_one_trigger_of_flowfiles_only_merges_full_bins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merge_content, "MAX_TAKEN", 25)
    runner = merge_runner(Maximum_Number_of_Entries="10")
    runner.enqueue_many((str(i % 10).encode(), {}) for i in range(30))
    runner.run(stop_on_finish=False)
    assert sorted(m.attributes["merge.reason"] for m in runner.flowfiles_for("merged")) == [
        "MAX_ENTRIES_THRESHOLD_REACHED", "MAX_ENTRIES_THRESHOLD_REACHED"]
    runner.run()
    assert [m.attributes["merge.count"] for m in runner.flowfiles_for("merged")] == ["10", "10", "10"]
    runner.assert_transferred("original", 30)
    runner.assert_queue_empty()


def test_an_error_while_merging_loses_and_duplicates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.processors import _merge_formats

    real = _merge_formats.concatenation
    calls = []

    def crash_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("crash in the middle of a merge")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_merge_formats, "concatenation", crash_once)
    runner = merge_runner(Minimum_Number_of_Entries="3")
    hello_world(runner)
    runner.run(raise_errors=False)  # rolled back like a crash: everything is still queued
    runner.assert_transferred("merged", 0)
    runner.assert_transferred("original", 0)
    assert runner.queue_size == 3
    runner.clock.advance(31)  # the rolled-back input was penalized
    runner.run()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("original", 3)
    runner.flowfiles_for("merged")[0].assert_content_equals("Hello, World!")
    runner.assert_queue_empty()


# -- in the engine -------------------------------------------------------------------------------


async def test_in_the_engine_waiting_bins_neither_spin_nor_lose_flowfiles() -> None:
    # A real clock: MergeContent runs in a worker thread, and an autojump clock would race ahead meanwhile.
    import trio

    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

    definition = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "250", "Batch Size": "50"}},
        {"identifier": "merge", "type": "MergeContent",
         "autoTerminatedRelationships": ["merged", "original", "failure"],
         "properties": {"Minimum Number of Entries": "100", "Maximum Number of Entries": "100",
                        "Max Bin Age": "2 sec"}},
    ], "connections": [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "merge"},
                        "selectedRelationships": ["success"]}]}})
    repos = Repositories.in_memory()
    engine = Engine(definition, repos, registry={**TEST_PROCESSORS, "MergeContent": MergeContent})

    def joins() -> list[int]:
        return [len(e.parent_uuids) for e in repos.provenance.events()
                if e.event_type == ProvenanceEventType.JOIN and e.component_id == "merge"]

    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        with trio.fail_after(60):
            while len(joins()) < 2:
                await trio.sleep(0.05)
        started = trio.current_time()
        assert engine.queues["c1"].count == 50  # the third bin waits in the queue
        with trio.fail_after(60):
            while len(joins()) < 3:
                await trio.sleep(0.05)
        waited = trio.current_time() - started
        tasks = engine.nodes["merge"].stats.tasks
        engine.request_stop()
    assert sorted(joins()) == [50, 100, 100]
    assert 1 <= waited <= 6  # Max Bin Age (2 s) counts from when the bin first saw its flowfiles, before `started`
    assert tasks < 20  # about one look per yield (1 s), not a busy loop
    assert engine.queues["c1"].count == 0


PANAMA = [b"A Man ", b"A Plan ", b"A Canal ", b"Panama"]


def _panama(counts: list[str | None], order: list[int] | None = None) -> list[tuple[bytes, dict[str, str]]]:
    items = []
    for i in order or range(len(counts)):
        attributes = {"fragment.identifier": "1", "fragment.index": str(i + 1)}
        if counts[i] is not None:
            attributes["fragment.count"] = counts[i]  # type: ignore[assignment]
        items.append((PANAMA[i], attributes))
    return items


@pytest.mark.parametrize(
    ("items", "merged", "failed"),
    [
        (_panama(["4", "4", "4", "4"]), 1, 0),  # testDefragment
        (_panama([None, None, None, "4"]), 1, 0),  # testDefragmentWithFragmentCountOnLastFragmentOnly
        (_panama(["4", "4", "4", "4"], [0, 2, 3, 1]), 1, 0),  # testDefragmentOutOfOrder
        (_panama(["2", "3", None]), 0, 3),  # testDefragmentWithDifferentFragmentCounts
    ],
)
def test_nifi_defragment_cases(items: list[tuple[bytes, dict[str, str]]], merged: int, failed: int) -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min", Maximum_Number_of_Entries="3")
    runner.enqueue_many(items)
    runner.run()
    runner.assert_transferred("merged", merged)
    runner.assert_transferred("failure", failed)
    if merged:
        bundle = runner.flowfiles_for("merged")[0]
        bundle.assert_content_equals("A Man A Plan A Canal Panama")
        assert {o.attributes["merge.uuid"] for o in runner.flowfiles_for("original")} == {bundle.attributes["uuid"]}


def test_defragment_multiple_mingled_segments() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min")
    one = [(PANAMA[i], {"fragment.identifier": "1", "fragment.count": "4", "fragment.index": str(i + 1)})
           for i in range(4)]
    two = [(text, {"fragment.identifier": "TWO", "fragment.count": "3", "fragment.index": str(i + 1)})
           for i, text in enumerate([b"No x ", b"in ", b"Nixon"])]
    runner.enqueue_many([one[0], one[1], *two, one[2], one[3]])
    runner.run()
    assert sorted(m.content for m in runner.flowfiles_for("merged")) == [b"A Man A Plan A Canal Panama",
                                                                         b"No x in Nixon"]


@pytest.mark.integration
async def test_a_restart_while_bins_wait_loses_and_duplicates_nothing(tmp_path: Path, patient_clock: object) -> None:
    import trio

    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS
    from flowyard_test_processors import expected_content

    registry = {**TEST_PROCESSORS, "MergeContent": MergeContent}

    def definition(min_entries: str) -> object:
        return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
            {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "250", "Batch Size": "50"}},
            {"identifier": "merge", "type": "MergeContent", "autoTerminatedRelationships": ["original", "failure"],
             "properties": {"Minimum Number of Entries": min_entries, "Maximum Number of Entries": "1000"}},
            {"identifier": "sink", "type": "AsyncSlow", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success"]},
        ], "connections": [
            {"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "merge"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "merge"}, "destination": {"id": "sink"},
             "selectedRelationships": ["merged"]},
        ]}})

    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(definition("1000"), repos, registry=registry)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        with trio.fail_after(60):
            while engine.queues["c1"].count < 250 or engine.nodes["merge"].stats.tasks < 5:
                await trio.sleep(0.05)
        engine.request_stop()  # the bins are waiting: their FlowFiles are in c1
    repos.close()

    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(definition("250"), repos, registry=registry)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        assert engine.queues["c1"].count == 250
        with trio.fail_after(60):
            while engine.queues["c2"].count < 1:
                await trio.sleep(0.05)
        merged, _ = engine.queues["c2"].poll(10, engine.clock())
        content = repos.content.read_bytes(merged[0].claim)
        assert engine.queues["c1"].count == 0
        engine.request_stop()
    repos.close()
    assert len(merged) == 1 and merged[0].attributes["merge.count"] == "250"
    # every FlowFile exactly once (the order after a restart is the input queue's: see the notes)
    pieces = sorted(content[i:i + 64] for i in range(0, len(content), 64))
    assert len(content) == 250 * 64
    assert pieces == sorted(expected_content(seq, 64) for seq in range(250))


# -- more of NiFi's TestMergeContent ----------------------------------------------------------


def test_flowfile_larger_than_bin_goes_alone_and_the_other_waits() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="2", Maximum_Number_of_Entries="2", Minimum_Group_Size="1 KB",
                          Maximum_Group_Size="5 KB")
    runner.enqueue(b"\0" * 1026)
    runner.enqueue(b"\0" * 6144)
    runner.run(2)
    runner.assert_transferred("original", 1)
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("failure", 0)
    bundle = runner.flowfiles_for("merged")[0]
    assert bundle.size == 6144
    assert runner.flowfiles_for("original")[0].attributes["merge.uuid"] == bundle.attributes["uuid"]
    assert runner.queue_size == 1


def test_simple_binary_concat_single_bin() -> None:
    runner = merge_runner(Max_Bin_Age="1 sec", Maximum_number_of_Bins="1")
    hello_world(runner, {"fragment.index": "1"})  # a fragment.index does not matter when bin packing
    runner.run(2)
    runner.assert_queue_empty()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("original", 3)
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("Hello, World!")
    bundle.assert_attribute_equals("mime.type", "application/plain-text")
    bundle.assert_attribute_equals("merge.count", "3")
    bundle.assert_attribute_exists("merge.bin.age")


@pytest.mark.parametrize("strategy", ["Text", "Filename"])
def test_each_unusable_delimiter_is_reported(strategy: str) -> None:
    value = "" if strategy == "Text" else "/does/not/exist/merge-delimiter"
    runner = merge_runner(Delimiter_Strategy=strategy, Header=value, Demarcator=value, Footer=value)
    assert sorted(v.subject for v in runner.validation_results()) == ["Demarcator", "Footer", "Header"]


def test_flowfile_stream_v3_mime_type() -> None:
    runner = merge_runner(Merge_Format="FlowFile Stream, v3", Minimum_Number_of_Entries="2",
                          Maximum_Number_of_Entries="2")
    runner.enqueue_many([(b"cal", {"path": "folder"}), (b"date", {"path": "folder"})])
    runner.run()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("original", 2)
    runner.flowfiles_for("merged")[0].assert_attribute_equals("mime.type", "application/flowfile-v3")


def test_defragment_count_on_a_middle_fragment() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min")
    runner.enqueue_many([
        (b"Fragment 1 without count ", {"fragment.identifier": "Fragment Id", "fragment.index": "1"}),
        (b"Fragment 2 with count ", {"fragment.identifier": "Fragment Id", "fragment.index": "2",
                                     "fragment.count": "3"}),
        (b"Fragment 3 without count", {"fragment.identifier": "Fragment Id", "fragment.index": "3"}),
    ])
    runner.run()
    runner.flowfiles_for("merged")[0].assert_content_equals(
        "Fragment 1 without count Fragment 2 with count Fragment 3 without count")


def test_defragment_ignores_maximum_entries() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Maximum_Number_of_Entries="3")
    runner.enqueue_many(_panama(["4", "4", "4", "4"]))
    runner.run()
    runner.assert_transferred("failure", 0)
    runner.flowfiles_for("merged")[0].assert_content_equals("A Man A Plan A Canal Panama")


def test_defragment_one_fragment_per_trigger() -> None:
    runner = merge_runner(Merge_Strategy="Defragment")
    for item in _panama(["4", "4", "4", "4"]):
        runner.enqueue(*item)
        runner.run()
    runner.assert_transferred("merged", 1)
    runner.flowfiles_for("merged")[0].assert_content_equals("A Man A Plan A Canal Panama")


FRAGMENT_KEYS = ("fragment.identifier", "fragment.index", "fragment.count", "segment.original.filename")


def test_defragment_takes_the_original_filename_and_drops_fragment_attributes() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Max_Bin_Age="1 min")
    runner.enqueue_many([(c, {**a, "segment.original.filename": "originalfilename"})
                         for c, a in _panama(["4", "4", "4", "4"])])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    bundle.assert_content_equals("A Man A Plan A Canal Panama")
    bundle.assert_attribute_equals("filename", "originalfilename")
    assert not set(FRAGMENT_KEYS) & set(bundle.attributes)


def test_defragment_into_a_flowfile_stream_drops_fragment_attributes_inside_too() -> None:
    runner = merge_runner(Merge_Strategy="Defragment", Merge_Format="FlowFile Stream, v3", Max_Bin_Age="1 min")
    common = {"fragment.identifier": "1", "fragment.count": "2", "segment.original.filename": "original"}
    runner.enqueue_many([(b"Hello ", {**common, "fragment.index": "1"}), (b"World", {**common, "fragment.index": "2"})])
    runner.run()
    bundle = runner.flowfiles_for("merged")[0]
    assert not set(FRAGMENT_KEYS) & set(bundle.attributes)
    unpack = ProcessorRunner(UnpackContent)
    unpack.set_property("Packaging Format", "flowfile-stream-v3")
    unpack.enqueue(bundle.content, bundle.attributes)
    unpack.run()
    unpack.assert_transferred("success", 2)
    for inner in unpack.flowfiles_for("success"):
        assert not set(FRAGMENT_KEYS) & set(inner.attributes)


def test_max_bin_age_releases_a_bin_below_its_minimum() -> None:
    runner = merge_runner(Max_Bin_Age="2 sec", Correlation_Attribute_Name="attr", Maximum_Number_of_Entries="500",
                          Minimum_Number_of_Entries="500")
    runner.enqueue_many([(b"", {})] * 50)
    runner.run(5, stop_on_finish=False)
    runner.assert_transferred("merged", 0)
    runner.clock.advance(3)
    runner.run()
    runner.assert_transferred("merged", 1)
    runner.flowfiles_for("merged")[0].assert_attribute_equals("merge.count", "50")


def test_leaves_small_bin_unmerged() -> None:
    runner = merge_runner(Minimum_Number_of_Entries="5", Maximum_Number_of_Entries="5", Maximum_number_of_Bins="3")
    runner.enqueue_many([(f"{i}\n", {}) for i in range(17)])
    runner.run(5)
    runner.assert_transferred("merged", 3)
    runner.assert_transferred("original", 15)
    assert runner.queue_size == 2


def _termination_runner(insertion: str) -> ProcessorRunner:
    return merge_runner(Minimum_Number_of_Entries="10", Maximum_Number_of_Entries="25", Maximum_number_of_Bins="3",
                        Bin_Termination_Check="${termination:equals('true')}", FlowFile_Insertion_Strategy=insertion)


@pytest.mark.parametrize(
    ("insertion", "merged", "originals"),
    [
        ("First in New Bin", [b"0\n1\n2\n3\n4\n", b"5\n6\n7\n8\n9\n10\n", b"11\n12\n13\n14\n15\n16\n"], 17),
        ("Last in Bin", [b"0\n1\n2\n3\n4\n5\n", b"6\n7\n8\n9\n10\n11\n", b"12\n13\n14\n15\n16\n17\n"], 18),
        ("Isolated", [b"0\n1\n2\n3\n4\n", b"5\n", b"6\n7\n8\n9\n10\n", b"11\n", b"12\n13\n14\n15\n16\n", b"17\n"],
         18),
    ],
)
def test_nifi_bin_termination_triggers(insertion: str, merged: list[bytes], originals: int) -> None:
    runner = _termination_runner(insertion)
    runner.enqueue_many([(f"{i}\n", {"termination": "true"} if i % 6 == 5 else {}) for i in range(18)])
    runner.run(2)
    assert [m.content for m in runner.flowfiles_for("merged")] == merged
    runner.assert_transferred("original", originals)


def test_termination_trigger_with_correlation_attribute() -> None:
    runner = _termination_runner("First in New Bin")
    runner.set_property("Correlation Attribute Name", "correlation")
    terminate = {"termination": "true", "correlation": "1"}
    runner.enqueue_many([(b"0\n", {"correlation": "1"}), (b"1\n", {"correlation": "1"}), (b"2\n", {"correlation": "2"}),
                         (b"3\n", terminate), (b"4\n", terminate),
                         *[(f"{i}\n", {"correlation": "2"}) for i in range(10)]])
    runner.run(2)
    assert [m.content for m in runner.flowfiles_for("merged")] == [b"0\n1\n", b"3\n",
                                                                   b"2\n0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n"]
    runner.assert_transferred("original", 14)


# -- Avro (NiFi's user.avsc and place.avsc records, written as Avro data files here) -------------

USER_SCHEMA = {"namespace": "example.avro", "type": "record", "name": "User", "fields": [
    {"name": "name", "type": "string"}, {"name": "favorite_number", "type": ["int", "null"]},
    {"name": "favorite_color", "type": ["string", "null"]}]}
PLACE_SCHEMA = {"namespace": "example.avro", "type": "record", "name": "Place", "fields": [
    {"name": "name", "type": "string"}]}


def _zigzag(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _avro_string(text: str) -> bytes:
    return _zigzag(len(text.encode())) + text.encode()


def avro_file(schema: dict[str, object], record: dict[str, object], metadata: dict[str, str] | None = None,
              codec: str = "null") -> bytes:
    """One record in an Avro data file (as Avro's DataFileWriter writes it, null codec)."""
    import json

    body = _avro_string(str(record["name"]))
    if schema is USER_SCHEMA:
        number, color = record.get("favorite_number"), record.get("favorite_color")
        body += (_zigzag(0) + _zigzag(int(number))) if isinstance(number, int) else _zigzag(1)
        body += (_zigzag(0) + _avro_string(color)) if isinstance(color, str) else _zigzag(1)
    meta = {"avro.schema": json.dumps(schema), "avro.codec": codec, **(metadata or {})}
    header = b"Obj\x01" + _zigzag(len(meta)) + b"".join(_avro_string(k) + _avro_string(v) for k, v in meta.items())
    sync = bytes(range(16))
    return header + _zigzag(0) + sync + _zigzag(1) + _zigzag(len(body)) + body + sync


def avro_names(data: bytes) -> list[str]:
    """The names of the records of an Avro data file (each record starts with its name)."""
    from flowyard.processors._merge_avro import _blocks, _read_bytes, _read_long, read_header

    stream = io.BytesIO(data)
    header = read_header(stream)
    schema = header.schema()
    names = []
    for count, block in _blocks(stream, header.sync):
        records = io.BytesIO(block)
        for _ in range(count):
            names.append(_read_bytes(records).decode())
            for field in schema["fields"][1:]:
                branch = records.read(1)[0] >> 1
                if field["type"][branch] == "int":
                    _read_long(records)
                elif field["type"][branch] == "string":
                    _read_bytes(records)
    return names


ALYSSA = {"name": "Alyssa", "favorite_number": 256}
BEN = {"name": "Ben", "favorite_number": 7, "favorite_color": "red"}
JOHN = {"name": "John", "favorite_number": 5, "favorite_color": "blue"}
# testAvroConcatWithDifferentMetadata*: a different value, then an extra key
METADATA = [{"test_metadata1": "Test 1"}, {"test_metadata1": "Test 2"},
            {"test_metadata1": "Test 1", "test_metadata2": "Test"}]


def _avro_merge(files: list[bytes], **properties: str) -> ProcessorRunner:
    runner = merge_runner(Maximum_Number_of_Entries="3", Minimum_Number_of_Entries="3", Merge_Format="Avro",
                          **properties)
    runner.enqueue_many([(f, {}) for f in files])
    runner.run()
    runner.assert_queue_empty()
    runner.assert_transferred("merged", 1)
    runner.assert_transferred("original", 3)
    runner.flowfiles_for("merged")[0].assert_attribute_equals("mime.type", "application/avro-binary")
    return runner


def test_simple_avro_concat() -> None:
    runner = _avro_merge([avro_file(USER_SCHEMA, r) for r in (ALYSSA, BEN, JOHN)])
    runner.assert_transferred("failure", 0)
    assert avro_names(runner.flowfiles_for("merged")[0].content) == ["Alyssa", "Ben", "John"]


def test_avro_concat_with_different_schemas() -> None:
    place = avro_file(PLACE_SCHEMA, {"name": "Some Place"})
    runner = _avro_merge([avro_file(USER_SCHEMA, ALYSSA), place, avro_file(USER_SCHEMA, JOHN)])
    assert avro_names(runner.flowfiles_for("merged")[0].content) == ["Alyssa", "John"]
    runner.assert_transferred("failure", 1)
    failed = runner.flowfiles_for("failure")[0]
    failed.assert_content_equals(place)
    assert avro_names(failed.content) == ["Some Place"]


@pytest.mark.parametrize(
    ("strategy", "names", "failures"),
    [
        ("Do Not Merge Uncommon Metadata", ["Alyssa"], 2),
        ("Ignore Metadata", ["Alyssa", "Ben", "John"], 0),
        ("Use First Metadata", ["Alyssa", "Ben", "John"], 0),
        ("Keep Only Common Metadata", ["Alyssa", "John"], 1),
    ],
)
def test_avro_concat_with_different_metadata(strategy: str, names: list[str], failures: int) -> None:
    files = [avro_file(USER_SCHEMA, r, m) for r, m in zip((ALYSSA, BEN, JOHN), METADATA, strict=True)]
    runner = _avro_merge(files, Metadata_Strategy=strategy)
    assert avro_names(runner.flowfiles_for("merged")[0].content) == names
    runner.assert_transferred("failure", failures)


def test_avro_metadata_of_the_first_file_is_kept_unless_ignored() -> None:
    from flowyard.processors._merge_avro import read_header

    files = [avro_file(USER_SCHEMA, r, METADATA[0]) for r in (ALYSSA, BEN, JOHN)]
    for strategy, expected in (("Use First Metadata", {"test_metadata1": b"Test 1"}), ("Ignore Metadata", {})):
        merged = _avro_merge(files, Metadata_Strategy=strategy).flowfiles_for("merged")[0].content
        assert read_header(io.BytesIO(merged)).user_metadata() == expected


def test_avro_with_a_different_codec_is_not_merged() -> None:
    files = [avro_file(USER_SCHEMA, ALYSSA), avro_file(USER_SCHEMA, BEN, codec="deflate"),
             avro_file(USER_SCHEMA, JOHN)]
    runner = _avro_merge(files)
    assert avro_names(runner.flowfiles_for("merged")[0].content) == ["Alyssa", "John"]
    runner.assert_transferred("failure", 1)


def test_avro_bin_with_an_input_that_is_not_avro_fails_whole() -> None:
    runner = merge_runner(Maximum_Number_of_Entries="2", Minimum_Number_of_Entries="2", Merge_Format="Avro")
    runner.enqueue_many([(avro_file(USER_SCHEMA, ALYSSA), {}), (b"not avro", {})])
    runner.run()
    runner.assert_all_transferred("failure", 2)
