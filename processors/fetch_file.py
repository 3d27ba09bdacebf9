"""FetchFile: replace a FlowFile's content with the content of a local file."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from flowyard.processors._common import NIFI_LOG_LEVELS, log_at
from flowyard.processors._content_io import copy_file_to, thread_buffer
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    FlowFile,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    new_uuid,
    validators,
)

__all__ = ["FetchFile"]

_BATCH = 10
DEFAULT_FILE_TO_FETCH = "${absolute.path}/${filename}"

COMPLETION_NONE = "None"
COMPLETION_MOVE = "Move File"
COMPLETION_DELETE = "Delete File"
CONFLICT_RENAME = "Rename"
CONFLICT_REPLACE = "Replace File"
CONFLICT_KEEP = "Keep Existing"
CONFLICT_FAIL = "Fail"

SUCCESS = Relationship("success", "FlowFiles whose content was replaced by the file's content.")
NOT_FOUND = Relationship("not.found", "FlowFiles whose file does not exist; they are penalized.")
PERMISSION_DENIED = Relationship(
    "permission.denied", "FlowFiles whose file flowyard may not read; they are penalized."
)
FAILURE = Relationship("failure", "FlowFiles that could not be fetched for any other reason.")

FILE_TO_FETCH = PropertySpec(
    key="file-to-fetch",
    display_name="File to Fetch",
    description="The full path of the file to read.",
    required=True,
    default=DEFAULT_FILE_TO_FETCH,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
COMPLETION_STRATEGY = PropertySpec(
    key="completion-strategy",
    display_name="Completion Strategy",
    description="What happens to the file once its content is safely committed to the flow.",
    required=True,
    default=COMPLETION_NONE,
    allowed_values=(
        AllowableValue(COMPLETION_NONE, description="Leave the file where it is."),
        AllowableValue(COMPLETION_MOVE, description="Move the file to the Move Destination Directory."),
        AllowableValue(COMPLETION_DELETE, description="Delete the file."),
    ),
)
MOVE_DESTINATION = PropertySpec(
    key="move-destination-directory",
    display_name="Move Destination Directory",
    description="Where 'Move File' moves the file; created when missing. Needed with Completion Strategy "
                "'Move File'.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
    dependencies=(PropertyDependency(COMPLETION_STRATEGY.key, (COMPLETION_MOVE,)),),
)
MOVE_CONFLICT = PropertySpec(
    key="move-conflict-strategy",
    display_name="Move Conflict Strategy",
    description="What 'Move File' does when the destination already has a file of the same name.",
    required=True,
    default=CONFLICT_RENAME,
    allowed_values=(
        AllowableValue(CONFLICT_RENAME, description="Move the file under a new unique name; the existing one stays."),
        AllowableValue(CONFLICT_REPLACE, description="Overwrite the existing file."),
        AllowableValue(CONFLICT_KEEP, description="Keep the existing file and delete the fetched one."),
        AllowableValue(CONFLICT_FAIL, description="Send the FlowFile to failure before fetching anything."),
    ),
    dependencies=(PropertyDependency(COMPLETION_STRATEGY.key, (COMPLETION_MOVE,)),),
)
NOT_FOUND_LOG_LEVEL = PropertySpec(
    key="log-level-when-file-not-found",
    display_name="File not Found Log Level",
    description="The level at which a missing file is logged.",
    aliases=("Log level when file not found",),
    required=True,
    default="ERROR",
    allowed_values=NIFI_LOG_LEVELS,
)
PERMISSION_DENIED_LOG_LEVEL = PropertySpec(
    key="log-level-when-permission-denied",
    display_name="Permission Denied Log Level",
    description="The level at which a file flowyard may not read is logged.",
    aliases=("Log level when permission denied",),
    required=True,
    default="ERROR",
    allowed_values=NIFI_LOG_LEVELS,
)


@dataclass(frozen=True, slots=True)
class _Completion:
    source: Path
    strategy: str
    destination: Path | None
    conflict: str


class FetchFile(Processor):
    """Reads the file named by File to Fetch into the FlowFile's content,
    streaming it from disk (a file over 64 KiB is copied by the kernel into the
    content repository's file for it), and records a FETCH provenance event.

    The Completion Strategy runs only after the session is durably committed
    (``session.commit_async``), so a crash can never lose a file whose
    content is not yet safe; a failed completion is logged as a warning and
    the FlowFile stays in success, as in NiFi. A missing file goes to
    not.found and an unreadable one to permission.denied (both penalized and
    with a ROUTE provenance event); other problems go to failure.

    File to Fetch is evaluated as Expression Language. Where a component runs
    without it (``ProcessorRunner(expression_language=False)``), the default
    (``${absolute.path}/${filename}``) is still resolved from those two
    attributes, so ListFile → FetchFile works; other values are then literal.

    Differences from NiFi: a File to Fetch holding a NUL byte (no file system
    takes one) goes to failure, penalized, with the path named in the log;
    NiFi throws InvalidPathException, so the session is rolled back and the
    FlowFile retried for ever.
    """

    spec = ProcessorSpec(
        description=(
            "Replaces the content of FlowFiles with the content of a file from the local file system, then "
            "optionally moves or deletes the file."
        ),
        tags=("local", "files", "filesystem", "ingest", "ingress", "get", "source", "input", "fetch"),
        properties=(FILE_TO_FETCH, COMPLETION_STRATEGY, MOVE_DESTINATION, MOVE_CONFLICT, NOT_FOUND_LOG_LEVEL,
                    PERMISSION_DENIED_LOG_LEVEL),
        relationships=(SUCCESS, NOT_FOUND, PERMISSION_DENIED, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(
            ("absolute.path", "With the default File to Fetch: the file's directory."),
            ("filename", "With the default File to Fetch: the file's name."),
        ),
    )

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """'Move File' needs a Move Destination Directory (NiFi checks it the same way)."""
        if (context.property(COMPLETION_STRATEGY).as_str() == COMPLETION_MOVE
                and not context.property(MOVE_DESTINATION).is_set):
            return (ValidationResult(MOVE_DESTINATION.display_name,
                                     "is required when the Completion Strategy is 'Move File'", MOVE_DESTINATION.key),)
        return ()

    def _is_readable(self, path: str) -> bool:
        """Whether flowyard may read ``path`` (a separate method so tests can
        simulate permission problems even when running as root)."""
        return os.access(path, os.R_OK)

    def _file_to_fetch(self, context: ProcessContext, ff: FlowFile) -> str:
        value = context.property(FILE_TO_FETCH).evaluate(ff.attributes).as_str()
        if value == DEFAULT_FILE_TO_FETCH and not context.expression_language_enabled:
            # No Expression Language evaluator: resolve the default by hand,
            # exactly as the expression would (a missing attribute is empty).
            return f"{ff.attributes.get('absolute.path', '')}/{ff.attributes.get('filename', '')}"
        return value

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Fetch a batch of FlowFiles; completion actions run after the commit."""
        batch = session.get_batch(_BATCH)
        if not batch:
            return
        completions: list[_Completion] = []
        buffer = thread_buffer()
        for ff in batch:
            completion = self._fetch(context, session, ff, buffer)
            if completion is not None:
                completions.append(completion)
        if any(c.strategy != COMPLETION_NONE for c in completions):
            session.commit_async(on_success=self._completer(context, completions))

    def _fetch(self, context: ProcessContext, session: ProcessSession, ff: FlowFile,
               buffer: bytearray) -> _Completion | None:
        """Route ``ff``; the completion to run after the commit when it was fetched
        (the file is read through ``buffer``)."""
        log = context.logger
        try:
            filename = self._file_to_fetch(context, ff)
        except ValueError as exc:
            log.error(f"cannot evaluate File to Fetch for {ff!r}: {exc}; routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        if not filename.strip():
            log.error(f"File to Fetch is empty for {ff!r}; routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        if "\x00" in filename:
            # No file system takes it (Python: ValueError; NiFi: InvalidPathException).
            log.error(f"cannot fetch {filename!r} for {ff!r}: File to Fetch holds a NUL byte; routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        path = Path(filename)
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            log_at(log, context.property(NOT_FOUND_LOG_LEVEL).as_str(),
                   f"cannot fetch {path} for {ff!r}: the file does not exist; routing to not.found")
            session.provenance.route(ff, NOT_FOUND)
            session.transfer(session.penalize(ff), NOT_FOUND)
            return None
        except OSError as exc:
            log_at(log, context.property(NOT_FOUND_LOG_LEVEL).as_str(),
                   f"cannot fetch {path} for {ff!r}: its existence cannot be verified ({exc}); routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        if stat.S_ISDIR(st.st_mode):
            log.error(f"cannot fetch {path} for {ff!r}: it is a directory; routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        if not self._is_readable(str(path)):
            log_at(log, context.property(PERMISSION_DENIED_LOG_LEVEL).as_str(),
                   f"cannot fetch {path} for {ff!r}: no permission to read it; routing to permission.denied")
            session.provenance.route(ff, PERMISSION_DENIED)
            session.transfer(session.penalize(ff), PERMISSION_DENIED)
            return None

        strategy = context.property(COMPLETION_STRATEGY).as_str()
        conflict = context.property(MOVE_CONFLICT).as_str()
        destination: Path | None = None
        if strategy == COMPLETION_MOVE:
            try:
                destination = self._prepare_destination(context, ff, path, conflict)
            except (OSError, ValueError) as exc:
                log.error(f"cannot fetch {path} for {ff!r}: {exc}; routing to failure")
                session.transfer(ff, FAILURE)
                return None

        try:
            with open(path, "rb") as handle:
                ff = session.write(ff, partial(copy_file_to, handle, buffer=buffer))
        except OSError as exc:
            log.error(f"cannot fetch {path} for {ff!r}: {exc}; routing to failure")
            session.transfer(session.penalize(ff), FAILURE)
            return None
        uri = path.absolute().as_uri()
        session.provenance.fetch(ff, uri, f"Replaced content of FlowFile with contents of {uri}")
        session.transfer(ff, SUCCESS)
        return _Completion(path, strategy, destination, conflict)

    @staticmethod
    def _prepare_destination(context: ProcessContext, ff: FlowFile, source: Path, conflict: str) -> Path:
        """Check (and create) the move destination before fetching; raises
        ``OSError`` or ``ValueError`` saying why the move cannot happen."""
        directory = Path(context.property(MOVE_DESTINATION).evaluate(ff.attributes).as_str())
        if directory.exists():
            if not directory.is_dir():
                raise ValueError(f"the Move Destination Directory {directory} is not a directory")
            if not os.access(directory, os.W_OK):
                raise ValueError(f"the Move Destination Directory {directory} is not writable")
        else:
            directory.mkdir(parents=True, exist_ok=True)
        if conflict == CONFLICT_FAIL and (directory / source.name).exists():
            raise ValueError(f"{directory / source.name} exists and the Move Conflict Strategy is Fail")
        return directory

    @staticmethod
    def _completer(context: ProcessContext, completions: list[_Completion]) -> Callable[[], None]:
        def complete() -> None:
            for completion in completions:
                try:
                    _complete(completion)
                except OSError as exc:
                    context.logger.warning(
                        f"fetched {completion.source} but its completion ({completion.strategy}) failed: {exc}"
                    )

        return complete


def _complete(completion: _Completion) -> None:
    source = completion.source
    if completion.strategy == COMPLETION_DELETE:
        source.unlink()
        return
    if completion.strategy != COMPLETION_MOVE or completion.destination is None:
        return
    completion.destination.mkdir(parents=True, exist_ok=True)
    target = completion.destination / source.name
    if not os.path.lexists(target):
        _move(source, target, overwrite=False)
    elif completion.conflict == CONFLICT_KEEP:
        source.unlink()
    elif completion.conflict == CONFLICT_REPLACE:
        _move(source, target, overwrite=True)
    elif completion.conflict == CONFLICT_RENAME:
        stem, dot, extension = source.name.rpartition(".")
        renamed = f"{stem}-{new_uuid()}.{extension}" if dot and stem else f"{source.name}-{new_uuid()}"
        _move(source, completion.destination / renamed, overwrite=False)
    else:
        raise FileExistsError(f"{target} exists")


def _move(source: Path, target: Path, *, overwrite: bool) -> None:
    if not overwrite and os.path.lexists(target):
        raise FileExistsError(f"{target} exists")
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.move(str(source), str(target))  # another file system: copy, then delete
