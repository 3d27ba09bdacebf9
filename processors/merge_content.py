"""MergeContent: bins of FlowFiles merged into one (concatenation, TAR, ZIP, FlowFile Stream)."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO

from flowyard.processors import _merge_formats as fmt
from flowyard.processors._common import boolean_property, is_true
from flowyard.processors._merge_avro import AVRO_MIME_TYPE, avro_stream
from flowyard.processors._merge_bins import (
    FIRST_IN_NEW_BIN,
    ISOLATED,
    LAST_IN_BIN,
    Bin,
    BinSettings,
    Entry,
    defragment_error,
    pack,
    requeue_waiting,
    run_alone,
    take_queue,
    transfer_originals,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    FlowyardError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["MergeContent"]

BIN_PACKING = "Bin-Packing Algorithm"
DEFRAGMENT = "Defragment"
# A defragmented bundle (and, in a FlowFile Stream, each packaged FlowFile) is no fragment any more.
FRAGMENT_ATTRIBUTES = frozenset(("fragment.identifier", "fragment.index", "fragment.count",
                                 "segment.original.filename"))
KEEP_COMMON = "Keep Only Common Attributes"
KEEP_UNIQUE = "Keep All Unique Attributes"
DELIMITER_FILENAME = "Filename"
DELIMITER_TEXT = "Text"
DELIMITER_NONE = "Do Not Use Delimiters"

#: FlowFiles taken per trigger at most; beyond it they wait for the next trigger.
MAX_TAKEN = 100_000

ORIGINAL = Relationship("original", "The input FlowFiles of each merged bundle, with merge.uuid added.")
FAILURE = Relationship("failure", "The FlowFiles of a bin that cannot be merged (and copies of those a format "
                                  "leaves out).")
MERGED = Relationship("merged", "The FlowFile made from each bin.")

_BIN_PACK = (PropertyDependency("merge-strategy", (BIN_PACKING,)),)
_CONCAT = PropertyDependency("merge-format", (fmt.BINARY_CONCATENATION,))
_DELIMITED = (PropertyDependency("delimiter-strategy", (DELIMITER_FILENAME, DELIMITER_TEXT)), _CONCAT)

MERGE_STRATEGY = PropertySpec(
    key="merge-strategy", display_name="Merge Strategy", required=True, default=BIN_PACKING,
    description="How FlowFiles are put together into bins: by size and count, or as the fragments of one original.",
    allowed_values=(
        AllowableValue(BIN_PACKING, description="FlowFiles are collected into bins (one per Correlation Attribute "
                       "value, if set) until the entry and size limits say a bin is ready."),
        AllowableValue(DEFRAGMENT, description="The pieces of one original (same fragment.identifier) are put "
                       "back together in fragment.index order once all fragment.count have arrived."),
    ),
)
MERGE_FORMAT = PropertySpec(
    key="merge-format", display_name="Merge Format", required=True, default=fmt.BINARY_CONCATENATION,
    description="The format of the merged FlowFile.",
    allowed_values=(
        AllowableValue(fmt.TAR, description="A TAR of the FlowFiles; path (Keep Path), tar.permissions and Tar "
                       "Modified Time give the entries' names, modes and times."),
        AllowableValue(fmt.ZIP, description="A ZIP of the FlowFiles (Keep Path, Compression Level)."),
        AllowableValue(fmt.FLOWFILE_STREAM_V3, description="A Version 3 FlowFile Stream (attributes and content)."),
        AllowableValue(fmt.FLOWFILE_STREAM_V2, description="A Version 2 FlowFile Stream (attributes and content)."),
        AllowableValue(fmt.FLOWFILE_TAR_V1, description="Each FlowFile as a FlowFile Tar v1, one after the other "
                       "(deprecated in NiFi 2.12)."),
        AllowableValue(fmt.BINARY_CONCATENATION, description="The contents concatenated, with the optional "
                       "Header, Demarcator and Footer."),
        AllowableValue(fmt.AVRO, description="The Avro data files joined into one (same schema and codec; see "
                       "Metadata Strategy)."),
    ),
)
ATTRIBUTE_STRATEGY = PropertySpec(
    key="attribute-strategy", display_name="Attribute Strategy", required=True, default=KEEP_COMMON,
    description="Which attributes of the inputs the merged FlowFile gets.",
    allowed_values=(
        AllowableValue(KEEP_COMMON, description="Only attributes that every input has, with one value."),
        AllowableValue(KEEP_UNIQUE, description="Every attribute whose inputs do not disagree on its value "
                       "(inputs lacking it do not count)."),
    ),
)
CORRELATION_ATTRIBUTE = PropertySpec(
    key="correlation-attribute-name", display_name="Correlation Attribute Name",
    description="An attribute whose value chooses the bin: only FlowFiles with equal values are merged together. "
    "When unset, FlowFiles fill bins in queue order.",
    validator=validators.NON_EMPTY, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES, dependencies=_BIN_PACK,
)
METADATA_STRATEGY = PropertySpec(
    key="metadata-strategy", display_name="Metadata Strategy", required=True, default="Do Not Merge Uncommon Metadata",
    description="For FlowFiles whose Merge Format is Avro, the strategy for the metadata: the first FlowFile's "
                "metadata is the bundle's; 'Use First Metadata' merges any other FlowFile, 'Keep Only Common Metadata' "
                "leaves out (to failure) a FlowFile with a different value for a key the first has, 'Do Not Merge "
                "Uncommon Metadata' also one with a key the first lacks, 'Ignore Metadata' drops all metadata and "
                "merges any FlowFile of the same schema and codec.",
    allowed_values=tuple(AllowableValue(v) for v in (
        "Use First Metadata", "Keep Only Common Metadata", "Ignore Metadata", "Do Not Merge Uncommon Metadata")),
    dependencies=(PropertyDependency("merge-format", (fmt.AVRO,)),), aliases=("mergecontent-metadata-strategy",),
)
MIN_ENTRIES = PropertySpec(
    key="min-entries", display_name="Minimum Number of Entries", required=True, default="1",
    description="A bin is not merged before it holds this many FlowFiles (unless Max Bin Age or the bin limit "
    "forces it).", validator=validators.POSITIVE_INTEGER,
    dependencies=_BIN_PACK,
)
MAX_ENTRIES = PropertySpec(
    key="max-entries", display_name="Maximum Number of Entries", required=True, default="1000",
    description="A bin holding this many FlowFiles is merged.", validator=validators.POSITIVE_INTEGER,
    dependencies=_BIN_PACK,
)
MIN_SIZE = PropertySpec(
    key="min-size", display_name="Minimum Group Size", required=True, default="0 B",
    description="A bin is not merged before its content adds up to this size (unless forced).",
    validator=validators.DATA_SIZE, dependencies=_BIN_PACK,
)
MAX_SIZE = PropertySpec(
    key="max-size", display_name="Maximum Group Size",
    description="The most content a bin can hold; unset, there is no limit.",
    validator=validators.DATA_SIZE, dependencies=_BIN_PACK,
)
BIN_TERMINATION_CHECK = PropertySpec(
    key="bin-termination-check", display_name="Bin Termination Check",
    description="An Expression Language condition evaluated for each FlowFile; when true, the FlowFile closes its "
    "bin (where it goes in or beside that bin: FlowFile Insertion Strategy).",
    validator=validators.BOOLEAN_EXPRESSION, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=_BIN_PACK,
)
INSERTION_STRATEGY = PropertySpec(
    key="flowfile-insertion-strategy", display_name="FlowFile Insertion Strategy", required=True,
    default=LAST_IN_BIN,
    description="Where a FlowFile that passes the Bin Termination Check goes.",
    allowed_values=(
        AllowableValue(LAST_IN_BIN, description="It is the last FlowFile of the bin it joins, which is then merged."),
        AllowableValue(FIRST_IN_NEW_BIN, description="The open bin is merged without it; it starts a new bin."),
        AllowableValue(ISOLATED, description="The open bin is merged without it; it is merged alone."),
    ),
    dependencies=(PropertyDependency("bin-termination-check"),),
)
MAX_BIN_AGE = PropertySpec(
    key="max-bin-age", display_name="Max Bin Age",
    description="A bin this old is merged even if it has not reached its minimums, e.g. '5 mins'.",
    validator=validators.TIME_PERIOD,
)
MAX_BINS = PropertySpec(
    key="max-bin-count", display_name="Maximum Number of Bins", required=True, default="5",
    description="The most bins open at once; a new bin beyond it forces the oldest to be merged.",
    validator=validators.POSITIVE_INTEGER, aliases=("Maximum number of Bins",),
)
DELIMITER_STRATEGY = PropertySpec(
    key="delimiter-strategy", display_name="Delimiter Strategy", required=True, default=DELIMITER_NONE,
    description="Whether Header, Footer and Demarcator are the text to write or the names of files holding it.",
    allowed_values=(
        AllowableValue(DELIMITER_FILENAME, description="Header, Footer and Demarcator name files; their content "
                       "is written."),
        AllowableValue(DELIMITER_TEXT, description="Header, Footer and Demarcator are written as they are."),
        AllowableValue(DELIMITER_NONE, description="Nothing is written between or around the contents."),
    ),
    dependencies=(_CONCAT,),
)


def _check_not_empty(value: str) -> str | None:
    return None if value else "the value cannot be empty"


#: NiFi's NON_EMPTY_VALIDATOR: any text but the empty string (a lone newline is a valid demarcator).
_NOT_EMPTY = validators.Validator("not empty", "any text but the empty string (whitespace counts)", _check_not_empty)


def _delimiter(key: str, name: str) -> PropertySpec:
    return PropertySpec(
        key=key, display_name=name,
        description=f"The {name.lower()} text, or the file holding it, by Delimiter Strategy; unset, none is "
        "written. Expression Language sees the first FlowFile of the bin.",
        validator=_NOT_EMPTY, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
        dependencies=_DELIMITED, aliases=(f"{name} File",),
    )


HEADER = _delimiter("header", "Header")
FOOTER = _delimiter("footer", "Footer")
DEMARCATOR = _delimiter("demarcator", "Demarcator")
COMPRESSION_LEVEL = PropertySpec(
    key="compression-level", display_name="Compression Level", required=True, default="1",
    description="How hard ZIP entries are compressed, from 0 (stored) to 9 (smallest).",
    allowed_values=tuple(AllowableValue(str(n)) for n in range(10)),
    dependencies=(PropertyDependency("merge-format", (fmt.ZIP,)),),
)
KEEP_PATH = boolean_property(
    "keep-path", "Keep Path", "Whether TAR and ZIP entry names start with the path attribute of their FlowFile "
    "(otherwise they are just the filename).", "false",
    dependencies=(PropertyDependency("merge-format", (fmt.TAR, fmt.ZIP)),),
)
TAR_MODIFIED_TIME = PropertySpec(
    key="tar-modified-time", display_name="Tar Modified Time", default="${file.lastModifiedTime}",
    description="The modification time of each TAR entry, evaluated per FlowFile: yyyy-MM-dd'T'HH:mm:ssZ (as "
    "file.lastModifiedTime is written) or ISO 8601 such as 2024-01-02T03:04:05Z. Other values give the current "
    "time.",
    validator=validators.NON_EMPTY, expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency("merge-format", (fmt.TAR,)),),
)

_PROPERTIES = (
    MERGE_STRATEGY, MERGE_FORMAT, ATTRIBUTE_STRATEGY, CORRELATION_ATTRIBUTE, METADATA_STRATEGY, MIN_ENTRIES,
    MAX_ENTRIES, MIN_SIZE, MAX_SIZE, BIN_TERMINATION_CHECK, INSERTION_STRATEGY, MAX_BIN_AGE, MAX_BINS,
    DELIMITER_STRATEGY, HEADER, FOOTER, DEMARCATOR, COMPRESSION_LEVEL, KEEP_PATH, TAR_MODIFIED_TIME,
)


class MergeContent(Processor):
    """Merges bins of FlowFiles into one FlowFile, as NiFi's MergeContent:
    Bin-Packing (by size and count, optionally per Correlation Attribute Name
    value, closed early by a Bin Termination Check) or Defragment (the
    fragments of one ``fragment.identifier`` in ``fragment.index`` order);
    formats Binary Concatenation (Header, Demarcator, Footer as text or from
    files), TAR, ZIP, FlowFile Stream v3/v2, FlowFile Tar v1 and Avro (inputs
    whose schema, codec or metadata does not fit the first input's: a copy to
    'failure', as NiFi's AvroMerge does).

    The merged FlowFile goes to 'merged' with the attributes the Attribute
    Strategy keeps, ``filename`` (the only input's filename, else the first
    input's ``segment.original.filename``, else a nanosecond clock reading,
    plus ``.tar``, ``.zip`` or ``.pkg``), ``mime.type``, ``merge.count``,
    ``merge.bin.age`` (ms), ``merge.reason`` (NiFi's names:
    MAX_ENTRIES_THRESHOLD_REACHED, MAX_BYTES_THRESHOLD_REACHED,
    MIN_THRESHOLDS_REACHED, TIMEOUT, BIN_MANAGER_FULL, BIN_TERMINATION_SIGNAL,
    UNSET for a FlowFile larger than Maximum Group Size, merged alone). A
    defragmented bundle has no ``fragment.*`` or ``segment.original.filename``
    attributes, nor have the FlowFiles packaged in it by a FlowFile Stream
    format (as in NiFi since 2.x). One JOIN
    provenance event names every input. The inputs go to 'original' with
    ``merge.uuid``. A bin that cannot be merged (a Defragment bin with a missing,
    extra or inconsistent fragment, including one still incomplete at Max Bin
    Age or pushed out by Maximum Number of Bins; an unreadable Header file)
    goes to 'failure' whole, with an error logged (a bulletin). A ZIP entry name
    that repeats an earlier one is left out of the ZIP and a copy of its
    FlowFile goes to 'failure', as NiFi does.

    How bins are held: flowyard's session ends with every trigger, so the
    FlowFiles of a bin that is not ready are transferred back to the input
    queue (committed, unchanged, no provenance event) and the bins are rebuilt
    on the next trigger, in the order MergeContent first saw the FlowFiles.
    Nothing is ever held outside the repository: a restart or crash can
    neither lose nor duplicate a FlowFile (the merged FlowFile and the
    originals are committed in one transaction), and, as in NiFi, bins then
    start again from the queue with their age reset (and their FlowFiles in the
    input queue's order, where waiting FlowFiles had gone back behind newer
    ones; while running, bins keep the order MergeContent first saw the
    FlowFiles in). The time each FlowFile was
    first seen is kept in memory for Max Bin Age, and also reset when the
    processor stops (NiFi purges its bins on stop). When nothing is merged the
    processor yields, so waiting bins are looked at again after the yield
    duration (1 s by default): merges by Max Bin Age or by newly arrived
    FlowFiles happen up to that much later than in NiFi. Each trigger takes
    at most 100,000 FlowFiles; while the queue holds more, only full bins are
    merged (as NiFi while it is still binning). Waiting FlowFiles stay in the
    input queue and count towards its back pressure (NiFi counts them too):
    keep the queue's object threshold above the entries a bin needs.

    Differences from NiFi: the bin holding described above (latency up to the
    yield duration, repository writes for waiting FlowFiles on every look; a
    waiting FlowFile can expire under the connection's FlowFile Expiration,
    and each look counts in the processor's In/Out statistics).
    A bin reaching its minimums is merged as soon as the queue is drained
    (NiFi merges it on the next trigger that finds the queue empty). When a
    new bin is needed while Maximum Number of Bins are open, the oldest open
    bin is merged at once (NiFi evicts it at the end of the trigger, when no
    other bin was ready). Avro bundles keep the first input's header and
    copy the data blocks of the others unchanged; schemas are compared as
    parsed JSON without ``doc`` texts (Java compares Schema objects), and the
    JOIN event names every input (NiFi leaves out the unmerged ones).
    ``tar.permissions`` is read as octal (NiFi parses it as a decimal number,
    giving odd modes); Tar Modified Time accepts ISO 8601 and
    NiFi's ``yyyy-MM-dd'T'HH:mm:ssZ`` (as ``file.lastModifiedTime`` is written)
    where NiFi's Instant.parse only takes the former; entries get the current
    time otherwise. A merged FlowFile whose inputs do not share ``path`` gets
    ``path = ./``.
    """

    spec = ProcessorSpec(
        description="Collects FlowFiles into bins and merges each bin into one FlowFile: concatenated, as an "
        "archive (TAR, ZIP), as a FlowFile package, or as one Avro file.",
        tags=("merge", "content", "correlation", "tar", "zip", "stream", "concatenation", "archive",
              "flowfile-stream", "flowfile-stream-v3", "bundle", "aggregate", "defragment"),
        properties=_PROPERTIES,
        relationships=(ORIGINAL, FAILURE, MERGED),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(
            ("fragment.identifier", "Defragment: FlowFiles with the same value are merged together."),
            ("fragment.index", "Defragment: the order of the fragments (a unique integer per identifier)."),
            ("fragment.count", "Defragment: how many fragments the bundle has (at least one FlowFile carries it)."),
            ("segment.original.filename", "The filename of the merged FlowFile (of several)."),
            ("tar.permissions", "TAR: the entry's mode, three octal digits (default 644)."),
        ),
        writes_attributes=(
            ("filename", "The merged FlowFile's name (see the notes), with .tar, .zip or .pkg by format."),
            ("merge.count", "How many FlowFiles were merged."),
            ("merge.bin.age", "How long the bin had been open when it was merged, in milliseconds."),
            ("merge.uuid", "On each original: the uuid of the merged FlowFile."),
            ("merge.reason", "Which threshold made the bin merge (NiFi's eviction reason names)."),
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        #: FlowFile id → (first seen, ms; order of first sight): bin age and binning order
        self._first_seen: dict[int, tuple[int, int]] = {}
        self._seen_counter = 0

    # -- configuration ------------------------------------------------------------------

    def validate(self, context: ProcessContext) -> list[ValidationResult]:
        """Minimums within maximums, a supported format, delimiter files that exist."""
        problems: list[ValidationResult] = []
        merge_format = context.property(MERGE_FORMAT).value
        if context.property(MERGE_STRATEGY).value == BIN_PACKING:
            try:
                if context.property(MIN_ENTRIES).as_int() > context.property(MAX_ENTRIES).as_int():
                    problems.append(ValidationResult(MIN_ENTRIES.display_name, "Min Entries must be less than or "
                                                     "equal to Max Entries", MIN_ENTRIES.key))
                max_size = context.property(MAX_SIZE)
                if max_size.is_set and context.property(MIN_SIZE).as_data_size() > max_size.as_data_size():
                    problems.append(ValidationResult(MIN_SIZE.display_name, "Min Size must be less than or equal "
                                                     "to Max Size", MIN_SIZE.key))
            except ValueError:
                pass  # the property's own validator reports it
        try:
            max_age = context.property(MAX_BIN_AGE)
            if max_age.is_set and max_age.as_duration() < 1:
                problems.append(ValidationResult(MAX_BIN_AGE.display_name, "Max Bin Age must be at least 1 sec",
                                                 MAX_BIN_AGE.key))
        except ValueError:
            pass
        if merge_format == fmt.BINARY_CONCATENATION \
                and context.property(DELIMITER_STRATEGY).value == DELIMITER_FILENAME:
            for spec in (HEADER, FOOTER, DEMARCATOR):
                value = context.property(spec).value
                if value is not None and "${" not in value and not Path(value).is_file():
                    problems.append(ValidationResult(spec.display_name, f"{value!r} is not an existing file",
                                                     spec.key))
        return problems

    def _settings(self, context: ProcessContext) -> BinSettings:
        defragment = context.property(MERGE_STRATEGY).as_str() == DEFRAGMENT
        max_size = context.property(MAX_SIZE)
        max_age = context.property(MAX_BIN_AGE)
        return BinSettings(
            min_entries=context.property(MIN_ENTRIES).as_int(),
            max_entries=context.property(MAX_ENTRIES).as_int(),
            min_size=context.property(MIN_SIZE).as_data_size(),
            max_size=max_size.as_data_size() if max_size.is_set else 2**63 - 1,
            max_bins=context.property(MAX_BINS).as_int(),
            max_age_ms=int(max_age.as_duration() * 1000) if max_age.is_set else None,
            defragment=defragment,
            insertion=context.property(INSERTION_STRATEGY).as_str(),
        )

    # -- lifecycle ------------------------------------------------------------------------

    def on_scheduled(self, context: ProcessContext) -> None:
        """Bins start empty."""
        self._first_seen = {}

    def on_stopped(self, context: ProcessContext) -> None:
        """Forget the bins (their FlowFiles are in the queue), as NiFi purges them."""
        self._first_seen = {}

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Rebuild the bins from the queue, merge the ready ones, return the rest."""
        run_alone(self._lock, context, lambda: self._trigger(context, session))

    # -- one trigger ------------------------------------------------------------------------

    def _trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        now = context.now_ms()
        settings = self._settings(context)
        taken, capped = take_queue(session, MAX_TAKEN)
        if not taken:
            context.yield_()
            return
        bin_packing = not settings.defragment
        correlation = context.property(CORRELATION_ATTRIBUTE)
        termination = context.property(BIN_TERMINATION_CHECK)
        entries: list[Entry[FlowFile]] = []
        order: dict[int, tuple[int, int]] = {}
        done: set[int] = set()
        for ff in taken:
            attrs = ff.attributes
            try:
                name = correlation.evaluate(attrs).value if correlation.is_set else None
                group = ff.get_attribute(name) if name else None
                terminates = bin_packing and termination.is_set and is_true(termination.evaluate(attrs).value)
            except ValueError as exc:
                context.logger.error(f"Could not determine which Bin to add {ff!r} to; will route to failure: {exc}")
                session.transfer(ff, FAILURE)
                done.add(ff.id)
                continue
            if group is None and settings.defragment:
                group = ff.get_attribute("fragment.identifier")
            seen = self._first_seen.get(ff.id)
            if seen is None:
                self._seen_counter += 1
                seen = (now, self._seen_counter)
            order[ff.id] = seen
            entries.append(Entry(ff, group, ff.size, seen[0], ff.get_attribute("fragment.index"),
                                 ff.get_attribute("fragment.count"), terminates))
        # the order MergeContent first saw them, not the queue's: waiting FlowFiles went back behind newer ones
        entries.sort(key=lambda e: order[e.item.id])
        ready, waiting = pack(entries, settings, now, relax=not capped)
        for bin_ in ready:
            self._process(context, session, bin_, now)
            done.update(e.item.id for e in bin_.entries)
        self._first_seen = requeue_waiting(session, (e.item for bin_ in waiting for e in bin_.entries), order,
                                           self._first_seen, done, capped)
        if not ready and not done:
            context.yield_()

    def _process(self, context: ProcessContext, session: ProcessSession, bin_: Bin[FlowFile], now: int) -> None:
        import tarfile
        flowfiles = [e.item for e in bin_.entries]
        if context.property(MERGE_STRATEGY).as_str() == DEFRAGMENT:
            error = defragment_error(flowfiles)
            if error is not None:
                shown = repr(flowfiles) if len(flowfiles) <= 10 else f"{len(flowfiles)} FlowFiles"
                context.logger.error(f"{error}; routing {shown} to failure")
                session.transfer_all(flowfiles, FAILURE)
                return
            flowfiles.sort(key=lambda ff: int(ff.attributes["fragment.index"]))
        unmerged: list[FlowFile] = []
        try:
            bundle, filename, mime_type = self._merge(context, session, flowfiles, now, unmerged)
        except FlowyardError:
            raise
        except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            context.logger.error(f"Failed to process bundle of {len(flowfiles)} files: {exc}; routing to failure")
            session.transfer_all(flowfiles, FAILURE)
            return
        strategy = fmt.keep_unique if context.property(ATTRIBUTE_STRATEGY).as_str() == KEEP_UNIQUE \
            else fmt.keep_common
        attributes = strategy(flowfiles)
        attributes.update({
            "mime.type": mime_type,
            "filename": filename,
            "merge.count": str(len(flowfiles)),
            "merge.bin.age": str(bin_.age_ms(now)),
            "merge.reason": bin_.reason,
        })
        bundle = session.put_attributes(bundle, attributes)
        if context.property(MERGE_STRATEGY).as_str() == DEFRAGMENT:
            bundle = session.remove_attributes(bundle, FRAGMENT_ATTRIBUTES)
        session.transfer(bundle, MERGED)
        context.logger.info(f"Merged {len(flowfiles)} FlowFiles into {bundle!r}. Reason for merging: {bin_.reason}")
        for ff in unmerged:
            session.transfer(session.clone(ff), FAILURE)
        transfer_originals(session, flowfiles, bundle, ORIGINAL)

    def _merge(self, context: ProcessContext, session: ProcessSession, flowfiles: list[FlowFile], now: int,
               unmerged: list[FlowFile]) -> tuple[FlowFile, str, str]:
        merge_format = context.property(MERGE_FORMAT).as_str()
        now_s = now / 1000
        data: Iterable[bytes] | Callable[[IO[bytes]], object]
        if merge_format == fmt.BINARY_CONCATENATION:
            first = flowfiles[0].attributes
            header, demarcator, footer = (_delimiter_content(context, spec, first)
                                          for spec in (HEADER, DEMARCATOR, FOOTER))
            data = fmt.concatenation(session, flowfiles, header, demarcator, footer)
            mime_type = fmt.concatenation_mime_type(flowfiles)
        elif merge_format == fmt.TAR:
            modified = [context.property(TAR_MODIFIED_TIME).evaluate(ff.attributes).value for ff in flowfiles]
            data = fmt.tar_writer(session, flowfiles, keep_path=context.property(KEEP_PATH).as_bool(),
                                  modified_times=modified, now_s=now_s)
            mime_type = fmt.MIME_TYPES[merge_format]
        elif merge_format == fmt.ZIP:
            data = fmt.zip_writer(session, flowfiles, keep_path=context.property(KEEP_PATH).as_bool(),
                                  level=context.property(COMPRESSION_LEVEL).as_int(), now_s=now_s, unmerged=unmerged)
            mime_type = fmt.MIME_TYPES[merge_format]
        elif merge_format in (fmt.FLOWFILE_STREAM_V3, fmt.FLOWFILE_STREAM_V2, fmt.FLOWFILE_TAR_V1):
            version = {fmt.FLOWFILE_STREAM_V3: 3, fmt.FLOWFILE_STREAM_V2: 2}.get(merge_format, 1)
            drop = FRAGMENT_ATTRIBUTES if context.property(MERGE_STRATEGY).as_str() == DEFRAGMENT else frozenset()
            data = fmt.flowfile_stream(session, flowfiles, version, now_s, drop)
            mime_type = fmt.MIME_TYPES[merge_format]
        elif merge_format == fmt.AVRO:
            data = avro_stream(session, flowfiles, context.property(METADATA_STRATEGY).as_str(), unmerged)
            mime_type = AVRO_MIME_TYPE
        else:
            raise ValueError(f"Merge Format {merge_format!r} is not supported")
        bundle = session.create(flowfiles)
        try:
            bundle = session.write(bundle, data)
        except BaseException:
            session.remove(bundle)
            raise
        filename = fmt.bundle_filename(flowfiles) + fmt.EXTENSIONS.get(merge_format, "")
        return bundle, filename, mime_type


def _delimiter_content(context: ProcessContext, spec: PropertySpec, attributes: Mapping[str, str]) -> (
    bytes | None
):
    strategy = context.property(DELIMITER_STRATEGY).as_str()
    if strategy == DELIMITER_NONE:
        return None
    value = context.property(spec).evaluate(attributes).value
    if value is None:
        return None
    if strategy == DELIMITER_FILENAME:
        return Path(value).read_bytes()
    return value.encode("utf-8")
