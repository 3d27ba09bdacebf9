"""ParquetReader and ParquetRecordSetWriter: records as Parquet (pyarrow).

The writer turns batches of records into row groups as they come (memory is
bounded by one row group); the reader reads one record batch at a time. The
writer also takes Arrow record batches (``write_batches``, the columnar fast
path of ``processors/_records/_columnar.py``) and writes the same file from them.
See ``processors/_record_services.py`` for the reader/writer API.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from flowyard.processors._common import boolean_property
from flowyard.processors._record_services import (
    READER_SCHEMA_PROPERTIES,
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    WRITER_SCHEMA_PROPERTIES,
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
from flowyard.processors._records import DataType, RecordField, RecordFieldType, RecordSchema, to_text
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationContext,
    ControllerService,
    ControllerServiceSpec,
    PropertySpec,
    ValidationResult,
    validators,
)

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

__all__ = ["ParquetReader", "ParquetRecordSetWriter", "arrow_schema"]

T = RecordFieldType
_SPOOL = 64 * 1024 * 1024
#: Kinds whose values pyarrow takes as the record model holds them.
_AS_IS = frozenset({T.STRING, T.BOOLEAN, T.BYTE, T.SHORT, T.INT, T.LONG, T.FLOAT, T.DOUBLE, T.DECIMAL, T.DATE,
                    T.TIME, T.TIMESTAMP})
_DEFAULT_BATCH = 65_536


def _arrow_type(data_type: DataType) -> pa.DataType:
    import pyarrow as pa
    kind = data_type.field_type
    simple = {T.STRING: pa.string(), T.BOOLEAN: pa.bool_(), T.BYTE: pa.int8(), T.SHORT: pa.int16(),
              T.INT: pa.int32(), T.LONG: pa.int64(), T.FLOAT: pa.float32(), T.DOUBLE: pa.float64(),
              T.DATE: pa.date32(), T.TIME: pa.time32("ms"), T.TIMESTAMP: pa.timestamp("ms"),
              T.CHAR: pa.string(), T.UUID: pa.string(), T.ENUM: pa.string(), T.BIGINT: pa.string(),
              T.CHOICE: pa.string()}
    if kind in simple:
        return simple[kind]
    if kind is T.DECIMAL:
        return pa.decimal128(data_type.precision or 38, data_type.scale or 0)
    if kind is T.RECORD:
        return pa.struct([pa.field(f.name, _arrow_type(f.data_type)) for f in (
            data_type.schema.fields if data_type.schema else ())])
    if kind is T.ARRAY:
        element = data_type.element or T.STRING.data_type()
        return pa.binary() if element.field_type is T.BYTE else pa.list_(_arrow_type(element))
    if kind is T.MAP:
        return pa.map_(pa.string(), _arrow_type(data_type.element or T.STRING.data_type()))
    raise RecordError(f"no Parquet type for {data_type}")


def arrow_schema(schema: RecordSchema) -> pa.Schema:
    """The Arrow schema of a record schema (BIGINT, CHOICE, UUID, ENUM and CHAR as strings)."""
    import pyarrow as pa
    return pa.schema([pa.field(f.name, _arrow_type(f.data_type), nullable=f.nullable) for f in schema.fields])


def _record_type(arrow: pa.DataType) -> DataType:
    import pyarrow as pa
    if pa.types.is_boolean(arrow):
        return T.BOOLEAN.data_type()
    if pa.types.is_int8(arrow):
        return T.BYTE.data_type()
    if pa.types.is_int16(arrow) or pa.types.is_uint8(arrow):
        return T.SHORT.data_type()
    if pa.types.is_int32(arrow) or pa.types.is_uint16(arrow):
        return T.INT.data_type()
    if pa.types.is_integer(arrow):
        return T.LONG.data_type()
    if pa.types.is_float32(arrow) or pa.types.is_float16(arrow):
        return T.FLOAT.data_type()
    if pa.types.is_float64(arrow):
        return T.DOUBLE.data_type()
    if pa.types.is_decimal(arrow):
        return DataType.decimal(arrow.precision, arrow.scale)
    if pa.types.is_date(arrow):
        return T.DATE.data_type()
    if pa.types.is_time(arrow):
        return T.TIME.data_type()
    if pa.types.is_timestamp(arrow):
        return T.TIMESTAMP.data_type()
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow) or pa.types.is_fixed_size_binary(arrow):
        return DataType.array(T.BYTE.data_type())
    if pa.types.is_struct(arrow):
        return DataType.record(RecordSchema(tuple(
            RecordField(arrow.field(i).name, _record_type(arrow.field(i).type), arrow.field(i).nullable)
            for i in range(arrow.num_fields))))
    if pa.types.is_map(arrow):
        return DataType.map(_record_type(arrow.item_type))
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return DataType.array(_record_type(arrow.value_type))
    return T.STRING.data_type()


def _from_arrow_schema(schema: pa.Schema) -> RecordSchema:
    return RecordSchema(tuple(RecordField(f.name, _record_type(f.type), f.nullable) for f in schema))


def _plain(value: Any, data_type: DataType) -> Any:
    """A value as pyarrow gives it, in the record model (maps as dicts, UTC timestamps naive)."""
    if value is None:
        return None
    kind = data_type.field_type
    if kind is T.MAP and isinstance(value, list):
        element = data_type.element or T.STRING.data_type()
        return {k: _plain(v, element) for k, v in value}
    if kind is T.RECORD and isinstance(value, dict) and data_type.schema is not None:
        return {f.name: _plain(value.get(f.name), f.data_type) for f in data_type.schema.fields}
    if kind is T.ARRAY and isinstance(value, list):
        element = data_type.element or T.STRING.data_type()
        return [_plain(v, element) for v in value]
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _for_arrow(value: Any, data_type: DataType) -> Any:
    if value is None:
        return None
    kind = data_type.field_type
    if kind in (T.BIGINT, T.UUID, T.CHAR, T.ENUM):
        return str(value)
    if kind is T.CHOICE:
        return json.dumps(value, default=str) if isinstance(value, (dict, list)) else to_text(value)
    if kind is T.RECORD and isinstance(value, dict) and data_type.schema is not None:
        return {f.name: _for_arrow(value.get(f.name), f.data_type) for f in data_type.schema.fields}
    if kind is T.ARRAY and isinstance(value, list):
        element = data_type.element or T.STRING.data_type()
        return [_for_arrow(v, element) for v in value]
    if kind is T.MAP and isinstance(value, dict):
        element = data_type.element or T.STRING.data_type()
        return [(k, _for_arrow(v, element)) for k, v in value.items()]
    return value


class _ParquetRecordReader(RecordReader):
    def __init__(self, open_stream: OpenStream) -> None:
        self._open = open_stream
        with self._file() as (parquet, _):
            self.schema = _from_arrow_schema(parquet.schema_arrow)

    class _Opened:
        def __init__(self, open_stream: OpenStream) -> None:
            self._stream: BinaryIO = open_stream()
            self._spool: Any = None

        def __enter__(self) -> tuple[pq.ParquetFile, Any]:
            import pyarrow as pa
            import pyarrow.parquet as pq
            source: Any = self._stream
            if not (hasattr(source, "seekable") and source.seekable()):
                self._spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
                shutil.copyfileobj(source, self._spool)
                self._spool.seek(0)
                source = self._spool
            try:
                return pq.ParquetFile(source), source
            except (pa.ArrowException, OSError, ValueError) as exc:
                self.__exit__(None, None, None)
                raise RecordError(f"the content is not a Parquet file: {exc}") from None

        def __exit__(self, *args: object) -> None:
            if self._spool is not None:
                self._spool.close()
            self._stream.close()

    def _file(self) -> _ParquetRecordReader._Opened:
        return _ParquetRecordReader._Opened(self._open)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import pyarrow as pa
        fields = self.schema.fields
        with self._file() as (parquet, _):
            try:
                for batch in parquet.iter_batches(batch_size=8192):
                    for row in batch.to_pylist():
                        yield {f.name: _plain(row.get(f.name), f.data_type) for f in fields}
            except (pa.ArrowException, OSError) as exc:
                raise RecordError(f"the Parquet data is malformed: {exc}") from None


class ParquetReader(ControllerService, RecordReaderFactory):
    """Reads Parquet files as records, one record batch at a time, with the
    schema stored in the file. Content that the framework cannot seek in is
    first copied to a temporary file (in memory up to 64 MB).

    Differences from NiFi: Avro Read Compatibility and Avro Add List Element
    Records are accepted but not used (pyarrow reads Parquet directly, not
    through Avro): lists are arrays and maps are maps either way.
    """

    spec = ControllerServiceSpec(
        description="Reads records from Parquet files.",
        provides=(RECORD_READER_FACTORY,),
        tags=("parquet", "parse", "record", "row", "reader"),
        properties=(
            boolean_property("avro-read-compatibility", "Avro Read Compatibility",
                             "Accepted for NiFi flows; pyarrow reads Parquet directly.", "true"),
            boolean_property("avro-add-list-element-records", "Avro Add List Element Records",
                             "Accepted for NiFi flows; lists are read as arrays.", "true"),
        ),
    )

    def create_reader(self, attributes: Mapping[str, str], open_stream: OpenStream, *,
                      coerce_types: bool = True) -> RecordReader:
        """A reader of Parquet content (its values already have the file's types: ``coerce_types`` changes
        nothing)."""
        return _ParquetRecordReader(open_stream)


COMPRESSION_TYPE = PropertySpec(
    key="compression-type", display_name="Compression Type", description="The codec of the column chunks.",
    required=True, default="UNCOMPRESSED",
    allowed_values=tuple(AllowableValue(v) for v in ("UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4",
                                                     "ZSTD", "LZ4_RAW")),
)
ROW_GROUP_SIZE = PropertySpec(
    key="row-group-size", display_name="Row Group Size",
    description="The target size of a row group (data size, e.g. '128 MB'; default: 65536 records per group).",
    validator=validators.DATA_SIZE,
)
PAGE_SIZE = PropertySpec(key="page-size", display_name="Page Size", description="The size of a data page.",
                         validator=validators.DATA_SIZE)
DICTIONARY_PAGE_SIZE = PropertySpec(
    key="dictionary-page-size", display_name="Dictionary Page Size",
    description="The largest dictionary page before falling back to plain encoding.", validator=validators.DATA_SIZE)
MAX_PADDING_SIZE = PropertySpec(
    key="max-padding-size", display_name="Max Padding Size",
    description="Accepted for NiFi flows; pyarrow does not pad row groups.", validator=validators.DATA_SIZE)
ENABLE_DICTIONARY = PropertySpec(
    key="enable-dictionary-encoding", display_name="Enable Dictionary Encoding",
    description="Whether columns are dictionary encoded (default: true).",
    allowed_values=(AllowableValue("true"), AllowableValue("false")))
ENABLE_VALIDATION = PropertySpec(
    key="enable-validation", display_name="Enable Validation",
    description="Accepted for NiFi flows; values are always checked against the schema.",
    allowed_values=(AllowableValue("true"), AllowableValue("false")))
WRITER_VERSION = PropertySpec(
    key="writer-version", display_name="Writer Version", description="The Parquet format version (default 2.6).",
    allowed_values=(AllowableValue("PARQUET_1_0"), AllowableValue("PARQUET_2_0")))
_CODECS = {"UNCOMPRESSED": "none", "SNAPPY": "snappy", "GZIP": "gzip", "BROTLI": "brotli", "LZ4": "lz4",
           "ZSTD": "zstd", "LZ4_RAW": "lz4"}


class _Sink(io.RawIOBase):
    """Collects what pyarrow writes, for the writer's generator to hand out."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.parts.append(data)
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class _ParquetSetWriter(RecordSetWriter):
    mime_type = "application/parquet"

    def __init__(self, factory: ParquetRecordSetWriter, schema: RecordSchema, batch: int) -> None:
        self._f = factory
        self._schema = schema
        self._batch = batch
        self._arrow = arrow_schema(schema)

    def attributes(self) -> dict[str, str]:
        return writer_attributes(self._f.write_strategy, self._schema)

    def write_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes] | None:
        """The columnar fast path (``processors/_records/_columnar.py``): the same Parquet file ``write``
        makes of the same records, from Arrow batches; None when the schema has fields it cannot take."""
        from flowyard.processors._records._columnar import columnar_schema
        accepted = columnar_schema(self._schema)
        if accepted is None or not accepted.equals(self._arrow):
            return None
        return self._write_batches(batches)

    def _write_batches(self, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
        import pyarrow.parquet as pq

        from flowyard.processors._records._columnar import write_row_groups
        sink = _Sink()
        writer = pq.ParquetWriter(sink, self._arrow, **self._f.options)
        count = 0

        def write(table: pa.Table, rows: int) -> None:
            writer.write_table(table, row_group_size=rows)

        try:
            for rows in write_row_groups(batches, self._arrow, self._batch, write):
                count += rows
                chunk = sink.take()
                if chunk:
                    yield chunk
        finally:
            writer.close()
        self.record_count = count
        tail = sink.take()
        if tail:
            yield tail

    def write(self, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        f = self._f
        sink = _Sink()
        writer = pq.ParquetWriter(sink, self._arrow, **f.options)
        fields = self._schema.fields
        columns: list[list[Any]] = [[] for _ in fields]
        count = 0
        pending = 0

        def flush() -> None:
            try:
                table = pa.Table.from_arrays(
                    [pa.array(col, type=self._arrow.field(i).type) for i, col in enumerate(columns)],
                    schema=self._arrow)
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                raise RecordError(f"records {count - pending + 1} to {count} cannot be written as Parquet: "
                                  f"{exc}") from None
            writer.write_table(table, row_group_size=max(pending, 1))
            for col in columns:
                col.clear()

        try:
            plain = [(columns[i].append, field.name, field.data_type,
                      field.data_type.field_type in _AS_IS) for i, field in enumerate(fields)]
            for record in records:
                for append, name, data_type, as_is in plain:
                    value = record.get(name)
                    append(value if as_is or value is None else _for_arrow(value, data_type))
                count += 1
                pending += 1
                if pending >= self._batch:
                    flush()
                    pending = 0
                    chunk = sink.take()
                    if chunk:
                        yield chunk
            if pending:
                flush()
        finally:
            writer.close()
        self.record_count = count
        tail = sink.take()
        if tail:
            yield tail


class ParquetRecordSetWriter(ControllerService, RecordSetWriterFactory):
    """Writes records as a Parquet file: the records are gathered into row
    groups (65536 records each, or as many as fit the Row Group Size) that are
    written and handed on as they fill, so memory is bounded by one row group.
    BIGINT, UUID, CHAR, ENUM and CHOICE fields are strings in Parquet. From a
    reader with the columnar fast path (CSVReader) the records arrive as Arrow
    batches and are regrouped into the same row groups: the file is the same,
    byte for byte, only made without a Python object per value.

    Differences from NiFi: schema registries and schema reference writers are
    not supported (invalid); LZO compression is not supported (invalid); the
    Row Group Size is turned into a record count from the schema's width
    (about 64 bytes per field); Max Padding Size, Enable Validation, the Avro
    list options and INT96 Fields are accepted but not used; Cache Size and
    Schema Cache are not used; the size properties take no Expression
    Language.
    """

    spec = ControllerServiceSpec(
        description="Writes records as a Parquet file.",
        provides=(RECORD_SET_WRITER_FACTORY,),
        tags=("parquet", "result", "set", "writer", "serializer", "record", "recordset", "row"),
        properties=(
            *WRITER_SCHEMA_PROPERTIES,
            schema_access_strategy(("inherit-record-schema", "schema-name", "schema-text-property"),
                                   "inherit-record-schema"),
            *READER_SCHEMA_PROPERTIES,
            PropertySpec(key="cache-size", display_name="Cache Size", description="Accepted, not used.",
                         required=True, default="1000", validator=validators.NON_NEGATIVE_INTEGER),
            COMPRESSION_TYPE, ROW_GROUP_SIZE, PAGE_SIZE, DICTIONARY_PAGE_SIZE, MAX_PADDING_SIZE, ENABLE_DICTIONARY,
            ENABLE_VALIDATION, WRITER_VERSION,
            boolean_property("avro-write-old-list-structure", "Avro Write Old List Structure",
                             "Accepted for NiFi flows; lists use Parquet's standard structure.", "true"),
            boolean_property("avro-add-list-element-records", "Avro Add List Element Records",
                             "Accepted for NiFi flows; lists are written as arrays.", "true"),
            PropertySpec(key="int96-fields", display_name="INT96 Fields",
                         description="Accepted for NiFi flows; timestamps are written as milliseconds."),
        ),
    )

    def validate(self, context: ConfigurationContext) -> Iterable[ValidationResult]:
        """Unsupported schema strategies and LZO."""
        results = validate_schema_access(context)
        if context.property(COMPRESSION_TYPE).raw == "LZO":
            results.append(ValidationResult("Compression Type", "LZO is not supported", COMPRESSION_TYPE.key))
        return results

    def on_enabled(self, context: ConfigurationContext) -> None:
        """Read the configuration once."""
        self.schema_source = SchemaSource(context)
        self.write_strategy = context.property("schema-write-strategy").raw or "no-schema"
        options: dict[str, Any] = {"compression": _CODECS.get(context.property(COMPRESSION_TYPE).raw or "", "none")}
        if context.property(PAGE_SIZE).raw:
            options["data_page_size"] = context.property(PAGE_SIZE).as_data_size()
        if context.property(DICTIONARY_PAGE_SIZE).raw:
            options["dictionary_pagesize_limit"] = context.property(DICTIONARY_PAGE_SIZE).as_data_size()
        if context.property(ENABLE_DICTIONARY).raw:
            options["use_dictionary"] = context.property(ENABLE_DICTIONARY).raw == "true"
        if context.property(WRITER_VERSION).raw:
            options["version"] = "1.0" if context.property(WRITER_VERSION).raw == "PARQUET_1_0" else "2.6"
        self.options = options
        self.row_group_bytes = context.property(ROW_GROUP_SIZE).as_data_size() if context.property(
            ROW_GROUP_SIZE).raw else None

    def get_schema(self, attributes: Mapping[str, str], read_schema: RecordSchema | None) -> RecordSchema:
        """The reader's schema (Inherit Record Schema) or the Schema Text's."""
        if self.schema_source.strategy == "inherit-record-schema":
            if read_schema is None:
                raise RecordError("Inherit Record Schema needs the schema of the records read")
            return read_schema
        return self.schema_source.schema(attributes)

    def create_writer(self, schema: RecordSchema, attributes: Mapping[str, str]) -> RecordSetWriter:
        """A Parquet writer of ``schema``."""
        batch = _DEFAULT_BATCH
        if self.row_group_bytes:
            batch = max(1, self.row_group_bytes // max(64 * len(schema.fields), 1))
        return _ParquetSetWriter(self, schema, batch)
