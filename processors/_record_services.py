"""The record reader and writer APIs, and what the reader/writer services share.

**API for processors.** A processor names a reader with
``PropertySpec(..., identifies_controller_service=RECORD_READER_FACTORY)`` and a
writer with ``RECORD_SET_WRITER_FACTORY`` (NiFi's interface names), then::

    reader_factory = context.property(READER).as_controller_service(RecordReaderFactory)
    writer_factory = context.property(WRITER).as_controller_service(RecordSetWriterFactory)
    reader = reader_factory.create_reader(ff.attributes, lambda: session.read(ff))
    writer = writer_factory.create_writer(writer_factory.get_schema(ff.attributes, reader.schema), ff.attributes)
    out = session.write(ff, writer.write(iter(reader)))     # streamed both ways
    attributes = {"record.count": str(writer.record_count), "mime.type": writer.mime_type, **writer.attributes()}

- ``create_reader(attributes, open_stream)`` takes a callable that opens the
  content afresh: a reader that infers its schema reads the content once to
  infer and once more to produce records (as NiFi does), so memory stays
  bounded by one record, never the whole content. Iterating the reader yields
  records (``dict``) already coerced to ``reader.schema``; a field the input
  lacks is absent from the dict (writers treat it as null, or leave it out
  when told to suppress missing values).
- ``RecordSetWriter.write(records)`` is a generator of byte chunks (about
  64 KiB each) that ``session.write`` consumes; ``record_count`` is final once
  it is exhausted. ``attributes()`` are the attributes the writer sets (e.g.
  ``avro.schema`` under the "Set 'avro.schema' Attribute" write strategy).
- Every problem with the data (malformed text, a value that cannot be coerced,
  a missing or bad schema) raises ``RecordError`` (a ``ValueError``; a schema
  that cannot be found raises its subclass ``SchemaNotFoundError``) or
  ``IllegalTypeConversion`` (also a ``ValueError``), possibly only while
  iterating: a processor catches ``ValueError`` around the whole conversion
  and routes the original flowfile to failure.

**Schema registries.** A service that hands out schemas by name provides the
``SchemaRegistry`` API (``SCHEMA_REGISTRY_API``, NiFi's interface name):
``retrieve_schema(SchemaIdentifier(name, version, branch))`` returns the
``RecordSchema`` or raises ``SchemaNotFoundError``. Readers and writers reach
it through ``SchemaSource`` under the "Use 'Schema Name' Property" strategy;
a schema a registry gives is an ``IdentifiedSchema`` (a ``RecordSchema`` that
also carries the ``identifier`` it was found by, equal to the plain schema of
the same fields), which the "Set 'schema.name' Attribute" write strategy
writes out (``writer_attributes``).

Every method is safe to call from several threads at once: the factories
keep only the configuration read in ``on_enabled``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from flowyard.processors._records import (
    JavaDateFormat,
    RecordSchema,
    TimeFormats,
    parse_avro_schema_text,
)
from flowyard.processors._records._avro import to_avro_schema
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ExpressionScope,
    PropertyDependency,
    PropertySpec,
    PropertyValue,
    PropertyValueError,
    ValidationResult,
)

__all__ = [
    "RECORD_READER_FACTORY",
    "RECORD_SET_WRITER_FACTORY",
    "SCHEMA_REGISTRY_API",
    "IdentifiedSchema",
    "RecordError",
    "RecordReader",
    "RecordReaderFactory",
    "RecordSetWriter",
    "RecordSetWriterFactory",
    "SchemaIdentifier",
    "SchemaNotFoundError",
    "SchemaRegistry",
    "schema_identifier",
]

RECORD_READER_FACTORY = "RecordReaderFactory"
"""API name of record readers (NiFi's ``RecordReaderFactory``)."""
RECORD_SET_WRITER_FACTORY = "RecordSetWriterFactory"
"""API name of record writers (NiFi's ``RecordSetWriterFactory``)."""
SCHEMA_REGISTRY_API = "SchemaRegistry"
"""API name of schema registries (NiFi's ``SchemaRegistry``)."""

OpenStream = Callable[[], BinaryIO]
CHUNK = 64 * 1024


class RecordError(ValueError):
    """The content or its schema cannot be read as records (NiFi's
    ``MalformedRecordException`` / ``SchemaNotFoundException``)."""


class SchemaNotFoundError(RecordError):
    """No schema could be found for a flowfile: no name, an unknown name, an
    unreachable registry (NiFi's ``SchemaNotFoundException``)."""


@dataclass(frozen=True, slots=True)
class SchemaIdentifier:
    """What a schema is looked up by (NiFi's ``SchemaIdentifier``): a name, and
    optionally a version and a branch."""

    name: str
    version: int | None = None
    branch: str | None = None


class IdentifiedSchema(RecordSchema):
    """A ``RecordSchema`` found in a registry, with the ``identifier`` it was
    found by. It equals (and hashes like) the plain ``RecordSchema`` of the
    same fields, name and namespace."""

    identifier: SchemaIdentifier

    def __init__(self, schema: RecordSchema, identifier: SchemaIdentifier) -> None:
        super().__init__(schema.fields, schema.name, schema.namespace)
        object.__setattr__(self, "identifier", identifier)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RecordSchema):
            return NotImplemented
        return (self.fields, self.name, self.namespace) == (other.fields, other.name, other.namespace)

    __hash__ = RecordSchema.__hash__

    def __repr__(self) -> str:
        return f"IdentifiedSchema({self.identifier!r}, fields={self.field_names!r})"


def schema_identifier(schema: RecordSchema) -> SchemaIdentifier | None:
    """The identifier a registry gave ``schema``, None for a schema from elsewhere."""
    return schema.identifier if isinstance(schema, IdentifiedSchema) else None


class SchemaRegistry:
    """The ``SchemaRegistry`` API (NiFi's interface of that name). Implementations
    must be safe to call from several threads at once."""

    def retrieve_schema(self, identifier: SchemaIdentifier) -> RecordSchema:
        """The schema ``identifier`` names; raises ``SchemaNotFoundError`` naming it
        when there is none."""
        raise NotImplementedError


class RecordReader:
    """Records of one flowfile: ``schema`` and iteration (once)."""

    schema: RecordSchema

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError


class RecordReaderFactory:
    """The ``RecordReaderFactory`` API."""

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of the content ``open_stream`` opens (it may be called twice). With
        ``coerce_types`` False (NiFi's ``nextRecord(coerceTypes=false)``, for ValidateRecord)
        a value that cannot be converted to its field's type is kept as read instead of
        raising, so the caller can judge each record."""
        raise NotImplementedError


class RecordSetWriter:
    """Writes one record set: ``write`` once, then ``record_count``/``attributes``."""

    mime_type: str = "application/octet-stream"
    record_count: int = 0

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        """The serialized record set, in chunks."""
        raise NotImplementedError

    def attributes(self) -> dict[str, str]:
        """Attributes to set on the flowfile written."""
        return {}


class RecordSetWriterFactory:
    """The ``RecordSetWriterFactory`` API."""

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The schema to write with: the reader's (inherit) or the writer's own."""
        raise NotImplementedError

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """A writer of records of ``schema``."""
        raise NotImplementedError


# -- shared property specs -------------------------------------------------------------------

INFER = "infer-schema"
SCHEMA_NAME = "schema-name"
SCHEMA_TEXT_PROPERTY = "schema-text-property"
SCHEMA_REFERENCE_READER = "schema-reference-reader"
INHERIT = "inherit-record-schema"
HEADER_DERIVED = "csv-header-derived"
EMBEDDED = "embedded-avro-schema"

_STRATEGY_VALUES = {
    INFER: AllowableValue(INFER, "Infer Schema", "The schema is inferred from the data (which is read twice)."),
    SCHEMA_NAME: AllowableValue(SCHEMA_NAME, "Use 'Schema Name' Property",
                                "The schema is looked up in the Schema Registry by the Schema Name (and Version and "
                                "Branch, when the registry keeps them)."),
    SCHEMA_TEXT_PROPERTY: AllowableValue(SCHEMA_TEXT_PROPERTY, "Use 'Schema Text' Property",
                                         "The Avro schema in the Schema Text property (by default the "
                                         "flowfile's avro.schema attribute)."),
    SCHEMA_REFERENCE_READER: AllowableValue(SCHEMA_REFERENCE_READER, "Schema Reference Reader",
                                            "A schema reference reader service finds the schema (not supported "
                                            "yet)."),
    HEADER_DERIVED: AllowableValue(HEADER_DERIVED, "Use String Fields From Header",
                                   "Every column named in the header line is a string field."),
    INHERIT: AllowableValue(INHERIT, "Inherit Record Schema", "The schema of the records read is written."),
    EMBEDDED: AllowableValue(EMBEDDED, "Use Embedded Avro Schema",
                             "The schema in the header of the Avro data file."),
}
UNSUPPORTED_STRATEGIES = (SCHEMA_REFERENCE_READER,)


def schema_access_strategy(values: tuple[str, ...], default: str) -> PropertySpec:
    """NiFi's Schema Access Strategy with ``values`` in NiFi's order."""
    return PropertySpec(
        key="schema-access-strategy", display_name="Schema Access Strategy",
        description="How the schema of the records is obtained.", required=True, default=default,
        allowed_values=tuple(_STRATEGY_VALUES[v] for v in values),
    )


def _on(strategies: tuple[str, ...]) -> tuple[PropertyDependency, ...]:
    return (PropertyDependency("schema-access-strategy", strategies),)


SCHEMA_REGISTRY = PropertySpec(
    key="schema-registry", display_name="Schema Registry",
    description="The schema registry the Schema Name is looked up in (e.g. an AvroSchemaRegistry).",
    identifies_controller_service=SCHEMA_REGISTRY_API, dependencies=_on((SCHEMA_NAME, SCHEMA_REFERENCE_READER)),
)
SCHEMA_NAME_PROP = PropertySpec(
    key="schema-name", display_name="Schema Name",
    description="The name of the schema in the registry. Expression Language over the flowfile's attributes is "
                "evaluated for each flowfile, so the default takes the name from the schema.name attribute.",
    default="${schema.name}", dependencies=_on((SCHEMA_NAME,)),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SCHEMA_VERSION = PropertySpec(
    key="schema-version", display_name="Schema Version",
    description="The version of the schema in the registry, a whole number (empty: the latest). Expression "
                "Language over the flowfile's attributes is evaluated.",
    dependencies=_on((SCHEMA_NAME,)), expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SCHEMA_BRANCH = PropertySpec(
    key="schema-branch", display_name="Schema Branch",
    description="The branch of the schema in the registry, for registries that keep branches. Expression Language "
                "over the flowfile's attributes is evaluated.",
    dependencies=_on((SCHEMA_NAME,)), expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SCHEMA_TEXT = PropertySpec(
    key="schema-text", display_name="Schema Text",
    description="An Avro schema (JSON). Expression Language over the flowfile's attributes is evaluated, so the "
                "default takes the schema from the avro.schema attribute.",
    default="${avro.schema}", dependencies=_on((SCHEMA_TEXT_PROPERTY,)),
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
SCHEMA_REFERENCE_READER_PROP = PropertySpec(
    key="schema-reference-reader", display_name="Schema Reference Reader",
    description="The service that reads a schema reference from the flowfile (not supported yet).",
    required=True, identifies_controller_service="SchemaReferenceReader",
    dependencies=_on((SCHEMA_REFERENCE_READER,)),
)
SCHEMA_INFERENCE_CACHE = PropertySpec(
    key="schema-inference-cache", display_name="Schema Inference Cache",
    description="A cache of inferred schemas (accepted, not used: the schema is inferred for every flowfile).",
    identifies_controller_service="RecordSchemaCacheService", dependencies=_on((INFER,)),
)
DATE_FORMAT = PropertySpec(
    key="date-format", display_name="Date Format",
    description="The Java pattern of date values given as text, e.g. 'yyyy-MM-dd' (default: yyyy-MM-dd).",
)
TIME_FORMAT = PropertySpec(
    key="time-format", display_name="Time Format",
    description="The Java pattern of time values given as text, e.g. 'HH:mm:ss' (default: HH:mm:ss).",
)
TIMESTAMP_FORMAT = PropertySpec(
    key="timestamp-format", display_name="Timestamp Format",
    description="The Java pattern of timestamps given as text, e.g. 'yyyy-MM-dd HH:mm:ss.SSS' "
                "(default: yyyy-MM-dd HH:mm:ss).",
)

# writers
SCHEMA_WRITE_STRATEGY = PropertySpec(
    key="schema-write-strategy", display_name="Schema Write Strategy",
    description="Whether and how the schema is recorded with the output.", required=True, default="no-schema",
    allowed_values=(
        AllowableValue("no-schema", "Do Not Write Schema", "The schema is not recorded."),
        AllowableValue("schema-name", "Set 'schema.name' Attribute",
                       "The name the schema was found by in a registry (else its Avro name) goes to schema.name; "
                       "its version and branch, when known, to schema.version and schema.branch."),
        AllowableValue("full-schema-attribute", "Set 'avro.schema' Attribute",
                       "The whole Avro schema goes to the avro.schema attribute."),
        AllowableValue("schema-reference-writer", "Schema Reference Writer",
                       "A schema reference writer service records it (not supported yet)."),
    ),
)
SCHEMA_CACHE = PropertySpec(
    key="schema-cache", display_name="Schema Cache",
    description="A cache of the schemas written (accepted, not used).",
    identifies_controller_service="RecordSchemaCacheService",
)
SCHEMA_REFERENCE_WRITER = PropertySpec(
    key="schema-reference-writer", display_name="Schema Reference Writer",
    description="The service that writes a schema reference (not supported yet).", required=True,
    identifies_controller_service="SchemaReferenceWriter",
    dependencies=(PropertyDependency("schema-write-strategy", ("schema-reference-writer",)),),
)

READER_SCHEMA_PROPERTIES = (SCHEMA_REGISTRY, SCHEMA_NAME_PROP, SCHEMA_VERSION, SCHEMA_BRANCH, SCHEMA_TEXT,
                            SCHEMA_REFERENCE_READER_PROP)
WRITER_SCHEMA_PROPERTIES = (SCHEMA_WRITE_STRATEGY, SCHEMA_CACHE, SCHEMA_REFERENCE_WRITER)
TIME_FORMAT_PROPERTIES = (DATE_FORMAT, TIME_FORMAT, TIMESTAMP_FORMAT)

_REFERENCE = re.compile(r"\$\{\s*([^${}:()'\"]+?)\s*\}")


def validate_schema_access(context: ConfigurationContext) -> list[ValidationResult]:
    """Problems with the schema configuration: a strategy flowyard cannot serve
    yet, the schema-name strategy without a Schema Registry (reported on the
    Schema Access Strategy so that every service's filter keeps it), a Schema
    Name/Version/Branch whose Expression Language does not compile, bad date
    patterns."""
    results: list[ValidationResult] = []
    strategy = context.property("schema-access-strategy").raw
    if strategy in UNSUPPORTED_STRATEGIES:
        results.append(ValidationResult("Schema Access Strategy", f"the strategy {strategy!r} needs a schema "
                                        "reference reader, which flowyard does not support yet",
                                        "schema-access-strategy"))
    if strategy == SCHEMA_NAME and not context.properties.get(SCHEMA_REGISTRY.key):
        results.append(ValidationResult(
            "Schema Access Strategy", "the \"Use 'Schema Name' Property\" strategy needs a Schema Registry: "
            "set the Schema Registry property to a schema registry service (e.g. an AvroSchemaRegistry)",
            "schema-access-strategy"))
    if context.properties.get("schema-write-strategy") == "schema-reference-writer":
        results.append(ValidationResult("Schema Write Strategy", "schema reference writers are not supported yet",
                                        "schema-write-strategy"))
    for spec in TIME_FORMAT_PROPERTIES:
        pattern = context.properties.get(spec.key)
        if pattern:
            try:
                JavaDateFormat(pattern)
            except ValueError as exc:
                results.append(ValidationResult(spec.display_name, str(exc), spec.key))
    return results


def time_formats(context: ConfigurationContext) -> TimeFormats:
    """The Date/Time/Timestamp Format properties."""
    return TimeFormats(context.property(DATE_FORMAT).raw or None, context.property(TIME_FORMAT).raw or None,
                       context.property(TIMESTAMP_FORMAT).raw or None)


class SchemaSource:
    """A configured schema access strategy: gives the explicit schema for a flowfile.

    Strategies it serves: "Use 'Schema Text' Property" (the Avro schema in
    Schema Text, plain ``${attribute}`` references replaced) and "Use 'Schema
    Name' Property" (Schema Name, Version and Branch evaluated as Expression
    Language over the flowfile's attributes, then looked up in the Schema
    Registry service). Other strategies (inference, embedded schemas,
    inheritance) are the reader's or writer's own: ``explicit`` is False for them.
    """

    def __init__(self, context: ConfigurationContext) -> None:
        self.strategy = context.property("schema-access-strategy").raw or INFER
        self._text_value = context.property(SCHEMA_TEXT) if self.strategy == SCHEMA_TEXT_PROPERTY else None
        text = self._text_value.raw if self._text_value is not None else None
        self._text = text
        self._fixed: RecordSchema | None = None
        self._registry: PropertyValue | None = None
        self._name: PropertyValue | None = None
        self._version: PropertyValue | None = None
        self._branch: PropertyValue | None = None
        if text is not None and self._text_value is not None and self._text_value.is_literal:
            try:
                self._fixed = parse_avro_schema_text(text)
            except ValueError as exc:
                raise RecordError(f"Schema Text is not a valid Avro record schema: {exc}") from None
        if self.strategy == SCHEMA_NAME:
            registry = context.property(SCHEMA_REGISTRY)
            self._registry = registry if registry.is_set else None
            self._name, self._version, self._branch = (
                context.property(spec) for spec in (SCHEMA_NAME_PROP, SCHEMA_VERSION, SCHEMA_BRANCH))

    @property
    def explicit(self) -> bool:
        """Whether this strategy gives an explicit schema (``schema`` serves it)."""
        return self.strategy in (SCHEMA_TEXT_PROPERTY, SCHEMA_NAME)

    def schema(self, attributes: Mapping[str, str]) -> RecordSchema:
        """The explicit schema (schema-text and schema-name strategies); ``RecordError``
        when absent or invalid, ``SchemaNotFoundError`` when the registry has none."""
        if self._fixed is not None:
            return self._fixed
        if self.strategy == SCHEMA_NAME:
            return self._by_name(attributes)
        if self._text_value is None or self._text is None:
            raise RecordError(f"the schema access strategy {self.strategy!r} gives no explicit schema")
        try:
            text = self._text_value.evaluate(attributes).value or ""
        except ValueError as exc:
            raise RecordError(f"no schema: the Schema Text {self._text!r} cannot be evaluated for this flowfile: "
                              f"{exc}") from None
        if not text.strip():
            names = _REFERENCE.findall(self._text)
            if names and all(name not in attributes for name in names):
                raise RecordError(f"no schema: the flowfile has no attribute {names[0]!r} for the Schema Text")
            raise RecordError("no schema: the Schema Text is empty for this flowfile")
        try:
            return parse_avro_schema_text(text)
        except ValueError as exc:
            raise RecordError(f"the schema is not a valid Avro record schema: {exc}") from None

    def _by_name(self, attributes: Mapping[str, str]) -> RecordSchema:
        name = _evaluated(self._name, attributes).strip()
        if not name:
            raw = self._name.raw if self._name is not None else ""
            hint = f" (it is {raw!r}; does the flowfile have the attribute it names?)" if raw else ""
            raise SchemaNotFoundError(f"no schema name: the Schema Name is empty for this flowfile{hint}")
        version_text = _evaluated(self._version, attributes).strip()
        version: int | None = None
        if version_text:
            try:
                version = int(version_text)
            except ValueError:
                raise SchemaNotFoundError(f"cannot look up the schema named {name!r}: the Schema Version "
                                          f"{version_text!r} is not a whole number") from None
        branch = _evaluated(self._branch, attributes).strip() or None
        if self._registry is None:
            raise SchemaNotFoundError(f"cannot look up the schema named {name!r}: no Schema Registry is set")
        try:
            registry = self._registry.as_controller_service(SchemaRegistry)
        except PropertyValueError as exc:
            raise SchemaNotFoundError(f"cannot look up the schema named {name!r}: {exc}") from None
        identifier = SchemaIdentifier(name, version, branch)
        schema = registry.retrieve_schema(identifier)
        return schema if isinstance(schema, IdentifiedSchema) else IdentifiedSchema(schema, identifier)


def _evaluated(value: PropertyValue | None, attributes: Mapping[str, str]) -> str:
    if value is None or not value.is_set:
        return ""
    try:
        return value.evaluate(attributes).value or ""
    except ValueError as exc:
        raise SchemaNotFoundError(f"the expression {value.raw!r} cannot be evaluated for this flowfile: "
                                  f"{exc}") from None


def writer_attributes(strategy: str, schema: RecordSchema) -> dict[str, str]:
    """The attributes a writer's Schema Write Strategy sets: the whole Avro schema
    in ``avro.schema``, or ``schema.name`` (the name a registry found the schema
    by, else the schema's Avro name; nothing when neither is known) with
    ``schema.version`` and ``schema.branch`` when the registry's identifier has them."""
    if strategy == "full-schema-attribute":
        return {"avro.schema": json.dumps(to_avro_schema(schema), separators=(",", ":"))}
    if strategy == "schema-name":
        identifier = schema_identifier(schema)
        if identifier is None:
            return {"schema.name": schema.name} if schema.name else {}
        out = {"schema.name": identifier.name}
        if identifier.version is not None:
            out["schema.version"] = str(identifier.version)
        if identifier.branch:
            out["schema.branch"] = identifier.branch
        return out
    return {}
