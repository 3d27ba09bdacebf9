"""The ``JsonSchemaRegistry`` API and ``StandardJsonSchemaRegistry``, a registry
of JSON Schemas typed into the service's dynamic properties (name → schema).

ValidateJson's 'Schema Name Property' strategy looks schemas up here through
``context.property(...).as_controller_service(JsonSchemaRegistry)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from flowyard.processors._json_text import JsonTextError, parse_jackson
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    ExpressionScope,
    ProcessingError,
    PropertySpec,
    ValidationResult,
)

__all__ = [
    "JSON_SCHEMA_REGISTRY",
    "SCHEMA_VERSIONS",
    "JsonSchema",
    "JsonSchemaRegistry",
    "SchemaNotFoundError",
    "StandardJsonSchemaRegistry",
]

JSON_SCHEMA_REGISTRY = "JsonSchemaRegistry"
"""API name of services that hand out JSON Schemas by name (NiFi's ``JsonSchemaRegistry``)."""

SCHEMA_VERSIONS = (
    AllowableValue("DRAFT_4", "Draft 4", "JSON Schema draft 4."),
    AllowableValue("DRAFT_6", "Draft 6", "JSON Schema draft 6."),
    AllowableValue("DRAFT_7", "Draft 7", "JSON Schema draft 7."),
    AllowableValue("DRAFT_2019_09", "Draft 2019-09", "JSON Schema draft 2019-09."),
    AllowableValue("DRAFT_2020_12", "Draft 2020-12", "JSON Schema draft 2020-12."),
)
"""NiFi's ``SchemaVersion`` values, in NiFi's order."""


class SchemaNotFoundError(ProcessingError):
    """The registry holds no schema of that name."""


@dataclass(frozen=True, slots=True)
class JsonSchema:
    """A schema's text and the draft (``SCHEMA_VERSIONS`` value) it is written in."""

    text: str
    version: str


class JsonSchemaRegistry:
    """The ``JsonSchemaRegistry`` API. Implementations must be safe to call from
    several threads at once."""

    def retrieve_schema(self, name: str) -> JsonSchema:
        """The schema called ``name``; raises ``SchemaNotFoundError``."""
        raise NotImplementedError


SCHEMA_VERSION = PropertySpec(
    key="json-schema-version",
    display_name="JSON Schema Version",
    description="The draft of JSON Schema the schemas are written in (a $schema one declares takes precedence).",
    required=True,
    default="DRAFT_2020_12",
    allowed_values=SCHEMA_VERSIONS,
    aliases=("Schema Version",),
)


class StandardJsonSchemaRegistry(ControllerService, JsonSchemaRegistry):
    """Each dynamic property is one schema: its name is the schema's name, its
    value the schema text (JSON, checked when the service is validated). All
    schemas are of the JSON Schema Version draft. Values may use parameters
    and the environment's Expression Language, evaluated once on enabling."""

    spec = ControllerServiceSpec(
        description=(
            "Holds JSON Schemas by name for other components: each dynamic property is one schema, its name the "
            "schema's name and its value the schema text."
        ),
        provides=(JSON_SCHEMA_REGISTRY,),
        tags=("schema", "registry", "json"),
        properties=(SCHEMA_VERSION,),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name the schema is looked up by",
            value_description="The text of the JSON Schema",
            expression_scope=ExpressionScope.ENVIRONMENT,
        ),
    )

    def __init__(self) -> None:
        self._schemas: Mapping[str, JsonSchema] = MappingProxyType({})

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Every schema must be JSON."""
        results = []
        for name, value in sorted(context.dynamic_properties.items()):
            text = value.value or ""
            if "${" in text or "#{" in text:
                continue
            try:
                parse_jackson(text)
            except JsonTextError as exc:
                results.append(ValidationResult(name, f"the schema is not JSON: {exc}", name))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Keep every schema."""
        version = context.property(SCHEMA_VERSION).as_str()
        self._schemas = MappingProxyType({
            name: JsonSchema(value.evaluate().as_str(), version)
            for name, value in context.dynamic_properties.items()
        })

    def on_disabled(self) -> None:
        """Forget the schemas."""
        self._schemas = MappingProxyType({})

    def retrieve_schema(self, name: str) -> JsonSchema:
        """The schema called ``name``; raises ``SchemaNotFoundError``."""
        schema = self._schemas.get(name)
        if schema is None:
            raise SchemaNotFoundError(f"Unable to find schema with name '{name}'")
        return schema
