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
    description="The separator character used for joining keys. Must be a JSON-legal character.",
    default=".",
    validator=validators.Validator("separator", "one character that may appear in a JSON key", _check_separator),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    aliases=("flatten-json-separator",),
)
FLATTEN_MODE = PropertySpec(
    key="flatten-mode",
    display_name="Flatten Mode",
    description="Specifies how json should be flattened/unflattened",
    required=True,
    default=KEEP_ARRAYS,
    allowed_values=(
        AllowableValue(NORMAL, NORMAL, "Flattens every objects into a single level json"),
        AllowableValue(KEEP_ARRAYS, KEEP_ARRAYS, "Flattens every objects and keep arrays format"),
        AllowableValue(DOT_NOTATION, DOT_NOTATION, "Conforms to MongoDB dot notation to update also nested documents"),
        AllowableValue(KEEP_PRIMITIVE_ARRAYS, KEEP_PRIMITIVE_ARRAYS,
                       "Flattens every objects except arrays which contain only primitive types (strings, numbers, "
                       "booleans and null)"),
    ),
)
IGNORE_RESERVED_CHARACTERS = boolean_property(
    "ignore-reserved-characters", "Ignore Reserved Characters",
    "If true, reserved characters in keys will be ignored", "false",
)
RETURN_TYPE = PropertySpec(
    key="return-type",
    display_name="Return Type",
    description="Specifies the desired return type of json such as flatten/unflatten",
    required=True,
    default=RETURN_FLATTEN,
    allowed_values=(AllowableValue(RETURN_FLATTEN), AllowableValue(RETURN_UNFLATTEN)),
    aliases=("flatten-json-return-type",),
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The Character Set in which file is encoded",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
    aliases=("flatten-json-character-set",),
)
PRETTY_PRINT = boolean_property(
    "pretty-print-json", "Pretty Print JSON", "Specifies whether or not resulted json should be pretty printed",
    "false", aliases=("flatten-json-pretty-print-json",),
)

SUCCESS = Relationship("success", "Successfully flattened/unflattened files go to this relationship.")
FAILURE = Relationship("failure", "Files that cannot be flattened/unflattened go to this relationship.")


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
    last value.
    """

    spec = ProcessorSpec(
        description=(
            "Provides the user with the ability to take a nested JSON document and flatten it into a simple "
            "key/value pair document. The keys are combined at each level with a user-defined separator that "
            "defaults to '.'. This Processor also allows to unflatten back the flattened json. It supports four "
            "kinds of flatten mode such as normal, keep-arrays, dot notation for MongoDB query and "
            "keep-primitive-arrays. Default flatten mode is 'keep-arrays'."
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
        except (FlattenError, ValueError) as exc:
            action = "unflatten" if self._unflatten else "flatten"
            context.logger.error(f"Failed to {action} JSON of FlowFile {ff.uuid}: {exc}")
            session.transfer(ff, FAILURE.name)
            return
        ff = session.write(ff, result.encode(self._charset, "replace"))
        session.transfer(ff, SUCCESS.name)
