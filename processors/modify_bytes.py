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

SUCCESS = Relationship("success", "FlowFiles with the bytes cut off.")

START_OFFSET = PropertySpec(
    key="start-offset",
    display_name="Start Offset",
    description="How many bytes to cut off the front of the content, e.g. '10 B'.",
    required=True,
    default="0 B",
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
END_OFFSET = PropertySpec(
    key="end-offset",
    display_name="End Offset",
    description="How many bytes to cut off the back of the content, e.g. '10 B'.",
    required=True,
    default="0 B",
    validator=validators.DATA_SIZE,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
REMOVE_ALL = boolean_property(
    "remove-all-content", "Remove All Content",
    "Whether to empty the content entirely; when true the offsets are not used.", "false",
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
        description="Cuts a number of bytes off the front and back of the content of FlowFiles, or empties it.",
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
