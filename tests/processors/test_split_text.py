"""SplitText, with the cases of NiFi's TestSplitText."""

from __future__ import annotations

import pytest

from flowyard.processors.split_text import Line, SplitText, plan_splits, scan_lines
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

# NiFi's src/test/resources/TestSplitText/original.txt
ORIGINAL = "Header Line #1\nHeader Line #2\n" + "".join(f"Line #{i}\n" for i in range(1, 10)) + "Line #10"
TEST_INPUT_DATA = (
    "HeaderLine1\nLine2SpacesAtEnd  \nLine3\nLine4\n\n\nLine8\nLine9\n\n\n13\n14\n15    EndofLine15\n16\n"
    + "\n" * 33 + "LastLine\n"
)


def runner(**properties: str) -> ProcessorRunner:
    r = ProcessorRunner(SplitText)
    for name, value in properties.items():
        r.set_property(name.replace("_", " "), value)
    return r


def split(content: str | bytes, filename: str = "original.txt", **properties: str) -> ProcessorRunner:
    r = runner(**properties)
    r.enqueue(content, {"filename": filename})
    r.run()
    return r


def contents(r: ProcessorRunner) -> list[bytes]:
    return [ff.content for ff in r.flowfiles_for("splits")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", []),
        (b"a", [Line(1, 0)]),
        (b"a\nb", [Line(2, 1), Line(1, 0)]),
        (b"a\r\nb\rc\n", [Line(3, 2), Line(2, 1), Line(2, 1)]),
        (b"\n\n", [Line(1, 1), Line(1, 1)]),
        (b"a\r", [Line(2, 1)]),
        (b"\r\r\n", [Line(1, 1), Line(2, 2)]),
    ],
)
def test_lines_end_with_lf_crlf_or_cr(data: bytes, expected: list[Line]) -> None:
    assert list(scan_lines([data])) == expected
    # the same lines whatever the chunking (a CRLF cut between chunks stays one terminator)
    assert list(scan_lines([data[i:i + 1] for i in range(len(data))])) == expected


def test_line_heads_span_chunks() -> None:
    lines = list(scan_lines([b"He", b"ader\nH", b"\nx"], head_size=4))
    assert [line.head for line in lines] == [b"Head", b"H\n", b"x"]


def test_plan_keeps_offsets_only() -> None:
    plan = plan_splits([b"h\n1\n2\n3\n"], line_count=2, header_lines=1)
    assert plan.header is not None and (plan.header.length, plan.header.lines) == (2, 1)
    assert [(s.start, s.length, s.trimmed) for s in plan.splits] == [(2, 4, 3), (6, 2, 1)]


def test_last_line_exceeds_size_limit() -> None:
    r = split("Line #1\nLine #2\nLine #3\nLong line exceeding limit",
              Header_Line_Count="0", Line_Split_Count="2", Maximum_Fragment_Size="20 B")
    r.assert_transferred("failure", 0)
    r.assert_transferred("original", 1)
    original = r.flowfiles_for("original")[0]
    original.assert_attribute_equals("fragment.count", "3")
    original.assert_attribute_exists("fragment.identifier")
    assert contents(r) == [b"Line #1\nLine #2", b"Line #3", b"Long line exceeding limit"]


@pytest.mark.parametrize(
    ("content", "header_count"),
    [("Header Line #1", "2"), (ORIGINAL, "100")],
)
def test_too_few_header_lines_fail(content: str, header_count: str) -> None:
    r = split(content, Header_Line_Count=header_count, Line_Split_Count="2", Maximum_Fragment_Size="50 B")
    r.assert_all_transferred("failure", 1)
    failed = r.flowfiles_for("failure")[0]
    failed.assert_content_equals(content)
    assert "fragment.identifier" not in failed.attributes
    assert any("header" in message for _, message in r.bulletins)


def test_header_larger_than_fragment_size_fails() -> None:
    r = split("a long header line\nbody\n", Header_Line_Count="1", Line_Split_Count="1",
              Maximum_Fragment_Size="5 B")
    r.assert_all_transferred("failure", 1)


def test_single_character_header_marker() -> None:
    r = split(ORIGINAL, Line_Split_Count="7", Header_Line_Marker_Characters="H", Remove_Trailing_Newlines="false")
    r.assert_transferred("failure", 0)
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")
    splits = r.flowfiles_for("splits")
    assert [(s.attributes["text.line.count"], s.attributes["fragment.size"]) for s in splits] == [
        ("7", "86"), ("3", "54")]
    fragment_id = splits[0].attributes["fragment.identifier"]
    for i, s in enumerate(splits):
        s.assert_attribute_equals("fragment.index", str(i + 1))
        s.assert_attribute_equals("fragment.identifier", fragment_id)
        s.assert_attribute_equals("fragment.count", "2")
        s.assert_attribute_equals("segment.original.filename", "original.txt")
    assert r.flowfiles_for("original")[0].attributes["fragment.identifier"] == fragment_id


def test_header_line_count_beats_the_marker() -> None:
    r = split(ORIGINAL, Header_Line_Count="1", Header_Line_Marker_Characters="Head", Line_Split_Count="5",
              Remove_Trailing_Newlines="false")
    splits = r.flowfiles_for("splits")
    assert [(s.attributes["text.line.count"], s.attributes["fragment.size"]) for s in splits] == [
        ("5", "62"), ("5", "55"), ("1", "23")]


def test_zero_lines_needs_a_maximum_fragment_size() -> None:
    r = runner(Line_Split_Count="0")
    r.assert_not_valid()
    assert any(v.subject == "Maximum Fragment Size" for v in r.validation_results())
    r.set_property("Maximum Fragment Size", "1 KB")
    r.assert_valid()


@pytest.mark.parametrize("bad", [("Line Split Count", "-1"), ("Maximum Fragment Size", "lots"),
                                 ("Header Line Count", "x"), ("Remove Trailing Newlines", "maybe")])
def test_invalid_values(bad: tuple[str, str]) -> None:
    r = runner(Line_Split_Count="1")
    r.set_property(*bad)
    r.assert_not_valid()


def test_multiple_split_directives() -> None:
    r = split("Header Line #1\nHeader Line #2\nLine #1\nLine #2\n"
              "Line #3 This line has additional text added so that it exceeds the maximum fragment size\n"
              "Line #4\nLine #5\nLine #6\nLine #7\nLine #8\nLine #9\nLine #10\n",
              Header_Line_Count="2", Line_Split_Count="2", Maximum_Fragment_Size="50 B",
              Remove_Trailing_Newlines="false")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "6")
    assert [s.size for s in r.flowfiles_for("splits")] == [46, 119, 46, 46, 46, 39]


@pytest.mark.parametrize(
    ("content", "properties"),
    [
        ("Header Line #1\nHeaderLine#2\n",
         {"Header_Line_Count": "0", "Header_Line_Marker_Characters": "Head"}),
        ("Header Line #1\nHeaderLine #2\n", {"Header_Line_Count": "2"}),
        ("Header Line #1", {"Header_Line_Count": "1"}),
    ],
)
def test_flowfile_is_only_header(content: str, properties: dict[str, str]) -> None:
    r = split(content, Line_Split_Count="2", Maximum_Fragment_Size="50 B", **properties)
    r.assert_transferred("failure", 0)
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "1")
    r.assert_transferred("splits", 1)
    only = r.flowfiles_for("splits")[0]
    assert only.content == content.rstrip("\n").encode()
    only.assert_attribute_equals("fragment.count", "1")
    only.assert_attribute_equals("text.line.count", "0")


def test_max_size_exceeded_with_header() -> None:
    r = split(ORIGINAL, Header_Line_Count="2", Line_Split_Count="0", Maximum_Fragment_Size="71 B",
              Remove_Trailing_Newlines="false")
    splits = r.flowfiles_for("splits")
    assert len(splits) == 2
    for i, s in enumerate(splits):
        s.assert_attribute_equals("text.line.count", "5")
        s.assert_attribute_equals("fragment.size", "70")
        s.assert_attribute_equals("fragment.index", str(i + 1))


def test_max_size_exceeded_without_header() -> None:
    r = split(ORIGINAL, Header_Line_Count="0", Line_Split_Count="0", Maximum_Fragment_Size="71 B",
              Remove_Trailing_Newlines="false")
    first, second = r.flowfiles_for("splits")
    first.assert_content_equals("Header Line #1\nHeader Line #2\nLine #1\nLine #2\nLine #3\nLine #4\nLine #5\n")
    second.assert_content_equals("Line #6\nLine #7\nLine #8\nLine #9\nLine #10")
    assert [first.attributes["text.line.count"], first.attributes["fragment.size"]] == ["7", "70"]
    assert [second.attributes["text.line.count"], second.attributes["fragment.size"]] == ["5", "40"]


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_carriage_returns_and_newlines(eol: str) -> None:
    def text(*lines: str) -> str:
        return eol.join(lines)

    r = split(text("H1", "H2", "1", "2", "3", "", "", "", "", "", "", "10", "11", "12", ""),
              Header_Line_Count="2", Line_Split_Count="3")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "4")
    assert contents(r) == [text("H1", "H2", "1", "2", "3").encode(), text("H1", "H2").encode(),
                           text("H1", "H2").encode(), text("H1", "H2", "10", "11", "12").encode()]

    r = split(text("1", "2", "3", "", "", "", "", "", "", "10", "11", "12", ""),
              Header_Line_Count="0", Line_Split_Count="3")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")
    assert contents(r) == [text("1", "2", "3").encode(), text("10", "11", "12").encode()]


def test_zero_byte_output_is_not_emitted() -> None:
    r = split(ORIGINAL, Header_Line_Count="0", Line_Split_Count="3")
    r.assert_transferred("splits", 4)
    assert contents(r) == [b"Header Line #1\nHeader Line #2\nLine #1", b"Line #2\nLine #3\nLine #4",
                           b"Line #5\nLine #6\nLine #7", b"Line #8\nLine #9\nLine #10"]


@pytest.mark.parametrize("header", ["0", "1"])
def test_empty_content(header: str) -> None:
    r = split(b"", Header_Line_Count=header, Line_Split_Count="1")
    r.assert_transferred("splits", 0)
    r.assert_transferred("failure", 0)
    r.assert_transferred("original", 1)
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "0")


def test_one_line_split_without_header() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="0", Line_Split_Count="1")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "11")
    assert contents(r) == [b"HeaderLine1", b"Line2SpacesAtEnd  ", b"Line3", b"Line4", b"Line8", b"Line9", b"13",
                           b"14", b"15    EndofLine15", b"16", b"LastLine"]


def test_five_line_split_without_header() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="0", Line_Split_Count="5")
    assert contents(r) == [b"HeaderLine1\nLine2SpacesAtEnd  \nLine3\nLine4", b"\nLine8\nLine9",
                           b"13\n14\n15    EndofLine15\n16", b"\n\nLastLine"]


def test_five_line_split_without_header_retain_newline() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="0", Line_Split_Count="5", Remove_Trailing_Newlines="false")
    assert contents(r) == [b"HeaderLine1\nLine2SpacesAtEnd  \nLine3\nLine4\n\n", b"\nLine8\nLine9\n\n\n",
                           b"13\n14\n15    EndofLine15\n16\n\n", *[b"\n\n\n\n\n"] * 6, b"\n\nLastLine\n"]


def test_five_line_split_with_header_retain_newline() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="1", Line_Split_Count="5", Remove_Trailing_Newlines="false")
    assert contents(r) == [b"HeaderLine1\nLine2SpacesAtEnd  \nLine3\nLine4\n\n\n",
                           b"HeaderLine1\nLine8\nLine9\n\n\n13\n",
                           b"HeaderLine1\n14\n15    EndofLine15\n16\n\n\n", *[b"HeaderLine1\n\n\n\n\n\n"] * 6,
                           b"HeaderLine1\n\nLastLine\n"]


def test_five_line_split_with_header_not_retain_newline() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="1", Line_Split_Count="5", Remove_Trailing_Newlines="true")
    assert contents(r) == [b"HeaderLine1\nLine2SpacesAtEnd  \nLine3\nLine4", b"HeaderLine1\nLine8\nLine9\n\n\n13",
                           b"HeaderLine1\n14\n15    EndofLine15\n16", *[b"HeaderLine1"] * 6,
                           b"HeaderLine1\n\nLastLine"]


def test_one_line_split_with_header() -> None:
    r = split(TEST_INPUT_DATA, Header_Line_Count="1", Line_Split_Count="1")
    got = contents(r)
    assert len(got) == 47
    assert got[:13] == [b"HeaderLine1\nLine2SpacesAtEnd  ", b"HeaderLine1\nLine3", b"HeaderLine1\nLine4",
                        b"HeaderLine1", b"HeaderLine1", b"HeaderLine1\nLine8", b"HeaderLine1\nLine9",
                        b"HeaderLine1", b"HeaderLine1", b"HeaderLine1\n13", b"HeaderLine1\n14",
                        b"HeaderLine1\n15    EndofLine15", b"HeaderLine1\n16"]
    assert got[13:46] == [b"HeaderLine1"] * 33
    assert got[46] == b"HeaderLine1\nLastLine"


@pytest.mark.parametrize(
    ("line_count", "expected"),
    [
        ("3", [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]),
        ("5", [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]),
    ],
)
def test_split_with_two_line_header(line_count: str, expected: list[list[int]]) -> None:
    r = split(ORIGINAL, Header_Line_Count="2", Line_Split_Count=line_count)
    header = "Header Line #1\nHeader Line #2\n"
    assert contents(r) == [(header + "\n".join(f"Line #{i}" for i in lines)).encode() for lines in expected]
    assert [s.attributes["fragment.index"] for s in r.flowfiles_for("splits")] == [
        str(i + 1) for i in range(len(expected))]


def test_split_then_concatenate_gives_the_original() -> None:
    r = split(ORIGINAL, Line_Split_Count="3", Remove_Trailing_Newlines="false")
    splits = r.flowfiles_for("splits")
    assert len(splits) == 4
    for s in splits:
        s.assert_attribute_equals("segment.original.filename", "original.txt")
        s.assert_attribute_equals("fragment.count", "4")
    assert b"".join(s.content for s in splits) == ORIGINAL.encode()


@pytest.mark.parametrize(
    ("content", "header", "line_count", "expected"),
    [
        ("H1\nH2\n1\n2\n3\n\n\n\n\n\n\n10\n11\n12\n", "2", "3", ["H1\nH2\n1\n2\n3", "H1\nH2", "H1\nH2",
                                                               "H1\nH2\n10\n11\n12"]),
        ("1\n2\n3\n\n\n\n\n\n\n10\n11\n12\n", "0", "3", ["1\n2\n3", "10\n11\n12"]),
        ("H1\nH2\n1\n\n\n", "2", "10", ["H1\nH2\n1"]),
        ("1\n2\n\n\n\n", "0", "10", ["1\n2"]),
        ("1\n2\n\n\n\n\n\n\n\n", "0", "3", ["1\n2"]),
        ("1\n2\n\n\n\n\n\n\n\n", "0", "1", ["1", "2"]),
        ("H1\n1\n\n\n\n\n\n\n\n", "1", "3", ["H1\n1", "H1", "H1"]),
        ("H1\n1\n2\n3\n\n\n4\n", "1", "3", ["H1\n1\n2\n3", "H1\n\n\n4"]),
        ("1\n2\n3\n\n\n4\n", "0", "3", ["1\n2\n3", "\n\n4"]),
        ("\n\n1\n\n\n\n\n", "2", "3", ["\n\n1", "\n"]),
    ],
)
def test_trailing_newlines(content: str, header: str, line_count: str, expected: list[str]) -> None:
    r = split(content, Header_Line_Count=header, Line_Split_Count=line_count, Remove_Trailing_Newlines="true")
    r.assert_transferred("failure", 0)
    assert contents(r) == [e.encode() for e in expected]
    assert [s.attributes["fragment.index"] for s in r.flowfiles_for("splits")] == [
        str(i + 1) for i in range(len(expected))]
    assert {s.attributes["fragment.count"] for s in r.flowfiles_for("splits")} == {str(len(expected))}


def test_line_counts_when_trimmed() -> None:
    r = split("1\n2\n\n\n\n\n\n\n\n", Header_Line_Count="0", Line_Split_Count="3")
    r.flowfiles_for("splits")[0].assert_attribute_equals("text.line.count", "2")


def test_max_fragment_size_with_trimmed_endlines() -> None:
    r = split("header1\nheader2\nline1 longer than limit\nline2\nline3\n\n\n\n\n", Header_Line_Count="2",
              Line_Split_Count="0", Maximum_Fragment_Size="30 B")
    assert contents(r) == [b"header1\nheader2\nline1 longer than limit", b"header1\nheader2\nline2\nline3",
                           b"header1\nheader2"]


def test_marker_not_matching_the_first_line_keeps_it() -> None:
    r = split("a\nb\nc\n", Line_Split_Count="2", Header_Line_Marker_Characters="#")
    assert contents(r) == [b"a\nb", b"c"]


def test_lines_shorter_than_the_marker_do_not_match() -> None:
    r = split("##x\n#\nbody\n", Line_Split_Count="5", Header_Line_Marker_Characters="##")
    assert contents(r) == [b"##x\n#\nbody"]


def test_splits_without_header_share_the_original_content() -> None:
    r = split("one\ntwo\nthree\n", Line_Split_Count="1")
    original = r.flowfiles_for("original")[0].flowfile
    splits = [s.flowfile for s in r.flowfiles_for("splits")]
    assert original.claim is not None
    assert all(s.claim is not None and s.claim.resource == original.claim.resource for s in splits)
    assert [s.claim.offset - original.claim.offset for s in splits if s.claim] == [0, 4, 8]


# NiFi's session records a clone of part of the content as a FORK (a clone of all of it as a CLONE);
# so does flowyard's.


def test_splits_without_header_are_forked_as_in_nifi() -> None:
    r = split("one\ntwo\nthree\n", Line_Split_Count="1")
    forks = r.provenance_events(ProvenanceEventType.FORK)
    assert len(forks) == 1 and len(forks[0].child_uuids) == 3


def test_big_content_in_many_chunks() -> None:
    lines = [f"line {i}".encode() for i in range(30_000)]
    content = b"\r\n".join(lines) + b"\r\n"
    r = split(content, Line_Split_Count="1000")
    got = contents(r)
    assert len(got) == 30
    assert got[0] == b"\r\n".join(lines[:1000])
    assert got[-1] == b"\r\n".join(lines[29_000:])


def test_without_flowfile_nothing_happens() -> None:
    r = runner(Line_Split_Count="2", Maximum_Fragment_Size="50 B", Header_Line_Count="2")
    r.run()
    for relationship in ("splits", "original", "failure"):
        r.assert_transferred(relationship, 0)


def test_fragment_count_is_the_actual_flowfile_count() -> None:
    r = split("1\n2\n\n\n\n\n\n\n\n", Header_Line_Count="0", Line_Split_Count="1", Remove_Trailing_Newlines="true")
    r.flowfiles_for("original")[0].assert_attribute_equals("fragment.count", "2")
    splits = r.flowfiles_for("splits")
    assert contents(r) == [b"1", b"2"]
    for i, s in enumerate(splits):
        s.assert_attribute_equals("fragment.index", str(i + 1))
        s.assert_attribute_equals("fragment.count", "2")
        s.assert_attribute_equals("text.line.count", "1")


# Cases of older versions of NiFi's TestSplitText, when Remove Trailing Newlines kept the newlines by default.
@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        pytest.param({"Line_Split_Count": "6", "Header_Line_Marker_Characters": "Head"},
                     [("6", "78"), ("4", "62")], id="multi-character-marker"),
        pytest.param({"Header_Line_Count": "0", "Line_Split_Count": "99999", "Maximum_Fragment_Size": "100 B"},
                     [("10", "94"), ("2", "16")], id="max-size-no-header"),
    ],
)
def test_line_counts_and_sizes_keeping_newlines(properties: dict[str, str], expected: list[tuple[str, str]]) -> None:
    r = split(ORIGINAL, Remove_Trailing_Newlines="false", **properties)
    r.assert_transferred("failure", 0)
    splits = r.flowfiles_for("splits")
    assert [(s.attributes["text.line.count"], s.attributes["fragment.size"]) for s in splits] == expected
    fragment_id = splits[0].attributes["fragment.identifier"]
    for i, s in enumerate(splits):
        s.assert_attribute_equals("fragment.index", str(i + 1))
        s.assert_attribute_equals("fragment.identifier", fragment_id)
        s.assert_attribute_equals("fragment.count", str(len(splits)))
        s.assert_attribute_equals("segment.original.filename", "original.txt")


def test_two_line_header_size_limit_keeping_newlines() -> None:
    r = split(ORIGINAL, Header_Line_Count="2", Maximum_Fragment_Size="55 B", Line_Split_Count="99999",
              Remove_Trailing_Newlines="false")
    header = "Header Line #1\nHeader Line #2\n"
    groups = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
    assert contents(r) == [(header + "".join(f"Line #{i}\n" for i in g)).rstrip("\n").encode()
                           if g == [10] else (header + "".join(f"Line #{i}\n" for i in g)).encode()
                           for g in groups]


def test_carriage_return_without_newline_and_a_marker() -> None:
    content = "#Header line 1\r#Header line 2\rData line 1\rData line 2\rData line 3\rData line 4\r"
    r = split(content, Line_Split_Count="2", Header_Line_Marker_Characters="#", Remove_Trailing_Newlines="false")
    assert contents(r) == [b"#Header line 1\r#Header line 2\rData line 1\rData line 2\r",
                           b"#Header line 1\r#Header line 2\rData line 3\rData line 4\r"]


def test_split_then_merge_gives_the_original() -> None:
    from flowyard.processors.merge_content import MergeContent

    r = split(ORIGINAL, Line_Split_Count="3", Remove_Trailing_Newlines="false")
    splits = r.flowfiles_for("splits")
    assert len(splits) == 4
    merge = ProcessorRunner(MergeContent)
    merge.set_property("Merge Strategy", "Defragment")
    merge.set_property("Merge Format", "Binary Concatenation")
    merge.enqueue_many([(s.content, s.attributes) for s in splits])
    merge.run()
    merge.assert_transferred("merged", 1)
    merge.assert_transferred("original", 4)
    merge.assert_transferred("failure", 0)
    merged = merge.flowfiles_for("merged")[0]
    merged.assert_attribute_equals("filename", "original.txt")
    merged.assert_content_equals(ORIGINAL)


def test_splits_with_a_header_are_forked_from_the_original() -> None:
    r = split("h\n1\n2\n", Header_Line_Count="1", Line_Split_Count="1")
    forks = r.provenance_events(ProvenanceEventType.FORK)
    assert len(forks) == 1 and len(forks[0].child_uuids) == 2
