"""SplitJson: one FlowFile per element of a JSON array found by a JsonPath."""

from __future__ import annotations

from flowyard.processors._json_common import (
    JSON_PATH,
    MAX_STRING_LENGTH,
    NULL_REPRESENTATION,
    NULL_VALUE_REPRESENTATION,
)
from flowyard.processors._json_path import JsonPathEvaluationError, PathNotFound, compile_path
from flowyard.processors._json_text import JsonTextError, java_string, parse_jackson, to_json
from flowyard.runtime.sdk import (
    CoreAttributes,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    new_uuid,
)

__all__ = ["SplitJson"]

FRAGMENT_ID = "fragment.identifier"
FRAGMENT_INDEX = "fragment.index"
FRAGMENT_COUNT = "fragment.count"
SEGMENT_ORIGINAL_FILENAME = "segment.original.filename"

JSON_PATH_EXPRESSION = PropertySpec(
    key="json-path-expression",
    display_name="JsonPath Expression",
    description="The JsonPath that finds the JSON array whose elements become the splits.",
    required=True,
    validator=JSON_PATH,
)

ORIGINAL = Relationship(
    "original",
    "The FlowFile that was split, with fragment.identifier and fragment.count added.",
)
SPLIT = Relationship("split", "One FlowFile per element of the array.")
FAILURE = Relationship(
    "failure",
    "FlowFiles whose content is not JSON, or in which the JsonPath finds nothing or something other than an "
    "array; no splits are made.",
)


class SplitJson(Processor):
    """Splits the JSON array that a JsonPath (Jayway semantics, as in
    EvaluateJsonPath) finds in each FlowFile's content into one FlowFile per
    element.

    Each split holds one element: objects and arrays as compact JSON,
    scalars as Java prints them (a string without quotes), ``null`` as the
    Null Value Representation. Splits get ``fragment.identifier`` (shared,
    random), ``fragment.index`` (from 0), ``fragment.count`` and
    ``segment.original.filename``; the original goes to 'original' with
    ``fragment.identifier`` and ``fragment.count`` added. A path that finds
    nothing, a result that is not an array (an indefinite path always
    yields one, possibly empty: then there are no splits), and content that
    is not JSON (or is a bare ``null``, as NiFi's JsonPath refuses it) go
    to failure, the content unchanged.

    Differences from NiFi: none known beyond those of the JsonPath
    evaluation listed under EvaluateJsonPath.
    """

    spec = ProcessorSpec(
        description=(
            "Makes one FlowFile of each element of the JSON array that a JsonPath finds in the content of a "
            "FlowFile."
        ),
        tags=("json", "split", "jsonpath"),
        properties=(JSON_PATH_EXPRESSION, NULL_VALUE_REPRESENTATION, MAX_STRING_LENGTH),
        relationships=(ORIGINAL, SPLIT, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            (FRAGMENT_ID, "A random UUID shared by all the splits of one FlowFile (also set on the original)."),
            (FRAGMENT_INDEX, "The position of the element in the array, from 0."),
            (FRAGMENT_COUNT, "How many splits the original FlowFile gave (also set on the original)."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the FlowFile that was split."),
        ),
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        """Compile the path once."""
        self._path = compile_path(context.property(JSON_PATH_EXPRESSION).as_str())
        self._null_text = NULL_REPRESENTATION[context.property(NULL_VALUE_REPRESENTATION).as_str()]
        self._max_string = context.property(MAX_STRING_LENGTH).as_data_size()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Split one FlowFile (its splits can be many)."""
        original = session.get()
        if original is None:
            return
        try:
            document = parse_jackson(session.read_bytes(original).decode("utf-8", "replace"), self._max_string)
            if document is None:
                raise JsonTextError("the document is a JSON null, which JsonPath cannot read")
        except JsonTextError as exc:
            context.logger.error(f"FlowFile {original.uuid} did not have valid JSON content: {exc}")
            session.transfer(original, FAILURE.name)
            return
        try:
            result = self._path.read(document)
        except PathNotFound:
            context.logger.warning(f"JsonPath {self._path.text} could not be found for FlowFile {original.uuid}")
            session.transfer(original, FAILURE.name)
            return
        except JsonPathEvaluationError as exc:
            context.logger.error(f"cannot evaluate {self._path.text} for FlowFile {original.uuid}: {exc}")
            session.transfer(original, FAILURE.name)
            return
        if not isinstance(result, list):
            context.logger.error(
                f"The evaluated value {java_string(result, 'null')[:200]} of {self._path.text} was not a JSON Array "
                "compatible type and cannot be split."
            )
            session.transfer(original, FAILURE.name)
            return
        fragment_id = new_uuid()
        count = str(len(result))
        filename = original.attributes.get(CoreAttributes.FILENAME, "")
        for index, element in enumerate(result):
            text = to_json(element) if isinstance(element, (dict, list)) else java_string(element, self._null_text)
            split = session.write(session.create(original), text.encode("utf-8"))
            split = session.put_attributes(split, {
                FRAGMENT_ID: fragment_id,
                FRAGMENT_COUNT: count,
                FRAGMENT_INDEX: str(index),
                SEGMENT_ORIGINAL_FILENAME: filename,
            })
            session.transfer(split, SPLIT.name)
        original = session.put_attributes(original, {FRAGMENT_ID: fragment_id, FRAGMENT_COUNT: count})
        session.transfer(original, ORIGINAL.name)
        context.logger.info(f"Split FlowFile {original.uuid} into {count} FlowFiles")
