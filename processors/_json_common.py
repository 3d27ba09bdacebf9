"""Property specs and helpers the JsonPath processors share (EvaluateJsonPath,
SplitJson), as NiFi's ``AbstractJsonPathProcessor`` shares them."""

from __future__ import annotations

from flowyard.processors._json_path import InvalidJsonPath, compile_path
from flowyard.runtime.sdk import AllowableValue, PropertySpec, validators

__all__ = [
    "EMPTY_STRING_OPTION",
    "JSON_PATH",
    "MAX_STRING_LENGTH",
    "NULL_REPRESENTATION",
    "NULL_STRING_OPTION",
    "NULL_VALUE_REPRESENTATION",
]

EMPTY_STRING_OPTION = "empty string"
NULL_STRING_OPTION = "the string 'null'"

NULL_REPRESENTATION = {EMPTY_STRING_OPTION: "", NULL_STRING_OPTION: "null"}
"""The text a JSON ``null`` result becomes, by the property's value."""

NULL_VALUE_REPRESENTATION = PropertySpec(
    key="null-value-representation",
    display_name="Null Value Representation",
    description="The text a JsonPath result that is JSON null becomes: an empty string or the string 'null'.",
    required=True,
    default=EMPTY_STRING_OPTION,
    allowed_values=(AllowableValue(EMPTY_STRING_OPTION), AllowableValue(NULL_STRING_OPTION)),
)

MAX_STRING_LENGTH = PropertySpec(
    key="max-string-length",
    display_name="Max String Length",
    description="The longest string value allowed in the JSON; content with a longer one is not parsed.",
    required=True,
    default="20 MB",
    validator=validators.DATA_SIZE,
)


def _check_json_path(value: str) -> str | None:
    if not value.strip():
        return "the expression cannot be empty."
    try:
        compile_path(value)
    except InvalidJsonPath as exc:
        return f"specified expression was not valid: {value} ({exc})"
    return None


JSON_PATH = validators.Validator("JsonPath", "a JsonPath expression (Jayway syntax)", _check_json_path)
"""Validates a JsonPath as NiFi's JsonPathValidator does: blank and
uncompilable expressions are invalid."""

CORE_ATTRIBUTES = (
    "filename", "path", "absolute.path", "mime.type", "priority", "uuid", "discard.reason", "alternate.identifier",
)
"""NiFi's ``CoreAttributes`` keys, in NiFi's order."""
