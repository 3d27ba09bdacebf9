"""LogMessage: write a configured message to the log for each FlowFile."""

from __future__ import annotations

from flowyard.processors._common import log_at
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    SchedulingDefaults,
    validators,
)

__all__ = ["LogMessage"]

_BATCH = 50
_LEVELS = ("trace", "debug", "info", "warn", "error")

SUCCESS = Relationship("success", "Every FlowFile goes here after the message is logged.")

LOG_LEVEL = PropertySpec(
    key="log-level",
    display_name="Log Level",
    description="The level to log at: trace, debug, info, warn or error (any case). 'trace' logs at debug.",
    required=True,
    default="info",
    validator=validators.one_of_values(_LEVELS, case_sensitive=False),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
LOG_PREFIX = PropertySpec(
    key="log-prefix",
    display_name="Log Prefix",
    description="Text put in front of the message, to tell the output of several LogMessage processors apart.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Log prefix",),
)
LOG_MESSAGE = PropertySpec(
    key="log-message",
    display_name="Log Message",
    description="The message to log.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Log message",),
)


class LogMessage(Processor):
    """Logs Log Prefix followed by Log Message for each FlowFile, then sends the
    FlowFile to success unchanged.

    All three properties are evaluated against each FlowFile. A FlowFile whose
    level evaluates to something other than trace, debug, info, warn or error
    (or whose properties cannot be evaluated) is penalized and returned to
    its queue with an error logged.

    Differences from NiFi: 'trace' logs at DEBUG (Python logging has no
    TRACE), and a literal level is checked when the processor is configured.
    NiFi 2.0 showed 'Log prefix' and 'Log message'; later 2.x releases (and
    flowyard) show 'Log Prefix' and 'Log Message'; every spelling is accepted.
    """

    blocking = False
    spec = ProcessorSpec(
        description="Logs a message, built from FlowFile attributes if wanted, at the chosen log level.",
        tags=("attributes", "logging"),
        properties=(LOG_LEVEL, LOG_PREFIX, LOG_MESSAGE),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Log a message for each FlowFile of a batch and send them to success."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        level_value, prefix_value, message_value = (
            context.property(LOG_LEVEL), context.property(LOG_PREFIX), context.property(LOG_MESSAGE),
        )
        for ff in batch:
            attributes = ff.attributes
            try:
                level = level_value.evaluate(attributes).as_str().strip().lower()
                if level not in _LEVELS:
                    raise ValueError(f"{level!r} is not one of {', '.join(_LEVELS)}")
                prefix = prefix_value.evaluate(attributes).value or ""
                message = message_value.evaluate(attributes).value or ""
            except ValueError as exc:
                context.logger.error(
                    f"cannot log a message for {ff!r}: {exc}; penalizing it and returning it to its queue"
                )
                session.transfer(session.penalize(ff))
                continue
            log_at(context.logger, level, f"{prefix}{message}" if prefix.strip() else message)
            session.transfer(ff, SUCCESS)
