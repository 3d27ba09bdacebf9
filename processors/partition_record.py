"""PartitionRecord: group a flowfile's records by the values RecordPaths select, one
flowfile per group."""

from __future__ import annotations

import pickle
from typing import Any

from flowyard.processors._record_processing import (
    RECORD_OR_PROCESSING_ERRORS,
    RecordSpool,
    SpoolFile,
    dynamic_record_path_problems,
    fragment_attributes,
    record_factories,
    record_reader_property,
    record_writer_property,
    route_to_failure,
    written_attributes,
)
from flowyard.processors._records import to_text
from flowyard.processors._records._recordpath import RecordPath
from flowyard.runtime.sdk import (
    DynamicPropertySpec,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    ValidationResult,
    new_uuid,
)

__all__ = ["PartitionRecord", "RecordSpool"]

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes each partition.")

SUCCESS = Relationship("success", "One flowfile per partition: the records whose RecordPaths gave the same values.")
FAILURE = Relationship("failure", "FlowFiles whose records could not be read, partitioned or written; unchanged, "
                                  "with record.error.message saying why.")
ORIGINAL = Relationship("original", "The incoming flowfile, once it has been partitioned.")


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return ("{}", tuple((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return ("[]", tuple(_hashable(v) for v in value))
    if isinstance(value, bytearray):
        return bytes(value)
    return (type(value).__name__ if isinstance(value, (bool, str, bytes)) else "", value)


_ERRORS: tuple[type[Exception], ...] = (*RECORD_OR_PROCESSING_ERRORS, pickle.PicklingError)


class PartitionRecord(Processor):
    """Partitions each flowfile's records: every dynamic property's value is a RecordPath, and
    records whose RecordPaths select the same values go to the same output flowfile, in the
    order the partitions first appear.

    Each output flowfile has, for every dynamic property whose RecordPath selected exactly one
    scalar value (not null, not a record, array or map), an attribute named after the property
    holding that value as text; ``record.count``, ``mime.type`` and the writer's attributes;
    ``fragment.identifier`` (shared by the partitions of one flowfile), ``fragment.index``
    (0-based), ``fragment.count`` and ``segment.original.filename``. The incoming flowfile goes to
    original. A flowfile without records gives no partition.

    Records stream: each partition's records are pickled into a buffer, and once the buffers
    of all partitions together pass 8 MiB they move to one temporary file shared by all
    partitions, so memory and file descriptors stay bounded whatever the number and size of
    the partitions.
    On any error (unreadable records, a RecordPath that cannot be evaluated) the partitions made
    so far are dropped and the flowfile goes to failure with ``record.error.message``.

    The RecordPaths may use Expression Language (the flowfile's attributes); a path that is
    invalid for a flowfile sends it to failure.

    Differences from NiFi: ``record.error.message`` is set on failure (NiFi only logs); the
    partitions are in the order they first appear (NiFi's order is unspecified).
    """

    spec = ProcessorSpec(
        description="Splits the records of a flowfile into groups (partitions) by the values of RecordPaths; "
                    "each group is written to its own flowfile with the values as attributes.",
        tags=("record", "partition", "recordpath", "rpath", "segment", "split", "group", "bin", "organize"),
        properties=(RECORD_READER, RECORD_WRITER),
        relationships=(SUCCESS, FAILURE, ORIGINAL),
        dynamic_properties=DynamicPropertySpec(
            name_description="The name of the attribute that holds the value the RecordPath selects.",
            value_description="A RecordPath that points to a field in the record.",
            expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        ),
        input_requirement=InputRequirement.REQUIRED,
        writes_attributes=(
            ("record.count", "The number of records in the partition."),
            ("mime.type", "The MIME type of the writer's output."),
            ("fragment.identifier", "The same for every partition of one incoming flowfile."),
            ("fragment.index", "The position of the partition, from 0."),
            ("fragment.count", "The number of partitions of the incoming flowfile."),
            ("segment.original.filename", "The filename of the incoming flowfile."),
            ("<dynamic property name>", "The value the property's RecordPath selected, when it is one scalar."),
            ("record.error.message", "Why the flowfile could not be partitioned (failure only)."),
        ),
    )

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """At least one RecordPath; each must be valid."""
        if not context.dynamic_properties:
            return [ValidationResult("User-defined Properties", "at least one RecordPath must be added as a "
                                     "dynamic property")]
        return dynamic_record_path_problems(context)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Partition one flowfile."""
        ff = session.get()
        if ff is None:
            return
        original = ff
        created: list[FlowFile] = []
        partitions: dict[Any, RecordSpool] = {}
        spool_file = SpoolFile()
        try:
            self._partition(context, session, ff, partitions, created, spool_file)
        except _ERRORS as exc:
            route_to_failure(context, session, original, exc, FAILURE, "partition", created=created)
            return
        finally:
            for partition in partitions.values():
                partition.close()
            spool_file.close()
        session.transfer_all(created, SUCCESS)
        session.transfer(original, ORIGINAL)

    def _partition(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
                   partitions: dict[Any, RecordSpool], created: list[FlowFile], spool_file: SpoolFile) -> None:
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        attributes = ff.attributes
        paths = [(name, RecordPath.compile(value.evaluate(attributes).as_str()))
                 for name, value in context.dynamic_properties.items()]
        reader = reader_factory.create_reader(attributes, lambda: session.read(ff))
        schema = reader.schema
        for record in reader:
            key_parts = []
            selected: dict[str, list[Any]] = {}
            for name, path in paths:
                found = path.values(record, schema)
                selected[name] = found
                key_parts.append(tuple(_hashable(v) for v in found))
            key = tuple(key_parts)
            partition = partitions.get(key)
            if partition is None:
                partition = partitions[key] = RecordSpool({
                    name: to_text(found[0]) for name, found in selected.items()
                    if len(found) == 1 and found[0] is not None and not isinstance(found[0], (dict, list, tuple))},
                    spool_file)
            partition.add(record)
        if not partitions:
            return
        write_schema = writer_factory.get_schema(attributes, schema)
        fragment_id = new_uuid()
        filename = attributes.get("filename", "")
        for index, partition in enumerate(partitions.values()):
            writer = writer_factory.create_writer(write_schema, attributes)
            child = session.create(ff)
            created.append(child)
            child = session.write(child, writer.write(partition.records()))
            created[-1] = child
            child = session.put_attributes(child, {
                **partition.attributes, **written_attributes(writer),
                **fragment_attributes(fragment_id, index, len(partitions), filename)})
            created[-1] = child
