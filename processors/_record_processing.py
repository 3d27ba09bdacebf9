"""What the record processors (ConvertRecord, SplitRecord, PartitionRecord, ...) share:
the Record Reader / Record Writer properties, the reader and writer services of a
trigger, the attributes a written record set gets, records conformed to the
writer's schema, the route of a flowfile whose records failed, RecordPath
checks of dynamic properties, and records spooled for writing later.

Private to ``flowyard.processors``.
"""

from __future__ import annotations

import io
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
    "SpoolFile",
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

SPOOL_IN_MEMORY = 8 * 1024 * 1024
"""Bytes of pickled records all the spools of one ``SpoolFile`` keep in memory together; beyond
that their buffers move to the file."""


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


class SpoolFile:
    """One temporary file shared by many ``RecordSpool`` s (every partition of a flowfile): each
    spool buffers its pickled records in memory, and when the buffers of all of them together
    pass ``SPOOL_IN_MEMORY`` they are appended to the file as chunks. Memory stays bounded
    and one file descriptor serves any number of spools. ``close`` when done."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._end = 0
        self.buffered = 0
        self.spools: list[RecordSpool] = []

    def append(self, data: bytes | bytearray) -> tuple[int, int]:
        """Write ``data`` at the end; its (offset, length)."""
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  (closed in close())
        self._file.seek(self._end)
        self._file.write(data)
        offset, self._end = self._end, self._end + len(data)
        return offset, len(data)

    def read(self, offset: int, length: int) -> bytes:
        """The bytes written at ``offset``."""
        assert self._file is not None
        self._file.seek(offset)
        return self._file.read(length)

    def spill(self) -> None:
        """Move every spool's buffer to the file."""
        for spool in self.spools:
            spool.flush()
        self.buffered = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RecordSpool:
    """Records kept for writing later (a partition, the records of one relationship), pickled in
    a buffer that moves to a ``SpoolFile`` (its own unless one is shared) when the buffers of
    that file's spools pass ``SPOOL_IN_MEMORY`` together. ``attributes`` are the output's;
    ``close`` when done (it closes the file only if it is its own)."""

    __slots__ = ("_buffer", "_chunks", "_own", "attributes", "count", "file")

    def __init__(self, attributes: dict[str, str] | None = None, file: SpoolFile | None = None) -> None:
        self.attributes = attributes or {}
        self.count = 0
        self._own = file is None
        self.file = file if file is not None else SpoolFile()
        self.file.spools.append(self)
        self._buffer = bytearray()
        self._chunks: list[tuple[int, int]] = []

    def add(self, record: dict[str, Any]) -> None:
        data = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer += data
        self.count += 1
        self.file.buffered += len(data)
        if self.file.buffered > SPOOL_IN_MEMORY:
            self.file.spill()

    def flush(self) -> None:
        """Move the buffer to the file."""
        if self._buffer:
            self._chunks.append(self.file.append(self._buffer))
            self._buffer = bytearray()

    def records(self) -> Iterator[dict[str, Any]]:
        remaining = self.count
        for offset, length in list(self._chunks):
            chunk = io.BytesIO(self.file.read(offset, length))
            while chunk.tell() < length:
                yield pickle.load(chunk)  # written by this process just before
                remaining -= 1
        tail = io.BytesIO(bytes(self._buffer))
        for _ in range(remaining):
            yield pickle.load(tail)

    def close(self) -> None:
        self._buffer = bytearray()
        if self._own:
            self.file.close()
