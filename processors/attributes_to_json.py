"""AttributesToJSON: a JSON object of a FlowFile's attributes, to an attribute or the content."""

from __future__ import annotations

from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._java_regex import compile_java, java_regex_problem
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
        "Comma separated list of attributes to be included in the resulting JSON. If this value is left empty then "
        "all existing Attributes will be included. This list of attributes is case sensitive. If an attribute "
        "specified in the list is not found it will be be emitted to the resulting JSON with an empty string or NULL "
        "value."
    ),
    validator=validators.NON_EMPTY,
)
ATTRIBUTES_REGEX = PropertySpec(
    key="attributes-regular-expression",
    display_name="Attributes Regular Expression",
    description=(
        "Regular expression that will be evaluated against the flow file attributes to select the matching "
        "attributes. This property can be used in combination with the attributes list property."
    ),
    validator=validators.all_of(JAVA_REGEX, validators.NON_EMPTY),
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("attributes-to-json-regex",),
)
DESTINATION = PropertySpec(
    key="destination",
    display_name="Destination",
    description=(
        f"Control if JSON value is written as a new flowfile attribute '{JSON_ATTRIBUTE_NAME}' or written in the "
        "flowfile content. Writing to flowfile content will overwrite any existing flowfile content."
    ),
    required=True,
    default=DESTINATION_ATTRIBUTE,
    allowed_values=(AllowableValue(DESTINATION_ATTRIBUTE), AllowableValue(DESTINATION_CONTENT)),
)
INCLUDE_CORE_ATTRIBUTES = boolean_property(
    "include-core-attributes", "Include Core Attributes",
    "Determines if the FlowFile org.apache.nifi.flowfile.attributes.CoreAttributes which are contained in every "
    "FlowFile should be included in the final JSON value generated.",
    "true",
)
NULL_VALUE = boolean_property(
    "null-value", "Null Value",
    "If true a non existing selected attribute will be NULL in the resulting JSON. If false an empty string will be "
    "placed in the JSON",
    "false",
)
JSON_HANDLING_STRATEGY = PropertySpec(
    key="json-handling-strategy",
    display_name="JSON Handling Strategy",
    description="Strategy to use for handling attributes which contain nested JSON.",
    required=True,
    default=ESCAPED,
    allowed_values=(
        AllowableValue(ESCAPED, "Escaped", "Escapes JSON attribute values to strings"),
        AllowableValue(NESTED, "Nested", "Handles JSON attribute values as nested structured objects or arrays"),
    ),
)
PRETTY_PRINT = boolean_property(
    "pretty-print", "Pretty Print", "Apply pretty print formatting to the output.", "false",
    dependencies=(PropertyDependency(DESTINATION.key, (DESTINATION_CONTENT,)),),
)

SUCCESS = Relationship("success", "Successfully converted attributes to JSON")
FAILURE = Relationship("failure", "Failed to convert attributes to JSON")


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
            "Generates a JSON representation of the input FlowFile Attributes. The resulting JSON can be written to "
            "either a new Attribute 'JSONAttributes' or written to the FlowFile as content. Attributes  which "
            "contain nested JSON objects can either be handled as JSON or as escaped JSON depending on the strategy "
            "chosen."
        ),
        tags=("json", "attributes", "flowfile"),
        properties=(ATTRIBUTES_LIST, ATTRIBUTES_REGEX, DESTINATION, INCLUDE_CORE_ATTRIBUTES, NULL_VALUE,
                    JSON_HANDLING_STRATEGY, PRETTY_PRINT),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((JSON_ATTRIBUTE_NAME, "JSON representation of Attributes"),),
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
