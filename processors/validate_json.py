"""ValidateJson: route FlowFiles by whether their JSON content follows a JSON Schema."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from flowyard.processors._json_common import MAX_STRING_LENGTH
from flowyard.processors._json_text import JsonTextError, java_string, parse_jackson, strip_comments
from flowyard.processors.json_schema_registry import (
    JSON_SCHEMA_REGISTRY,
    SCHEMA_VERSIONS,
    JsonSchemaRegistry,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    from jsonschema.protocols import Validator as SchemaValidator

__all__ = ["ERROR_ATTRIBUTE", "ValidateJson", "strip_comments"]

ERROR_ATTRIBUTE = "json.validation.errors"
SCHEMA_NAME_STRATEGY = "SCHEMA_NAME_PROPERTY"
SCHEMA_CONTENT_STRATEGY = "SCHEMA_CONTENT_PROPERTY"
FLOW_FILE = "FLOW_FILE"
JSON_LINES = "JSON_LINES"

# Names in ``jsonschema``, which loads with the first schema compiled, not with the catalogue.
_VALIDATORS: dict[str, str] = {
    "DRAFT_4": "Draft4Validator",
    "DRAFT_6": "Draft6Validator",
    "DRAFT_7": "Draft7Validator",
    "DRAFT_2019_09": "Draft201909Validator",
    "DRAFT_2020_12": "Draft202012Validator",
}

SCHEMA_ACCESS_STRATEGY = PropertySpec(
    key="schema-access-strategy",
    display_name="Schema Access Strategy",
    description="Where the schema to validate against comes from.",
    required=True,
    default=SCHEMA_CONTENT_STRATEGY,
    allowed_values=(
        AllowableValue(SCHEMA_NAME_STRATEGY, "Schema Name Property",
                       "The schema is looked up by its Schema Name in the JSON Schema Registry."),
        AllowableValue(SCHEMA_CONTENT_STRATEGY, "JSON Schema Property",
                       "The schema is the JSON Schema property: the schema text, or a file holding it."),
    ),
)
SCHEMA_NAME = PropertySpec(
    key="schema-name",
    display_name="Schema Name",
    description="The name the schema is looked up by in the JSON Schema Registry.",
    required=True,
    default="${schema.name}",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(SCHEMA_ACCESS_STRATEGY.key, (SCHEMA_NAME_STRATEGY,)),),
)
SCHEMA_REGISTRY = PropertySpec(
    key="json-schema-registry",
    display_name="JSON Schema Registry",
    description="The controller service holding the schemas, by name.",
    required=True,
    identifies_controller_service=JSON_SCHEMA_REGISTRY,
    dependencies=(PropertyDependency(SCHEMA_ACCESS_STRATEGY.key, (SCHEMA_NAME_STRATEGY,)),),
)
SCHEMA_CONTENT = PropertySpec(
    key="json-schema",
    display_name="JSON Schema",
    description="The JSON Schema text, or the path or file: URL of a file holding it (http URLs are not fetched).",
    required=True,
    validator=validators.NON_EMPTY,
    dependencies=(PropertyDependency(SCHEMA_ACCESS_STRATEGY.key, (SCHEMA_CONTENT_STRATEGY,)),),
)
SCHEMA_VERSION = PropertySpec(
    key="json-schema-version",
    display_name="JSON Schema Version",
    description="The draft of JSON Schema the schema is written in (a $schema it declares takes precedence).",
    required=True,
    default="DRAFT_2020_12",
    allowed_values=SCHEMA_VERSIONS,
    dependencies=(PropertyDependency(SCHEMA_ACCESS_STRATEGY.key, (SCHEMA_CONTENT_STRATEGY,)),),
    aliases=("Schema Version",),
)
INPUT_FORMAT = PropertySpec(
    key="input-format",
    display_name="Input Format",
    description="The format of the input: one JSON document for the whole FlowFile, or one JSON document per line.",
    required=True,
    default=FLOW_FILE,
    allowed_values=(
        AllowableValue(FLOW_FILE, "FlowFile", "The FlowFile content is a single JSON document"),
        AllowableValue(JSON_LINES, "JSON Lines", "The FlowFile content holds one JSON document per line"),
    ),
)

VALID = Relationship("valid", "FlowFiles whose JSON conforms to the schema.")
INVALID = Relationship("invalid", "FlowFiles whose JSON breaks the schema, with the errors in "
                                  "json.validation.errors.")
FAILURE = Relationship("failure", "FlowFiles whose content is not JSON, or for which no schema can be had.")

def read_schema_source(value: str) -> str:
    """The schema text a JSON Schema property value stands for, as NiFi resolves
    a resource reference: a ``file:`` URL or an existing file is read, anything
    else is the schema itself. Raises ``ConfigurationError`` for ``http(s)`` URLs
    (remote schemas are not fetched) and unreadable files."""
    stripped = value.strip()
    scheme = urlsplit(stripped).scheme.lower() if "://" in stripped else ""
    if scheme in ("http", "https"):
        raise ConfigurationError(f"remote JSON Schemas are not fetched: {stripped}")
    path = unquote(urlsplit(stripped).path) if scheme == "file" else stripped
    if scheme == "file" or (len(path) < 4096 and "\n" not in path and os.path.isfile(path)):
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise ConfigurationError(f"cannot read the JSON Schema {path}: {exc}") from None
    return value


def compile_schema(text: str, version: str) -> SchemaValidator:
    """A validator for the schema ``text`` of draft ``version``; a ``$schema``
    naming a known draft takes precedence, as networknt's factory loads the
    meta-schema the schema declares. Raises ``ConfigurationError`` when the
    text is not JSON or not a valid schema."""
    import jsonschema
    try:
        schema = parse_jackson(text)
    except JsonTextError as exc:
        raise ConfigurationError(f"the JSON Schema cannot be parsed: {exc}") from None
    cls: type[SchemaValidator] = getattr(jsonschema, _VALIDATORS[version])
    if isinstance(schema, dict):  # only an object can declare its draft; anything else fails check_schema below
        cls = jsonschema.validators.validator_for(schema, default=cls)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ConfigurationError(f"the JSON Schema is not valid: {exc.message}") from None
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _java_text(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    return java_string(value, "null")


def _message(error: Any) -> str:
    """networknt's English wording (the validator NiFi uses) for the common
    keywords; jsonschema's own message for the others."""
    keyword, expected, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        wanted = expected if isinstance(expected, str) else ", ".join(expected)
        return f"{_json_type(instance)} found, {wanted} expected"
    if keyword == "required":
        missing = next((name for name in expected if isinstance(instance, dict) and name not in instance), "")
        return f"required property '{missing}' not found"
    if keyword == "pattern":
        return f"does not match the regex pattern {expected}"
    if keyword == "enum":
        return f"does not have a value in the enumeration {_java_text(expected)}"
    if keyword == "const":
        return f"must be the constant value '{_java_text(expected)}'"
    if keyword in ("minimum", "maximum"):
        return f"must have a {keyword} value of {_java_text(expected)}"
    if keyword in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(expected, bool):
        side = "minimum" if keyword == "exclusiveMinimum" else "maximum"
        return f"must have an exclusive {side} value of {_java_text(expected)}"
    if keyword == "minLength":
        return f"must be at least {expected} characters long"
    if keyword == "maxLength":
        return f"must be at most {expected} characters long"
    if keyword == "minItems":
        return f"expected at least {expected} items but found {len(instance)}"
    if keyword == "maxItems":
        return f"expected at most {expected} items but found {len(instance)}"
    if keyword == "multipleOf":
        return f"must be multiple of {_java_text(expected)}"
    if keyword == "uniqueItems":
        return "must have only unique items in the array"
    if keyword == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = next((name for name in instance if name not in allowed), "")
        return (f"property '{extra}' is not defined in the schema and the schema does not allow additional "
                "properties")
    return str(error.message)


def describe_errors(errors: list[Any]) -> str:
    """Errors as NiFi writes its ``Set<ValidationMessage>``: ``[$.a: message, ...]``."""
    return "[" + ", ".join(f"{error.json_path}: {_message(error)}" for error in errors) + "]"


class ValidateJson(Processor):
    """Validates each FlowFile's JSON content against a JSON Schema (with the
    ``jsonschema`` library): valid content goes to 'valid', content that
    breaks the schema to 'invalid' with the ``json.validation.errors``
    attribute (``[$.path: message, ...]``) and a warning, content that cannot
    be read as JSON to 'failure'; each routing is a ROUTE provenance event.

    The schema is the JSON Schema property (the schema itself, a file path or
    a ``file:`` URL), read and checked when the processor starts — a schema
    that is not JSON or not a valid schema of its draft (the one its
    ``$schema`` names, else JSON Schema Version) stops the start — or, with
    'Schema Name Property', the schema the JSON Schema Registry service
    holds under the evaluated Schema Name (a missing schema, or a Schema
    Name whose Expression Language fails, sends the FlowFile to failure). The content may hold ``//`` and ``/* */``
    comments (as Jackson's ALLOW_COMMENTS); with Input Format 'FlowFile' only
    the first JSON value is validated (text after it is ignored, as Jackson
    does), with 'JSON Lines' every non-blank line is, and the first invalid
    line decides (the warning names its number). Formats (``format``) are
    asserted for every draft. Strings longer than Max String Length make
    the content unreadable.

    Differences from NiFi: the error messages follow networknt's English
    wording for type, required, pattern, enum, const, minimum/maximum,
    lengths, item counts, multipleOf, uniqueItems and additionalProperties,
    and are the ``jsonschema`` library's for other keywords; they are
    sorted by path;
    ``http(s)`` schema URLs and remote ``$ref`` are not fetched; empty
    content goes to failure.
    """

    spec = ProcessorSpec(
        description=(
            "Checks the JSON content of FlowFiles against a JSON Schema (json-schema.org) and routes them by "
            "the result. The content is one JSON document, or one per line with the JSON Lines Input Format."
        ),
        tags=("JSON", "schema", "validation", "json"),
        properties=(SCHEMA_ACCESS_STRATEGY, SCHEMA_NAME, SCHEMA_REGISTRY, SCHEMA_CONTENT, SCHEMA_VERSION,
                    INPUT_FORMAT, MAX_STRING_LENGTH),
        relationships=(VALID, INVALID, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=((ERROR_ATTRIBUTE, "On FlowFiles routed to invalid: what breaks the schema."),),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """The property the chosen strategy needs must be set (as NiFi words it)."""
        strategy = context.property(SCHEMA_ACCESS_STRATEGY).as_str()
        needed = SCHEMA_REGISTRY if strategy == SCHEMA_NAME_STRATEGY else SCHEMA_CONTENT
        if context.property(needed).value is None:
            return [ValidationResult(
                needed.display_name,
                f"The '{strategy}' Schema Access Strategy requires that the {needed.display_name} property be set.",
                needed.key,
            )]
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Read and compile the schema (JSON Schema Property strategy)."""
        self._by_name = context.property(SCHEMA_ACCESS_STRATEGY).as_str() == SCHEMA_NAME_STRATEGY
        self._lines = context.property(INPUT_FORMAT).as_str() == JSON_LINES
        self._max_string = context.property(MAX_STRING_LENGTH).as_data_size()
        self._schema: SchemaValidator | None = None
        if not self._by_name:
            text = read_schema_source(context.property(SCHEMA_CONTENT).as_str())
            self._schema = compile_schema(text, context.property(SCHEMA_VERSION).as_str())

    def _schema_for(self, context: ProcessContext, ff: FlowFile) -> SchemaValidator:
        if self._schema is not None:
            return self._schema
        try:
            name = context.property(SCHEMA_NAME).evaluate(ff.attributes).as_str()
        except ValueError as exc:  # an Expression Language failure (ExpressionError)
            raise ProcessingError(f"{SCHEMA_NAME.display_name} cannot be evaluated: {exc}") from None
        registry = context.property(SCHEMA_REGISTRY).as_controller_service(JsonSchemaRegistry)
        found = registry.retrieve_schema(name)
        return compile_schema(found.text, found.version)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Validate one FlowFile."""
        from referencing.exceptions import Unresolvable
        ff = session.get()
        if ff is None:
            return
        try:
            schema = self._schema_for(context, ff)
        except (ProcessingError, ConfigurationError) as exc:
            context.logger.error(f"Could not retrieve JSON schema for FlowFile {ff.uuid}: {exc}")
            self._route(session, ff, FAILURE)
            return
        try:
            text = session.read_bytes(ff).decode("utf-8", "replace")
            errors, line = self._validate(schema, text)
        except JsonTextError as exc:
            context.logger.error(f"JSON processing failed for FlowFile {ff.uuid}: {exc}")
            self._route(session, ff, FAILURE)
            return
        except Unresolvable as exc:
            context.logger.error(
                f"JSON processing failed for FlowFile {ff.uuid}: the schema's reference {exc} cannot be resolved "
                "(remote references are not fetched)")
            self._route(session, ff, FAILURE)
            return
        if not errors:
            self._route(session, ff, VALID)
            return
        described = describe_errors(errors)
        ff = session.put_attribute(ff, ERROR_ATTRIBUTE, described)
        where = f"JSON at line {line} in FlowFile {ff.uuid}" if line else f"JSON in FlowFile {ff.uuid}"
        context.logger.warning(f"{where} is invalid: Validation Errors {described}")
        self._route(session, ff, INVALID)

    def _validate(self, schema: SchemaValidator, text: str) -> tuple[list[Any], int]:
        if not self._lines:
            document = parse_jackson(strip_comments(text), self._max_string)
            return sorted(schema.iter_errors(document), key=lambda e: e.json_path), 0
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            document = parse_jackson(strip_comments(line), self._max_string)
            errors = sorted(schema.iter_errors(document), key=lambda e: e.json_path)
            if errors:
                return errors, number
        return [], 0

    @staticmethod
    def _route(session: ProcessSession, ff: FlowFile, relationship: Relationship) -> None:
        session.provenance.route(ff, relationship.name)
        session.transfer(ff, relationship.name)
