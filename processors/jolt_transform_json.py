"""JoltTransformJSON: apply a Jolt specification to JSON content or an attribute."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from flowyard.processors._common import boolean_property
from flowyard.processors._jolt import JoltError, Transform, build_transform
from flowyard.processors._json_common import MAX_STRING_LENGTH
from flowyard.processors._json_text import JsonTextError, parse_jackson, strip_comments, to_json
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
    ValidationResult,
    validators,
)

__all__ = ["JoltTransformJSON", "read_spec"]

_BATCH = 50

CHAIN = "jolt-transform-chain"
SORT = "jolt-transform-sort"
CUSTOM = "jolt-transform-custom"
_OPERATIONS = {
    "jolt-transform-shift": "shift",
    CHAIN: "chain",
    "jolt-transform-default": "default",
    "jolt-transform-remove": "remove",
    "jolt-transform-card": "cardinality",
    SORT: "sort",
    "jolt-transform-modify-default": "modify-default-beta",
    "jolt-transform-modify-overwrite": "modify-overwrite-beta",
    "jolt-transform-modify-define": "modify-define-beta",
}
FLOW_FILE = "FLOW_FILE"
ATTRIBUTE = "ATTRIBUTE"
JSON_LINES = "JSON_LINES"

JOLT_TRANSFORM = PropertySpec(
    key="jolt-transform",
    display_name="Jolt Transform",
    description="The Jolt operation the Jolt Specification is written for.",
    required=True,
    default=CHAIN,
    allowed_values=(
        AllowableValue("jolt-transform-shift", "Shift",
                       "Moves values of the input to new places in the output."),
        AllowableValue(CHAIN, "Chain",
                       "The specification is a list of operations, applied in turn."),
        AllowableValue("jolt-transform-default", "Default",
                       "Adds values where the input lacks them."),
        AllowableValue("jolt-transform-remove", "Remove",
                       "Deletes the keys the specification names."),
        AllowableValue("jolt-transform-card", "Cardinality",
                       "Turns single values into lists or lists into single values."),
        AllowableValue(SORT, "Sort",
                       "Orders the keys of every object alphabetically; needs no specification (one given is "
                       "ignored)."),
        AllowableValue(CUSTOM, "Custom",
                       "A user-supplied Java transformation class; not supported by flowyard."),
        AllowableValue("jolt-transform-modify-default", "Modify - Default",
                       "Computes values and writes them only where the key is absent or null."),
        AllowableValue("jolt-transform-modify-overwrite", "Modify - Overwrite",
                       "Computes values and writes them, replacing any value already there."),
        AllowableValue("jolt-transform-modify-define", "Modify - Define",
                       "Computes values and writes them only where the key is absent."),
    ),
)
JOLT_SPEC = PropertySpec(
    key="jolt-specification",
    display_name="Jolt Specification",
    description=(
        "The Jolt specification as JSON text (comments allowed) or the path of a file holding it. Required except "
        "with the Sort transform, which ignores it."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("jolt-spec",),
)
CUSTOM_CLASS = PropertySpec(
    key="custom-transformation-class-name",
    display_name="Custom Transformation Class Name",
    description="The Java class of a custom transformation; accepted in flows but not supported.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(JOLT_TRANSFORM.key, (CUSTOM,)),),
    aliases=("jolt-custom-class",),
)
MODULES = PropertySpec(
    key="custom-module-directory",
    display_name="Custom Module Directory",
    description=(
        "Paths, separated by commas, of files or directories holding custom transformation code; accepted in "
        "flows but not supported."
    ),
    expression_scope=ExpressionScope.ENVIRONMENT,
    dependencies=(PropertyDependency(JOLT_TRANSFORM.key, (CUSTOM,)),),
    aliases=("jolt-custom-modules",),
)
TRANSFORM_CACHE_SIZE = PropertySpec(
    key="transform-cache-size",
    display_name="Transform Cache Size",
    description=(
        "How many compiled transforms are kept in memory. Only matters when the Jolt Specification uses "
        "Expression Language, so that FlowFiles can give different specifications."
    ),
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)
JSON_SOURCE = PropertySpec(
    key="json-source",
    display_name="JSON Source",
    description=(
        "What is transformed: the JSON content, the JSON value of an attribute, or each line of JSON Lines "
        "content."
    ),
    required=True,
    default=FLOW_FILE,
    allowed_values=(
        AllowableValue(FLOW_FILE, FLOW_FILE, "The content is one JSON document, replaced by the result."),
        AllowableValue(ATTRIBUTE, ATTRIBUTE, "The JSON Source Attribute holds the JSON; its value is replaced."),
        AllowableValue(JSON_LINES, JSON_LINES,
                       "The content holds one JSON document per line (NDJSON); each is transformed."),
    ),
)
JSON_SOURCE_ATTRIBUTE = PropertySpec(
    key="json-source-attribute",
    display_name="JSON Source Attribute",
    description="The attribute whose JSON value is transformed.",
    required=True,
    validator=validators.NON_EMPTY,
    dependencies=(PropertyDependency(JSON_SOURCE.key, (ATTRIBUTE,)),),
)
PRETTY_PRINT = boolean_property(
    "pretty-print", "Pretty Print", "Whether the result is indented over several lines.", "false",
    aliases=("pretty_print",),
    dependencies=(PropertyDependency(JSON_SOURCE.key, (FLOW_FILE, ATTRIBUTE)),),
)
RETAIN_UNICODE_ESCAPES = boolean_property(
    "retain-unicode-escape-sequences", "Retain Unicode Escape Sequences",
    "Whether the output escapes every non-ASCII character as a unicode escape sequence (\\uXXXX, as escaped "
    "input arrived); when false such characters are written as they are (UTF-8).",
    "false",
)

SUCCESS = Relationship(
    "success",
    "FlowFiles whose content or attribute was transformed.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles whose JSON, specification or transform fails, unchanged.",
)


def read_spec(value: str) -> Any:
    """The Jolt spec a property value stands for: the content of the file it
    names, or the value itself; parsed as JSON with comments allowed. Raises
    ``ValueError`` (``JsonTextError``) when it is not JSON."""
    text = value
    stripped = value.strip()
    if stripped and len(stripped) < 4096 and "\n" not in stripped and os.path.isfile(stripped):
        with open(stripped, encoding="utf-8") as handle:
            text = handle.read()
    return parse_jackson(strip_comments(text))


class _Failed(Exception):
    """The FlowFile goes to failure; the message says why."""


class JoltTransformJSON(Processor):
    """Applies a Jolt transformation (shift, default, remove, cardinality,
    sort, modify-overwrite/-default/-define, or a chain of them) to each
    FlowFile's JSON content, to a JSON attribute, or to each line of JSON
    Lines content, with Jolt's documented semantics implemented in
    flowyard's own engine (``shift`` with ``&``, ``@``, ``$``, ``#``, ``*``, ``|``,
    ``[]``/``[#n]``/``[&n]`` arrays; the modify functions toUpper, toLower,
    concat, join, split, substring, trim, leftPad, rightPad, toInteger,
    toLong, toDouble, toBoolean, toString, size, firstElement, lastElement,
    elementAt, toList, sort, min, max, abs, avg, intSum, longSum, doubleSum,
    intSubtract, longSubtract, doubleSubtract, divide (div), divideAndRound,
    squashNulls, recursivelySquashNulls, squashDuplicates, noop, isPresent,
    notNull, isNull).

    The Jolt Specification is the spec's JSON text (comments allowed) or the
    path of a file holding it; with Expression Language it is evaluated per
    FlowFile and the compiled transforms are cached (Transform Cache Size).
    A spec without Expression Language is compiled when the processor is
    validated, so a bad spec makes the processor invalid. The result is
    written as compact JSON (or with Jackson's pretty printer), ``mime.type``
    set to ``application/json`` for content; with JSON Source 'ATTRIBUTE' the
    result replaces the attribute's value. Content or an attribute that is
    not JSON (or is blank), a spec whose Expression Language fails or that
    cannot be compiled after Expression Language, and a transform that
    fails go to failure unchanged with an error logged. JSON Lines content is transformed line by line (blank
    lines skipped) and written one result per line, each ending with a line
    feed, ``mime.type`` ``application/jsonl``. Retain Unicode Escape
    Sequences writes every non-ASCII character as ``\\uXXXX``.

    Differences from NiFi: custom transformations ('Custom', Custom
    Transformation Class Name, Custom Module Directory) are not supported —
    the processor is invalid with 'Custom'; a Modifier function name outside
    the list above is treated as Jolt treats a name it does not know (the
    first argument's value is written, or nothing without arguments), so
    functions of later Jolt builds (dates, toJsonString) and nested function
    calls are not available.
    """

    spec = ProcessorSpec(
        description=(
            "Transforms the JSON content of FlowFiles, or the JSON in one of their attributes, with a Jolt "
            "specification."
        ),
        tags=("json", "jolt", "transform", "shiftr", "chainr", "defaultr", "removr", "cardinality", "sort"),
        properties=(JOLT_TRANSFORM, JOLT_SPEC, CUSTOM_CLASS, MODULES, TRANSFORM_CACHE_SIZE, JSON_SOURCE,
                    JSON_SOURCE_ATTRIBUTE, PRETTY_PRINT, MAX_STRING_LENGTH, RETAIN_UNICODE_ESCAPES),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(("mime.type", "application/json for transformed content (application/jsonl for JSON "
                                          "Lines)."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """The spec must be set (except for Sort) and compile; custom transforms are refused."""
        transform = context.property(JOLT_TRANSFORM).as_str()
        if transform == CUSTOM:
            return [ValidationResult(JOLT_TRANSFORM.display_name,
                                     "custom Jolt transformations (Java classes) are not supported by flowyard",
                                     JOLT_TRANSFORM.key)]
        spec_text = context.property(JOLT_SPEC).value
        if not spec_text and transform != SORT:
            return [ValidationResult(JOLT_SPEC.display_name,
                                     "'Jolt Specification' must be set, or the Transformation must be 'Sort'",
                                     JOLT_SPEC.key)]
        if transform == SORT or not spec_text or "${" in spec_text:
            return ()
        try:
            build_transform(_OPERATIONS[transform], read_spec(spec_text))
        except (ValueError, OSError) as exc:
            return [ValidationResult(JOLT_SPEC.display_name,
                                     f"Specification not valid for the selected transformation: {exc}", JOLT_SPEC.key)]
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Read the configuration and start an empty transform cache."""
        self._operation = _OPERATIONS[context.property(JOLT_TRANSFORM).as_str()]
        self._cache: OrderedDict[str | None, Transform] = OrderedDict()
        self._cache_size = context.property(TRANSFORM_CACHE_SIZE).as_int()
        self._source = context.property(JSON_SOURCE).as_str()
        self._attribute = context.property(JSON_SOURCE_ATTRIBUTE).value or ""
        self._pretty = self._source != JSON_LINES and context.property(PRETTY_PRINT).as_bool()
        self._max_string = context.property(MAX_STRING_LENGTH).as_data_size()
        self._retain_escapes = context.property(RETAIN_UNICODE_ESCAPES).as_bool()

    def _transform(self, context: ProcessContext, ff: FlowFile) -> Transform:
        spec_text: str | None = None
        if context.property(JOLT_SPEC).value is not None and self._operation != "sort":
            try:
                spec_text = context.property(JOLT_SPEC).evaluate(ff.attributes).as_str()
            except ValueError as exc:  # an Expression Language failure (ExpressionError)
                raise _Failed(f"Unable to setup the Jolt transform: {JOLT_SPEC.display_name} cannot be evaluated: "
                              f"{exc}") from None
        cached = self._cache.get(spec_text)
        if cached is not None:
            self._cache.move_to_end(spec_text)
            return cached
        try:
            transform = build_transform(self._operation, read_spec(spec_text) if spec_text is not None else None)
        except (ValueError, OSError) as exc:
            raise _Failed(f"the Jolt specification is not valid: {exc}") from None
        self._cache[spec_text] = transform
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return transform

    def _convert(self, transform: Transform, text: str, pretty: bool) -> str:
        try:
            document = parse_jackson(text, self._max_string)
        except JsonTextError as exc:
            raise _Failed(f"JSON parsing failed: {exc}") from None
        try:
            result = transform(document)
        except (JoltError, RecursionError) as exc:
            raise _Failed(f"Transform failed: {exc}") from None
        return to_json(result, pretty=pretty, ascii_only=self._retain_escapes)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Transform a batch of FlowFiles."""
        for ff in session.get_batch(_BATCH):
            try:
                ff = self._apply(context, session, ff)
            except _Failed as exc:
                context.logger.error(f"{exc}; routing FlowFile {ff.uuid} to failure")
                session.transfer(ff, FAILURE.name)
                continue
            session.transfer(ff, SUCCESS.name)

    def _apply(self, context: ProcessContext, session: ProcessSession, ff: FlowFile) -> FlowFile:
        if self._source == ATTRIBUTE:
            value = ff.attributes.get(self._attribute)
            if value is None or not value.strip():
                raise _Failed(f"FlowFile attribute [{self._attribute}] value is blank")
            result = self._convert(self._transform(context, ff), value, self._pretty)
            return session.put_attribute(ff, self._attribute, result)
        transform = self._transform(context, ff)
        text = session.read_bytes(ff).decode("utf-8", "replace")
        if self._source == JSON_LINES:
            lines = [self._convert(transform, line, False) + "\n" for line in text.splitlines() if line.strip()]
            ff = session.write(ff, "".join(lines).encode("utf-8"))
            return session.put_attribute(ff, "mime.type", "application/jsonl")
        ff = session.write(ff, self._convert(transform, text, self._pretty).encode("utf-8"))
        return session.put_attribute(ff, "mime.type", "application/json")
