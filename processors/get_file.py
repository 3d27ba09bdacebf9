"""GetFile: take files from a local directory into the flow."""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from flowyard.processors._common import boolean_property
from flowyard.processors._content_io import copy_file_to, thread_buffer
from flowyard.processors._files import (
    FileCandidate,
    FileFilter,
    file_attributes,
    file_filter_specs,
    readable,
    walk_files,
)
from flowyard.runtime.sdk import (
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["GetFile"]

# Re-list only when fewer files than this are waiting (as NiFi does).
_RELIST_BELOW = 100

SUCCESS = Relationship("success", "Every file taken becomes a FlowFile here.")

INPUT_DIRECTORY = PropertySpec(
    key="input-directory",
    display_name="Input Directory",
    description="The directory files are taken from.",
    required=True,
    validator=validators.DIRECTORY_EXISTS,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
FILTER = file_filter_specs(
    "taken",
    recurse_description="Also take files from subdirectories.",
    path_filter_description=(
        "With Recurse Subdirectories, only files in subdirectories whose relative path matches this regular "
        "expression are taken (files directly in the Input Directory then never are)."
    ),
)
FILE_FILTER, PATH_FILTER, RECURSE, IGNORE_HIDDEN = (FILTER.file_filter, FILTER.path_filter, FILTER.recurse,
                                                    FILTER.ignore_hidden)
MIN_AGE, MAX_AGE, MIN_SIZE, MAX_SIZE = FILTER.min_age, FILTER.max_age, FILTER.min_size, FILTER.max_size
BATCH_SIZE = PropertySpec(
    key="batch-size",
    display_name="Batch Size",
    description="The most files taken in one run.",
    required=True,
    default="10",
    validator=validators.POSITIVE_INTEGER,
)
KEEP_SOURCE_FILE = boolean_property(
    "keep-source-file", "Keep Source File",
    "Leave each file in place after it is taken, so it is taken again on the next listing (for testing). "
    "When false the file is deleted once its FlowFile is committed, which needs write access to its directory.",
    "false",
)
POLLING_INTERVAL = PropertySpec(
    key="polling-interval",
    display_name="Polling Interval",
    description="The least time between two listings of the directory.",
    required=True,
    default="30 sec",
    validator=validators.TIME_PERIOD,
)


class GetFile(Processor):
    """Turns files of a directory into FlowFiles and (by default) deletes them.

    Content is streamed from disk into the content repository (a file over
    64 KiB is copied by the kernel into the repository's file for it; a file
    that grows meanwhile is taken as it is when read to its end). A source file
    is deleted only after the session that holds its FlowFile is durably
    committed (``session.commit_async``), by GetFile's deletion thread (off
    the engine's event loop; stopping the processor waits for it), and only if
    its name still leads to the file that was read; if the session rolls back
    the file stays and is taken again later. Files already taken by a session that is
    not yet committed are not taken twice, even with several concurrent tasks.

    A listing (at most every Polling Interval) fills a queue of files that
    later runs drain Batch Size at a time; the directory is listed again once
    fewer than 100 files are waiting. Each FlowFile gets ``filename``,
    ``path`` (``./`` or ``sub/dir/``), ``absolute.path`` and the ``file.*``
    attributes, and a RECEIVE provenance event. The processor yields when a
    listing finds nothing. Files that cannot be read (or, unless Keep Source
    File, whose directory is not writable) are skipped, as in NiFi. A name
    that is not valid UTF-8 is written to the attributes with U+FFFD in place
    of the bad bytes (as Java decodes it); the file itself is still read.
    """

    spec = ProcessorSpec(
        description="Creates FlowFiles from the files in a directory, and removes the files unless told to keep them.",
        tags=("local", "files", "filesystem", "ingest", "ingress", "get", "source", "input"),
        properties=(INPUT_DIRECTORY, FILE_FILTER, PATH_FILTER, BATCH_SIZE, KEEP_SOURCE_FILE, RECURSE,
                    POLLING_INTERVAL, IGNORE_HIDDEN, MIN_AGE, MAX_AGE, MIN_SIZE, MAX_SIZE),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("filename", "The name of the file."),
            ("path", "The file's directory relative to the Input Directory: ./ or sub/dir/."),
            ("absolute.path", "The file's directory as an absolute path, ending with /."),
            ("file.creationTime", "When the file was created (its modification time where unknown)."),
            ("file.lastModifiedTime", "When the file was last modified."),
            ("file.lastAccessTime", "When the file was last read."),
            ("file.owner", "The owner of the file."),
            ("file.group", "The group of the file."),
            ("file.permissions", "The permissions of the file, as rw-r--r--."),
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[FileCandidate] = deque()
        self._in_flight: set[str] = set()
        self._last_listing = float("-inf")
        self._deleter: ThreadPoolExecutor | None = None

    def on_stopped(self, context: ProcessContext) -> None:
        """Wait until every file whose FlowFile was committed is deleted."""
        with self._lock:
            deleter, self._deleter = self._deleter, None
        if deleter is not None:
            deleter.shutdown(wait=True)

    def _delete_soon(self, delete: Callable[[], None]) -> None:
        """Run ``delete`` in GetFile's deletion thread: the commit callback that
        calls this runs on the engine's event loop, which must not wait for the
        file system (nor for the GIL after each unlink)."""
        with self._lock:
            if self._deleter is None:
                self._deleter = ThreadPoolExecutor(1, thread_name_prefix="GetFile-delete")
            deleter = self._deleter
        try:
            deleter.submit(delete)
        except RuntimeError:  # shut down meanwhile by on_stopped: delete here
            delete()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Forget files listed during an earlier run."""
        with self._lock:
            self._waiting.clear()
            self._last_listing = float("-inf")

    def _filter(self, context: ProcessContext) -> FileFilter:
        return FILTER.build(context, path_filter_excludes_root=True)

    def _list(self, context: ProcessContext, root: str, keep: bool) -> list[FileCandidate]:
        accepted = self._filter(context)
        now = time.time()
        found = []
        for candidate in walk_files(root, context.property(RECURSE).as_bool()):
            if not accepted.accepts(candidate, now) or not os.access(candidate.path, os.R_OK):
                continue
            if not keep and not os.access(os.path.dirname(candidate.path), os.W_OK):
                continue
            found.append(candidate)
        return found

    def _refill(self, context: ProcessContext, root: str, keep: bool) -> None:
        """List the directory again if the queue runs low and the interval has passed."""
        interval = context.property(POLLING_INTERVAL).as_duration()
        with self._lock:
            now = time.monotonic()
            if len(self._waiting) >= _RELIST_BELOW or now - self._last_listing < interval:
                return
            self._last_listing = now
        listing = self._list(context, root, keep)
        with self._lock:
            self._waiting = deque(c for c in listing if c.path not in self._in_flight)
            empty = not self._waiting
        if empty:
            context.yield_()

    def _take(self, count: int) -> list[FileCandidate]:
        with self._lock:
            taken: list[FileCandidate] = []
            while self._waiting and len(taken) < count:
                candidate = self._waiting.popleft()
                if candidate.path not in self._in_flight:
                    self._in_flight.add(candidate.path)
                    taken.append(candidate)
            return taken

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Take up to Batch Size files into the session."""
        root = context.property(INPUT_DIRECTORY).evaluate(None).as_str()
        if not os.path.isdir(root):
            context.logger.error(f"Input Directory {root!r} does not exist or is not a directory")
            context.yield_()
            return
        keep = context.property(KEEP_SOURCE_FILE).as_bool()
        self._refill(context, root, keep)
        taken = self._take(context.property(BATCH_SIZE).as_int())
        if not taken:
            return
        received: list[tuple[str, os.stat_result]] = []

        def release() -> None:
            with self._lock:
                self._in_flight.difference_update(c.path for c in taken)

        def delete() -> None:
            try:
                for path, read in received:
                    _remove_taken(context, path, read)
            finally:
                release()  # only now: a file listed before its deletion must not be taken again

        def committed() -> None:
            if keep:
                release()
            else:
                self._delete_soon(delete)

        session.commit_async(on_success=committed, on_failure=lambda _error: release())
        buffer = thread_buffer()
        for candidate in taken:
            try:
                handle = open(candidate.path, "rb")  # noqa: SIM115 - closed below, after the session write
            except FileNotFoundError:
                continue
            except OSError as exc:
                context.logger.warning(f"cannot read {candidate.shown_path}: {exc}")
                continue
            ff = session.create()
            try:
                with handle:
                    st = os.fstat(handle.fileno())
                    ff = session.write(ff, partial(copy_file_to, handle, buffer=buffer))
            except OSError as exc:
                context.logger.error(f"failed to read {candidate.shown_path}: {exc}; it stays in place")
                session.remove(ff)
                continue
            attributes = {
                "filename": candidate.name,
                "path": candidate.path_attribute,
                "absolute.path": candidate.absolute_path_attribute,
                **file_attributes(st),
            }
            ff = session.put_attributes(ff, attributes)
            session.provenance.receive(ff, Path(candidate.path).as_uri())
            session.transfer(ff, SUCCESS)
            received.append((candidate.path, st))


def _remove_taken(context: ProcessContext, path: str, read: os.stat_result) -> None:
    """Delete the file taken from ``path`` (``read``: its status when read), unless
    the name now leads to another file (replaced since it was taken)."""
    try:
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) != (read.st_dev, read.st_ino):
            context.logger.info(f"{readable(path)} was replaced after it was taken; the new file stays")
            return
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        context.logger.warning(f"took {readable(path)} into the flow but cannot delete it: {exc}")
