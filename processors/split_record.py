"""SplitRecord: split a flowfile's records into flowfiles of at most N records each."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    SEGMENT_ORIGINAL_FILENAME,
    mark_original,
)
from flowyard.processors._record_services import (
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    RecordReaderFactory,
    RecordSetWriter,
    RecordSetWriterFactory,
)
from flowyard.processors._records import RecordSchema, coerce_record
from flowyard.runtime.sdk import (
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    PropertyValueError,
    Relationship,
    new_uuid,
    validators,
)

__all__ = ["SplitRecord"]

RECORD_READER = PropertySpec(
    key="record-reader", display_name="Record Reader",
    description="The service that reads the incoming records.", required=True,
    identifies_controller_service=RECORD_READER_FACTORY,
)
RECORD_WRITER = PropertySpec(
    key="record-writer", display_name="Record Writer",
    description="The service that writes each split.", required=True,
    identifies_controller_service=RECORD_SET_WRITER_FACTORY,
)
RECORDS_PER_SPLIT = PropertySpec(
    key="records-per-split", display_name="Records Per Split",
    description="The most records a split holds (a positive integer).", required=True,
    validator=validators.POSITIVE_INTEGER, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)

SPLITS = Relationship("splits", "The splits, each with at most Records Per Split records.")
ORIGINAL = Relationship("original", "Each flowfile that was split, with fragment.identifier and fragment.count.")
FAILURE = Relationship("failure", "Flowfiles whose records could not be read or written (or whose Records Per "
                                  "Split is not a positive integer); unchanged, with record.error.message.")

_END = object()


def _coerced(records: Iterator[dict[str, Any]], schema: RecordSchema) -> Iterator[dict[str, Any]]:
    for record in records:
        yield coerce_record(record, schema)


class SplitRecord(Processor):
    """Splits each flowfile's records into flowfiles of at most Records Per
    Split records (the last one may hold fewer), written with the Record
    Writer. Records stream: memory is bounded by one record and the writer's
    buffer, whatever the split size.

    Each split gets the original's attributes, the writer's attributes,
    ``record.count``, ``mime.type``, ``fragment.identifier`` (shared by the
    splits of one flowfile), ``fragment.index`` (from 0), ``fragment.count``
    and ``segment.original.filename``; the original goes to ``original`` with
    ``fragment.identifier`` and ``fragment.count``. A flowfile without records
    gives no split (``fragment.count`` 0 on the original). When the records
    cannot be read or written, or Records Per Split does not evaluate to a
    positive integer, every split made is dropped and the original goes to
    ``failure`` unchanged with ``record.error.message`` (and an error bulletin).

    Differences from NiFi: ``record.error.message`` on failure (NiFi only logs).
    """

    spec = ProcessorSpec(
        description="Splits up an input flowfile that is in a record-oriented data format into multiple smaller "
                    "flowfiles.",
        tags=("split", "generic", "schema", "json", "csv", "avro", "log", "logs", "freeform", "text"),
        properties=(RECORD_READER, RECORD_WRITER, RECORDS_PER_SPLIT),
        relationships=(SPLITS, ORIGINAL, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("mime.type", "The MIME type of the writer's output."),
            ("record.count", "The number of records in the split."),
            (FRAGMENT_ID, "Shared by all splits of one flowfile (and set on the original)."),
            (FRAGMENT_INDEX, "The position of the split among the splits, from 0."),
            (FRAGMENT_COUNT, "The number of splits of the original flowfile."),
            (SEGMENT_ORIGINAL_FILENAME, "The filename of the original flowfile."),
            ("record.error.message", "Why the flowfile could not be split (failure only)."),
        ),
    )

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Split one flowfile."""
        ff = session.get()
        if ff is None:
            return
        splits: list[tuple[FlowFile, RecordSetWriter]] = []
        try:
            self._split(context, session, ff, splits)
        except (ValueError, OSError, RecursionError) as exc:
            reason = "the records are nested too deeply" if isinstance(exc, RecursionError) else (
                str(exc) or type(exc).__name__)
            for child, _ in splits:
                session.remove(child)
            context.logger.error(f"failed to split the records of {ff!r}: {reason}; routing to failure")
            session.transfer(session.put_attribute(ff, "record.error.message", reason), FAILURE)
            return
        fragment_id = new_uuid()
        count = str(len(splits))
        filename = ff.attributes.get("filename", "")
        for index, (child, writer) in enumerate(splits):
            child = session.put_attributes(child, {
                **writer.attributes(), "record.count": str(writer.record_count), "mime.type": writer.mime_type,
                FRAGMENT_ID: fragment_id, FRAGMENT_INDEX: str(index), FRAGMENT_COUNT: count,
                SEGMENT_ORIGINAL_FILENAME: filename,
            })
            session.transfer(child, SPLITS)
        session.transfer(mark_original(session, ff, fragment_id, len(splits)), ORIGINAL)

    def _split(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
               splits: list[tuple[FlowFile, RecordSetWriter]]) -> None:
        attributes = ff.attributes
        try:
            per_split = context.property(RECORDS_PER_SPLIT).evaluate(attributes).as_int()
        except PropertyValueError as exc:
            raise ValueError(str(exc)) from None
        if per_split < 1:
            raise ValueError(f"Records Per Split must be a positive integer, not {per_split}")
        reader_factory = context.property(RECORD_READER).as_controller_service(RecordReaderFactory)
        writer_factory = context.property(RECORD_WRITER).as_controller_service(RecordSetWriterFactory)
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        schema = writer_factory.get_schema(attributes, reader.schema)
        records: Iterator[dict[str, Any]] = iter(reader)
        if schema is not reader.schema and schema != reader.schema:
            records = _coerced(records, schema)
        first = next(records, _END)
        while first is not _END:
            chunk = itertools.chain((first,), itertools.islice(records, per_split - 1))
            writer = writer_factory.create_writer(schema, attributes)
            child = session.create(ff)
            splits.append((child, writer))
            splits[-1] = (session.write(child, writer.write(chunk)), writer)  # type: ignore[arg-type]
            first = next(records, _END)
