"""EvaluateJsonPath: JsonPath results to attributes or to the content."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flowyard.processors._json_common import (
    JSON_PATH,
    MAX_STRING_LENGTH,
    NULL_REPRESENTATION,
    NULL_VALUE_REPRESENTATION,
)
from flowyard.processors._json_path import JsonPath, JsonPathEvaluationError, PathNotFound, compile_path
from flowyard.processors._json_text import JsonTextError, java_string, parse_jackson, to_json
from flowyard.runtime.sdk import (
    AllowableValue,
    DynamicPropertySpec,
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
)

__all__ = ["EvaluateJsonPath"]

_BATCH = 50

DESTINATION_ATTRIBUTE = "flowfile-attribute"
DESTINATION_CONTENT = "flowfile-content"
RETURN_AUTO = "auto-detect"
RETURN_JSON = "json"
RETURN_SCALAR = "scalar"
NOT_FOUND_WARN = "warn"
NOT_FOUND_IGNORE = "ignore"
NOT_FOUND_SKIP = "skip"

DESTINATION = PropertySpec(
    key="destination",
    display_name="Destination",
    description=(
        "Where the results go: to attributes named after the dynamic properties, or to the content, which then "
        "takes exactly one JsonPath (its property name is not used)."
    ),
    required=True,
    default=DESTINATION_CONTENT,
    allowed_values=(AllowableValue(DESTINATION_CONTENT), AllowableValue(DESTINATION_ATTRIBUTE)),
)
RETURN_TYPE = PropertySpec(
    key="return-type",
    display_name="Return Type",
    description=(
        "Whether results are written as JSON or must be scalars (an object or array result then fails the FlowFile). "
        "'auto-detect' means 'json' when writing to the content and 'scalar' when writing to attributes."
    ),
    required=True,
    default=RETURN_AUTO,
    allowed_values=(AllowableValue(RETURN_AUTO), AllowableValue(RETURN_JSON), AllowableValue(RETURN_SCALAR)),
)
PATH_NOT_FOUND = PropertySpec(
    key="path-not-found-behavior",
    display_name="Path Not Found Behavior",
    description=(
        "With attributes as the Destination, what a JsonPath that finds nothing does: 'ignore' writes an empty "
        "attribute, 'warn' does the same and logs a warning, 'skip' writes no attribute."
    ),
    required=True,
    default=NOT_FOUND_IGNORE,
    allowed_values=(AllowableValue(NOT_FOUND_WARN), AllowableValue(NOT_FOUND_IGNORE), AllowableValue(NOT_FOUND_SKIP)),
    dependencies=(PropertyDependency(DESTINATION.key, (DESTINATION_ATTRIBUTE,)),),
)

MATCHED = Relationship(
    "matched",
    "FlowFiles whose JsonPaths were evaluated, with the results written.",
)
UNMATCHED = Relationship(
    "unmatched",
    "With the content as the Destination, FlowFiles in which the JsonPath finds nothing, unchanged.",
)
FAILURE = Relationship(
    "failure",
    "FlowFiles whose content is not JSON, or for which a JsonPath cannot be evaluated or gives a non-scalar "
    "result where a scalar is required.",
)


class _Fail(Exception):
    """The flowfile goes to failure; the message says why."""


class _NoMatch(Exception):
    """The content destination's path found nothing: the flowfile goes to unmatched."""


class EvaluateJsonPath(Processor):
    """Evaluates one or more JsonPath expressions (the dynamic properties)
    against each FlowFile's JSON content, with the semantics of Jayway
    JsonPath, the library NiFi uses: a definite path (no ``..``, ``*``, filter,
    slice or index list) gives one value, an indefinite one a list; filters
    (``[?(@.price < 10 && @.isbn)]``, ``=~ /re/i``, ``in``, ``nin``, ``size``,
    ``empty``, ``subsetof``, ``anyof``, ``noneof``) and functions (``length()``,
    ``min()``, ``max()``, ``avg()``, ``sum()``, ``stddev()``, ``keys()``,
    ``first()``, ``last()``, ``index(n)``, ``concat()``, ``append()``) as Jayway.

    Destination 'flowfile-attribute': each result is written to the attribute
    named by its property; Return Type 'auto-detect' means 'scalar' there,
    and a result that is an object or array then sends the FlowFile to
    failure unchanged. A path that finds nothing (a definite path with no
    result) becomes an empty attribute, or none with 'skip' ('warn' also logs
    a warning). Destination 'flowfile-content' takes exactly one JsonPath
    (otherwise the processor is invalid); the result replaces the content
    ('auto-detect' means 'json'), and a path that finds nothing routes to
    unmatched with the content unchanged. Scalars are written as Java prints
    them (``true``, ``1.0E-5``), objects and arrays as compact JSON, a
    ``null`` result as the Null Value Representation. Content that is not
    JSON (including empty content) goes to failure, as does a string longer
    than Max String Length; so does a document that is a bare ``null``
    (NiFi's JsonPath context refuses it as invalid JSON).

    Differences from NiFi: a filter applied to a scalar with a definite path
    before it (``$.a[?(@.b)]`` where ``a`` is a number) routes to failure
    instead of failing the session; ``=~`` regular expressions use Java's
    syntax through flowyard's translator (class intersections and Unicode
    scripts are refused as invalid paths). Results of indefinite paths over
    deep scans follow Jayway, except that an index after ``..`` that is not
    the last step applies to the array rather than to its elements. Content
    is read as UTF-8 (malformed bytes become U+FFFD, as Jackson's reader does).
    """

    spec = ProcessorSpec(
        description=(
            "Reads the JSON content of FlowFiles with JsonPath expressions, given as dynamic properties, and writes "
            "the results to attributes or replaces the content with the result."
        ),
        tags=("JSON", "evaluate", "JsonPath", "json", "attributes", "extract"),
        properties=(DESTINATION, RETURN_TYPE, PATH_NOT_FOUND, NULL_VALUE_REPRESENTATION, MAX_STRING_LENGTH),
        relationships=(MATCHED, UNMATCHED, FAILURE),
        dynamic_properties=DynamicPropertySpec(
            name_description="The attribute the result is written to (when the Destination is an attribute)",
            value_description="The JsonPath to evaluate against the content",
            validator=JSON_PATH,
        ),
        input_requirement=InputRequirement.REQUIRED,
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """With the content destination, exactly one JsonPath."""
        if context.property(DESTINATION).as_str() == DESTINATION_CONTENT and len(context.dynamic_properties) != 1:
            return [ValidationResult(
                "JsonPaths", f"Exactly one JsonPath must be set if using destination of {DESTINATION_CONTENT}")]
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Compile the paths once."""
        self._paths: list[tuple[str, JsonPath]] = [
            (name, compile_path(value.as_str())) for name, value in sorted(context.dynamic_properties.items())
        ]
        self._to_attribute = context.property(DESTINATION).as_str() == DESTINATION_ATTRIBUTE
        return_type = context.property(RETURN_TYPE).as_str()
        if return_type == RETURN_AUTO:
            return_type = RETURN_SCALAR if self._to_attribute else RETURN_JSON
        self._scalar_only = return_type == RETURN_SCALAR
        self._not_found = context.property(PATH_NOT_FOUND).value or NOT_FOUND_IGNORE
        self._null_text = NULL_REPRESENTATION[context.property(NULL_VALUE_REPRESENTATION).as_str()]
        self._max_string = context.property(MAX_STRING_LENGTH).as_data_size()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Evaluate the paths for a batch of FlowFiles."""
        for ff in session.get_batch(_BATCH):
            try:
                document = parse_jackson(session.read_bytes(ff).decode("utf-8", "replace"), self._max_string)
                if document is None:
                    raise JsonTextError("the document is a JSON null, which JsonPath cannot read")
            except JsonTextError as exc:
                context.logger.error(f"FlowFile {ff.uuid} did not have valid JSON content: {exc}")
                session.transfer(ff, FAILURE.name)
                continue
            try:
                ff = self._evaluate(context, session, ff, document)
            except _Fail as exc:
                context.logger.error(f"{exc}; transferring FlowFile {ff.uuid} to failure")
                session.transfer(ff, FAILURE.name)
                continue
            except _NoMatch:
                session.transfer(ff, UNMATCHED.name)
                continue
            session.transfer(ff, MATCHED.name)

    def _evaluate(self, context: ProcessContext, session: ProcessSession, ff: FlowFile, document: Any) -> FlowFile:
        results: dict[str, str] = {}
        for name, path in self._paths:
            try:
                result = path.read(document)
            except PathNotFound:
                if self._not_found == NOT_FOUND_WARN:
                    context.logger.warning(
                        f"FlowFile {ff.uuid} could not find path {path.text} for attribute key {name}.")
                if not self._to_attribute:
                    raise _NoMatch() from None
                if self._not_found != NOT_FOUND_SKIP:
                    results[name] = ""
                continue
            except JsonPathEvaluationError as exc:
                raise _Fail(f"cannot evaluate {path.text}: {exc}") from None
            if self._scalar_only and isinstance(result, (dict, list)):
                raise _Fail(
                    f"Unable to return a scalar value for the expression {path.text}; the evaluated value was "
                    f"{to_json(result)[:200]}"
                )
            text = to_json(result) if isinstance(result, (dict, list)) else java_string(result, self._null_text)
            if self._to_attribute:
                results[name] = text
            else:
                ff = session.write(ff, text.encode("utf-8"))
        if results:
            ff = session.put_attributes(ff, results)
        return ff
