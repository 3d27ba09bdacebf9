"""RetryFlowFile: count the tries of a FlowFile in a retry loop; give up after a maximum."""

from __future__ import annotations

import re

from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
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

__all__ = ["RetryFlowFile", "java_int"]

_BATCH = 100

RETRY = Relationship("retry", "FlowFiles still within the maximum: send them back to try again.")
EXCEEDED = Relationship("retries_exceeded", "FlowFiles that have been tried the maximum number of times.")
FAILURE = Relationship("failure", "FlowFiles whose retry count cannot be used (see Reuse Mode and "
                                  "Fail on Nonnumerical Overwrite).")

RETRY_ATTRIBUTE = PropertySpec(
    key="retry-attribute",
    display_name="Retry Attribute",
    description=("The attribute holding the number of tries; '<name>.uuid' records which RetryFlowFile "
                 "counted them."),
    required=True,
    default="flowfile.retries",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
MAXIMUM_RETRIES = PropertySpec(
    key="maximum-retries",
    display_name="Maximum Retries",
    description="How many times a FlowFile is sent to 'retry' before it goes to 'retries_exceeded'.",
    required=True,
    default="3",
    validator=validators.POSITIVE_INTEGER,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
PENALIZE = PropertySpec(
    key="penalize-retries",
    display_name="Penalize Retries",
    description="Whether a FlowFile sent to 'retry' is penalized (waits its penalty duration).",
    required=True,
    default="true",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
)
FAIL_ON_OVERWRITE = PropertySpec(
    key="fail-on-non-numerical-overwrite",
    display_name="Fail on Nonnumerical Overwrite",
    description=("When the Retry Attribute holds something that is not a number: 'true' routes the FlowFile to "
                 "failure, 'false' starts counting again from zero."),
    required=True,
    default="false",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
    aliases=("Fail on Non-numerical Overwrite",),
)
REUSE_MODE = PropertySpec(
    key="reuse-mode",
    display_name="Reuse Mode",
    description="What to do when the tries were counted by another RetryFlowFile.",
    required=True,
    default="fail",
    allowed_values=(
        AllowableValue("fail", "Fail on Reuse", "Route the FlowFile to failure."),
        AllowableValue("warn", "Warn on Reuse", "Log a warning and start counting again here."),
        AllowableValue("reset", "Reset Reuse", "Start counting again here, silently."),
    ),
)


_JAVA_WHITESPACE = "".join(chr(c) for c in range(33))
"""What Java's ``String.trim()`` strips: every character up to and including the space."""
_JAVA_INT = re.compile(r"[+-]?\d+")


def java_int(text: str) -> int | None:
    """``text`` as Java's ``Integer.valueOf(text.trim())`` reads it, or None where that throws
    NumberFormatException: a sign and decimal digits only, within -2^31 .. 2^31-1."""
    trimmed = text.strip(_JAVA_WHITESPACE)
    if _JAVA_INT.fullmatch(trimmed) is None:
        return None
    number = int(trimmed)
    return number if -(2**31) <= number < 2**31 else None


class RetryFlowFile(Processor):
    """Counts how often a FlowFile passes in the Retry Attribute and sends it to
    'retry' until Maximum Retries, then to 'retries_exceeded' with the dynamic
    properties added as attributes. Put it on the failure path of a processor
    and connect 'retry' back to that processor: a retry loop that ends.

    As in NiFi: the count belongs to this processor ('<Retry Attribute>.uuid'
    holds its id; another RetryFlowFile's count is handled by Reuse Mode); a
    value that is not a number is handled by Fail on Nonnumerical Overwrite.
    Numbers are read as Java reads an int (``Integer.valueOf`` after
    ``trim()``): a count beyond 2147483647 is not a number, so it starts
    again at 1 (or goes to failure). A FlowFile that gives up leaves with the
    Retry Attribute and its '.uuid' removed and every dynamic property whose
    value is not blank added.

    Differences from NiFi: a count of exactly 2147483647 goes to
    'retries_exceeded'; NiFi adds 1 in a Java int, which wraps to
    -2147483648 and sends it round the loop again.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Counts the tries of a FlowFile in a retry loop and gives up after a maximum.",
        tags=("Retry", "FlowFile"),
        properties=(RETRY_ATTRIBUTE, MAXIMUM_RETRIES, PENALIZE, FAIL_ON_OVERWRITE, REUSE_MODE),
        relationships=(RETRY, EXCEEDED, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="An attribute to set on FlowFiles that exceed the retries",
            value_description="Its value",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(("Retry Attribute", "The number of tries so far."),),
        writes_attributes=(("Retry Attribute", "The number of tries so far."),
                           ("Retry Attribute.uuid", "The id of the RetryFlowFile that counted them.")),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        name = context.property(RETRY_ATTRIBUTE).evaluate().as_str()
        owner_key = f"{name}.uuid"
        penalize = context.property(PENALIZE).as_str() == "true"
        fail_on_text = context.property(FAIL_ON_OVERWRITE).as_str() == "true"
        reuse = context.property(REUSE_MODE).as_str()
        me = context.component_id
        for ff in batch:
            attributes = ff.attributes
            text = attributes.get(name)
            if text is None:
                count = 1
            else:
                previous = java_int(text)
                if previous is None:
                    if fail_on_text:
                        context.logger.error(f"{ff!r}: '{name}' is {text[:40]!r}, not a number (a Java int); "
                                             "routing to failure (Fail on Nonnumerical Overwrite)")
                        session.transfer(ff, FAILURE)
                        continue
                    count = 1
                else:
                    count = previous + 1  # 2147483647 + 1: beyond any Maximum Retries (NiFi wraps to negative)
            owner = attributes.get(owner_key)
            if owner is not None and owner.strip() and owner != me:
                if reuse == "fail":
                    context.logger.error(f"{ff!r} was counted by another RetryFlowFile ({owner}); "
                                         "routing to failure (Reuse Mode)")
                    session.transfer(ff, FAILURE)
                    continue
                if reuse == "warn":
                    context.logger.warning(f"{ff!r} was counted by another RetryFlowFile ({owner}); counting again")
                count = 1
            try:
                maximum_text = context.property(MAXIMUM_RETRIES).evaluate(attributes).as_str()
            except ValueError as exc:  # a failing expression
                context.logger.error(f"Maximum Retries for {ff!r}: {exc}; routing to failure")
                session.transfer(ff, FAILURE)
                continue
            maximum = java_int(maximum_text)
            if maximum is None:
                context.logger.error(f"Maximum Retries for {ff!r} is {maximum_text[:40]!r}, not a number (a Java "
                                     "int); routing to failure")
                session.transfer(ff, FAILURE)
                continue
            if count > maximum:
                extra = {key: value.evaluate(attributes).as_str()
                         for key, value in context.dynamic_properties.items()}
                ff = session.remove_attributes(ff, (name, owner_key))
                extra = {key: value for key, value in extra.items() if value.strip()}
                if extra:
                    ff = session.put_attributes(ff, extra)
                session.transfer(ff, EXCEEDED)
                continue
            ff = session.put_attributes(ff, {name: str(count), owner_key: me})
            if penalize:
                ff = session.penalize(ff)
            session.transfer(ff, RETRY)
