"""SplitContent: split binary content at each occurrence of a byte sequence."""

from __future__ import annotations

import binascii
import uuid
from collections.abc import Iterable, Iterator

from flowyard.processors._common import boolean_property
from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    SEGMENT_ORIGINAL_FILENAME,
    mark_original,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
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

__all__ = ["SplitContent", "find_sequence", "split_ranges"]

HEXADECIMAL = "Hexadecimal"
TEXT = "Text"
TRAILING = "Trailing"
LEADING = "Leading"

SPLITS = Relationship("splits", "The pieces of content between the byte sequences.")
ORIGINAL = Relationship("original", "The incoming FlowFile, once split.")

FORMAT = PropertySpec(
    key="byte-sequence-format",
    display_name="Byte Sequence Format",
    description="How the Byte Sequence is written.",
    required=True,
    default=HEXADECIMAL,
    allowed_values=(
        AllowableValue(HEXADECIMAL, HEXADECIMAL, "Two hexadecimal digits per byte, e.g. 0D0A."),
        AllowableValue(TEXT, TEXT, "Text, whose UTF-8 bytes are searched for."),
    ),
)
BYTE_SEQUENCE = PropertySpec(
    key="byte-sequence",
    display_name="Byte Sequence",
    description="The bytes at which the content is cut, written as the Byte Sequence Format says.",
    required=True,
    validator=validators.NON_EMPTY,
)
KEEP_SEQUENCE = boolean_property(
    "keep-byte-sequence", "Keep Byte Sequence", "Whether the splits keep the Byte Sequence or it is dropped.",
    "false",
)
LOCATION = PropertySpec(
    key="byte-sequence-location",
    display_name="Byte Sequence Location",
    description=(
        "Which split a kept Byte Sequence belongs to: the one it ends or the one it starts."
    ),
    required=True,
    default=TRAILING,
    allowed_values=(
        AllowableValue(TRAILING, TRAILING, "The sequence is the last bytes of the split before it."),
        AllowableValue(LEADING, LEADING, "The sequence is the first bytes of the split after it."),
    ),
)


def _sequence(format_: str, text: str) -> bytes:
    """The bytes to split at; raises ``ValueError`` for a bad hexadecimal string."""
    if format_ == HEXADECIMAL:
        try:
            return binascii.unhexlify(text.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("Not a valid Hex String") from None
    return text.encode("utf-8")


def find_sequence(chunks: Iterable[bytes], sequence: bytes) -> Iterator[int]:
    """The end offsets of the non-overlapping occurrences of ``sequence`` in
    streamed content, leftmost first (NiFi restarts the search after each
    match). Keeps at most a chunk plus ``len(sequence) - 1`` bytes."""
    n = len(sequence)
    base = 0  # offset of buffer[0] in the content
    buffer = b""
    for chunk in chunks:
        buffer = buffer + chunk if buffer else chunk
        pos = 0
        while (found := buffer.find(sequence, pos)) >= 0:
            pos = found + n
            yield base + pos
        keep = max(pos, len(buffer) - (n - 1))
        base += keep
        buffer = buffer[keep:]


def split_ranges(ends: Iterable[int], size: int, sequence_length: int, *, keep: bool,
                 leading: bool) -> list[tuple[int, int]]:
    """The (offset, length) of each split, as NiFi's SplitContent cuts them:
    empty ones are dropped, and without any occurrence the whole content is
    one split."""
    trailing_kept = keep and not leading
    leading_kept = keep and leading
    ranges: list[tuple[int, int]] = []
    start = 0
    last_end = -1
    matched = False
    for end in ends:
        matched = True
        length = end - start if trailing_kept else end - start - sequence_length
        offset = start
        if leading_kept and start > 0:
            length += sequence_length
            offset = start - sequence_length
        if length > 0:
            ranges.append((offset, length))
        last_end = offset + length
        start = end
    if not matched:
        return [(0, size)]
    final = last_end if keep else last_end + sequence_length
    if -1 < final < size:
        ranges.append((final, size - final))
    return ranges


class SplitContent(Processor):
    """Splits content at every occurrence of a byte sequence, given as
    hexadecimal (e.g. ``0D0A``) or as UTF-8 text, as NiFi's SplitContent.

    Occurrences do not overlap (the search restarts after each one). The
    sequence is dropped, or kept at the end of the split before it
    ('Trailing') or at the start of the split after it ('Leading'). Empty
    splits (adjacent sequences, a sequence at either end) are not emitted.
    Content without the sequence (and empty content) goes to ``splits``
    whole, as one split. Splits are zero-copy slices of the original's
    content; the content is scanned as a stream. The original goes to
    ``original`` with ``fragment.identifier`` and ``fragment.count``.

    Differences from NiFi: none known.
    """

    spec = ProcessorSpec(
        description="Cuts the content of FlowFiles into pieces wherever a given sequence of bytes occurs.",
        tags=("content", "split", "binary"),
        properties=(FORMAT, BYTE_SEQUENCE, KEEP_SEQUENCE, LOCATION),
        relationships=(SPLITS, ORIGINAL),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (FRAGMENT_ID, "The same random UUID for every split of one original (also set on the original)."),
            (FRAGMENT_INDEX, "The position of this split among the splits of its original, from 1."),
            (FRAGMENT_COUNT, "The number of splits of the original (also set on the original)."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the original FlowFile."),
        ),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """A hexadecimal Byte Sequence must be valid hexadecimal."""
        raw = context.property(BYTE_SEQUENCE)
        if context.property(FORMAT).as_str() != HEXADECIMAL or not raw.is_set:
            return ()
        try:
            _sequence(HEXADECIMAL, raw.as_str())
        except ValueError as exc:
            return (ValidationResult(BYTE_SEQUENCE.display_name, str(exc), BYTE_SEQUENCE.key),)
        return ()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Split one FlowFile."""
        source = session.get()
        if source is None:
            return
        try:
            sequence = _sequence(context.property(FORMAT).as_str(), context.property(BYTE_SEQUENCE).as_str())
        except ValueError as exc:
            raise ConfigurationError(f"Byte Sequence: {exc}") from None
        keep = context.property(KEEP_SEQUENCE).as_bool()
        leading = context.property(LOCATION).as_str() == LEADING
        ranges = split_ranges(find_sequence(session.iter_content(source), sequence), source.size, len(sequence),
                              keep=keep, leading=leading)
        fragment_id = str(uuid.uuid4())
        common = {
            FRAGMENT_ID: fragment_id,
            FRAGMENT_COUNT: str(len(ranges)),
            SEGMENT_ORIGINAL_FILENAME: source.get_attribute("filename") or "",
        }
        splits = [
            session.put_attributes(session.clone(source, offset, length), {**common, FRAGMENT_INDEX: str(index)})
            for index, (offset, length) in enumerate(ranges, 1)
        ]
        session.transfer_all(splits, SPLITS)
        session.transfer(mark_original(session, source, fragment_id, len(splits)), ORIGINAL)
        context.logger.debug(f"split {source!r} into {len(splits)} FlowFile(s)")
