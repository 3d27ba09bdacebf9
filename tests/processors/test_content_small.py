"""SegmentContent, DuplicateFlowFile, ModifyBytes and ConvertCharacterSet."""

from __future__ import annotations

import codecs

import pytest

from flowyard.processors.convert_character_set import ConvertCharacterSet, transcode
from flowyard.processors.duplicate_flow_file import DuplicateFlowFile
from flowyard.processors.modify_bytes import ModifyBytes
from flowyard.processors.segment_content import SegmentContent
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

# -- SegmentContent ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "size", "expected"),
    [
        (b"1234567890", "4 B", [b"1234", b"5678", b"90"]),
        (b"12345678", "4 B", [b"1234", b"5678"]),
        (b"1" * 2048 + b"2", "1 KB", [b"1" * 1024, b"1" * 1024, b"2"]),
    ],
)
def test_segments(content: bytes, size: str, expected: list[bytes]) -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", size)
    r.enqueue(content, {"filename": "f.bin"})
    r.run()
    segments = r.flowfiles_for("segments")
    assert [s.content for s in segments] == expected
    original = r.flowfiles_for("original")[0]
    original.assert_content_equals(content)
    original.assert_attribute_equals("fragment.count", str(len(expected)))
    for index, s in enumerate(segments, 1):
        s.assert_attribute_equals("fragment.index", str(index))
        s.assert_attribute_equals("fragment.count", str(len(expected)))
        s.assert_attribute_equals("fragment.identifier", original.attributes["fragment.identifier"])
        s.assert_attribute_equals("segment.original.filename", "f.bin")
        assert s.flowfile.claim is not None and original.flowfile.claim is not None
        assert s.flowfile.claim.resource == original.flowfile.claim.resource


@pytest.mark.parametrize("content", [b"small", b""])
def test_content_within_one_segment_is_copied(content: bytes) -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", "${size}")
    r.enqueue(content, {"filename": "f", "size": "1 KB"})
    r.run()
    (original,), (copy,) = r.flowfiles_for("original"), r.flowfiles_for("segments")
    for ff in (original, copy):
        ff.assert_content_equals(content)
        ff.assert_attribute_equals("fragment.index", "1")
        ff.assert_attribute_equals("fragment.count", "1")
        ff.assert_attribute_equals("segment.original.filename", "f")
    assert original.attributes["fragment.identifier"] == copy.attributes["fragment.identifier"]


@pytest.mark.parametrize("size", ["lots", "0 B", ""])
def test_bad_segment_size_penalizes(size: str) -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", "${size}")
    r.enqueue(b"data", {"size": size})
    r.run()
    assert r.queue_size == 1 and r.penalized_count == 1
    assert r.bulletins


def test_segment_size_is_validated() -> None:
    r = ProcessorRunner(SegmentContent)
    r.assert_not_valid()
    r.set_property("Segment Size", "ten")
    r.assert_not_valid()


# -- DuplicateFlowFile --------------------------------------------------------------


@pytest.mark.parametrize("copies", [0, 1, 3])
def test_duplicates(copies: int) -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", str(copies))
    r.enqueue(b"payload", {"a": "b"})
    r.run()
    out = r.flowfiles_for("success")
    assert len(out) == copies + 1
    assert sorted(int(ff.attributes["copy.index"]) for ff in out) == list(range(copies + 1))
    assert all(ff.content == b"payload" and ff.attributes["a"] == "b" for ff in out)
    assert len({ff.attributes["uuid"] for ff in out}) == copies + 1
    if copies:
        assert len(r.provenance_events(ProvenanceEventType.CLONE)) == 1


def test_default_is_100_copies() -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.enqueue(b"x")
    r.run()
    r.assert_all_transferred("success", 101)


def test_copies_from_an_attribute_and_bad_values() -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", "${n}")
    r.enqueue(b"x", {"n": "2"})
    r.enqueue(b"y", {"n": "two"})
    r.run(2)
    r.assert_all_transferred("success", 3)
    assert r.queue_size == 1 and r.penalized_count == 1
    r.set_property("Number of Copies", "-1")
    r.assert_not_valid()


# -- ModifyBytes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "remove_all", "expected"),
    [
        ("0 B", "0 B", "false", b"0123456789"),
        ("2 B", "0 B", "false", b"23456789"),
        ("0 B", "3 B", "false", b"0123456"),
        ("2 B", "3 B", "false", b"23456"),
        ("5 B", "5 B", "false", b""),
        ("8 B", "8 B", "false", b""),
        ("1 KB", "0 B", "false", b""),
        ("1 B", "1 B", "true", b""),
    ],
)
def test_modify_bytes(start: str, end: str, remove_all: str, expected: bytes) -> None:
    r = ProcessorRunner(ModifyBytes)
    r.set_property("Start Offset", start)
    r.set_property("End Offset", end)
    r.set_property("Remove All Content", remove_all)
    r.enqueue(b"0123456789", {"filename": "f"})
    r.run()
    (out,) = r.flowfiles_for("success")
    out.assert_content_equals(expected)
    out.assert_attribute_equals("filename", "f")
    assert len(r.provenance_events(ProvenanceEventType.CONTENT_MODIFIED)) == 1


def test_modify_bytes_large_content_streams() -> None:
    content = bytes(range(256)) * 20_000
    r = ProcessorRunner(ModifyBytes)
    r.set_property("Start Offset", "${skip}")
    r.set_property("End Offset", "1 KB")
    r.enqueue(content, {"skip": "100 B"})
    r.run()
    r.flowfiles_for("success")[0].assert_content_equals(content[100:-1024])


def test_modify_bytes_bad_offset_penalizes() -> None:
    r = ProcessorRunner(ModifyBytes)
    r.set_property("Start Offset", "${skip}")
    r.enqueue(b"abc", {"skip": "-3"})
    r.enqueue(b"abc", {"skip": "1 B"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(b"bc")
    assert r.penalized_count == 1


# -- ConvertCharacterSet ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "source", "target", "expected"),
    [
        ("grüße".encode("iso-8859-1"), "ISO-8859-1", "UTF-8", "grüße".encode()),
        ("grüße".encode(), "UTF-8", "ISO-8859-1", "grüße".encode("iso-8859-1")),
        ("grüße €".encode(), "UTF-8", "US-ASCII", b"gr??e ?"),
        (b"ok \xff\xfe bad", "UTF-8", "UTF-8", b"ok ?? bad"),
        ("€".encode("windows-1252"), "windows-1252", "UTF-8", "€".encode()),
        ("hi".encode("utf-16-be"), "UTF-16", "UTF-8", b"hi"),
        (codecs.BOM_UTF16_LE + "hi".encode("utf-16-le"), "UTF-16", "UTF-8", b"hi"),
        (b"hi", "UTF-8", "UTF-16", codecs.BOM_UTF16_BE + "hi".encode("utf-16-be")),
        (b"hi", "UTF-8", "UTF-16LE", "hi".encode("utf-16-le")),
        (b"hi", "UTF-8", "UTF-32", "hi".encode("utf-32-be")),
        (b"", "UTF-8", "UTF-16LE", b""),
    ],
)
def test_convert_character_set(content: bytes, source: str, target: str, expected: bytes) -> None:
    r = ProcessorRunner(ConvertCharacterSet)
    r.set_property("Input Character Set", source)
    r.set_property("Output Character Set", target)
    r.enqueue(content)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(expected)


def test_multibyte_characters_cut_between_chunks() -> None:
    text = "ünïcödé ✓ " * 3
    data = text.encode()
    pieces = [data[i:i + 1] for i in range(len(data))]
    assert b"".join(transcode(pieces, "UTF-8", "UTF-16LE")) == text.encode("utf-16-le")


def test_convert_large_content() -> None:
    text = ("Zürich " * 200_000).encode("iso-8859-1")
    r = ProcessorRunner(ConvertCharacterSet)
    r.set_property("Input Character Set", "ISO-8859-1")
    r.set_property("Output Character Set", "UTF-8")
    r.enqueue(text)
    r.run()
    assert r.flowfiles_for("success")[0].content == text.decode("iso-8859-1").encode()


def test_unknown_character_sets() -> None:
    r = ProcessorRunner(ConvertCharacterSet)
    r.set_property("Input Character Set", "no-such-charset")
    r.set_property("Output Character Set", "UTF-8")
    r.assert_not_valid()
    r.set_property("Input Character Set", "base64")
    r.assert_not_valid()
    r.set_property("Input Character Set", "${cs}")
    r.enqueue(b"x", {"cs": "nope"})
    r.enqueue(b"x", {"cs": "UTF-8"})
    r.run()
    r.assert_all_transferred("success", 1)
    assert r.penalized_count == 1 and r.bulletins


# -- NiFi's TestSegmentContent, TestDuplicateFlowFile and TestModifyBytes ---------------------


@pytest.mark.parametrize("size", ["4 B", "${segmentSize}"])
def test_nifi_segments_keep_the_original_filename(size: str) -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", size)
    r.assert_valid()
    r.enqueue(bytes(range(1, 10)), {"filename": "data.bin", "segmentSize": "4 B"})
    r.run()
    original = r.flowfiles_for("original")[0]
    original.assert_attribute_equals("fragment.count", "3")
    original.assert_attribute_equals("filename", "data.bin")
    segments = r.flowfiles_for("segments")
    assert [s.content for s in segments] == [bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8]), bytes([9])]
    for index, s in enumerate(segments, 1):
        s.assert_attribute_equals("filename", "data.bin")
        s.assert_attribute_equals("segment.original.filename", "data.bin")
        s.assert_attribute_equals("fragment.index", str(index))
        s.assert_attribute_equals("fragment.identifier", original.attributes["fragment.identifier"])


def test_nifi_duplicates_come_first_and_the_original_last() -> None:
    r = ProcessorRunner(DuplicateFlowFile)
    r.set_property("Number of Copies", "${num.copies}")
    r.enqueue(b"hello", {"num.copies": "100"})
    r.run()
    out = r.flowfiles_for("success")
    assert [ff.attributes["copy.index"] for ff in out] == [str(i) for i in range(1, 101)] + ["0"]


# NiFi's TestModifyBytes/testFile.txt (the same 193 bytes as TestReplaceTextLineByLine/testFile.txt)
MODIFY_FILE = (b"<<<HEADER>>>\n" + b"Fodo DODO cujo Pojo\nBlue Dew clue hew\nGrampa Riley Huey\n" * 3 + b"<<<FOOTER>>>")


@pytest.mark.parametrize(
    ("start", "end", "remove_all", "attributes", "expected"),
    [
        pytest.param("1 MB", "1 MB", "false", {}, b"", id="return-empty"),
        pytest.param("0 MB", "0 MB", "false", {}, MODIFY_FILE, id="return-same"),
        pytest.param("12 B", "0 MB", "false", {}, MODIFY_FILE[12:], id="remove-header"),
        pytest.param("${numBytes}", "0 MB", "false", {"numBytes": "12 B"}, MODIFY_FILE[12:], id="remove-header-el"),
        pytest.param("181 B", "0 B", "false", {}, b"<<<FOOTER>>>", id="keep-footer"),
        pytest.param("0 B", "181 B", "false", {}, b"<<<HEADER>>>", id="keep-header"),
        pytest.param("0 B", "${numBytes}", "false", {"numBytes": "181 B"}, b"<<<HEADER>>>", id="keep-header-el"),
        pytest.param("0 B", "12 B", "false", {}, MODIFY_FILE[:-12], id="remove-footer"),
        pytest.param("12 B", "12 B", "false", {}, MODIFY_FILE[12:-12], id="remove-header-and-footer"),
        pytest.param("97 B", "97 B", "false", {}, b"", id="zero-bytes"),
        pytest.param("94 B", "96 B", "false", {}, b"Dew", id="dew"),
        pytest.param("0 B", "0 B", "true", {}, b"", id="remove-all"),
        pytest.param("10 B", "10 B", "true", {}, b"", id="remove-all-overrides"),
        pytest.param("10 B", "10 B", "false", {}, MODIFY_FILE[10:-10], id="remove-all-false"),
    ],
)
def test_nifi_modify_bytes(start: str, end: str, remove_all: str, attributes: dict[str, str],
                           expected: bytes) -> None:
    assert len(MODIFY_FILE) == 193
    r = ProcessorRunner(ModifyBytes)
    r.set_property("Start Offset", start)
    r.set_property("End Offset", end)
    r.set_property("Remove All Content", remove_all)
    r.enqueue(MODIFY_FILE, attributes)
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(expected)


@pytest.mark.parametrize(("value", "valid"), [("maybe", False), ("true", True), ("false", True), ("certainly", False)])
def test_nifi_modify_bytes_remove_all_values(value: str, valid: bool) -> None:
    r = ProcessorRunner(ModifyBytes)
    r.set_property("Remove All Content", value)
    assert (not r.validation_results()) is valid


@pytest.mark.parametrize(
    ("source", "target"), [("ASCII", "UTF-32"), ("${characterSet}", "UTF-32"), ("ASCII", "${characterSet32}")]
)
def test_nifi_convert_character_set_ascii_to_utf32(source: str, target: str) -> None:
    text = "Original text\nwith two lines\n"
    r = ProcessorRunner(ConvertCharacterSet)
    r.set_property("Input Character Set", source)
    r.set_property("Output Character Set", target)
    r.enqueue(text, {"characterSet": "ASCII", "characterSet32": "UTF-32"})
    r.run()
    r.assert_all_transferred("success", 1)
    r.flowfiles_for("success")[0].assert_content_equals(text.encode("utf-32-be"))


@pytest.mark.parametrize(
    ("source", "target"),
    [("${now()}", "UTF-32"), ("UTF-32", '${anyAttribute("abc", "xyz"):contains("bye")}')],
)
def test_nifi_convert_character_set_expression_that_is_no_charset(source: str, target: str) -> None:
    r = ProcessorRunner(ConvertCharacterSet)
    r.set_property("Input Character Set", source)
    r.set_property("Output Character Set", target)
    r.enqueue(b"x", {"abc": "hello", "xyz": "good-bye"})
    r.run()
    r.assert_transferred("success", 0)
    assert r.queue_size == 1 and r.penalized_count == 1


def test_segments_are_forked_as_in_nifi() -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", "2 B")
    r.enqueue(b"abcdef")
    r.run()
    forks = r.provenance_events(ProvenanceEventType.FORK)
    assert len(forks) == 1 and len(forks[0].child_uuids) == 3


def test_content_within_one_segment_is_a_clone() -> None:
    r = ProcessorRunner(SegmentContent)
    r.set_property("Segment Size", "2 KB")
    r.enqueue(b"abcdef")
    r.run()
    clones = r.provenance_events(ProvenanceEventType.CLONE)
    assert len(clones) == 1 and len(clones[0].child_uuids) == 1
