"""JsonTreeReader and JsonRecordSetWriter: records as JSON (NiFi's JSON services).

The reader streams: it decodes one top-level value (or one element of a
top-level array) at a time, so memory is bounded by the largest record. See
``processors/_record_services.py`` for the reader/writer API.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import lzma
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, BinaryIO
from uuid import UUID

from flowyard.processors._record_services import (
    CHUNK,
    INFER,
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    SCHEMA_INFERENCE_CACHE,
    TIME_FORMAT_PROPERTIES,
    WRITER_SCHEMA_PROPERTIES,
    OpenStream,
    RecordError,
    RecordReader,
    RecordReaderFactory,
    RecordSetWriter,
    RecordSetWriterFactory,
    SchemaSource,
    schema_access_strategy,
    time_formats,
    validate_schema_access,
    writer_attributes,
)
from flowyard.processors._records import (
    DataType,
    RecordFieldType,
    RecordSchema,
    SchemaInference,
    TimeFormats,
    coerce,
    coerce_or_keep,
    to_text,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    PropertyDependency,
    PropertySpec,
    ValidationResult,
    validators,
)
from flowyard.runtime.sdk.javatime import compiled

__all__ = ["JsonRecordSetWriter", "JsonTreeReader", "iter_json_values"]

_WS = " \t\r\n"


def iter_json_values(stream: BinaryIO, *, chunk_size: int = CHUNK, max_value: int | None = None) -> Iterator[Any]:
    """The JSON values of ``stream``: the elements of a top-level array, or each
    of several concatenated top-level values (one object, or one per line).

    Reads ``chunk_size`` bytes at a time; a value larger than ``max_value``
    characters raises ``RecordError``, as does malformed JSON.
    """
    decoder = json.JSONDecoder()
    reader = codecs.getincrementaldecoder("utf-8-sig")()
    buffer = ""
    pos = 0
    eof = False
    in_array = False
    first = False  # the next array element is the first (no comma before it)

    def fill() -> bool:
        nonlocal buffer, pos, eof
        if eof:
            return False
        data = stream.read(chunk_size)
        if not data:
            eof = True
            buffer = buffer[pos:] + reader.decode(b"", final=True)
        else:
            buffer = buffer[pos:] + reader.decode(data)
        pos = 0
        return True

    def skip_ws() -> bool:
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _WS:
                pos += 1
            if pos < len(buffer):
                return True
            if not fill():
                return False

    try:
        while True:
            if not skip_ws():
                if in_array:
                    raise RecordError("the JSON array is not closed")
                return
            if in_array:
                if buffer[pos] == "]":
                    pos += 1
                    in_array = False
                    continue
                if not first:
                    if buffer[pos] != ",":
                        raise RecordError(f"expected ',' or ']' in the JSON array, found {buffer[pos]!r}")
                    pos += 1
                    if not skip_ws():
                        raise RecordError("the JSON array is not closed")
                first = False
            elif buffer[pos] == "[":
                in_array = True  # a top-level array: its elements are the values
                first = True
                pos += 1
                continue
            while True:
                try:
                    value, end = decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError as exc:
                    if eof:
                        raise RecordError(f"malformed JSON: {exc.msg} at character {exc.pos}") from None
                    if max_value is not None and len(buffer) - pos > max_value:
                        raise RecordError(f"a JSON value is longer than {max_value} characters") from None
                    fill()
                    continue
                if end == len(buffer) and not eof:
                    fill()  # a number may go on in the next chunk
                    continue
                break
            pos = end
            yield value
    except UnicodeDecodeError as exc:
        raise RecordError(f"the content is not UTF-8: {exc}") from None
    except RecursionError:
        raise RecordError("the JSON is nested too deeply") from None


def _find_nested(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        if name in value:
            return value[name]
        for child in value.values():
            found = _find_nested(child, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for child in value:
            found = _find_nested(child, name)
            if found is not None:
                return found
    return None


STARTING_FIELD_STRATEGY = PropertySpec(
    key="starting-field-strategy", display_name="Starting Field Strategy",
    description="Where in the JSON the records start.", required=True, default="ROOT_NODE",
    allowed_values=(
        AllowableValue("ROOT_NODE", "Root Node", "The top-level object, or each element of the top-level array."),
        AllowableValue("NESTED_FIELD", "Nested Field", "The value of the first field named Starting Field Name."),
    ),
)
STARTING_FIELD_NAME = PropertySpec(
    key="starting-field-name", display_name="Starting Field Name",
    description="The field whose value (an object or an array of objects) holds the records.",
    dependencies=(PropertyDependency("starting-field-strategy", ("NESTED_FIELD",)),),
)
SCHEMA_APPLICATION_STRATEGY = PropertySpec(
    key="schema-application-strategy", display_name="Schema Application Strategy",
    description="Whether the schema describes the whole JSON or the part the records start at.", required=True,
    default="SELECTED_PART",
    allowed_values=(AllowableValue("WHOLE_JSON", "Whole JSON", "The schema describes the whole document."),
                    AllowableValue("SELECTED_PART", "Selected Part", "The schema describes each record.")),
    dependencies=(PropertyDependency("starting-field-strategy", ("NESTED_FIELD",)),
                  PropertyDependency("schema-access-strategy",
                                     ("schema-name", "schema-text-property", "schema-reference-reader"))),
)
MAX_STRING_LENGTH = PropertySpec(
    key="max-string-length", display_name="Max String Length",
    description="The longest JSON value (a record) accepted, as a data size.", required=True, default="20 MB",
    validator=validators.DATA_SIZE,
)
PARSING_STRATEGY = PropertySpec(
    key="parsing-strategy", display_name="Parsing Strategy", description="How strictly JSON is parsed.",
    required=True, default="STANDARD",
    allowed_values=(AllowableValue("STANDARD", "Standard", "Strict JSON."),
                    AllowableValue("LENIENT", "Lenient", "Accepted; parsed as Standard in flowyard.")),
)


class _JsonRecordReader(RecordReader):
    def __init__(self, factory: JsonTreeReader, attributes: Mapping[str, str], open_stream: OpenStream,
                 coerce_types: bool = True) -> None:
        self._convert = coerce if coerce_types else coerce_or_keep
        self._f = factory
        self._open = open_stream
        if factory.schema_source.strategy == INFER:
            inference = SchemaInference(factory.formats)
            for raw in self._raw_records():
                inference.add(raw)
            self.schema = inference.schema()
        else:
            self.schema = factory.schema_source.schema(attributes)

    def _raw_records(self) -> Iterator[dict[str, Any]]:
        stream = self._open()
        try:
            values: Iterable[Any] = iter_json_values(stream, max_value=self._f.max_length)
            if self._f.nested is not None:
                documents = list(values)
                found = _find_nested(documents[0] if len(documents) == 1 else documents, self._f.nested)
                values = found if isinstance(found, list) else [] if found is None else [found]
            for value in values:
                if not isinstance(value, dict):
                    raise RecordError(f"a JSON record must be an object, not {type(value).__name__}: {value!r:.60}")
                yield value
        finally:
            stream.close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        formats = self._f.formats
        fields = self.schema.fields
        for number, raw in enumerate(self._raw_records(), 1):
            record: dict[str, Any] = {}
            for field in fields:
                if field.name in raw:
                    value = raw[field.name]
                else:
                    alias = next((a for a in field.aliases if a in raw), None)
                    if alias is None:
                        continue  # absent: writers decide whether it is a null
                    value = raw[alias]
                try:
                    record[field.name] = self._convert(value, field.data_type, formats)
                except ValueError as exc:
                    raise RecordError(f"record {number}: field {field.name!r}: {exc}") from None
            yield record


class JsonTreeReader(ControllerService, RecordReaderFactory):
    """Reads JSON as records: a top-level object is one record, each element of
    a top-level array is one, and several top-level objects (JSON Lines) are
    one each. The content is decoded one record at a time.

    Schema: inferred from every record (whole numbers int/long/bigint, other
    numbers double, nested objects records, arrays of the merged element
    type, fields of mixed kinds a choice; strings become dates or timestamps
    only when a Date/Time/Timestamp Format is set and matches) or an Avro
    schema in Schema Text; values are coerced to the schema's types, a value
    that cannot be coerced fails the flowfile with the record number and field.

    Differences from NiFi: schema registries and schema reference readers are
    not supported yet (the strategies make the service invalid); the Schema
    Inference Cache is accepted but not used; the Nested Field strategy reads
    the whole document into memory (the root-node strategy streams) and the
    Schema Application Strategy is always Selected Part; Parsing Strategy
    Lenient parses strictly; Schema Text takes only plain ``${attribute}``
    references; Max String Length bounds a whole record, not one string.
    """

    spec = ControllerServiceSpec(
        description="Reads records from JSON: an object, an array of objects, or one object per line.",
        provides=(RECORD_READER_FACTORY,),
        tags=("json", "tree", "record", "reader", "parser"),
        properties=(
            schema_access_strategy((INFER, "schema-name", "schema-text-property", "schema-reference-reader"), INFER),
            *READER_SCHEMA_PROPERTIES, SCHEMA_INFERENCE_CACHE, STARTING_FIELD_STRATEGY, STARTING_FIELD_NAME,
            SCHEMA_APPLICATION_STRATEGY, MAX_STRING_LENGTH, PARSING_STRATEGY, *TIME_FORMAT_PROPERTIES,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies, bad date patterns, a nested strategy without a name."""
        results = validate_schema_access(context)
        if context.property(STARTING_FIELD_STRATEGY).raw == "NESTED_FIELD" and not context.property(
                STARTING_FIELD_NAME).raw:
            results.append(ValidationResult("Starting Field Name", "the Nested Field strategy needs a field name",
                                            STARTING_FIELD_NAME.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats = time_formats(context)
        nested = context.property(STARTING_FIELD_STRATEGY).raw == "NESTED_FIELD"
        self.nested = context.property(STARTING_FIELD_NAME).raw if nested else None
        self.max_length = context.property(MAX_STRING_LENGTH).as_data_size()

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of JSON content."""
        return _JsonRecordReader(self, attributes, open_stream, coerce_types)


# -- writer -------------------------------------------------------------------------------------

PRETTY_PRINT = PropertySpec(
    key="Pretty Print JSON", display_name="Pretty Print JSON", description="Whether the JSON is indented.",
    required=True, default="false", allowed_values=(AllowableValue("true"), AllowableValue("false")),
)
SUPPRESS_NULLS = PropertySpec(
    key="suppress-nulls", display_name="Suppress Null Values", description="Whether null fields are left out.",
    required=True, default="never-suppress",
    allowed_values=(
        AllowableValue("never-suppress", "Never Suppress", "Every field of the schema is written, null or not."),
        AllowableValue("always-suppress", "Always Suppress", "Fields whose value is null are left out."),
        AllowableValue("suppress-missing", "Suppress Missing Values",
                       "Fields the record does not have are left out; explicit nulls are written."),
    ),
)
ALLOW_SCIENTIFIC = PropertySpec(
    key="Allow Scientific Notation", display_name="Allow Scientific Notation",
    description="Whether large or small floating-point numbers may be written with an exponent.", required=True,
    default="false", allowed_values=(AllowableValue("true"), AllowableValue("false")),
)
OUTPUT_GROUPING = PropertySpec(
    key="output-grouping", display_name="Output Grouping", description="How the records are laid out.",
    required=True, default="output-array",
    allowed_values=(AllowableValue("output-array", "Array", "One JSON array of every record."),
                    AllowableValue("output-oneline", "One Line Per Object", "One record per line (JSON Lines).")),
)
COMPRESSION_FORMAT = PropertySpec(
    key="compression-format", display_name="Compression Format", description="How the output is compressed.",
    required=True, default="none",
    allowed_values=tuple(AllowableValue(v) for v in ("none", "gzip", "bzip2", "xz-lzma2", "snappy", "snappy framed",
                                                     "zstd")),
)
COMPRESSION_LEVEL = PropertySpec(
    key="compression-level", display_name="Compression Level", description="The gzip compression level.",
    required=True, default="1", allowed_values=tuple(AllowableValue(str(i)) for i in range(10)),
    dependencies=(PropertyDependency("compression-format", ("gzip",)),),
)
SERIALIZED_JSON_INPUT = PropertySpec(
    key="Serialized JSON Input Handling", display_name="Serialized JSON Input Handling",
    description="NiFi's handling of strings holding serialized JSON; flowyard writes strings as strings.",
    required=True, default="ENABLED",
    allowed_values=(AllowableValue("ENABLED", "Enabled"), AllowableValue("DISABLED", "Disabled")),
)
TIMESTAMP_REPRESENTATION = PropertySpec(
    key="Timestamp Representation", display_name="Timestamp Representation",
    description="How timestamps are written.", required=True, default="AUTO",
    allowed_values=(
        AllowableValue("AUTO", "Automatic", "Text in the Timestamp Format when one is set, else epoch milliseconds."),
        AllowableValue("FORMATTED_STRING", "Formatted String", "Text in the Timestamp Format (or its default)."),
        AllowableValue("EPOCH_MILLISECONDS", "Epoch Milliseconds", "Milliseconds since 1970-01-01T00:00:00Z."),
        AllowableValue("EPOCH_SECONDS", "Epoch Seconds", "Seconds since 1970-01-01T00:00:00Z."),
    ),
)
_SUPPORTED_COMPRESSION = ("none", "gzip", "bzip2", "xz-lzma2")
_EPOCH = datetime(1970, 1, 1)


def _epoch_ms(value: datetime) -> int:
    offset = value.utcoffset()
    if offset is not None:
        value = value.replace(tzinfo=None) - offset
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


class _Compressor:
    def __init__(self, fmt: str, level: int) -> None:
        self._obj: Any = None
        if fmt == "gzip":
            self._obj = _GzipStream(level)
        elif fmt == "bzip2":
            self._obj = bz2.BZ2Compressor()
        elif fmt == "xz-lzma2":
            self._obj = lzma.LZMACompressor()

    def compress(self, data: bytes) -> bytes:
        return data if self._obj is None else bytes(self._obj.compress(data))

    def flush(self) -> bytes:
        return b"" if self._obj is None else bytes(self._obj.flush())


class _GzipStream:
    def __init__(self, level: int) -> None:
        import io

        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", compresslevel=level, mtime=0)

    def _take(self) -> bytes:
        data = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data

    def compress(self, data: bytes) -> bytes:
        self._gzip.write(data)
        return self._take()

    def flush(self) -> bytes:
        self._gzip.close()
        return self._take()


class _JsonSetWriter(RecordSetWriter):
    mime_type = "application/json"

    def __init__(self, factory: JsonRecordSetWriter, schema: RecordSchema) -> None:
        self._f = factory
        self._schema = schema

    def attributes(self) -> dict[str, str]:
        return writer_attributes(self._f.write_strategy, self._schema)

    def _value(self, value: Any, data_type: DataType | None) -> Any:
        f = self._f
        if value is None or isinstance(value, (str, bool, int)):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else to_text(value)
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() and data_type is not None and (
                data_type.scale in (None, 0)) else float(value)
        if isinstance(value, datetime):
            mode = f.timestamp_mode
            if mode == "EPOCH_MILLISECONDS" or (mode == "AUTO" and not f.formats.timestamp):
                return _epoch_ms(value)
            if mode == "EPOCH_SECONDS":
                return _epoch_ms(value) // 1000
            return compiled(f.formats.timestamp_pattern).format(value)
        if isinstance(value, (date, time)):
            return to_text(value, f.formats)
        if isinstance(value, UUID):
            return str(value)
        if isinstance(value, (bytes, bytearray)):
            return list(value)
        if isinstance(value, dict):
            schema = data_type.schema if data_type is not None and data_type.field_type is RecordFieldType.RECORD \
                else None
            if schema is not None:
                return self._record(value, schema)
            element = data_type.element if data_type is not None else None
            return {str(k): self._value(v, element) for k, v in value.items()
                    if not (v is None and f.suppress == "always-suppress")}
        if isinstance(value, (list, tuple)):
            element = data_type.element if data_type is not None else None
            return [self._value(v, element) for v in value]
        return to_text(value, f.formats)

    def _record(self, record: Mapping[str, Any], schema: RecordSchema) -> dict[str, Any]:
        suppress = self._f.suppress
        out: dict[str, Any] = {}
        for field in schema.fields:
            if field.name not in record:
                if suppress == "never-suppress":
                    out[field.name] = None
                continue
            value = record[field.name]
            if value is None and suppress == "always-suppress":
                continue
            out[field.name] = self._value(value, field.data_type)
        return out

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        f = self._f
        pretty = f.pretty
        array = f.grouping == "output-array"
        dumps = json.JSONEncoder(ensure_ascii=False, indent=2 if pretty else None,
                                 separators=(",", " : ") if pretty else (",", ":")).encode
        compressor = _Compressor(f.compression, f.compression_level)
        opening, separator, closing = ("[ ", ", ", " ]") if pretty else ("[", ",", "]")
        parts: list[str] = [opening] if array else []
        size = 1
        count = 0
        for record in records:
            text = dumps(self._record(record, self._schema))
            if count:
                parts.append(separator if array else "\n")
            parts.append(text)
            size += len(text) + 1
            count += 1
            if size >= CHUNK:
                chunk = compressor.compress("".join(parts).encode("utf-8"))
                parts.clear()
                size = 0
                if chunk:
                    yield chunk
        if array:
            parts.append(closing if count else "]")  # no records: "[]" (pretty: "[ ]")
        self.record_count = count
        tail = compressor.compress("".join(parts).encode("utf-8")) + compressor.flush()
        if tail:
            yield tail


class JsonRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes records as JSON: one array of objects (Array) or one object per
    line (One Line Per Object), fields in the schema's order. Zero records
    give ``[]`` (Array) or nothing. Dates and times are text in the
    Date/Time Format (NiFi's defaults otherwise); timestamps follow Timestamp
    Representation (Automatic: text when a Timestamp Format is set, epoch
    milliseconds otherwise); decimals are numbers.

    Differences from NiFi: schema registries and schema reference writers are
    not supported (they make the service invalid); Schema Cache is accepted,
    not used; compression snappy, snappy framed and zstd are not supported yet
    (invalid); pretty printing indents by two spaces with Jackson's
    ``"key" : value`` spacing but puts each array element on its own line;
    Allow Scientific Notation is accepted but Python's float text is written
    (an exponent only for very large or small numbers); decimals with a
    fraction are written as doubles; Serialized JSON Input Handling is
    accepted but strings always stay strings.
    """

    spec = ControllerServiceSpec(
        description="Writes records as JSON: an array of objects or one object per line.",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("json", "resultset", "writer", "serialize", "record", "recordset", "row"),
        properties=(
            *WRITER_SCHEMA_PROPERTIES,
            schema_access_strategy(("inherit-record-schema", "schema-name", "schema-text-property"),
                                   "inherit-record-schema"),
            *READER_SCHEMA_PROPERTIES, *TIME_FORMAT_PROPERTIES, PRETTY_PRINT, SUPPRESS_NULLS, ALLOW_SCIENTIFIC,
            OUTPUT_GROUPING, COMPRESSION_FORMAT, COMPRESSION_LEVEL, SERIALIZED_JSON_INPUT, TIMESTAMP_REPRESENTATION,
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies and compressions, bad date patterns."""
        results = validate_schema_access(context)
        compression = context.property(COMPRESSION_FORMAT).raw
        if compression not in _SUPPORTED_COMPRESSION:
            results.append(ValidationResult("Compression Format", f"{compression!r} is not supported yet",
                                            COMPRESSION_FORMAT.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.formats: TimeFormats = time_formats(context)
        self.write_strategy = context.property("schema-write-strategy").raw or "no-schema"
        self.pretty = context.property(PRETTY_PRINT).raw == "true"
        self.suppress = context.property(SUPPRESS_NULLS).raw or "never-suppress"
        self.grouping = context.property(OUTPUT_GROUPING).raw or "output-array"
        self.compression = context.property(COMPRESSION_FORMAT).raw or "none"
        self.compression_level = int(context.property(COMPRESSION_LEVEL).raw or "1")
        self.timestamp_mode = context.property(TIMESTAMP_REPRESENTATION).raw or "AUTO"

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The reader's schema (Inherit Record Schema) or the Schema Text's."""
        if self.schema_source.strategy == "inherit-record-schema":
            if read_schema is None:
                raise RecordError("Inherit Record Schema needs the schema of the records read")
            return read_schema
        return self.schema_source.schema(attributes)

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """A JSON writer of ``schema``."""
        return _JsonSetWriter(self, schema)
