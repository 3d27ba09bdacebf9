"""AttributesToCSV: a CSV line of a FlowFile's attributes, to an attribute or the content."""

from __future__ import annotations

import re

from flowyard.processors._common import boolean_property
from flowyard.processors._json_common import CORE_ATTRIBUTES
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
    validators,
)
from flowyard.runtime.sdk.javaregex import JavaRegexError, compile_java, java_regex_problem

__all__ = ["AttributesToCSV", "escape_csv", "split_attribute_list"]

JAVA_REGEX = validators.Validator(
    "Java regex", "a Java regular expression", lambda value: java_regex_problem(value)
)

_BATCH = 100
DATA_ATTRIBUTE_NAME = "CSVData"
SCHEMA_ATTRIBUTE_NAME = "CSVSchema"
DESTINATION_ATTRIBUTE = "flowfile-attribute"
DESTINATION_CONTENT = "flowfile-content"

ATTRIBUTES_LIST = PropertySpec(
    key="attribute-list",
    display_name="Attribute List",
    description=(
        "The names of the attributes to write, separated by commas (case matters; a name in double quotes may "
        "hold commas). A listed attribute that is missing or empty is written as Null Value says. A listed core "
        "attribute is written even when Include Core Attributes is false. When neither this nor the Attributes "
        "Regular Expression is set, all attributes are written."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
ATTRIBUTES_REGEX = PropertySpec(
    key="attributes-regex",
    display_name="Attributes Regular Expression",
    description=(
        "A (Java) regular expression; attributes whose whole name matches it are written, in addition to those "
        "of the Attribute List."
    ),
    validator=validators.all_of(JAVA_REGEX, validators.NON_EMPTY),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
DESTINATION = PropertySpec(
    key="destination",
    display_name="Destination",
    description="Whether the CSV goes to the 'CSVData' attribute or replaces the content of the FlowFile.",
    required=True,
    default=DESTINATION_ATTRIBUTE,
    allowed_values=(
        AllowableValue(DESTINATION_ATTRIBUTE, DESTINATION_ATTRIBUTE,
                       "The CSV line is written to the 'CSVData' attribute (the names to 'CSVSchema'); the content "
                       "stays as it is."),
        AllowableValue(DESTINATION_CONTENT, DESTINATION_CONTENT,
                       "The CSV replaces the content of the FlowFile (the names as a first line with Include "
                       "Schema); no 'CSVData' attribute is written."),
    ),
)
INCLUDE_CORE_ATTRIBUTES = boolean_property(
    "include-core-attributes", "Include Core Attributes",
    "Whether the core attributes (filename, path, uuid, mime.type and the like) the FlowFile has are written, "
    "after the others. When false, only those named in the Attribute List are written.",
    "true",
)
NULL_VALUE = boolean_property(
    "null-value", "Null Value",
    "Whether a listed attribute that is missing or empty is written as 'null' (true) or as an empty value (false).",
    "false",
)
INCLUDE_SCHEMA = boolean_property(
    "include-schema", "Include Schema",
    "Whether the attribute names are written too, as a CSV line: to the 'CSVSchema' attribute, or as the first "
    "line of the content, by Destination.",
    "false",
)

SUCCESS = Relationship("success", "FlowFiles with their attributes written as CSV.")
FAILURE = Relationship("failure", "FlowFiles for which the Attribute List or the regular expression cannot be "
                                  "evaluated, unchanged.")

_CORE_APPEND_ORDER = ("absolute.path", "path", "discard.reason", "filename", "alternate.identifier", "mime.type",
                      "priority", "uuid")
"""The core attributes in the order NiFi appends them: the iteration order of the Java ``HashSet`` of
``CoreAttributes`` keys it walks (so ``path`` comes before ``filename``, as NiFi's tests expect)."""

_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def escape_csv(value: str) -> str:
    """Commons Text's ``escapeCsv``: quoted (quotes doubled) only when the
    value holds a comma, a quote, CR or LF."""
    if _NEEDS_QUOTES.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


def _unescape_csv(value: str) -> str:
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value
    inner = value[1:-1]
    if _NEEDS_QUOTES.search(inner) is None:
        return value  # Commons Text leaves a quoted value without special characters as it is
    return inner.replace('""', '"')


def split_attribute_list(text: str | None) -> list[str]:
    """The names in an Attribute List: split on commas outside double quotes,
    trimmed, CSV-unescaped (so ``"a,b"`` names the attribute ``a,b``), without repeats."""
    if text is None or not text.strip():
        return []
    return list(dict.fromkeys(_unescape_csv(part.strip()) for part in _SPLIT.split(text)))


class AttributesToCSV(Processor):
    """Writes one CSV line of each FlowFile's attribute values to the
    ``CSVData`` attribute or, replacing the content, to the content (then
    ``mime.type`` is ``text/csv``), with the attribute names as a header
    (``CSVSchema`` attribute, or the first content line) when Include Schema
    is true.

    Without Attribute List and Attributes Regular Expression every attribute
    is written. With either, the listed attributes (quoted names may hold
    commas; a missing or empty one as ``""``, or ``null`` when Null Value is
    true) and the attributes whose name matches the whole regular
    expression; both are evaluated per FlowFile. Include Core Attributes
    true appends the core attributes the FlowFile has, in NiFi's order
    (absolute.path, path, discard.reason, filename, alternate.identifier,
    mime.type, priority, uuid); false removes them unless listed. Values are
    quoted as Commons Text's ``escapeCsv`` does (only when they hold a
    comma, a quote, CR or LF, with quotes doubled); the header and the
    values are separated by a newline and the content has no trailing
    newline. An expression or regular expression that cannot be evaluated
    sends the FlowFile to failure.

    Differences from NiFi: Java regular expression features flowyard's
    translator does not support (class intersections, Unicode scripts) make
    the property invalid.
    """

    spec = ProcessorSpec(
        description=(
            "Writes the attribute values of FlowFiles as one CSV line, to the CSVData attribute or as the new "
            "content. Values holding a comma, a double quote or a line break are quoted, with quotes doubled."
        ),
        tags=("csv", "attributes", "flowfile"),
        properties=(ATTRIBUTES_LIST, ATTRIBUTES_REGEX, DESTINATION, INCLUDE_CORE_ATTRIBUTES, NULL_VALUE,
                    INCLUDE_SCHEMA),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (SCHEMA_ATTRIBUTE_NAME, "The names of the written attributes, as a CSV line (with Include Schema)."),
            (DATA_ATTRIBUTE_NAME, "The values of the written attributes, as a CSV line."),
        ),
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        """Read the configuration once."""
        self._include_core = context.property(INCLUDE_CORE_ATTRIBUTES).as_bool()
        self._null_text = "null" if context.property(NULL_VALUE).as_bool() else ""
        self._to_content = context.property(DESTINATION).as_str() == DESTINATION_CONTENT
        self._include_schema = context.property(INCLUDE_SCHEMA).as_bool()

    def _select(self, context: ProcessContext, ff: FlowFile) -> dict[str, str]:
        attributes = ff.attributes
        listed = split_attribute_list(context.property(ATTRIBUTES_LIST).evaluate(attributes).value)
        regex = context.property(ATTRIBUTES_REGEX)
        pattern = compile_java(regex.evaluate(attributes).as_str()).regex if regex.value is not None else None
        selected: dict[str, str]
        if listed or pattern is not None:
            selected = {}
            for name in listed:
                value = attributes.get(name)
                selected[name] = value if value else self._null_text
            if pattern is not None:
                for name, value in attributes.items():
                    if pattern.fullmatch(name):
                        selected[name] = value
        else:
            selected = dict(attributes)
        if self._include_core:
            for name in _CORE_APPEND_ORDER:
                if name in attributes:
                    selected[name] = attributes[name] or self._null_text
        else:
            for name in CORE_ATTRIBUTES:
                if name not in listed:
                    selected.pop(name, None)
        return selected

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Convert a batch of FlowFiles."""
        for ff in session.get_batch(_BATCH):
            try:
                selected = self._select(context, ff)
            except (ValueError, JavaRegexError) as exc:
                context.logger.error(f"cannot select the attributes of FlowFile {ff.uuid}: {exc}")
                session.transfer(ff, FAILURE.name)
                continue
            values = ",".join(escape_csv(value) for value in selected.values())
            names = ",".join(escape_csv(name) for name in selected)
            if self._to_content:
                text = f"{names}\n{values}" if self._include_schema else values
                ff = session.write(ff, text.encode("utf-8"))
                ff = session.put_attribute(ff, "mime.type", "text/csv")
            else:
                update = {DATA_ATTRIBUTE_NAME: values}
                if self._include_schema:
                    update[SCHEMA_ATTRIBUTE_NAME] = names
                ff = session.put_attributes(ff, update)
            session.transfer(ff, SUCCESS.name)
