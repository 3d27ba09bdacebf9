"""AvroSchemaRegistry: Avro schemas typed into a service's dynamic properties
(name → schema text), handed out through the ``SchemaRegistry`` API that the
record readers and writers use under the "Use 'Schema Name' Property"
strategy (see ``processors/_record_services.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from flowyard.processors._record_services import (
    SCHEMA_REGISTRY_API,
    IdentifiedSchema,
    SchemaIdentifier,
    SchemaNotFoundError,
    SchemaRegistry,
)
from flowyard.processors._records import RecordSchema, from_avro_schema
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    DynamicPropertySpec,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = ["AvroSchemaRegistry", "parse_registry_schema"]

VALIDATION_STRATEGY = PropertySpec(
    key="Validation Strategy", display_name="Validation Strategy",
    description="How strictly each schema is checked when the service is validated. Validate Schemas: every name "
                "(records, enums, fixed, fields, enum symbols) must be an Avro name (a letter or '_', then letters, "
                "digits or '_') and every field default must match its type. Do Not Validate Schemas: any JSON "
                "Avro record schema whose types are known is taken.",
    required=True, default="VALIDATE",
    allowed_values=(
        AllowableValue("VALIDATE", "Validate Schemas", "Avro's naming rules and defaults are enforced."),
        AllowableValue("NONE", "Do Not Validate Schemas", "Names and defaults are not checked."),
    ),
)
#: NiFi 1.x's switch (true: validate), accepted from old flows; it arrives as a dynamic property.
_LEGACY_VALIDATE = ("avro-reg-validated-field-names", "Validate Field Names")
_AVRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _name_problem(avro: Any, where: str) -> str | None:
    """The first name in ``avro`` that breaks Avro's naming rules."""
    if isinstance(avro, list):
        for branch in avro:
            problem = _name_problem(branch, where)
            if problem:
                return problem
        return None
    if not isinstance(avro, dict):
        return None
    kind = avro.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        name = avro.get("name")
        if isinstance(name, str):
            for part in name.split("."):
                if not _AVRO_NAME.match(part):
                    return f"{where}: the {kind} name {name!r} is not a valid Avro name"
        namespace = avro.get("namespace")
        if isinstance(namespace, str) and namespace:
            for part in namespace.split("."):
                if not _AVRO_NAME.match(part):
                    return f"{where}: the namespace {namespace!r} is not a valid Avro namespace"
    if kind in ("record", "error"):
        for field in avro.get("fields", ()):
            if not isinstance(field, dict):
                continue
            field_name = field.get("name")
            if not isinstance(field_name, str) or not _AVRO_NAME.match(field_name):
                return f"{where}: the field name {field_name!r} is not a valid Avro name"
            problem = _name_problem(field.get("type"), f"{where}, field {field_name!r}")
            if problem:
                return problem
    elif kind == "enum":
        for symbol in avro.get("symbols", ()):
            if not isinstance(symbol, str) or not _AVRO_NAME.match(symbol):
                return f"{where}: the enum symbol {symbol!r} is not a valid Avro name"
    elif kind == "array":
        return _name_problem(avro.get("items"), where)
    elif kind == "map":
        return _name_problem(avro.get("values"), where)
    elif isinstance(kind, (dict, list)):
        return _name_problem(kind, where)
    return None


def parse_registry_schema(text: str, *, strict: bool) -> RecordSchema:
    """The record schema of Avro schema ``text``; ``ValueError`` saying what is
    wrong when it is not JSON, not an Avro record schema, or (``strict``) breaks
    Avro's naming rules or has a default that does not match its field's type."""
    import fastavro
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the schema is not JSON: {exc}") from None
    if strict:
        problem = _name_problem(parsed, "the schema")
        if problem:
            raise ValueError(problem)
        try:
            fastavro.parse_schema(parsed)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(str(exc) or type(exc).__name__) from None
        except Exception as exc:  # fastavro's SchemaParseException and UnknownType derive from Exception
            raise ValueError(f"{type(exc).__name__}: {exc}") from None
    try:
        return from_avro_schema(parsed)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None


def _strict(context: ConfigurationContext) -> bool:
    strategy = context.property(VALIDATION_STRATEGY).raw or "VALIDATE"
    dynamic = context.dynamic_properties
    for legacy in _LEGACY_VALIDATE:
        if legacy in dynamic and (dynamic[legacy].raw or "").strip().lower() == "false":
            return False
    return strategy == "VALIDATE"


def _schemas(context: ConfigurationContext) -> Iterable[tuple[str, str]]:
    for name, value in sorted(context.dynamic_properties.items()):
        if name not in _LEGACY_VALIDATE:
            yield name, value.evaluate().raw or ""


class AvroSchemaRegistry(ControllerService, SchemaRegistry):
    """Each dynamic property is one Avro schema: its name is the schema's name
    in the registry, its value the schema's JSON text (an Avro record schema).
    Every schema is checked when the service is validated; a schema that is not
    valid makes the service invalid, the result naming the property and saying
    what is wrong. Readers and writers set to "Use 'Schema Name' Property" look
    schemas up here by name; an unknown name is an error naming it (the
    flowfile goes to failure).

    Validation Strategy (NiFi 2's replacement of Validate Field Names):
    Validate Schemas enforces Avro's naming rules and checks defaults against
    their types; Do Not Validate Schemas takes any record schema whose types
    are known. A NiFi 1.x flow's ``Validate Field Names`` (or
    ``avro-reg-validated-field-names``) set to false turns validation off.

    Differences from NiFi: the registry keeps one version per name and ignores
    a requested version or branch (as NiFi's AvroSchemaRegistry does); values
    may use parameters and the environment's Expression Language, evaluated
    once when the service is enabled.
    """

    spec = ControllerServiceSpec(
        description="Provides Avro schemas by name: each dynamic property is one schema, its name the schema's name "
                    "and its value the Avro schema's JSON text.",
        provides=(SCHEMA_REGISTRY_API,),
        tags=("schema", "registry", "avro", "json", "csv"),
        properties=(VALIDATION_STRATEGY,),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of the schema",
            value_description="The JSON text of an Avro record schema",
            validator=validators.NON_EMPTY,
        ),
    )

    def __init__(self) -> None:
        self._schemas: Mapping[str, IdentifiedSchema] = MappingProxyType({})

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Every schema must parse (strictly under Validate Schemas)."""
        strict = _strict(context)
        results = []
        for name, text in _schemas(context):
            try:
                parse_registry_schema(text, strict=strict)
            except ValueError as exc:
                results.append(ValidationResult(name, f"it is not a valid Avro schema: {exc}", name))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Parse and keep every schema."""
        strict = _strict(context)
        schemas: dict[str, IdentifiedSchema] = {}
        for name, text in _schemas(context):
            try:
                schema = parse_registry_schema(text, strict=strict)
            except ValueError as exc:
                raise ValueError(f"the schema {name!r} is not a valid Avro schema: {exc}") from None
            schemas[name] = IdentifiedSchema(schema, SchemaIdentifier(name))
        self._schemas = MappingProxyType(schemas)

    def on_disabled(self) -> None:
        """Forget the schemas."""
        self._schemas = MappingProxyType({})

    def retrieve_schema(self, identifier: SchemaIdentifier) -> RecordSchema:
        """The schema named ``identifier.name`` (version and branch are ignored);
        ``SchemaNotFoundError`` naming it when there is none."""
        schema = self._schemas.get(identifier.name)
        if schema is None:
            names = list(self._schemas)
            known = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "") or "none"
            raise SchemaNotFoundError(f"Unable to find schema with name {identifier.name!r} in the schema registry "
                                      f"(it has: {known})")
        return schema

    @property
    def schema_names(self) -> tuple[str, ...]:
        """The names of the schemas held."""
        return tuple(self._schemas)
