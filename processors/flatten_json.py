"""FlattenJson: nested JSON to one level of keys, and back."""

from __future__ import annotations

from flowyard.processors._common import boolean_property
from flowyard.processors._json_flatten import (
    DOT_NOTATION,
    KEEP_ARRAYS,
    KEEP_PRIMITIVE_ARRAYS,
    NORMAL,
    FlattenError,
    flatten,
    unflatten,
)
from flowyard.runtime.sdk import (
    AllowableValue,
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

__all__ = ["FlattenJson"]

RETURN_FLATTEN = "flatten"
RETURN_UNFLATTEN = "unflatten"


def _check_separator(value: str) -> str | None:
    if len(value) != 1:
        return "The separator must be a single character in length."
    if value in ('"', "\\") or ord(value) < 0x20:
        return f"the separator {value!r} cannot appear unescaped in a JSON key"
    return None


SEPARATOR = PropertySpec(
    key="separator",
    display_name="Separator",
    description="The single character that joins the keys of the levels, e.g. a.b; it must be allowed in a JSON key.",
    default=".",
    validator=validators.Validator("separator", "one character that may appear in a JSON key", _check_separator),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("flatten-json-separator",),
)
FLATTEN_MODE = PropertySpec(
    key="flatten-mode",
    display_name="Flatten Mode",
    description="Which parts of the JSON are flattened (or unflattened), arrays in particular.",
    required=True,
    default=KEEP_ARRAYS,
    allowed_values=(
        AllowableValue(NORMAL, NORMAL, "Objects and arrays alike become keys of one level (a.d[0])."),
        AllowableValue(KEEP_ARRAYS, KEEP_ARRAYS, "Objects are flattened; arrays stay arrays, their objects flattened."),
        AllowableValue(DOT_NOTATION, DOT_NOTATION, "Like normal, with array indexes written MongoDB style (a.d.0)."),
        AllowableValue(KEEP_PRIMITIVE_ARRAYS, KEEP_PRIMITIVE_ARRAYS,
                       "Like normal, except that arrays holding only scalars (strings, numbers, booleans, null) "
                       "stay arrays."),
    ),
)
IGNORE_RESERVED_CHARACTERS = boolean_property(
    "ignore-reserved-characters", "Ignore Reserved Characters",
    "Whether a key holding the separator or a bracket is written as it is instead of as [\"key\"].", "false",
)
RETURN_TYPE = PropertySpec(
    key="return-type",
    display_name="Return Type",
    description="Whether nested JSON is flattened, or flattened JSON is turned back into nested JSON.",
    required=True,
    default=RETURN_FLATTEN,
    allowed_values=(AllowableValue(RETURN_FLATTEN), AllowableValue(RETURN_UNFLATTEN)),
    aliases=("flatten-json-return-type",),
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The character set the content is read and written in.",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
    aliases=("flatten-json-character-set",),
)
PRETTY_PRINT = boolean_property(
    "pretty-print-json", "Pretty Print JSON", "Whether the resulting JSON is indented over several lines.",
    "false", aliases=("flatten-json-pretty-print-json",),
)

SUCCESS = Relationship("success", "FlowFiles whose JSON was flattened or unflattened.")
FAILURE = Relationship("failure", "FlowFiles whose content is not JSON or cannot be flattened or unflattened, "
                                  "unchanged.")


class FlattenJson(Processor):
    """Flattens each FlowFile's JSON into one level of keys joined by the
    Separator (``{"a":{"b":1}}`` → ``{"a.b":1}``), or with Return Type
    'unflatten' turns such keys back into nested JSON, as the json-flattener
    library NiFi uses does.

    Flatten Mode: 'normal' flattens arrays too (``a.d[0]``), 'keep arrays'
    keeps them (objects inside are flattened on their own), 'dot notation'
    writes indexes MongoDB style (``a.d.0``; a key holding the separator is
    an error) and 'keep primitive arrays' keeps only arrays of scalars. A
    key holding the separator or a bracket is written ``["key"]`` unless
    Ignore Reserved Characters is true. A top-level array stays an array in
    'keep arrays' mode and becomes an object keyed ``[0]...`` otherwise;
    top-level scalars pass through. Flattened output escapes as NiFi does
    (Commons Text ``ESCAPE_JSON``: ``\\/``, non-ASCII as ``\\u00E9``); numbers
    keep their written form. The content is read and written in the
    Character Set (undecodable bytes become U+FFFD, unencodable characters
    ``?``, as Java does). Content that is not JSON, an empty or invalid
    Separator after Expression Language, and keys that contradict each other
    when unflattening (``"a": 1`` beside ``"a.b": 2``) go to failure
    unchanged.

    Differences from NiFi: numbers written with an exponent are printed as
    Java's ``BigDecimal`` prints them (``1E+5``); duplicate keys keep the
    last value; a document nested more deeply than Python's recursion allows
    (a few hundred levels of arrays; NiFi's Jackson takes 1000) goes to
    failure with that reason.
    """

    spec = ProcessorSpec(
        description=(
            "Turns the nested JSON content of FlowFiles into one level of keys joined by a separator "
            "({\"a\":{\"b\":1}} becomes {\"a.b\":1}), or turns such keys back into nested JSON."
        ),
        tags=("json", "flatten", "unflatten"),
        properties=(SEPARATOR, FLATTEN_MODE, IGNORE_RESERVED_CHARACTERS, RETURN_TYPE, CHARACTER_SET, PRETTY_PRINT),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        """Read the fixed configuration once."""
        self._mode = context.property(FLATTEN_MODE).as_str()
        self._ignore_reserved = context.property(IGNORE_RESERVED_CHARACTERS).as_bool()
        self._unflatten = context.property(RETURN_TYPE).as_str() == RETURN_UNFLATTEN
        self._charset = context.property(CHARACTER_SET).as_str()
        self._pretty = context.property(PRETTY_PRINT).as_bool()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Flatten or unflatten one FlowFile."""
        ff = session.get()
        if ff is None:
            return
        try:
            separator = context.property(SEPARATOR).evaluate(ff.attributes).value or ""
            text = session.read_bytes(ff).decode(self._charset, "replace")
            if self._unflatten:
                result = unflatten(text, mode=self._mode, separator=separator[:1], pretty=self._pretty)
            else:
                result = flatten(text, mode=self._mode, separator=separator[:1],
                                 ignore_reserved=self._ignore_reserved, pretty=self._pretty)
        except (FlattenError, ValueError, RecursionError) as exc:
            action = "unflatten" if self._unflatten else "flatten"
            reason = "the JSON is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            context.logger.error(f"Failed to {action} JSON of FlowFile {ff.uuid}: {reason}")
            session.transfer(ff, FAILURE.name)
            return
        ff = session.write(ff, result.encode(self._charset, "replace"))
        session.transfer(ff, SUCCESS.name)
