"""ModifyBytes: discard bytes at the start and end of the content, or all of it."""

from __future__ import annotations

from flowyard.processors._common import boolean_property
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ModifyBytes"]

_BATCH = 50

SUCCESS = Relationship("success", "Processed FlowFiles.")

START_OFFSET = PropertySpec(
    key="start-offset",
    display_name="Start Offset",
    description="Number of bytes removed at the beginning of the file, e.g. '10 B'.",
    required=True,
    default="0 B",
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
END_OFFSET = PropertySpec(
    key="end-offset",
    display_name="End Offset",
    description="Number of bytes removed at the end of the file, e.g. '10 B'.",
    required=True,
    default="0 B",
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
REMOVE_ALL = boolean_property(
    "remove-all-content", "Remove All Content",
    "Remove all content from the FlowFile, superseding Start Offset and End Offset.", "false",
)


class ModifyBytes(Processor):
    """Removes Start Offset bytes from the beginning and End Offset bytes from
    the end of the content (or all of it), as NiFi's ModifyBytes.

    Offsets are data sizes (``10 B``, ``1 KB`` = 1024 bytes). When the offsets
    cover the whole content the result is empty. The kept range is streamed
    into the new content, never loaded whole. Offsets that evaluate to no valid
    data size leave the FlowFile on its queue, penalized, with an error logged
    (NiFi rolls the session back).

    Differences from NiFi: none known.
    """

    spec = ProcessorSpec(
        description="Discards a byte range at the start and end, or all content, of a binary file.",
        tags=("binary", "discard", "keep"),
        properties=(START_OFFSET, END_OFFSET, REMOVE_ALL),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Trim a batch of FlowFiles."""
        remove_all = context.property(REMOVE_ALL).as_bool()
        for ff in session.get_batch(_BATCH):
            try:
                start = context.property(START_OFFSET).evaluate(ff.attributes).as_data_size()
                end = context.property(END_OFFSET).evaluate(ff.attributes).as_data_size()
            except ValueError as exc:
                context.logger.error(f"invalid offset for {ff!r}: {exc}; penalizing it and returning it to its queue")
                session.transfer(session.penalize(ff))
                continue
            size = 0 if remove_all else ff.size - start - end
            if size <= 0:
                ff = session.write(ff, b"")
            else:
                kept = session.clone(ff, start, size)
                ff = session.write(ff, session.iter_content(kept))
                session.remove(kept)
            session.transfer(ff, SUCCESS)
