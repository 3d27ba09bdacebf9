"""MergeRecord: bins of record flowfiles merged into one record set, written with the Record Writer."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flowyard.processors import _merge_formats as fmt
from flowyard.processors._merge_bins import (
    defragment_error,
    requeue_waiting,
    run_alone,
    take_queue,
    transfer_originals,
)
from flowyard.processors._record_processing import (
    conformed,
    record_factories,
    record_reader_property,
    record_writer_property,
    written_attributes,
)
from flowyard.processors._record_services import RecordReaderFactory
from flowyard.processors._records import RecordSchema
from flowyard.processors.merge_content import ATTRIBUTE_STRATEGY, KEEP_UNIQUE
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["MergeRecord"]

BIN_PACKING = "Bin-Packing Algorithm"
DEFRAGMENT = "Defragment"
MAX_TAKEN = 100_000
_MAX_INT = 2**31 - 1

FULL = "Bin is full"
FULL_ENOUGH = "Bin has reached its minimum thresholds"
TOO_MANY_BINS = "Maximum number of bins has been exceeded"

RECORD_READER = record_reader_property()
RECORD_WRITER = record_writer_property("The service that writes the merged records.")
MERGE_STRATEGY = PropertySpec(
    key="merge-strategy", display_name="Merge Strategy", required=True, default=BIN_PACKING,
    description="How flowfiles are put together into bins.",
    allowed_values=(
        AllowableValue(BIN_PACKING, description="Flowfiles of the same schema (and Correlation Attribute value) "
                       "fill bins until the record and size limits say a bin is ready."),
        AllowableValue(DEFRAGMENT, description="The pieces of one original (same fragment.identifier) are merged "
                       "once all fragment.count of them have arrived, in fragment.index order."),
    ),
)
CORRELATION_ATTRIBUTE = PropertySpec(
    key="correlation-attribute-name", display_name="Correlation Attribute Name",
    description="An attribute whose value chooses the bin: only flowfiles with equal values (and the same "
                "schema) are merged together.", validator=validators.NON_EMPTY,
)
MIN_RECORDS = PropertySpec(
    key="min-records", display_name="Minimum Number of Records", required=True, default="1",
    description="A bin is not merged before it holds this many records (unless Max Bin Age or the bin limit "
                "forces it).", validator=validators.POSITIVE_INTEGER, expression_scope=ExpressionScope.ENVIRONMENT,
)
MAX_RECORDS = PropertySpec(
    key="max-records", display_name="Maximum Number of Records", default="1000",
    description="A bin holding this many records is merged. A soft limit: a flowfile joining a bin brings all its "
                "records, so a bin can exceed it by the records of its last flowfile.",
    validator=validators.POSITIVE_INTEGER, expression_scope=ExpressionScope.ENVIRONMENT,
)
MIN_SIZE = PropertySpec(
    key="min-bin-size", display_name="Minimum Bin Size", required=True, default="0 B",
    description="A bin is not merged before its flowfiles' content adds up to this size (unless forced).",
    validator=validators.DATA_SIZE,
)
MAX_SIZE = PropertySpec(
    key="max-bin-size", display_name="Maximum Bin Size",
    description="A bin whose flowfiles' content adds up to this size is merged (a soft limit, as Maximum Number of "
                "Records); unset, no limit.", validator=validators.DATA_SIZE,
)
MAX_BIN_AGE = PropertySpec(
    key="max-bin-age", display_name="Max Bin Age",
    description="A bin this old is merged even if it has not reached its minimums, e.g. '5 mins'.",
    validator=validators.TIME_PERIOD,
)
MAX_BINS = PropertySpec(
    key="max.bin.count", display_name="Maximum Number of Bins", required=True, default="10",
    description="The most bins open at once; a new bin beyond it forces the oldest to be merged.",
    validator=validators.POSITIVE_INTEGER,
)

ORIGINAL = Relationship("original", "The input flowfiles of each merged bin, with merge.uuid added.")
FAILURE = Relationship("failure", "Flowfiles whose records cannot be read, and the flowfiles of a bin that cannot be "
                                  "merged.")
MERGED = Relationship("merged", "The flowfile made from each bin's records.")


@dataclass(frozen=True, slots=True)
class _Settings:
    min_records: int
    max_records: int
    min_size: int
    max_size: int
    max_bins: int
    max_age_ms: int | None
    max_age_text: str
    defragment: bool


@dataclass(slots=True)
class _Entry:
    ff: FlowFile
    group: object
    schema: RecordSchema
    records: int
    first_seen_ms: int


@dataclass(slots=True)
class _Bin:
    group: object
    created_ms: int
    entries: list[_Entry] = field(default_factory=list)
    records: int = 0
    size: int = 0
    fragment_count: int | None = None
    reason: str = ""

    def add(self, entry: _Entry) -> None:
        self.entries.append(entry)
        self.records += entry.records
        self.size += entry.ff.size
        count = entry.ff.attributes.get("fragment.count")
        if self.fragment_count is None and count is not None and count.isdigit() and int(count) <= _MAX_INT:
            self.fragment_count = int(count)

    def accepts(self, entry: _Entry, s: _Settings) -> bool:
        """Whether ``entry`` may join: in Defragment mode not a second flowfile with the same
        ``fragment.index`` (it goes to a bin of its own, as NiFi's bins refuse it)."""
        if not s.defragment:
            return True
        index = entry.ff.attributes.get("fragment.index")
        return all(e.ff.attributes.get("fragment.index") != index for e in self.entries)

    def full_enough(self, s: _Settings) -> bool:
        if s.defragment:
            return self.fragment_count is not None and len(self.entries) >= self.fragment_count
        return bool(self.entries) and self.records >= s.min_records and self.size >= s.min_size

    def full(self, s: _Settings) -> bool:
        if not self.full_enough(s):
            return False
        return s.defragment or self.records >= s.max_records or self.size >= s.max_size


class MergeRecord(Processor):
    """Merges the records of several flowfiles into one flowfile, as NiFi's
    MergeRecord. Bin-Packing Algorithm: flowfiles whose records have the same
    schema (and the same Correlation Attribute Name value, when set) share a
    bin; a bin is merged when it holds Maximum Number of Records or its
    flowfiles reach Maximum Bin Size (soft limits: a flowfile brings all its
    records), when it has reached both minimums (or holds only flowfiles
    without records, which could never reach them) and the queue is drained, when
    it is older than Max Bin Age, or when a new bin is needed while Maximum
    Number of Bins are open (the oldest is merged). Defragment: the flowfiles
    of one ``fragment.identifier`` are merged in ``fragment.index`` order once
    ``fragment.count`` of them are there; a bin still incomplete at Max Bin
    Age, pushed out by the bin limit, or with inconsistent fragment
    attributes goes to 'failure' whole, with an error logged; a flowfile
    without ``fragment.identifier`` or an integer ``fragment.index`` goes to
    'failure' at once with ``record.error.message``.

    The merged flowfile (the Record Writer's output, the first flowfile's
    schema as the writer sees it) goes to 'merged' with the attributes the
    Attribute Strategy keeps, the writer's attributes, ``record.count``,
    ``mime.type``, ``merge.count``, ``merge.bin.age`` (ms) and
    ``merge.completion.reason`` (``Bin is full``, ``Bin has reached its minimum
    thresholds``, ``Bin is older than <Max Bin Age>``, ``Maximum number of bins
    has been exceeded``); one JOIN provenance event names every input, which
    goes to 'original' with ``merge.uuid``. A flowfile whose records cannot be
    read goes to 'failure' alone; a bin whose merge fails (a record the writer
    refuses) goes to 'failure' whole. Records stream into the merged flowfile
    one at a time.

    How bins are held, as MergeContent: flowyard's session ends with every
    trigger, so the flowfiles of a bin that is not ready go back to the input
    queue (unchanged, no provenance event) and bins are rebuilt on the next
    trigger in the order they were first seen; nothing is held outside the
    repository, so a restart neither loses nor duplicates a flowfile. Each
    flowfile's record count and schema are read once, when it is first seen,
    and kept in memory while it waits.

    Differences from NiFi: the bin sizes count the input flowfiles' content
    (NiFi counts the bytes the writer has written); a flowfile is read once
    to bin it and once more to merge it (NiFi writes its records into the bin
    while binning); the waiting described above (latency up to the yield
    duration). NiFi sets ``merge.completion.reason`` only in newer versions;
    its texts here are flowyard's.
    """

    spec = ProcessorSpec(
        description="Merges together multiple record-oriented flowfiles into a single flowfile that contains all "
                    "of the records of the input flowfiles.",
        tags=("merge", "record", "content", "correlation", "stream", "event"),
        properties=(RECORD_READER, RECORD_WRITER, MERGE_STRATEGY, CORRELATION_ATTRIBUTE, ATTRIBUTE_STRATEGY,
                    MIN_RECORDS, MAX_RECORDS, MIN_SIZE, MAX_SIZE, MAX_BIN_AGE, MAX_BINS),
        relationships=(ORIGINAL, FAILURE, MERGED),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(
            ("fragment.identifier", "Defragment: flowfiles with the same value are merged together."),
            ("fragment.index", "Defragment: the order of the fragments."),
            ("fragment.count", "Defragment: how many fragments the bundle has."),
        ),
        writes_attributes=(
            ("record.count", "The number of records merged."),
            ("mime.type", "The MIME type of the writer's output."),
            ("merge.count", "How many flowfiles were merged."),
            ("merge.bin.age", "How long the bin had been open when it was merged, in milliseconds."),
            ("merge.uuid", "On each original: the uuid of the merged flowfile."),
            ("merge.completion.reason", "Which threshold made the bin merge."),
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: flowfile id → (first seen ms, order, record count, schema)
        self._seen: dict[int, tuple[int, int, int, RecordSchema]] = {}
        self._counter = 0

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """Minimums within maximums."""
        problems: list[ValidationResult] = []
        for spec in (MIN_RECORDS, MAX_RECORDS):
            value = context.property(spec)
            if value.is_set and "${" in (value.raw or ""):
                try:
                    number = value.evaluate().as_int()
                except ValueError as exc:
                    problems.append(ValidationResult(spec.display_name, f"its Expression Language must give a "
                                                     f"positive integer: {exc}", spec.key))
                    continue
                if number < 1:
                    problems.append(ValidationResult(spec.display_name, f"its Expression Language gives {number}, "
                                                     "not a positive integer", spec.key))
        if problems:
            return problems
        try:
            max_records = context.property(MAX_RECORDS).evaluate()
            if max_records.is_set and context.property(MIN_RECORDS).evaluate().as_int() > max_records.as_int():
                problems.append(ValidationResult(MAX_RECORDS.display_name, "<Maximum Number of Records> property "
                                                 "cannot be smaller than <Minimum Number of Records> property",
                                                 MAX_RECORDS.key))
            max_size = context.property(MAX_SIZE)
            if max_size.is_set and context.property(MIN_SIZE).as_data_size() > max_size.as_data_size():
                problems.append(ValidationResult(MAX_SIZE.display_name, "<Maximum Bin Size> property cannot be "
                                                 "smaller than <Minimum Bin Size> property", MAX_SIZE.key))
        except ValueError:
            pass  # the properties' own validators report it
        return problems

    def _settings(self, context: ProcessContext) -> _Settings:
        max_records = context.property(MAX_RECORDS).evaluate()
        max_size = context.property(MAX_SIZE)
        max_age = context.property(MAX_BIN_AGE)
        return _Settings(
            min_records=context.property(MIN_RECORDS).evaluate().as_int(),
            max_records=max_records.as_int() if max_records.is_set else _MAX_INT,
            min_size=context.property(MIN_SIZE).as_data_size(),
            max_size=max_size.as_data_size() if max_size.is_set else 2**63 - 1,
            max_bins=context.property(MAX_BINS).as_int(),
            max_age_ms=int(max_age.as_duration() * 1000) if max_age.is_set else None,
            max_age_text=max_age.raw or "",
            defragment=context.property(MERGE_STRATEGY).as_str() == DEFRAGMENT,
        )

    def on_scheduled(self, context: ProcessContext) -> None:
        """Bins start empty."""
        self._seen = {}

    def on_stopped(self, context: ProcessContext) -> None:
        """Forget the bins (their flowfiles are in the queue), as NiFi purges them."""
        self._seen = {}

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Rebuild the bins from the queue, merge the ready ones, return the rest."""
        run_alone(self._lock, context, lambda: self._trigger(context, session))

    def _trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = context.now_ms()
        settings = self._settings(context)
        taken, capped = take_queue(session, MAX_TAKEN)
        if not taken:
            context.yield_()
            return
        reader_factory = context.property(RECORD_READER).as_controller_service(RecordReaderFactory)
        correlation = context.property(CORRELATION_ATTRIBUTE).raw
        entries: list[tuple[int, _Entry]] = []
        done: set[int] = set()
        for ff in taken:
            problem = _fragment_problem(ff) if settings.defragment else None
            if problem is not None:
                context.logger.error(f"Cannot Defragment {ff!r}: {problem}; routing to failure")
                session.transfer(session.put_attribute(ff, "record.error.message", problem), FAILURE)
                done.add(ff.id)
                continue
            seen = self._seen.get(ff.id)
            if seen is None:
                try:
                    count, schema = _survey(reader_factory, session, ff)
                except (ValueError, OSError, RecursionError) as exc:
                    reason = "the records are nested too deeply" if isinstance(exc, RecursionError) else str(exc)
                    context.logger.error(f"Failed to bin {ff!r}: {reason}; routing to failure")
                    session.transfer(session.put_attribute(ff, "record.error.message", reason), FAILURE)
                    done.add(ff.id)
                    continue
                self._counter += 1
                seen = (now, self._counter, count, schema)
            self._seen[ff.id] = seen
            first_seen, order, count, schema = seen
            if settings.defragment:
                group: object = ff.attributes.get("fragment.identifier")
            else:
                group = (schema, ff.attributes.get(correlation) if correlation else None)
            entries.append((order, _Entry(ff, group, schema, count, first_seen)))
        entries.sort(key=lambda pair: pair[0])
        ready, waiting = _pack([e for _, e in entries], settings, now, relax=not capped)
        for bin_ in ready:
            self._complete(context, session, bin_, settings, now)
            done.update(e.ff.id for e in bin_.entries)
        self._seen = requeue_waiting(session, (e.ff for bin_ in waiting for e in bin_.entries), self._seen,
                                     self._seen, done, capped)
        if not ready:
            context.yield_()

    def _complete(self, context: ProcessContext, session: ProcessSession, bin_: _Bin, settings: _Settings,
                  now: int) -> None:
        flowfiles = [e.ff for e in bin_.entries]
        if settings.defragment:
            error = defragment_error(flowfiles)
            if error is not None:
                if bin_.reason != FULL:
                    error += f" (the bin was closed: {bin_.reason})"
                context.logger.error(f"{error}; routing {len(flowfiles)} FlowFiles to failure")
                session.transfer_all(flowfiles, FAILURE)
                return
            order = sorted(range(len(flowfiles)), key=lambda i: int(flowfiles[i].attributes["fragment.index"]))
            bin_.entries = [bin_.entries[i] for i in order]
            flowfiles = [e.ff for e in bin_.entries]
        reader_factory, writer_factory = record_factories(context, RECORD_READER, RECORD_WRITER)
        first = flowfiles[0].attributes
        bundle = session.create(flowfiles)
        try:
            schema = writer_factory.get_schema(first, bin_.entries[0].schema)
            writer = writer_factory.create_writer(schema, first)
            bundle = session.write(bundle, writer.write(_records(reader_factory, session, flowfiles, schema)))
        except (ValueError, OSError, RecursionError) as exc:
            session.remove(bundle)
            reason = "the records are nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            context.logger.error(f"Failed to merge {len(flowfiles)} FlowFiles: {reason}; routing them to failure")
            session.transfer_all(flowfiles, FAILURE)
            return
        keep = fmt.keep_unique if context.property(ATTRIBUTE_STRATEGY).as_str() == KEEP_UNIQUE else fmt.keep_common
        attributes = keep(flowfiles)
        attributes.update(written_attributes(writer))
        attributes.update({
            "merge.count": str(len(flowfiles)), "merge.bin.age": str(max(0, now - bin_.created_ms)),
            "merge.completion.reason": bin_.reason,
        })
        bundle = session.put_attributes(bundle, attributes)
        session.transfer(bundle, MERGED)
        context.logger.info(f"Merged {len(flowfiles)} FlowFiles ({writer.record_count} records) into {bundle!r}: "
                            f"{bin_.reason}")
        transfer_originals(session, flowfiles, bundle, ORIGINAL)


def _fragment_problem(ff: FlowFile) -> str | None:
    """Why ``ff`` cannot be a fragment to put back together, or None."""
    attributes = ff.attributes
    if not attributes.get("fragment.identifier"):
        return "it has no fragment.identifier attribute"
    index = attributes.get("fragment.index")
    if index is None or not index.isdigit():
        return f"it does not have an integer value for the fragment.index attribute ({index!r})"
    count = attributes.get("fragment.count")
    if count is not None and not count.isdigit():
        return f"it does not have an integer value for the fragment.count attribute ({count!r})"
    return None


def _survey(reader_factory: RecordReaderFactory, session: ProcessSession, ff: FlowFile) -> tuple[int, RecordSchema]:
    """(record count, schema) of ``ff``'s records, read once."""
    reader = reader_factory.create_reader(ff.attributes, lambda: session.read(ff))
    count = 0
    for _ in reader:
        count += 1
    return count, reader.schema


def _records(reader_factory: RecordReaderFactory, session: ProcessSession, flowfiles: list[FlowFile],
             schema: RecordSchema) -> Iterator[dict[str, Any]]:
    for ff in flowfiles:
        reader = reader_factory.create_reader(ff.attributes, lambda ff=ff: session.read(ff))  # type: ignore[misc]
        yield from conformed(iter(reader), reader.schema, schema)


def _pack(entries: list[_Entry], s: _Settings, now: int, *, relax: bool) -> tuple[list[_Bin], list[_Bin]]:
    """(ready bins, waiting bins) for ``entries`` offered in order, as NiFi's RecordBinManager."""
    ready: list[_Bin] = []
    open_bins: list[_Bin] = []
    for entry in entries:
        target = next((b for b in open_bins if b.group == entry.group and not b.full(s) and b.accepts(entry, s)),
                      None)
        if target is None:
            if len(open_bins) >= s.max_bins:
                oldest = min(open_bins, key=lambda b: b.created_ms)
                oldest.reason = TOO_MANY_BINS
                open_bins.remove(oldest)
                ready.append(oldest)
            target = _Bin(entry.group, entry.first_seen_ms)
            open_bins.append(target)
        target.add(entry)
        if target.full(s):
            target.reason = FULL
            open_bins.remove(target)
            ready.append(target)
    waiting: list[_Bin] = []
    for bin_ in open_bins:
        if s.max_age_ms is not None and now - bin_.created_ms > s.max_age_ms:
            bin_.reason = f"Bin is older than {s.max_age_text}"
            ready.append(bin_)
        elif relax and not s.defragment and (bin_.full_enough(s) or bin_.records == 0):
            bin_.reason = FULL_ENOUGH
            ready.append(bin_)
        else:
            waiting.append(bin_)
    return ready, waiting

