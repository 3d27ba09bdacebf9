"""AvroReader and AvroRecordSetWriter: records as Avro (fastavro), streamed.

See ``processors/_record_services.py`` for the reader/writer API.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from flowyard.processors._common import PrefixedStream
from flowyard.processors._record_services import (
    CHUNK,
    EMBEDDED,
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    SCHEMA_CACHE,
    SCHEMA_REFERENCE_WRITER,
    OpenStream,
    RecordError,
    RecordReader,
    RecordReaderFactory,
    RecordSetWriter,
    RecordSetWriterFactory,
    SchemaSource,
    schema_access_strategy,
    validate_schema_access,
    writer_attributes,
)
from flowyard.processors._records import (
    DataType,
    RecordFieldType,
    RecordSchema,
    from_avro_schema,
    to_avro_schema,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    ExpressionScope,
    PropertySpec,
    ValidationResult,
    validators,
)

__all__ = ["AvroReader", "AvroRecordSetWriter"]

_MAGIC = b"Obj\x01"
T = RecordFieldType

CACHE_SIZE = PropertySpec(
    key="cache-size", display_name="Cache Size", description="How many parsed schemas are kept (accepted, not used).",
    required=True, default="1000", validator=validators.NON_NEGATIVE_INTEGER,
)
FAST_READER = PropertySpec(
    key="fast-reader-enabled", display_name="Fast Reader Enabled",
    description="NiFi's choice of Avro decoder; fastavro decodes every choice.", required=True, default="true",
    allowed_values=(AllowableValue("true"), AllowableValue("false")), aliases=("Fast Reader Enabled",),
)


def _naive(value: Any) -> Any:
    """Timestamps as naive UTC, as the record model keeps them."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict):
        return {k: _naive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_naive(v) for v in value]
    return value


class _AvroRecordReader(RecordReader):
    def __init__(self, factory: AvroReader, attributes: Mapping[str, str], open_stream: OpenStream,
                 coerce_types: bool = True) -> None:
        # Avro values already have their schema's types: nothing to coerce either way
        import fastavro
        self._open = open_stream
        self._explicit: Any = None
        if factory.schema_source.strategy == EMBEDDED:
            stream = open_stream()
            try:
                avro = fastavro.reader(stream).writer_schema
            except (ValueError, EOFError, TypeError, KeyError, StopIteration) as exc:
                raise RecordError(f"the content is not an Avro data file: {exc or type(exc).__name__}") from None
            finally:
                stream.close()
            self.schema = from_avro_schema(avro)
        else:
            self.schema = factory.schema_source.schema(attributes)
            self._explicit = fastavro.parse_schema(to_avro_schema(self.schema))

    def _datums(self, stream: BinaryIO) -> Iterator[Any]:
        import fastavro
        head = stream.read(4)
        rest = io.BufferedReader(PrefixedStream(head, stream))
        if head == _MAGIC:
            yield from fastavro.reader(rest, reader_schema=self._explicit)
            return
        if self._explicit is None:
            raise RecordError("the content is not an Avro data file")
        while rest.peek(1):
            yield fastavro.schemaless_reader(rest, self._explicit, None)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        stream = self._open()
        try:
            for number, datum in enumerate(self._datums(stream), 1):
                if not isinstance(datum, dict):
                    raise RecordError(f"record {number} is not an Avro record")
                yield _naive(datum)
        except (EOFError, TypeError, KeyError, IndexError, StopIteration) as exc:
            raise RecordError(f"the Avro data is malformed: {exc or type(exc).__name__}") from None
        except ValueError as exc:
            if isinstance(exc, RecordError):
                raise
            raise RecordError(f"the Avro data is malformed: {exc}") from None
        finally:
            stream.close()


class AvroReader(ControllerService, RecordReaderFactory):
    """Reads Avro as records: an Avro data file with its embedded schema (the
    default), or, with Schema Text, either a data file read with that schema or
    bare binary-encoded records one after another. Records stream one at a
    time. Timestamps are kept as UTC.

    Differences from NiFi: schema registries and schema reference readers are
    not supported yet (they make the service invalid); Cache Size and Fast
    Reader Enabled are accepted but fastavro decodes every case; Schema Text
    takes only plain ``${attribute}`` references.
    """

    spec = ControllerServiceSpec(
        description="Reads records from Avro data (with the embedded schema or a given one).",
        provides=(RECORD_READER_FACTORY,),
        tags=("avro", "parse", "record", "row", "reader", "delimited", "comma", "separated", "values"),
        properties=(
            schema_access_strategy(("schema-name", "schema-text-property", "schema-reference-reader", EMBEDDED),
                                   EMBEDDED),
            *READER_SCHEMA_PROPERTIES, CACHE_SIZE, FAST_READER,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies."""
        return [r for r in validate_schema_access(context) if r.key == "schema-access-strategy"]

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of Avro content."""
        return _AvroRecordReader(self, attributes, open_stream, coerce_types)


SCHEMA_WRITE_STRATEGY = PropertySpec(
    key="schema-write-strategy", display_name="Schema Write Strategy",
    description="Whether the schema is embedded in the output or recorded otherwise.", required=True,
    default="avro-embedded",
    allowed_values=(
        AllowableValue("avro-embedded", "Embed Avro Schema", "An Avro data file with the schema in its header."),
        AllowableValue("no-schema", "Do Not Write Schema", "Bare binary-encoded records, no schema anywhere."),
        AllowableValue("schema-name", "Set 'schema.name' Attribute", "Bare records; the schema's name in schema.name."),
        AllowableValue("full-schema-attribute", "Set 'avro.schema' Attribute",
                       "Bare records; the whole schema in the avro.schema attribute."),
        AllowableValue("schema-reference-writer", "Schema Reference Writer",
                       "A schema reference writer service records it (not supported yet)."),
    ),
)
COMPRESSION_FORMAT = PropertySpec(
    key="compression-format", display_name="Compression Format",
    description="The codec of the data file's blocks.", required=True, default="NONE",
    allowed_values=tuple(AllowableValue(v) for v in ("BZIP2", "DEFLATE", "NONE", "SNAPPY", "LZO")),
)
ENCODER_POOL_SIZE = PropertySpec(
    key="encoder-pool-size", display_name="Encoder Pool Size",
    description="NiFi's number of reusable encoders (accepted, not used).", required=True, default="32",
    validator=validators.POSITIVE_INTEGER, expression_scope=ExpressionScope.ENVIRONMENT,
)
_CODECS = {"NONE": "null", "DEFLATE": "deflate", "BZIP2": "bzip2", "SNAPPY": "snappy"}


def _for_avro(value: Any, data_type: DataType | None) -> Any:
    if value is None or data_type is None:
        return value
    kind = data_type.field_type
    if kind is T.BIGINT:
        return str(value)
    if kind is T.RECORD and isinstance(value, dict) and data_type.schema is not None:
        return {f.name: _for_avro(value.get(f.name), f.data_type) for f in data_type.schema.fields}
    if kind is T.ARRAY and isinstance(value, list):
        return [_for_avro(v, data_type.element) for v in value]
    if kind is T.MAP and isinstance(value, dict):
        return {k: _for_avro(v, data_type.element) for k, v in value.items()}
    return value


class _AvroSetWriter(RecordSetWriter):
    mime_type = "application/avro-binary"

    def __init__(self, factory: AvroRecordSetWriter, schema: RecordSchema) -> None:
        import fastavro
        self._f = factory
        self._schema = schema
        try:
            self._parsed = fastavro.parse_schema(to_avro_schema(schema))
        except (ValueError, TypeError, KeyError) as exc:
            raise RecordError(f"the schema cannot be written as Avro: {exc}") from None

    def attributes(self) -> dict[str, str]:
        strategy = self._f.write_strategy
        return {} if strategy == "avro-embedded" else writer_attributes(strategy, self._schema)

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        import fastavro
        from fastavro.write import Writer
        buffer = io.BytesIO()
        embedded = self._f.write_strategy == "avro-embedded"
        writer = Writer(buffer, self._parsed, codec=self._f.codec) if embedded else None
        fields = self._schema.fields
        count = 0
        for record in records:
            datum = {f.name: _for_avro(record.get(f.name), f.data_type) for f in fields}
            try:
                if writer is not None:
                    writer.write(datum)
                else:
                    fastavro.schemaless_writer(buffer, self._parsed, datum)
            except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
                raise RecordError(f"record {count + 1} cannot be written as Avro: {exc}") from None
            count += 1
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        if writer is not None:
            writer.flush()
        self.record_count = count
        if buffer.tell():
            yield buffer.getvalue()


class AvroRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes records as Avro: by default an Avro data file with the schema
    embedded (the blocks compressed with the Compression Format), otherwise
    the bare binary-encoded records one after another. Output streams in
    chunks. A BIGINT field is written as an Avro string (Avro has no wider
    integer than long).

    Differences from NiFi: schema registries and schema reference writers are
    not supported (they make the service invalid); LZO compression is not
    supported (invalid); Cache Size, Encoder Pool Size and Schema Cache are
    accepted but not used.
    """

    spec = ControllerServiceSpec(
        description="Writes records as Avro (a data file with the schema embedded, or bare records).",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("avro", "result", "set", "writer", "serializer", "record", "recordset", "row"),
        properties=(
            SCHEMA_WRITE_STRATEGY, SCHEMA_CACHE, SCHEMA_REFERENCE_WRITER,
            schema_access_strategy(("inherit-record-schema", "schema-name", "schema-text-property"),
                                   "inherit-record-schema"),
            *READER_SCHEMA_PROPERTIES, COMPRESSION_FORMAT, CACHE_SIZE, ENCODER_POOL_SIZE,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies and LZO."""
        results = [r for r in validate_schema_access(context) if r.key in ("schema-access-strategy",
                                                                           "schema-write-strategy")]
        if context.property(COMPRESSION_FORMAT).raw == "LZO":
            results.append(ValidationResult("Compression Format", "LZO is not supported", COMPRESSION_FORMAT.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.write_strategy = context.property(SCHEMA_WRITE_STRATEGY).raw or "avro-embedded"
        self.codec = _CODECS.get(context.property(COMPRESSION_FORMAT).raw or "NONE", "null")

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The reader's schema (Inherit Record Schema) or the Schema Text's."""
        if self.schema_source.strategy == "inherit-record-schema":
            if read_schema is None:
                raise RecordError("Inherit Record Schema needs the schema of the records read")
            return read_schema
        return self.schema_source.schema(attributes)

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """An Avro writer of ``schema``."""
        return _AvroSetWriter(self, schema)
