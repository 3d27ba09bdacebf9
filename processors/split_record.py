"""SplitRecord: split a flowfile's records into flowfiles of at most N records each."""

from __future__ import annotations

import itertools

from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    SEGMENT_ORIGINAL_FILENAME,
    mark_original,
)
from flowyard.processors._record_processing import (
    RECORD_ERRORS,
    conformed,
    fragment_attributes,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._record_services import RecordSetWriter
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

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes each split.")
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
        except RECORD_ERRORS as exc:
            route_to_failure(context, session, ff, exc, FAILURE, "split", created=[child for child, _ in splits])
            return
        fragment_id = new_uuid()
        filename = ff.attributes.get("filename", "")
        for index, (child, writer) in enumerate(splits):
            child = session.put_attributes(child, {
                **written_attributes(writer), **fragment_attributes(fragment_id, index, len(splits), filename)})
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
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        schema = writer_factory.get_schema(attributes, reader.schema)
        records = conformed(iter(reader), reader.schema, schema)
        first = next(records, _END)
        while first is not _END:
            chunk = itertools.chain((first,), itertools.islice(records, per_split - 1))
            writer = writer_factory.create_writer(schema, attributes)
            child = session.create(ff)
            splits.append((child, writer))
            splits[-1] = (session.write(child, writer.write(chunk)), writer)  # type: ignore[arg-type]
            first = next(records, _END)
