"""ListFile: list the files of a local directory, each once, as content-less FlowFiles."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping

from flowyard.processors._common import boolean_property
from flowyard.processors._files import (
    FileCandidate,
    FileFilter,
    file_attributes,
    file_filter_specs,
    format_timestamp,
    walk_files,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    ProcessingError,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    SchedulingDefaults,
    validators,
)

__all__ = ["LISTING_TIMESTAMP_KEY", "PROCESSED_TIMESTAMP_KEY", "ListFile"]

LISTING_TIMESTAMP_KEY = "listing.timestamp"
"""State key: modification time (epoch ms) of the newest file seen by the last listing."""
PROCESSED_TIMESTAMP_KEY = "processed.timestamp"
"""State key: modification time (epoch ms) of the newest files emitted so far."""
_ID_PREFIX = "id."

# How long after a timestamp more files may still appear with it, by the
# precision of the file system's timestamps (NiFi's listing lag).
_LAG_MS = {1: 100, 1000: 1_000, 60_000: 60_000}

SUCCESS = Relationship("success", "One FlowFile, without content, for each newly listed file.")

INPUT_DIRECTORY = PropertySpec(
    key="input-directory",
    display_name="Input Directory",
    description="The directory whose files are listed.",
    required=True,
    validator=validators.DIRECTORY_EXISTS,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
LOCAL, REMOTE = "Local", "Remote"
INPUT_DIRECTORY_LOCATION = PropertySpec(
    key="input-directory-location",
    display_name="Input Directory Location",
    description=(
        "Whether the Input Directory is on each node's own disk or on a file system every node of a cluster sees; "
        "it decides where the listing state lives."
    ),
    required=True,
    default=LOCAL,
    allowed_values=(
        AllowableValue(LOCAL, LOCAL, "Each node lists its own directory and keeps its own listing state."),
        AllowableValue(REMOTE, REMOTE,
                       "The directory is shared: the listing state is the cluster's, so the processor can run on "
                       "the primary node only and a new primary node goes on where the previous one stopped."),
    ),
)
FILTER = file_filter_specs(
    "listed",
    recurse_description="Also list the files of subdirectories.",
    path_filter_description=(
        "With Recurse Subdirectories, only files whose directory, relative to the Input Directory, matches "
        "this regular expression are listed (files directly in it have the relative path '')."
    ),
)
FILE_FILTER, PATH_FILTER, RECURSE, IGNORE_HIDDEN = (FILTER.file_filter, FILTER.path_filter, FILTER.recurse,
                                                    FILTER.ignore_hidden)
MIN_AGE, MAX_AGE, MIN_SIZE, MAX_SIZE = FILTER.min_age, FILTER.max_age, FILTER.min_size, FILTER.max_size
INCLUDE_FILE_ATTRIBUTES = boolean_property(
    "include-file-attributes", "Include File Attributes",
    "Add the creation and access times, owner, group and permissions as attributes. Gathering them can be "
    "slow on remote file systems.",
    "true",
)


def _precision_ms(timestamps: list[int]) -> int:
    """1, 1000 or 60000: the coarsest unit every timestamp is a multiple of."""
    if any(ts % 1000 for ts in timestamps):
        return 1
    if any(ts % 60_000 for ts in timestamps):
        return 1000
    return 60_000


def _timestamp(key: str, text: str) -> int:
    """A stored timestamp (epoch ms) as NiFi reads it (``Long.parseLong``)."""
    if re.fullmatch(r"[+-]?[0-9]+", text) is not None and -(2**63) <= (number := int(text)) < 2**63:
        return number
    # Starting over would list every file again (duplicates downstream): stop and say how to start over.
    raise ProcessingError(
        f"the stored listing state is damaged: {key} is {text[:40]!r}, not a timestamp in milliseconds; "
        "nothing is listed until the processor's state is cleared (stop it, then 'Clear state'), after which "
        "every file in the directory is listed again")


class _State:
    """The listing state as stored: NiFi's keys, so it reads the same way."""

    def __init__(self, values: Mapping[str, str]) -> None:
        """Raises ``ProcessingError`` naming the key and the remedy when a timestamp is no number."""
        listed = values.get(LISTING_TIMESTAMP_KEY)
        self.listed: int | None = _timestamp(LISTING_TIMESTAMP_KEY, listed) if listed else None
        processed = values.get(PROCESSED_TIMESTAMP_KEY)
        self.processed = _timestamp(PROCESSED_TIMESTAMP_KEY, processed) if processed else 0
        self.ids = {v for k, v in values.items() if k.startswith(_ID_PREFIX) and v}

    def to_dict(self) -> dict[str, str]:
        values = {PROCESSED_TIMESTAMP_KEY: str(self.processed)}
        if self.listed is not None:
            values[LISTING_TIMESTAMP_KEY] = str(self.listed)
        values.update((f"{_ID_PREFIX}{i}", path) for i, path in enumerate(sorted(self.ids)))
        return values


class ListFile(Processor):
    """Lists the files of a directory, emitting one content-less FlowFile per file
    that is new or modified since the last listing, for FetchFile to read.

    Tracking works like NiFi's 'Tracking Timestamps' strategy, with the same
    state keys: ``listing.timestamp`` (newest modification time seen),
    ``processed.timestamp`` (newest modification time emitted) and ``id.N``
    (the paths emitted at that time). Files modified at the newest time are
    held back for one run while that time is still within the listing lag
    (100 ms, 1 s or 1 min, by the precision of the file system's timestamps),
    so a file written in the same instant is not missed. State is saved in
    the same session as the FlowFiles, so a rollback lists the files again.
    The processor yields when nothing new is found. A stored timestamp that
    is not a number (damaged state) stops the listing with a
    ``ProcessingError`` naming the key and the remedy (clear the state),
    rather than listing every file again; NiFi fails there too. A name that is not valid
    UTF-8 is listed with U+FFFD in place of the bad bytes (as Java decodes
    it), so FetchFile reports it ``not.found``, as in NiFi.

    Input Directory Location picks the state's scope (``state_scope``): Local
    keeps it per node, Remote in the cluster (one listing state for all nodes,
    for a shared directory listed on the primary node only).

    Differences from NiFi: only the timestamp strategy; no Record Writer,
    entity tracking or performance tracking properties.
    """

    spec = ProcessorSpec(
        description=(
            "Lists the files of a local directory and creates a FlowFile without content for each file not "
            "listed before, to be read by FetchFile. Unlike GetFile it never changes the files."
        ),
        tags=("file", "get", "list", "ingest", "source", "filesystem"),
        properties=(INPUT_DIRECTORY, RECURSE, INPUT_DIRECTORY_LOCATION, FILE_FILTER, PATH_FILTER,
                    INCLUDE_FILE_ATTRIBUTES, MIN_AGE, MAX_AGE, MIN_SIZE, MAX_SIZE, IGNORE_HIDDEN),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        scheduling=SchedulingDefaults(period="1 min"),
        stateful=True,
        writes_attributes=(
            ("filename", "The name of the file."),
            ("path", "The file's directory relative to the Input Directory: ./ or sub/dir/."),
            ("absolute.path", "The file's directory as an absolute path, ending with /."),
            ("file.size", "The size of the file in bytes."),
            ("file.lastModifiedTime", "When the file was last modified, as yyyy-MM-dd'T'HH:mm:ssZ."),
            ("file.creationTime", "When the file was created (with Include File Attributes)."),
            ("file.lastAccessTime", "When the file was last read (with Include File Attributes)."),
            ("file.owner", "The owner of the file (with Include File Attributes)."),
            ("file.group", "The group of the file (with Include File Attributes)."),
            ("file.permissions", "The permissions of the file, as rw-r--r-- (with Include File Attributes)."),
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_run: float | None = None

    def state_scope(self, context: ProcessContext) -> str:
        """CLUSTER for a Remote Input Directory Location, else LOCAL (as NiFi's ListFile)."""
        return "CLUSTER" if context.property(INPUT_DIRECTORY_LOCATION).as_str() == REMOTE else "LOCAL"

    def _wall_clock(self) -> float:
        """Now, in epoch seconds (tests override it)."""
        return time.time()

    def _monotonic(self) -> float:
        """A monotonic clock in seconds (tests override it)."""
        return time.monotonic()

    def _filter(self, context: ProcessContext) -> FileFilter:
        return FILTER.build(context)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """List once; emit FlowFiles for new files and update the state."""
        root = context.property(INPUT_DIRECTORY).evaluate(None).as_str()
        if not os.path.isdir(root):
            context.logger.error(f"Input Directory {root!r} does not exist or is not a directory")
            context.yield_()
            return
        with self._lock:  # one listing at a time, like NiFi's @TriggerSerially
            self._list(context, session, root)

    def _list(self, context: ProcessContext, session: ProcessSession, root: str) -> None:
        state = _State(session.get_state())
        accepted = self._filter(context)
        now = self._wall_clock()
        run_time = self._monotonic()
        minimum = state.listed
        by_time: dict[int, list[FileCandidate]] = {}
        for candidate in walk_files(root, context.property(RECURSE).as_bool()):
            ts = candidate.mtime_ms
            if minimum is not None and (ts < minimum or ts < state.processed):
                continue
            if accepted.accepts(candidate, now) and os.access(candidate.path, os.R_OK):
                by_time.setdefault(ts, []).append(candidate)
        if not by_time:
            context.yield_()
            return

        latest = max(by_time)
        precision = _precision_ms(list(by_time))
        lag_ms = _LAG_MS[precision]
        if latest == state.listed:
            lag_passed = self._last_run is None or (run_time - self._last_run) * 1000 >= lag_ms
            up_to_date = latest == state.processed and all(c.shown_path in state.ids for c in by_time[latest])
            if not lag_passed or up_to_date:
                context.yield_()
                return
        else:
            reliable = (int(now * 1000) - lag_ms) // precision * precision
            if reliable < latest:
                del by_time[latest]  # files may still appear with this time; list them next run

        include = context.property(INCLUDE_FILE_ATTRIBUTES).as_bool()
        emitted = 0
        for ts in sorted(by_time):
            for candidate in sorted(by_time[ts], key=lambda c: c.path):
                if ts == state.processed and candidate.shown_path in state.ids:
                    continue
                ff = session.create()
                session.transfer(session.put_attributes(ff, _attributes(candidate, include)), SUCCESS)
                emitted += 1

        if emitted:
            newest = max(by_time)
            if newest != state.processed:
                state.ids = set()
            state.ids.update(c.shown_path for c in by_time[newest])
            state.processed = newest
        if latest != state.listed or emitted:
            state.listed = latest
            session.set_state(state.to_dict())
        if emitted:
            context.logger.info(f"listed {emitted} new file(s) in {root}")
        else:
            context.yield_()
        self._last_run = run_time


def _attributes(candidate: FileCandidate, include: bool) -> dict[str, str]:
    attributes = {
        "filename": candidate.name,
        "path": candidate.path_attribute,
        "absolute.path": candidate.absolute_path_attribute,
        "file.size": str(candidate.stat.st_size),
        "file.lastModifiedTime": format_timestamp(candidate.stat.st_mtime),
    }
    if include:
        attributes.update(file_attributes(candidate.stat))
    return attributes
