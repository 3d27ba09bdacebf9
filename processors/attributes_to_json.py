"""AttributesToJSON: a JSON object of a FlowFile's attributes, to an attribute or the content."""

from __future__ import annotations

from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._json_common import CORE_ATTRIBUTES
from flowyard.processors._json_text import JsonTextError, parse_jackson, to_json
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    validators,
)
from flowyard.runtime.sdk.javaregex import compile_java, java_regex_problem

__all__ = ["AttributesToJSON"]

JAVA_REGEX = validators.Validator(
    "Java regex", "a Java regular expression", lambda value: java_regex_problem(value)
)

_BATCH = 100
JSON_ATTRIBUTE_NAME = "JSONAttributes"
DESTINATION_ATTRIBUTE = "flowfile-attribute"
DESTINATION_CONTENT = "flowfile-content"
ESCAPED = "ESCAPED"
NESTED = "NESTED"

ATTRIBUTES_LIST = PropertySpec(
    key="attributes-list",
    display_name="Attributes List",
    description=(
        "The names of the attributes to write, separated by commas (case matters). A listed attribute the FlowFile "
        "lacks is written as an empty string, or as null with Null Value. When neither this nor the Attributes "
        "Regular Expression is set, all attributes are written."
    ),
    validator=validators.NON_EMPTY,
)
ATTRIBUTES_REGEX = PropertySpec(
    key="attributes-regular-expression",
    display_name="Attributes Regular Expression",
    description=(
        "A (Java) regular expression; attributes whose whole name matches it are written, in addition to those "
        "of the Attributes List."
    ),
    validator=validators.all_of(JAVA_REGEX, validators.NON_EMPTY),
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("attributes-to-json-regex",),
)
DESTINATION = PropertySpec(
    key="destination",
    display_name="Destination",
    description=(
        f"Whether the JSON goes to the '{JSON_ATTRIBUTE_NAME}' attribute or replaces the content of the FlowFile."
    ),
    required=True,
    default=DESTINATION_ATTRIBUTE,
    allowed_values=(AllowableValue(DESTINATION_ATTRIBUTE), AllowableValue(DESTINATION_CONTENT)),
)
INCLUDE_CORE_ATTRIBUTES = boolean_property(
    "include-core-attributes", "Include Core Attributes",
    "Whether the core attributes (filename, path, uuid, mime.type and the like) are written when all attributes "
    "are; ignored when attributes are selected by list or regular expression.",
    "true",
)
NULL_VALUE = boolean_property(
    "null-value", "Null Value",
    "Whether a listed attribute the FlowFile lacks is written as null (true) or as an empty string (false).",
    "false",
)
JSON_HANDLING_STRATEGY = PropertySpec(
    key="json-handling-strategy",
    display_name="JSON Handling Strategy",
    description="How attribute values that hold a JSON object or array are written.",
    required=True,
    default=ESCAPED,
    allowed_values=(
        AllowableValue(ESCAPED, "Escaped", "Every value is written as a JSON string."),
        AllowableValue(NESTED, "Nested", "A value that is a JSON object or array is embedded as JSON."),
    ),
)
PRETTY_PRINT = boolean_property(
    "pretty-print", "Pretty Print", "Whether the JSON written to the content is indented over several lines.", "false",
    dependencies=(PropertyDependency(DESTINATION.key, (DESTINATION_CONTENT,)),),
)

SUCCESS = Relationship("success", "FlowFiles with their attributes written as JSON.")
FAILURE = Relationship("failure", "FlowFiles with a Nested attribute value that is not valid JSON, unchanged.")


class AttributesToJSON(Processor):
    """Writes a JSON object of each FlowFile's attributes to the
    ``JSONAttributes`` attribute or, replacing the content, to the content
    (then ``mime.type`` is ``application/json``).

    Without Attributes List and Attributes Regular Expression every attribute
    is written (the core attributes — filename, path, absolute.path,
    mime.type, priority, uuid, discard.reason, alternate.identifier — only
    when Include Core Attributes is true). With either, only the listed
    attributes (a missing one as ``""``, or ``null`` when Null Value is true)
    and those whose name matches the whole regular expression; Include Core
    Attributes does not apply then, as in NiFi. With JSON Handling Strategy
    'Nested', a value that starts with ``[`` and ends with ``]`` (or ``{`` …
    ``}``) after trimming is embedded as JSON; one that does not parse sends
    the FlowFile to failure unchanged, the logged reason saying what was
    expected (as Jackson's message does). Pretty Print uses Jackson's layout
    (``"key" : value``, two-space indents) and only applies to the content.

    The regular expression is Java's (translated; a feature the translator
    does not support, such as class intersections, makes the property
    invalid).

    Differences from NiFi: listed attributes appear in the order listed
    (NiFi's order is that of a Java HashSet, i.e. arbitrary).
    """

    spec = ProcessorSpec(
        description=(
            "Writes the attributes of FlowFiles as a JSON object, to the JSONAttributes attribute or as the new "
            "content."
        ),
        tags=("json", "attributes", "flowfile"),
        properties=(ATTRIBUTES_LIST, ATTRIBUTES_REGEX, DESTINATION, INCLUDE_CORE_ATTRIBUTES, NULL_VALUE,
                    JSON_HANDLING_STRATEGY, PRETTY_PRINT),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((JSON_ATTRIBUTE_NAME, "The attributes as a JSON object (with the attribute Destination)."),),
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        """Read the configuration once."""
        listed = context.property(ATTRIBUTES_LIST).value
        self._listed: list[str] | None = None
        if listed is not None and listed.strip():
            names = [name.strip() for name in listed.split(",") if name.strip()]
            self._listed = list(dict.fromkeys(names))
        regex = context.property(ATTRIBUTES_REGEX)
        self._pattern = compile_java(regex.evaluate(None).as_str()).regex if regex.value is not None else None
        self._exclude = () if context.property(INCLUDE_CORE_ATTRIBUTES).as_bool() else CORE_ATTRIBUTES
        self._null_value = context.property(NULL_VALUE).as_bool()
        self._to_content = context.property(DESTINATION).as_str() == DESTINATION_CONTENT
        self._pretty = self._to_content and context.property(PRETTY_PRINT).as_bool()
        self._nested = context.property(JSON_HANDLING_STRATEGY).as_str() == NESTED

    def _select(self, ff: FlowFile) -> dict[str, Any]:
        attributes = ff.attributes
        if self._listed is None and self._pattern is None:
            return {k: v for k, v in attributes.items() if k not in self._exclude}
        selected: dict[str, Any] = {}
        for name in self._listed or ():
            value = attributes.get(name)
            selected[name] = value if value is not None or self._null_value else ""
        if self._pattern is not None:
            for name, value in attributes.items():
                if self._pattern.fullmatch(name):
                    selected[name] = value
        return selected

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Convert a batch of FlowFiles."""
        for ff in session.get_batch(_BATCH):
            selected = self._select(ff)
            if self._nested:
                try:
                    selected = {name: _nested(value) for name, value in selected.items()}
                except JsonTextError as exc:
                    context.logger.error(f"an attribute of FlowFile {ff.uuid} is not valid JSON: {exc}")
                    session.transfer(ff, FAILURE.name)
                    continue
            if self._to_content:
                ff = session.write(ff, to_json(selected, pretty=self._pretty).encode("utf-8"))
                ff = session.put_attribute(ff, "mime.type", "application/json")
            else:
                ff = session.put_attribute(ff, JSON_ATTRIBUTE_NAME, to_json(selected))
            session.transfer(ff, SUCCESS.name)


def _nested(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    trimmed = value.strip()
    if (trimmed.startswith("[") and trimmed.endswith("]")) or (trimmed.startswith("{") and trimmed.endswith("}")):
        return parse_jackson(trimmed)
    return value
