"""SplitText: split text into fragments of at most N lines and/or N bytes, with optional header lines."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain

from flowyard.processors._common import boolean_property
from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    FRAGMENT_SIZE,
    SEGMENT_ORIGINAL_FILENAME,
    mark_original,
)
from flowyard.runtime.sdk import (
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["SPLIT_LINE_COUNT", "Line", "Split", "SplitPlan", "SplitText", "plan_splits", "scan_lines"]

SPLIT_LINE_COUNT = "text.line.count"

_EOL = re.compile(rb"\r\n|\r|\n")
_CR = 13
_LF = 10

ORIGINAL = Relationship(
    "original", "The incoming FlowFile, once split (empty content gives no splits but still goes here)."
)
SPLITS = Relationship("splits", "The pieces of text cut from each FlowFile.")
FAILURE = Relationship(
    "failure",
    "FlowFiles whose header is shorter than Header Line Count or larger than Maximum Fragment Size; no splits "
    "are made.",
)

LINE_SPLIT_COUNT = PropertySpec(
    key="line-split-count",
    display_name="Line Split Count",
    description=(
        "The most lines each split holds, not counting the header. 0 means no line limit, in which case "
        "Maximum Fragment Size must be set."
    ),
    required=True,
    validator=validators.NON_NEGATIVE_INTEGER,
)
FRAGMENT_MAX_SIZE = PropertySpec(
    key="maximum-fragment-size",
    display_name="Maximum Fragment Size",
    description=(
        "The most bytes each split holds, header included. A line too long to fit gets a split of its own, "
        "which is then larger."
    ),
    validator=validators.DATA_SIZE,
)
HEADER_LINE_COUNT = PropertySpec(
    key="header-line-count",
    display_name="Header Line Count",
    description="How many lines at the start of the text are the header, which begins every split.",
    required=True,
    default="0",
    validator=validators.NON_NEGATIVE_INTEGER,
)
HEADER_MARKER = PropertySpec(
    key="header-line-marker-characters",
    display_name="Header Line Marker Characters",
    description=(
        "When Header Line Count is 0: the leading lines that start with these characters are the header, up to "
        "the first line that does not."
    ),
    validator=validators.NON_EMPTY,
)
REMOVE_TRAILING_NEWLINES = boolean_property(
    "remove-trailing-newlines", "Remove Trailing Newlines",
    "Whether the last newline and any trailing empty lines are cut from each split; keep them (false) if the "
    "splits will be merged again. When true, a split made only of empty lines is dropped, or holds just the "
    "header.",
    "true",
)


@dataclass(frozen=True, slots=True)
class Line:
    """One text line: its ``length`` including the terminator, the terminator's
    length ``crlf`` (2 for ``\\r\\n``, 1 for ``\\r`` or ``\\n``, 0 for a last line
    without one) and its first bytes (``head``, only as many as were asked for)."""

    length: int
    crlf: int
    head: bytes = b""


@dataclass(frozen=True, slots=True)
class Split:
    """A run of lines: ``start``/``length`` in the content, ``trimmed`` the
    length without trailing newlines (for a header: the last line's terminator
    length), ``lines`` NiFi's ``text.line.count``, and the line carried over to
    the next split because it did not fit (``carry``)."""

    start: int
    length: int
    trimmed: int
    lines: int
    carry: Line | None = None


@dataclass(frozen=True, slots=True)
class SplitPlan:
    """The header (None without one) and the splits of one FlowFile."""

    header: Split | None
    splits: list[Split]


class SplitError(ValueError):
    """The content cannot be split as configured (routed to failure)."""


def scan_lines(chunks: Iterable[bytes], head_size: int = 0) -> Iterator[Line]:
    """The lines of streamed content, split after ``\\r\\n``, ``\\r`` or ``\\n``
    as NiFi's TextLineDemarcator does, with the first ``head_size`` bytes of
    each. Memory is bounded by a chunk plus ``head_size``."""
    carried = 0  # bytes of the unfinished line seen in earlier chunks
    head = b""
    pending_cr = False  # the previous chunk ended with \r: CRLF if this one starts with \n
    for chunk in chunks:
        if not chunk:
            continue
        pos = 0
        if pending_cr:
            pending_cr = False
            if chunk[0] == _LF:
                yield Line(carried + 1, 2, head)
                pos = 1
            else:
                yield Line(carried, 1, head)
            carried, head = 0, b""
        end_of_chunk = len(chunk)
        for match in _EOL.finditer(chunk, pos):
            start, end = match.span()
            if end == end_of_chunk and chunk[start] == _CR and end - start == 1:
                pending_cr = True  # decided by the next chunk
                if head_size and len(head) < head_size:
                    head = (head + chunk[pos:end])[:head_size]
                carried += end - pos
                pos = end
                break
            if head_size and len(head) < head_size:
                head = (head + chunk[pos:end])[:head_size]
            yield Line(carried + end - pos, end - start, head)
            carried, head = 0, b""
            pos = end
        if pos < end_of_chunk:
            if head_size and len(head) < head_size:
                head = (head + chunk[pos:])[:head_size]
            carried += end_of_chunk - pos
    if pending_cr:
        yield Line(carried, 1, head)
    elif carried:
        yield Line(carried, 0, head)


def _header(lines: Iterator[Line], max_lines: int, marker: bytes | None, max_size: int) -> tuple[Split | None,
                                                                                                   Line | None]:
    """The header split, and the first non-header line read when a marker decides."""
    length = count = last_crlf = 0
    for line in lines:
        if marker is not None and line.head != marker:
            return (Split(0, length, last_crlf, count) if count else None), line
        if length + line.length > max_size:
            raise SplitError(f"the header is larger than the Maximum Fragment Size of {max_size} bytes")
        length += line.length
        last_crlf = line.crlf
        count += 1
        if count == max_lines:
            break
    return (Split(0, length, last_crlf, count) if count else None), None


def _next_split(lines: Iterator[Line], start: int, max_lines: int, max_size: int, carry: Line | None,
                header_length: int) -> Split | None:
    """NiFi's SplitText.nextSplit, except that the newline trimmed is the one of
    the split's own last line (see the class docstring)."""
    length = trailing_crlf = trailing_lines = count = last_crlf = 0
    if carry is not None:
        length, count, last_crlf = carry.length, 1, carry.crlf
    carried: Line | None = None
    for line in lines:
        if length + line.length + header_length > max_size:
            if length == 0:  # a line longer than the limit is a split of its own
                length, count, last_crlf = line.length, 1, line.crlf
            else:
                carried = line
            break
        if line.length == line.crlf:
            trailing_crlf += line.crlf
            trailing_lines += 1
        else:
            trailing_crlf = 0  # as NiFi: the empty-line count is not reset (text.line.count)
        length += line.length
        last_crlf = line.crlf
        count += 1
        if 0 < max_lines <= count:
            break
    if count == 0:
        return None
    if length - trailing_crlf >= last_crlf:
        trailing_crlf += last_crlf
    return Split(start, length, length - trailing_crlf, count - trailing_lines, carried)


def plan_splits(chunks: Iterable[bytes], *, line_count: int, max_size: int | None = None,
                header_lines: int = 0, header_marker: bytes | None = None) -> SplitPlan:
    """Where each split of streamed content starts and ends (offsets only, no
    content is kept). Raises ``SplitError`` for too few header lines or a
    header larger than ``max_size``."""
    limit = max_size if max_size is not None else 1 << 62
    marker = header_marker if header_lines == 0 else None
    lines = iter(scan_lines(chunks, len(marker) if marker else 0))
    header: Split | None = None
    carry: Line | None = None
    if header_lines > 0 or marker is not None:
        header, carry = _header(lines, header_lines if header_lines > 0 else 1 << 62, marker, limit)
        if header_lines > 0 and header is not None and header.lines < header_lines:
            raise SplitError(f"it has {header.lines} line(s), fewer than the {header_lines} header lines required")
    start = header_length = header.length if header is not None else 0
    splits: list[Split] = []
    while (split := _next_split(lines, start, line_count, limit, carry, header_length)) is not None:
        splits.append(split)
        start += split.length
        carry = split.carry
    return SplitPlan(header, splits)


class SplitText(Processor):
    """Splits text on line boundaries into splits of at most Line Split Count
    lines and/or Maximum Fragment Size bytes (whichever comes first), each
    starting with the header lines, as NiFi's SplitText.

    Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r``. The content is scanned
    as a stream and only offsets are kept; a split without header is a
    zero-copy slice of the original's content (``session.clone`` with an
    offset), a split with a header is written as header + slice. With Remove
    Trailing Newlines, trailing empty lines and the last newline are cut from
    each split and a split left empty is not emitted (``fragment.count`` counts
    the emitted ones); a split that would hold only the header holds the header
    without its last newline. Empty content yields no split; the original
    always goes to ``original`` with ``fragment.identifier`` and
    ``fragment.count``. ``text.line.count`` is NiFi's: the lines of the split
    minus the empty lines in it.

    Too few header lines for Header Line Count, or a header larger than
    Maximum Fragment Size, sends the original to ``failure`` (logged).

    Differences from NiFi: the newline removed from a split is the one of its
    own last line (NiFi takes the terminator length of the line carried over
    to the next split, so a split before a last line without newline, and a
    final split made only of a carried-over line, kept their newline); when
    Header Line Marker Characters are set and the first line does not start
    with them, that line is the first line of the first split (NiFi lost it
    and shifted the splits); a line shorter than the marker simply does not
    match (NiFi failed with an index error); a header-only split of a file
    with nothing after the header also gets ``fragment.count`` (1).
    """

    spec = ProcessorSpec(
        description=(
            "Cuts text FlowFiles into pieces at line ends, each holding at most a number of lines or bytes, "
            "optionally each starting with the header lines."
        ),
        tags=("split", "text"),
        properties=(LINE_SPLIT_COUNT, FRAGMENT_MAX_SIZE, HEADER_LINE_COUNT, HEADER_MARKER, REMOVE_TRAILING_NEWLINES),
        relationships=(ORIGINAL, SPLITS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (SPLIT_LINE_COUNT, "How many non-empty lines of the original this split holds, header excluded."),
            (FRAGMENT_SIZE, "The size of this split in bytes, header included."),
            (FRAGMENT_ID, "The same random UUID for every split of one original (also set on the original)."),
            (FRAGMENT_INDEX, "The position of this split among the splits of its original, from 1."),
            (FRAGMENT_COUNT, "The number of splits of the original (also set on the original)."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the original FlowFile."),
        ),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Line Split Count 0 needs Maximum Fragment Size."""
        count = context.property(LINE_SPLIT_COUNT)
        if count.is_set and count.as_str().strip() == "0" and not context.property(FRAGMENT_MAX_SIZE).is_set:
            return (ValidationResult(FRAGMENT_MAX_SIZE.display_name,
                                     "Property must be specified when Line Split Count is 0", FRAGMENT_MAX_SIZE.key),)
        return ()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Split one FlowFile."""
        source = session.get()
        if source is None:
            return
        max_size = context.property(FRAGMENT_MAX_SIZE)
        marker = context.property(HEADER_MARKER)
        try:
            plan = plan_splits(
                session.iter_content(source),
                line_count=context.property(LINE_SPLIT_COUNT).as_int(),
                max_size=max_size.as_data_size() if max_size.is_set else None,
                header_lines=context.property(HEADER_LINE_COUNT).as_int(),
                header_marker=marker.as_str().encode("utf-8") if marker.is_set else None,
            )
        except SplitError as exc:
            context.logger.error(f"cannot split {source!r}: {exc}; routing it to failure")
            session.transfer(source, FAILURE)
            return
        fragment_id = str(uuid.uuid4())
        splits = self._emit(session, source, plan, context.property(REMOVE_TRAILING_NEWLINES).as_bool(), fragment_id)
        session.transfer(mark_original(session, source, fragment_id, len(splits)), ORIGINAL)
        session.transfer_all(splits, SPLITS)
        context.logger.debug(f"split {source!r} into {len(splits)} FlowFile(s)")

    @staticmethod
    def _emit(session: ProcessSession, source: FlowFile, plan: SplitPlan, trim: bool,
              fragment_id: str) -> list[FlowFile]:
        header = plan.header
        header_bytes = b""
        if header is not None:
            piece = session.clone(source, 0, header.length)
            header_bytes = session.read_bytes(piece)
            session.remove(piece)
        # (start, length, lines, with header) of each split that is emitted
        chosen: list[tuple[int, int, int, bool]] = []
        if header is not None and not plan.splits:
            chosen.append((0, header.length - header.trimmed, 0, False))
        for split in plan.splits:
            length = split.trimmed if trim else split.length
            if length > 0:
                chosen.append((split.start, length, split.lines, header is not None))
            elif header is not None:
                chosen.append((0, header.length - header.trimmed, split.lines, False))
        common = {
            FRAGMENT_ID: fragment_id,
            FRAGMENT_COUNT: str(len(chosen)),
            SEGMENT_ORIGINAL_FILENAME: source.get_attribute("filename") or "",
        }
        out: list[FlowFile] = []
        for index, (start, length, lines, with_header) in enumerate(chosen, 1):
            if with_header:
                body = session.clone(source, start, length)
                split_ff = session.create(source)
                split_ff = session.write(split_ff, chain((header_bytes,), session.iter_content(body)))
                session.remove(body)
            else:
                split_ff = session.clone(source, start, length)
            out.append(session.put_attributes(split_ff, {
                **common, SPLIT_LINE_COUNT: str(lines), FRAGMENT_SIZE: str(split_ff.size),
                FRAGMENT_INDEX: str(index),
            }))
        return out
