"""What the record processors (ConvertRecord, SplitRecord, PartitionRecord, ...) share:
the Record Reader / Record Writer properties, the reader and writer services of a
trigger, the attributes a written record set gets, records conformed to the
writer's schema, the route of a flowfile whose records failed, RecordPath
checks of dynamic properties, and records spooled for writing later.

Private to ``flowyard.processors``.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from flowyard.processors._content_fragments import (
    FRAGMENT_COUNT,
    FRAGMENT_ID,
    FRAGMENT_INDEX,
    SEGMENT_ORIGINAL_FILENAME,
)
from flowyard.processors._record_services import (
    RECORD_READER_FACTORY,
    RECORD_SET_WRITER_FACTORY,
    RecordReaderFactory,
    RecordSetWriter,
    RecordSetWriterFactory,
)
from flowyard.processors._records import RecordSchema, coerce_record
from flowyard.processors._records._recordpath import RecordPath
from flowyard.runtime.sdk import (
    FlowFile,
    ProcessContext,
    ProcessingError,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
)

__all__ = [
    "RECORD_ERRORS",
    "RECORD_OR_PROCESSING_ERRORS",
    "RecordSpool",
    "conformed",
    "dynamic_record_path_problems",
    "failure_reason",
    "fragment_attributes",
    "record_factories",
    "record_reader_property",
    "record_writer_property",
    "route_to_failure",
    "written_attributes",
]

#: What reading or writing records raises for bad data (``RecordError`` is a ``ValueError``), bad content
#: streams, and records nested too deeply.
RECORD_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError, RecursionError)
#: ``RECORD_ERRORS`` and the ``ProcessingError`` a RecordPath or a lookup service raises.
RECORD_OR_PROCESSING_ERRORS: tuple[type[Exception], ...] = (*RECORD_ERRORS, ProcessingError)

SPOOL_IN_MEMORY = 256 * 1024
"""Bytes of each spool kept in memory before it moves to a temporary file."""


def record_reader_property(description: str = "The service that reads the incoming records.", *,
                           key: str = "record-reader") -> PropertySpec:
    """The required Record Reader property (``key`` and ``description`` as the processor's NiFi spec)."""
    return PropertySpec(key=key, display_name="Record Reader", description=description, required=True,
                        identifies_controller_service=RECORD_READER_FACTORY)


def record_writer_property(description: str, *, key: str = "record-writer") -> PropertySpec:
    """The required Record Writer property (``key`` and ``description`` as the processor's NiFi spec)."""
    return PropertySpec(key=key, display_name="Record Writer", description=description, required=True,
                        identifies_controller_service=RECORD_SET_WRITER_FACTORY)


def record_factories(context: ProcessContext, reader: PropertySpec,
                     writer: PropertySpec) -> tuple[RecordReaderFactory, RecordSetWriterFactory]:
    """The reader and writer services the ``reader`` and ``writer`` properties name."""
    return (context.property(reader).as_controller_service(RecordReaderFactory),
            context.property(writer).as_controller_service(RecordSetWriterFactory))


def written_attributes(writer: RecordSetWriter) -> dict[str, str]:
    """The writer's attributes, ``record.count`` and ``mime.type``, once ``writer`` has written its records."""
    return {**writer.attributes(), "record.count": str(writer.record_count), "mime.type": writer.mime_type}


def fragment_attributes(fragment_id: str, index: int, count: int, filename: str) -> dict[str, str]:
    """NiFi's ``fragment.*`` and ``segment.original.filename`` attributes of the ``index``-th (from 0) of
    ``count`` pieces made from one flowfile named ``filename``."""
    return {FRAGMENT_ID: fragment_id, FRAGMENT_INDEX: str(index), FRAGMENT_COUNT: str(count),
            SEGMENT_ORIGINAL_FILENAME: filename}


def conformed(records: Iterator[dict[str, Any]], read_schema: RecordSchema,
              schema: RecordSchema) -> Iterator[dict[str, Any]]:
    """``records`` (of ``read_schema``) as records of ``schema``: unchanged when the schemas are equal,
    otherwise each coerced (lazily) to ``schema``."""
    if schema is read_schema or schema == read_schema:
        return records
    return (coerce_record(record, schema) for record in records)


def failure_reason(exc: BaseException, *, one_line: bool = False) -> str:
    """The ``record.error.message`` for ``exc`` (``one_line``: its lines joined into one)."""
    if isinstance(exc, RecursionError):
        return "the records are nested too deeply"
    text = str(exc)
    if one_line:
        text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    return text or type(exc).__name__


def route_to_failure(context: ProcessContext, session: ProcessSession, original: FlowFile, exc: BaseException,
                     failure: Relationship, action: str, *, created: Iterable[FlowFile] = (),
                     one_line: bool = False) -> None:
    """Drop the flowfiles made so far (``created``), log the reason as an error ("failed to ``action`` the
    records of ...") and send ``original`` to ``failure`` with ``record.error.message``."""
    reason = failure_reason(exc, one_line=one_line)
    for child in created:
        session.remove(child)
    context.logger.error(f"failed to {action} the records of {original!r}: {reason}; routing to failure")
    session.transfer(session.put_attribute(original, "record.error.message", reason), failure)


def dynamic_record_path_problems(context: ProcessContext) -> list[ValidationResult]:
    """A problem for each dynamic property whose value is not a valid RecordPath (values with Expression
    Language or parameter references are checked when evaluated)."""
    results = []
    for name, value in context.dynamic_properties.items():
        raw = value.raw or ""
        if "${" in raw or "#{" in raw:
            continue
        try:
            RecordPath.compile(raw)
        except ValueError as exc:
            results.append(ValidationResult(name, str(exc), name))
    return results


class RecordSpool:
    """Records kept for writing later (a partition, the records of one relationship): pickled
    into a temporary file that stays in memory up to ``SPOOL_IN_MEMORY`` bytes. ``attributes``
    are the output's; ``close`` when done."""

    __slots__ = ("attributes", "count", "spool")

    def __init__(self, attributes: dict[str, str] | None = None) -> None:
        self.attributes = attributes or {}
        self.count = 0
        self.spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def add(self, record: dict[str, Any]) -> None:
        pickle.dump(record, self.spool, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def records(self) -> Iterator[dict[str, Any]]:
        self.spool.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.spool)  # written by this process just before

    def close(self) -> None:
        self.spool.close()
