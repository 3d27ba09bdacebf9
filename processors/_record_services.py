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
  a missing or bad schema) raises ``RecordError`` (a ``ValueError``) or
  ``IllegalTypeConversion`` (also a ``ValueError``), possibly only while
  iterating: a processor catches ``ValueError`` around the whole conversion
  and routes the original flowfile to failure.

Every method is safe to call from several threads at once: the factories
keep only the configuration read in ``on_enabled``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    PropertyDependency,
    PropertySpec,
    ValidationResult,
)

__all__ = [
    "RECORD_READER_FACTORY",
    "RECORD_SET_WRITER_FACTORY",
    "RecordError",
    "RecordReader",
    "RecordReaderFactory",
    "RecordSetWriter",
    "RecordSetWriterFactory",
]

RECORD_READER_FACTORY = "RecordReaderFactory"
"""API name of record readers (NiFi's ``RecordReaderFactory``)."""
RECORD_SET_WRITER_FACTORY = "RecordSetWriterFactory"
"""API name of record writers (NiFi's ``RecordSetWriterFactory``)."""

OpenStream = Callable[[], BinaryIO]
CHUNK = 64 * 1024


class RecordError(ValueError):
    """The content or its schema cannot be read as records (NiFi's
    ``MalformedRecordException`` / ``SchemaNotFoundException``)."""


class RecordReader:
    """Records of one flowfile: ``schema`` and iteration (once)."""

    schema: RecordSchema

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise NotImplementedError


class RecordReaderFactory:
    """The ``RecordReaderFactory`` API."""

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream) -> RecordReader:
        """A reader of the content ``open_stream`` opens (it may be called twice)."""
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
                                "The schema is looked up by name in a schema registry (not supported yet)."),
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
UNSUPPORTED_STRATEGIES = (SCHEMA_NAME, SCHEMA_REFERENCE_READER)


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
    description="The schema registry to look schemas up in (schema registries are not supported yet).",
    identifies_controller_service="SchemaRegistry", dependencies=_on((SCHEMA_NAME, SCHEMA_REFERENCE_READER)),
)
SCHEMA_NAME_PROP = PropertySpec(
    key="schema-name", display_name="Schema Name", description="The name of the schema in the registry.",
    default="${schema.name}", dependencies=_on((SCHEMA_NAME,)),
)
SCHEMA_VERSION = PropertySpec(
    key="schema-version", display_name="Schema Version", description="The version of the schema in the registry.",
    dependencies=_on((SCHEMA_NAME,)),
)
SCHEMA_BRANCH = PropertySpec(
    key="schema-branch", display_name="Schema Branch", description="The branch of the schema in the registry.",
    dependencies=_on((SCHEMA_NAME,)),
)
SCHEMA_TEXT = PropertySpec(
    key="schema-text", display_name="Schema Text",
    description="An Avro schema (JSON). '${attribute}' references are replaced by the flowfile's attributes, so "
                "the default takes the schema from the avro.schema attribute.",
    default="${avro.schema}", dependencies=_on((SCHEMA_TEXT_PROPERTY,)),
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
        AllowableValue("schema-name", "Set 'schema.name' Attribute", "The schema's name goes to schema.name."),
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
    """Problems with the schema configuration flowyard cannot serve yet."""
    results: list[ValidationResult] = []
    strategy = context.property("schema-access-strategy").raw
    if strategy in UNSUPPORTED_STRATEGIES:
        results.append(ValidationResult("Schema Access Strategy", f"the strategy {strategy!r} needs a schema "
                                        "registry, which flowyard does not support yet", "schema-access-strategy"))
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
    """A configured schema access strategy: gives the explicit schema for a flowfile."""

    def __init__(self, context: ConfigurationContext) -> None:
        self.strategy = context.property("schema-access-strategy").raw or INFER
        text = context.property(SCHEMA_TEXT).raw if self.strategy == SCHEMA_TEXT_PROPERTY else None
        self._text = text
        self._fixed: RecordSchema | None = None
        if text is not None and "${" not in text:
            try:
                self._fixed = parse_avro_schema_text(text)
            except ValueError as exc:
                raise RecordError(f"Schema Text is not a valid Avro record schema: {exc}") from None

    def schema(self, attributes: Mapping[str, str]) -> RecordSchema:
        """The explicit schema (schema-text strategies only); ``RecordError`` when absent or invalid."""
        if self._fixed is not None:
            return self._fixed
        if self._text is None:
            raise RecordError(f"the schema access strategy {self.strategy!r} gives no explicit schema")
        missing: list[str] = []

        def substitute(match: re.Match[str]) -> str:
            value = attributes.get(match.group(1))
            if value is None:
                missing.append(match.group(1))
                return ""
            return value

        text = _REFERENCE.sub(substitute, self._text)
        if missing:
            raise RecordError(f"no schema: the flowfile has no attribute {missing[0]!r} for the Schema Text")
        if not text.strip():
            raise RecordError("no schema: the Schema Text is empty for this flowfile")
        try:
            return parse_avro_schema_text(text)
        except ValueError as exc:
            raise RecordError(f"the schema is not a valid Avro record schema: {exc}") from None


def writer_attributes(strategy: str, schema: RecordSchema) -> dict[str, str]:
    """The attributes a writer's Schema Write Strategy sets."""
    if strategy == "full-schema-attribute":
        return {"avro.schema": json.dumps(to_avro_schema(schema), separators=(",", ":"))}
    if strategy == "schema-name" and schema.name:
        return {"schema.name": schema.name}
    return {}
