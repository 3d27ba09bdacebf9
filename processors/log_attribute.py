"""LogAttribute: write FlowFile attributes (and optionally content) to the log."""

from __future__ import annotations

import codecs
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flowyard.processors._common import boolean_property, log_at
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
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

__all__ = ["LogAttribute"]

_BATCH = 50
_PAYLOAD_LIMIT = 1 << 20
_LINE_PER_ATTRIBUTE = "Line per Attribute"
_SINGLE_LINE = "Single Line"

SUCCESS = Relationship("success", "Every FlowFile goes here after it is logged.")

LOG_LEVEL = PropertySpec(
    key="log-level",
    display_name="Log Level",
    description="The level the attributes are logged at. 'trace' logs at debug (see the notes).",
    required=True,
    default="info",
    allowed_values=tuple(AllowableValue(v) for v in ("trace", "debug", "info", "warn", "error")),
)
LOG_PAYLOAD = boolean_property(
    "log-payload", "Log Payload",
    "Also log the content, decoded with Character Set (content of 1 MB or more is left out).", "false",
)
ATTRIBUTES_TO_LOG = PropertySpec(
    key="attributes-to-log",
    display_name="Attributes to Log",
    description=(
        "Comma-separated attribute names to log. Unset: every attribute. Combined with Attributes to Log "
        "Regular Expression: an attribute is logged only when both allow it."
    ),
    validator=validators.NON_EMPTY,
)
ATTRIBUTES_TO_LOG_REGEX = PropertySpec(
    key="attributes-to-log-regex",
    display_name="Attributes to Log Regular Expression",
    description="Only attributes whose whole name matches this regular expression are logged.",
    default=".*",
    validator=validators.REGEX,
)
ATTRIBUTES_TO_IGNORE = PropertySpec(
    key="attributes-to-ignore",
    display_name="Attributes to Ignore",
    description=(
        "Comma-separated attribute names never to log. An attribute is skipped when this list or Attributes "
        "to Ignore Regular Expression names it."
    ),
    validator=validators.NON_EMPTY,
)
ATTRIBUTES_TO_IGNORE_REGEX = PropertySpec(
    key="attributes-to-ignore-regex",
    display_name="Attributes to Ignore Regular Expression",
    description="Attributes whose whole name matches this regular expression are not logged.",
    validator=validators.REGEX,
)
LOG_FLOWFILE_PROPERTIES = boolean_property(
    "log-flowfile-properties", "Log FlowFile Properties",
    "Also log the entry date, lineage start date and content size.", "true",
)
OUTPUT_FORMAT = PropertySpec(
    key="output-format",
    display_name="Output Format",
    description="How the attributes are laid out in the message.",
    required=True,
    default=_LINE_PER_ATTRIBUTE,
    allowed_values=(
        AllowableValue(_LINE_PER_ATTRIBUTE, description="One line for each name and one for each value."),
        AllowableValue(_SINGLE_LINE, description="All names and values on one line."),
    ),
)
LOG_PREFIX = PropertySpec(
    key="log-prefix",
    display_name="Log Prefix",
    description="Text shown in the separator lines, to tell the output of several LogAttribute processors apart.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("Log prefix",),
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The encoding used to decode the content when Log Payload is true.",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


def _names(text: str | None) -> frozenset[str]:
    if text is None or not text.strip():
        return frozenset()
    return frozenset(name.strip() for name in text.split(","))


@dataclass(frozen=True, slots=True)
class _Selection:
    """Which attributes are logged: allowed by both "to log" settings and
    named by neither "to ignore" setting."""

    wanted: frozenset[str]
    wanted_pattern: re.Pattern[str]
    ignored: frozenset[str]
    ignored_pattern: re.Pattern[str] | None

    @classmethod
    def from_context(cls, context: ProcessContext) -> _Selection:
        wanted_re = context.property(ATTRIBUTES_TO_LOG_REGEX)
        ignored_re = context.property(ATTRIBUTES_TO_IGNORE_REGEX)
        return cls(
            wanted=_names(context.property(ATTRIBUTES_TO_LOG).value),
            wanted_pattern=wanted_re.as_regex() if wanted_re.is_set else re.compile(".*"),
            ignored=_names(context.property(ATTRIBUTES_TO_IGNORE).value),
            ignored_pattern=ignored_re.as_regex() if ignored_re.is_set else None,
        )

    def names(self, attributes: Mapping[str, str]) -> list[str]:
        """The attribute names to log, sorted."""
        return sorted(
            name for name in attributes
            if (not self.wanted or name in self.wanted)
            and self.wanted_pattern.fullmatch(name)
            and name not in self.ignored
            and (self.ignored_pattern is None or not self.ignored_pattern.fullmatch(name))
        )


def _date(epoch_ms: int) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(epoch_ms / 1000))


class LogAttribute(Processor):
    """Logs the attributes of each FlowFile, then sends it to success unchanged.

    The attributes logged are those allowed by both Attributes to Log and its
    regular expression and named by neither ignore setting; regular
    expressions use Python syntax and must match the whole name. A FlowFile
    whose Log Prefix or Character Set cannot be evaluated is penalized and
    returned to its queue.

    Differences from NiFi: Python logging has no TRACE level, so 'trace'
    logs at DEBUG; 'warn' and 'error' also raise bulletins, as every WARNING
    and ERROR of a component does. The Character Set default is UTF-8
    rather than the JVM default.
    """

    spec = ProcessorSpec(
        description="Logs the attributes of FlowFiles, and optionally their content, at the chosen log level.",
        tags=("attributes", "logging"),
        properties=(
            LOG_LEVEL, LOG_PAYLOAD, ATTRIBUTES_TO_LOG, ATTRIBUTES_TO_LOG_REGEX, ATTRIBUTES_TO_IGNORE,
            ATTRIBUTES_TO_IGNORE_REGEX, LOG_FLOWFILE_PROPERTIES, OUTPUT_FORMAT, LOG_PREFIX, CHARACTER_SET,
        ),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.REQUIRED,
        scheduling=SchedulingDefaults(run_duration="25 millis"),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Log a batch of FlowFiles and send them to success."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        level = context.property(LOG_LEVEL).as_str()
        selection = _Selection.from_context(context)
        for ff in batch:
            try:
                message = self.message(context, session, ff, selection)
            except (ValueError, LookupError) as exc:
                context.logger.error(
                    f"cannot log {ff!r}: {exc}; penalizing it and returning it to its queue"
                )
                session.transfer(session.penalize(ff))
                continue
            log_at(context.logger, level, message)
            session.transfer(ff, SUCCESS)

    def message(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, selection: _Selection | None = None
    ) -> str:
        """The text logged for ``ff``. Raises ``ValueError`` or ``LookupError``
        when Log Prefix or Character Set cannot be evaluated or used."""
        selection = selection or _Selection.from_context(context)
        attributes = ff.attributes
        prefix = context.property(LOG_PREFIX).evaluate(attributes).value
        charset = context.property(CHARACTER_SET).evaluate(attributes).as_str()
        codecs.lookup(charset)
        if prefix is None or not prefix.strip():
            dashes = "-" * 50
        else:
            shown = prefix if len(prefix) <= 40 else prefix[:37] + "..."
            dashes = "-" * 5 + shown.center(40, "-") + "-" * 5
        names = selection.names(ff.attributes)
        properties = {
            "entryDate": _date(ff.entry_date),
            "lineageStartDate": _date(ff.lineage_start_date),
            "fileSize": str(ff.size),
        }
        with_properties = context.property(LOG_FLOWFILE_PROPERTIES).as_bool()
        lines = [f"logging for flowfile {ff.uuid}"]
        if context.property(OUTPUT_FORMAT).as_str() == _LINE_PER_ATTRIBUTE:
            lines.append(dashes)
            if with_properties:
                lines.append("FlowFile Properties")
                lines.extend(f"Key: '{k}'\n\tValue: '{v}'" for k, v in properties.items())
            lines.append("FlowFile Attribute Map Content")
            lines.extend(f"Key: '{name}'\n\tValue: '{attributes[name]}'" for name in names)
            lines.append(dashes)
        else:
            shown_map = {name: attributes[name] for name in names}
            if with_properties:
                shown_map.update(properties)
            listed = ", ".join(f"{k}={v}" for k, v in sorted(shown_map.items()))
            lines.append(f"FlowFile Properties: {{{listed}}}")
        if context.property(LOG_PAYLOAD).as_bool():
            if ff.size < _PAYLOAD_LIMIT:
                lines.append(session.read_bytes(ff).decode(charset, errors="replace"))
            else:
                lines.append("(payload not logged: 1 MB or larger)")
        return "\n".join(lines).strip()
