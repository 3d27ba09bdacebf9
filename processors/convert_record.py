"""ConvertRecord: read a flowfile's records with a Record Reader and write them
with a Record Writer (e.g. CSV to JSON), streamed both ways."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowyard.processors._common import boolean_property
from flowyard.processors._record_processing import (
    RECORD_ERRORS,
    conformed,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
)

if TYPE_CHECKING:
    from flowyard.processors._records._columnar import ColumnarFallback, convert

__all__ = ["ConvertRecord"]

_FROM_COLUMNAR = ("ColumnarFallback", "convert")


def _bind_columnar() -> None:
    """Bind the columnar fast path's names here on first use: it loads pyarrow,
    which listing the processors should not. A name already bound here (e.g.
    replaced by a test) is kept."""
    from flowyard.processors._records import _columnar

    namespace = globals()
    for name in _FROM_COLUMNAR:
        namespace.setdefault(name, getattr(_columnar, name))


def __getattr__(name: str) -> Any:
    if name in _FROM_COLUMNAR:
        _bind_columnar()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

RECORD_READER = record_reader_property(
    "The service that reads the incoming records (CSVReader, JsonTreeReader, ...).")
RECORD_WRITER = record_writer_property(
    "The service that writes the records out (JsonRecordSetWriter, CSVRecordSetWriter, ...).")
INCLUDE_ZERO_RECORD_FLOWFILES = boolean_property(
    "include-zero-record-flowfiles", "Include Zero Record FlowFiles",
    "Whether a flowfile with no records is still sent to success (as the writer's empty output); if not, it is "
    "dropped.", "true",
)

SUCCESS = Relationship("success", "FlowFiles whose records were all converted.")
FAILURE = Relationship("failure", "FlowFiles whose records could not be read or written; unchanged, with "
                                  "record.error.message saying why.")


class ConvertRecord(Processor):
    """Converts each flowfile's records from one format to another: the Record
    Reader reads them (inferring or applying a schema), the Record Writer
    writes them with the writer's schema (by default the reader's). Content is
    streamed: memory is bounded by one record and the writer's buffer, not by
    the size of the flowfile. Where the reader gives Arrow record batches and
    the writer takes them (CSVReader to ParquetRecordSetWriter, see
    ``processors/_records/_columnar.py``), the records move as batches of about
    1 MiB of content instead, with the same result; when the content turns out
    to hold something only the row path reproduces exactly, the conversion
    starts again on the row path.

    On success the flowfile gets the writer's content and attributes,
    ``record.count`` and ``mime.type``. When a record cannot be read, a value
    cannot be coerced to the schema, or the schema cannot be found, the
    original flowfile goes to failure unchanged except for
    ``record.error.message`` (the reason), and the reason is logged as an
    error bulletin. With Include Zero Record FlowFiles false, a flowfile
    without records is dropped instead of sent to success.

    Differences from NiFi: ``record.error.message`` is also set when the schema
    is missing (NiFi only logs that case).
    """

    spec = ProcessorSpec(
        description="Converts records from one data format to another, using a record reader and a record "
                    "writer service.",
        tags=("convert", "record", "generic", "schema", "json", "csv", "avro", "log", "logs", "freeform", "text"),
        properties=(RECORD_READER, RECORD_WRITER, INCLUDE_ZERO_RECORD_FLOWFILES),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output (e.g. application/json)."),
            ("record.count", "The number of records written."),
            ("record.error.message", "Why the records could not be converted (failure only)."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Convert one flowfile."""
        _bind_columnar()
        ff = session.get()
        if ff is None:
            return
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        include_empty = context.property(INCLUDE_ZERO_RECORD_FLOWFILES).as_bool()
        attributes = ff.attributes
        original = ff
        try:
            reader = reader_factory.create_reader(attributes, lambda: session.read(original))
            schema = writer_factory.get_schema(attributes, reader.schema)
            writer = writer_factory.create_writer(schema, attributes)
            same_schema = schema is reader.schema or schema == reader.schema
            chunks = convert(reader, writer) if same_schema else None
            if chunks is not None:
                try:
                    ff = session.write(ff, chunks)
                except ColumnarFallback:
                    chunks = None  # what was written is dropped with the session; the row path starts again
                    writer = writer_factory.create_writer(schema, attributes)
            if chunks is None:
                ff = session.write(ff, writer.write(conformed(iter(reader), reader.schema, schema)))
        except RECORD_ERRORS as exc:
            route_to_failure(context, session, original, exc, FAILURE, "convert")
            return
        if writer.record_count == 0 and not include_empty:
            session.remove(ff)
            return
        session.transfer(session.put_attributes(ff, written_attributes(writer)), SUCCESS)
