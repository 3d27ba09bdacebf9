"""DuplicateFlowFile: send each FlowFile on with a number of copies (load testing)."""

from __future__ import annotations

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

__all__ = ["COPY_INDEX", "DuplicateFlowFile"]

COPY_INDEX = "copy.index"

# NiFi reads the value with asInteger() (Integer.parseInt): anything beyond a Java int is no number.
_JAVA_INT_MIN, _JAVA_INT_MAX = -(2**31), 2**31 - 1

SUCCESS = Relationship("success", "Each incoming FlowFile together with its copies.")

NUMBER_OF_COPIES = PropertySpec(
    key="number-of-copies",
    display_name="Number of Copies",
    description="The number of copies added for each FlowFile (the original is not counted).",
    required=True,
    default="100",
    validator=validators.NON_NEGATIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


class DuplicateFlowFile(Processor):
    """Sends each FlowFile to ``success`` together with Number of Copies
    copies of it, as NiFi's DuplicateFlowFile (meant for load testing).

    The copies share the original's content (no bytes are copied) and come
    first; ``copy.index`` is 1, 2, ... on the copies and 0 on the original.
    Number of Copies is evaluated for each FlowFile; a value that is not a
    whole number within a Java int (NiFi's ``asInteger()`` fails on it, e.g.
    an attribute holding 10^30) leaves the FlowFile on its queue, penalized,
    with an error naming the property and the value logged (NiFi rolls the
    session back); a negative number makes no copies, as in NiFi.

    Differences from NiFi: none known.
    """

    spec = ProcessorSpec(
        description=(
            "Multiplies FlowFiles for load tests: each FlowFile leaves with a set number of identical copies, "
            "numbered in copy.index."
        ),
        tags=("test", "load", "duplicate"),
        properties=(NUMBER_OF_COPIES,),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((COPY_INDEX, "0 on the original, then 1, 2, ... on the copies."),),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Duplicate one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        try:
            copies = context.property(NUMBER_OF_COPIES).evaluate(ff.attributes).as_int()
            if not _JAVA_INT_MIN <= copies <= _JAVA_INT_MAX:
                raise ValueError(f"Number of Copies {copies} is not an integer between {_JAVA_INT_MIN} and "
                                 f"{_JAVA_INT_MAX}")
        except ValueError as exc:  # a failing expression as well (ExpressionError is a ValueError)
            context.logger.error(
                f"invalid Number of Copies for {ff!r}: {exc}; penalizing it and returning it to its queue")
            session.transfer(session.penalize(ff))
            return
        for index in range(1, copies + 1):
            session.transfer(session.put_attribute(session.clone(ff), COPY_INDEX, str(index)), SUCCESS)
        session.transfer(session.put_attribute(ff, COPY_INDEX, "0"), SUCCESS)
