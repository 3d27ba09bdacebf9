"""SplitContent, with the cases of NiFi's TestSplitContent."""

from __future__ import annotations

import pytest

from flowyard.processors.split_content import SplitContent, find_sequence
from flowyard.runtime.sdk.testing import ProcessorRunner

SENTENCE = b"This is a test. This is another test. And this is yet another test. Finally this is the last Test."
LOWER = b"This is a test. This is another test. And this is yet another test. Finally this is the last test"


def split(content: bytes, sequence: str, *, text: bool = False, keep: bool = False,
          location: str = "Trailing") -> ProcessorRunner:
    r = ProcessorRunner(SplitContent)
    r.set_property("Byte Sequence Format", "Text" if text else "Hexadecimal")
    r.set_property("Byte Sequence", sequence)
    r.set_property("Keep Byte Sequence", "true" if keep else "false")
    r.set_property("Byte Sequence Location", location)
    r.enqueue(content, {"filename": "in.bin"})
    r.run()
    r.assert_queue_empty()
    return r


def contents(r: ProcessorRunner) -> list[bytes]:
    return [ff.content for ff in r.flowfiles_for("splits")]


@pytest.mark.parametrize(
    ("content", "sequence", "text", "keep", "location", "expected"),
    [
        (b"rub-a-dub-dub", "ub", True, True, "Leading", [b"r", b"ub-a-d", b"ub-d", b"ub"]),
        (b"rub-a-dub-dub", "ub", True, True, "Trailing", [b"rub", b"-a-dub", b"-dub"]),
        (SENTENCE, "test", True, True, "Leading",
         [b"This is a ", b"test. This is another ", b"test. And this is yet another ",
          b"test. Finally this is the last Test."]),
        (SENTENCE, "test", True, False, "Leading",
         [b"This is a ", b". This is another ", b". And this is yet another ", b". Finally this is the last Test."]),
        (SENTENCE, "test", True, True, "Trailing",
         [b"This is a test", b". This is another test", b". And this is yet another test",
          b". Finally this is the last Test."]),
        (LOWER, "test", True, True, "Trailing",
         [b"This is a test", b". This is another test", b". And this is yet another test",
          b". Finally this is the last test"]),
        (LOWER, "test", True, True, "Leading",
         [b"This is a ", b"test. This is another ", b"test. And this is yet another ",
          b"test. Finally this is the last ", b"test"]),
        (bytes([1, 2, 3, 4, 5, 255, 255, 255, 5, 4, 3, 2, 1]), "FFFF", False, False, "Trailing",
         [bytes([1, 2, 3, 4, 5]), bytes([255, 5, 4, 3, 2, 1])]),
        (bytes([1, 2, 3, 4, 5, 255, 255, 255, 5, 4, 3, 2, 1]), "FFFF", False, True, "Trailing",
         [bytes([1, 2, 3, 4, 5, 255, 255]), bytes([255, 5, 4, 3, 2, 1])]),
        (bytes([1, 2, 3, 4, 5, 255, 5, 4, 3, 2, 1]), "ff", False, False, "Trailing",
         [bytes([1, 2, 3, 4, 5]), bytes([5, 4, 3, 2, 1])]),
        (bytes([1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1]), "05050505", False, False, "Trailing",
         [bytes([1, 2, 3, 4]), bytes([5, 5, 4, 3, 2, 1])]),
        (bytes([1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 4, 3, 2, 1]), "05050505", False, True, "Trailing",
         [bytes([1, 2, 3, 4, 5, 5, 5, 5]), bytes([5, 5, 4, 3, 2, 1])]),
        (bytes([1, 2, 3, 4, 5, 5, 5, 5]), "05050505", False, False, "Trailing", [bytes([1, 2, 3, 4])]),
        (bytes([1, 2, 3, 4, 5, 5, 5, 5]), "05050505", False, True, "Trailing", [bytes([1, 2, 3, 4, 5, 5, 5, 5])]),
        (bytes([5, 5, 5, 5, 1, 2, 3, 4]), "05050505", False, False, "Trailing", [bytes([1, 2, 3, 4])]),
        (bytes([5, 5, 5, 5, 1, 2, 3, 4]), "05050505", False, True, "Trailing",
         [bytes([5, 5, 5, 5]), bytes([1, 2, 3, 4])]),
        (bytes([5, 5, 5, 5, 1, 2, 3, 4]), "05050505", False, True, "Leading", [bytes([5, 5, 5, 5, 1, 2, 3, 4])]),
        (b"UVAT", ",", True, False, "Trailing", [b"UVAT"]),
        (b"a,,b,", ",", True, False, "Trailing", [b"a", b"b"]),
        (b"", ",", True, False, "Trailing", [b""]),
        ("é|ü".encode(), "|", True, False, "Trailing", ["é".encode(), "ü".encode()]),
    ],
)
def test_splits(content: bytes, sequence: str, text: bool, keep: bool, location: str,
                expected: list[bytes]) -> None:
    r = split(content, sequence, text=text, keep=keep, location=location)
    assert contents(r) == expected
    original = r.flowfiles_for("original")[0]
    original.assert_content_equals(content)
    original.assert_attribute_equals("fragment.count", str(len(expected)))
    fragment_id = original.attributes["fragment.identifier"]
    for index, ff in enumerate(r.flowfiles_for("splits"), 1):
        ff.assert_attribute_equals("fragment.identifier", fragment_id)
        ff.assert_attribute_equals("fragment.index", str(index))
        ff.assert_attribute_equals("fragment.count", str(len(expected)))
        ff.assert_attribute_equals("segment.original.filename", "in.bin")


def test_kept_splits_concatenate_to_the_original() -> None:
    content = bytes([1, 2, 3, 4, 5, 255, 255, 255, 5, 4, 3, 2, 1])
    r = split(content, "FFFF", keep=True)
    assert b"".join(contents(r)) == content


def test_splits_are_slices_of_the_original_content() -> None:
    r = split(b"aa,bb,cc", ",", text=True)
    original = r.flowfiles_for("original")[0].flowfile
    assert original.claim is not None
    for ff in r.flowfiles_for("splits"):
        assert ff.flowfile.claim is not None and ff.flowfile.claim.resource == original.claim.resource


@pytest.mark.parametrize("sequence", ["F", "GG", "0x0A", "é"])
def test_bad_hexadecimal_is_invalid(sequence: str) -> None:
    r = ProcessorRunner(SplitContent)
    r.set_property("Byte Sequence", sequence)
    r.assert_not_valid()
    assert r.validation_results()[0].explanation == "Not a valid Hex String"
    r.set_property("Byte Sequence Format", "Text")
    r.assert_valid()


def test_byte_sequence_is_required() -> None:
    r = ProcessorRunner(SplitContent)
    r.assert_not_valid()


@pytest.mark.parametrize("chunk", [1, 2, 3, 7])
def test_search_across_chunks(chunk: int) -> None:
    data = b"xxABCyyABCABzABC"
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    assert list(find_sequence(pieces, b"ABC")) == [5, 10, 16]
    assert list(find_sequence([b"aaaa"[i:i + chunk] for i in range(0, 4, chunk)], b"aa")) == [2, 4]


def test_large_content_streams() -> None:
    record = b"x" * 1000 + b"\x00\x01"
    r = split(record * 3000, "0001")
    got = contents(r)
    assert len(got) == 3000 and set(got) == {b"x" * 1000}


def test_small_splits_then_defragment_merge() -> None:
    from flowyard.processors.merge_content import MergeContent

    content = bytes([1, 2, 3, 4, 5, 255, 255, 255, 5, 4, 3, 2, 1])
    r = split(content, "FFFF", keep=True)
    merge = ProcessorRunner(MergeContent)
    merge.set_property("Merge Strategy", "Defragment")
    merge.enqueue_many([(ff.content, ff.attributes) for ff in r.flowfiles_for("splits")])
    merge.run()
    merge.assert_transferred("merged", 1)
    merge.assert_transferred("original", 2)
    merge.assert_transferred("failure", 0)
    merge.flowfiles_for("merged")[0].assert_content_equals(content)


def test_splits_are_forked_as_in_nifi() -> None:
    from flowyard.runtime.sdk import ProvenanceEventType

    r = split(b"aa,bb,cc", ",", text=True)
    forks = r.provenance_events(ProvenanceEventType.FORK)
    assert len(forks) == 1 and len(forks[0].child_uuids) == 3
