"""SegmentContent: cut content into segments of a fixed size, for MergeContent's Defragment to rebuild."""

from __future__ import annotations

import uuid

from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    SEGMENT_ORIGINAL_FILENAME,
    mark_original,
)
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    parse_data_size,
    validators,
)

__all__ = ["SegmentContent"]

SEGMENTS = Relationship(
    "segments",
    "The pieces of each FlowFile; one no larger than the Segment Size is its own single piece, a copy of it.",
)
ORIGINAL = Relationship("original", "The incoming FlowFile, once cut.")

SEGMENT_SIZE = PropertySpec(
    key="segment-size",
    display_name="Segment Size",
    description="The size of each piece, e.g. '1 MB'; the last piece may be smaller.",
    required=True,
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


class SegmentContent(Processor):
    """Cuts content into segments of Segment Size bytes (the last one shorter),
    with the fragment attributes MergeContent's Defragment strategy uses to
    put the original back together, as NiFi's SegmentContent.

    Segments are zero-copy slices of the original's content. A FlowFile no
    larger than Segment Size gets the fragment attributes itself (index 1,
    count 1) and goes to ``original``, and a copy goes to ``segments``. A
    Segment Size that evaluates to no valid data size, or to 0, leaves the
    FlowFile on its queue, penalized, with an error logged (NiFi rolls the
    session back).

    Differences from NiFi: a Segment Size of 0 is refused as above (NiFi
    failed with a division by zero).
    """

    spec = ProcessorSpec(
        description=(
            "Cuts the content of FlowFiles into pieces of a fixed size, numbered so that MergeContent's "
            "Defragment can put them back together."
        ),
        tags=("segment", "split", "content"),
        properties=(SEGMENT_SIZE,),
        relationships=(SEGMENTS, ORIGINAL),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (FRAGMENT_ID, "The same random UUID for every segment of one original (also set on the original)."),
            (FRAGMENT_INDEX, "The position of this segment among the segments of its original, from 1."),
            (FRAGMENT_COUNT, "The number of segments of the original (also set on the original)."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the original FlowFile."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Segment one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        try:
            size = parse_data_size(context.property(SEGMENT_SIZE).evaluate(ff.attributes).as_str())
            if size < 1:
                raise ValueError("it must be at least 1 byte")
        except ValueError as exc:
            context.logger.error(f"invalid Segment Size for {ff!r}: {exc}; penalizing it and returning it to its queue")
            session.transfer(session.penalize(ff))
            return
        segment_id = str(uuid.uuid4())
        fragment = {SEGMENT_ORIGINAL_FILENAME: ff.get_attribute("filename") or "", FRAGMENT_ID: segment_id}
        if ff.size <= size:
            ff = session.put_attributes(ff, {**fragment, FRAGMENT_INDEX: "1", FRAGMENT_COUNT: "1"})
            copy = session.clone(ff)
            session.transfer(ff, ORIGINAL)
            session.transfer(copy, SEGMENTS)
            return
        count = -(-ff.size // size)
        fragment[FRAGMENT_COUNT] = str(count)
        for index in range(count):
            offset = index * size
            segment = session.clone(ff, offset, min(size, ff.size - offset))
            session.transfer(session.put_attributes(segment, {**fragment, FRAGMENT_INDEX: str(index + 1)}), SEGMENTS)
        session.transfer(mark_original(session, ff, segment_id, count), ORIGINAL)
        context.logger.debug(f"segmented {ff!r} into {count} segments")
