"""TailFile: send the lines appended to text files (logs), surviving restarts and rollovers."""

from __future__ import annotations

import os
import re
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from flowyard.processors._common import boolean_property
from flowyard.processors._system_tail import (
    FileState,
    crc_of_prefix,
    inode_of,
    line_start_cut,
    mtime_ms,
    read_range,
    rolled_files,
    scan_whole_lines,
    states_from_map,
    states_to_map,
    storable_name,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    SchedulingDefaults,
    ValidationResult,
    validators,
)

__all__ = ["TailFile"]

SINGLE_FILE = "Single file"
MULTIPLE_FILES = "Multiple files"
BEGINNING_OF_TIME = "Beginning of Time"
BEGINNING_OF_FILE = "Beginning of File"
CURRENT_TIME = "Current Time"

SUCCESS = Relationship("success", "All FlowFiles are routed to this Relationship.")

TAILING_MODE = PropertySpec(
    key="tailing-mode",
    display_name="Tailing Mode",
    description=(
        "Mode to use: single file will tail only one file, multiple file will look for a list of file. In Multiple "
        "mode the Base directory is required."
    ),
    required=True,
    default=SINGLE_FILE,
    allowed_values=(
        AllowableValue(SINGLE_FILE, SINGLE_FILE,
                       "In this mode, only the one file indicated in the 'Files to tail' property will be watched by "
                       "the processor. In this mode, the file may not exist when starting the processor."),
        AllowableValue(MULTIPLE_FILES, MULTIPLE_FILES,
                       "In this mode, the 'Files to tail' property accepts a regular expression and the processor "
                       "will look for files in 'Base directory' to list the files to tail by the processor."),
    ),
    aliases=("tail-mode", "Tailing mode"),
)
FILES_TO_TAIL = PropertySpec(
    key="files-to-tail",
    display_name="Files to Tail",
    description=(
        "Path of the file to tail in case of single file mode. If using multifile mode, regular expression to find "
        "files to tail in the base directory; it must match the whole path relative to the base directory (with "
        "Recursive Lookup, e.g. 'app/[^/]*\\.log')."
    ),
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("File to Tail", "File(s) to Tail"),
)
ROLLING_FILENAME_PATTERN = PropertySpec(
    key="rolling-filename-pattern",
    display_name="Rolling Filename Pattern",
    description=(
        "If the file to tail \"rolls over\" as would be the case with log files, this filename pattern will be used "
        "to identify files that have rolled over so that if the processor is restarted, and the file has rolled "
        "over, it will be able to pick up where it left off. This pattern supports wildcard characters * and ?, it "
        "also supports the notation ${filename} to specify a pattern based on the name of the file (without "
        "extension), and will assume that the files that have rolled over live in the same directory as the file "
        "being tailed. The same glob pattern will be used for all files."
    ),
    validator=validators.NON_EMPTY,
)
POST_ROLLOVER_TAIL_PERIOD = PropertySpec(
    key="post-rollover-tail-period",
    display_name="Post-Rollover Tail Period",
    description=(
        "When a file is rolled over, the processor will continue tailing the rolled over file until it has not been "
        "modified for this amount of time. This allows for another process to rollover a file, and then flush out "
        "any buffered data. Note that when this value is set, and the tailed file rolls over, the new file will not "
        "be tailed until the old file has not been modified for the configured amount of time."
    ),
    default="0 sec",
    validator=validators.TIME_PERIOD,
)
BASE_DIRECTORY = PropertySpec(
    key="base-directory",
    display_name="Base Directory",
    description="Base directory used to look for files to tail. This property is required when using Multifile mode.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
    aliases=("tail-base-directory", "Base directory"),
)
INITIAL_START_POSITION = PropertySpec(
    key="initial-start-position",
    display_name="Initial Start Position",
    description=(
        "When the Processor first begins to tail data, this property specifies where the Processor should begin "
        "reading data. Once data has been ingested from a file, the Processor will continue from the last point "
        "from which it has received data."
    ),
    required=True,
    default=BEGINNING_OF_FILE,
    allowed_values=(
        AllowableValue(BEGINNING_OF_TIME, BEGINNING_OF_TIME,
                       "Start with the oldest data that matches the Rolling Filename Pattern and then begin reading "
                       "from the File to Tail"),
        AllowableValue(BEGINNING_OF_FILE, BEGINNING_OF_FILE,
                       "Start with the beginning of the File to Tail. Do not ingest any data that has already been "
                       "rolled over"),
        AllowableValue(CURRENT_TIME, CURRENT_TIME,
                       "Start with the data at the end of the File to Tail. Do not ingest any data that has already "
                       "been rolled over or any data in the File to Tail that has already been written."),
    ),
)
STATE_LOCATION = PropertySpec(
    key="state-location",
    display_name="State Location",
    description=(
        "Specifies where the state is located either local or cluster so that state can be stored appropriately in "
        "order to ensure that all data is consumed without duplicating data upon restart. (flowyard keeps the "
        "component's state either way.)"
    ),
    required=True,
    default="Local",
    allowed_values=(
        AllowableValue("Local", "Local", "State is stored locally. Each node in a cluster will tail a different file."),
        AllowableValue("Remote", "Remote",
                       "State is located on a remote resource, so that the processor can run on the Primary Node "
                       "only and a new Primary Node can pick up where the last one left off."),
    ),
    aliases=("File Location",),
)
RECURSIVE_LOOKUP = boolean_property(
    "recursive-lookup", "Recursive Lookup",
    "When using Multiple files mode, this property defines if files must be listed recursively or not in the base "
    "directory.",
    "false",
    aliases=("tailfile-recursive-lookup", "Recursive lookup"),
)
LOOKUP_FREQUENCY = PropertySpec(
    key="lookup-frequency",
    display_name="Lookup Frequency",
    description=(
        "Only used in Multiple files mode. It specifies the minimum duration the processor will wait before listing "
        "again the files to tail."
    ),
    default="10 minutes",
    validator=validators.TIME_PERIOD,
    aliases=("tailfile-lookup-frequency", "Lookup frequency"),
)
MAXIMUM_AGE = PropertySpec(
    key="maximum-age",
    display_name="Maximum Age",
    description=(
        "Only used in Multiple files mode. It specifies the necessary minimum duration to consider that no new "
        "messages will be appended in a file regarding its last modification date. This should not be set too low "
        "to avoid duplication of data in case new messages are appended at a lower frequency."
    ),
    default="24 hours",
    validator=validators.TIME_PERIOD,
    aliases=("tailfile-maximum-age", "Maximum age"),
)
REREAD_ON_NUL = PropertySpec(
    key="reread-on-nul",
    display_name="Reread on NUL Encountered",
    description=(
        "If this option is set to 'true', when a NUL character is read, the processor will yield and try to read the "
        "same part again later. The purpose of this flag is to allow users to handle cases where reading a file may "
        "return temporary NUL values (NFS, for example). CAUTION! If the file contains legitimate NUL values, "
        "setting this flag causes this processor to get stuck indefinitely."
    ),
    default="false",
    allowed_values=(AllowableValue("true"), AllowableValue("false")),
    aliases=("reread-on-nul", "Reread when NUL encountered"),
)
LINE_START_PATTERN = PropertySpec(
    key="line-start-pattern",
    display_name="Line Start Pattern",
    description=(
        "A Regular Expression (Python syntax) to match against the start of a log line. If specified, any line that "
        "matches the expression, and any following lines, will be buffered until another line matches the "
        "Expression. In doing this, we can avoid splitting apart multi-line messages in the file. This assumes "
        "that the data is in UTF-8 format."
    ),
    validator=validators.REGEX,
    dependencies=(PropertyDependency(TAILING_MODE.key, (SINGLE_FILE,)),),
)
PREALLOCATED_BUFFER_SIZE = PropertySpec(
    key="preallocated-buffer-size",
    display_name="Preallocated Buffer Size",
    description="The size of the pieces files are read in.",
    required=True,
    default="65536 B",
    validator=validators.DATA_SIZE,
    aliases=("pre-allocated-buffer-size", "Pre-Allocated Buffer Size"),
)
MAX_BUFFER_SIZE = PropertySpec(
    key="max-buffer-size",
    display_name="Max Buffer Size",
    description=(
        "When using the Line Start Pattern, there may be situations in which the data in the file being tailed never "
        "matches the Regular Expression. To avoid buffering without bound, the Processor will buffer only up to "
        "this amount of data before flushing the buffer, even if it means ingesting partial data from the file."
    ),
    required=True,
    default="64 KB",
    validator=validators.DATA_SIZE,
    dependencies=(PropertyDependency(LINE_START_PATTERN.key),),
)


@dataclass(slots=True)
class _Settings:
    mode: str
    start: str
    rolling: str | None
    post_rollover_ms: int
    reread_on_nul: bool
    line_start: re.Pattern[str] | None
    max_buffer: int
    chunk: int


class TailFile(Processor):
    """Tails one file, or every file in a directory matching a regular
    expression, sending each batch of newly appended whole lines as a FlowFile.

    Only complete lines are sent: a line ends with LF, CRLF or a lone CR, and
    a last line without its end waits for it. FlowFiles are named
    ``<name>.<from>-<to>.<extension>`` after the byte range of the file they
    hold, with ``mime.type`` ``text/plain`` and ``tailfile.original.path``; a
    RECEIVE event names the file.

    Where reading stands is kept per file in the component state with NiFi's
    keys (``file.<N>.filename``, ``.position``, ``.length``, ``.timestamp``,
    ``.checksum`` — the CRC32 of the bytes before the position) and saved in
    the same session as the FlowFiles, so a restart neither loses nor repeats
    lines. A file name whose bytes are not UTF-8 is written to the state and
    to the attributes decoded with U+FFFD, as Java decodes it, and is still
    tailed (the Files to Tail regular expression, like Java's, does not let
    ``.`` match a line feed in a name). On a restart the checksum is compared with the file: a different
    file under the same name is read from its start.

    A rollover is detected when the file shrinks, when it is a different file
    (another inode), or when files matching the Rolling Filename Pattern have
    appeared since the last read. Rolled files are then read oldest first: the
    one that was being tailed (recognised by the checksum of its first
    ``position`` bytes) from where reading stopped, to its end (a last
    unterminated line included), the others whole; then the new file from its
    start; with Reread on NUL Encountered, a rolled file whose rest still
    holds NUL bytes is left for the next trigger. Without a Rolling
    Filename Pattern, lines appended to a file after
    the last trigger and before its rename are lost, as in NiFi.

    Differences from NiFi: while it runs, the processor also remembers each
    file's identity (device and inode), so a file replaced under the same
    name is read from its start even when it is longer than the position and
    its first bytes match (NiFi goes on from the old position in the new
    file); the stored state has NiFi's six keys per file, so after a restart
    only the checksum tells.
    State Location is accepted, but flowyard keeps the component state either
    way. Rolling Filename Pattern globs follow Python's ``fnmatch`` (no
    ``{a,b}`` alternatives); Files to Tail and Line Start Pattern are Python
    regular expressions. With a Post-Rollover Tail Period, only the rolled
    file that was being tailed is followed during the period (further rolled
    files wait for the next trigger after it), and its age is measured on the
    framework's clock. With a Line Start Pattern, the pending
    message is not held in memory: the position stays at its start and it is
    read again on the next trigger.
    """

    spec = ProcessorSpec(
        description=(
            "\"Tails\" a file, or a list of files, ingesting data from the file as it is written to the file. The "
            "file is expected to be textual. Data is ingested only when a new line is encountered (carriage return "
            "or new-line character or combination). If the file to tail is periodically \"rolled over\", as is "
            "generally the case with log files, an optional Rolling Filename Pattern can be used to retrieve data "
            "from files that have rolled over, even if the rollover occurred while the processor was stopped."
        ),
        tags=("tail", "file", "log", "text", "source", "files", "local"),
        properties=(TAILING_MODE, FILES_TO_TAIL, ROLLING_FILENAME_PATTERN, POST_ROLLOVER_TAIL_PERIOD, BASE_DIRECTORY,
                    INITIAL_START_POSITION, STATE_LOCATION, RECURSIVE_LOOKUP, LOOKUP_FREQUENCY, MAXIMUM_AGE,
                    REREAD_ON_NUL, LINE_START_PATTERN, PREALLOCATED_BUFFER_SIZE, MAX_BUFFER_SIZE),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        scheduling=SchedulingDefaults(period="30 sec"),
        stateful=True,
        writes_attributes=(
            ("tailfile.original.path", "Path of the original file the flow file comes from."),
            ("filename", "<name>.<first byte>-<end byte>.<extension> of the file the lines come from, or the name "
                         "of a rolled-over file"),
            ("mime.type", "text/plain"),
        ),
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # What this instance verified itself: path -> (inode, position, checksum). A state
        # not in here (after a restart) is checked against the file before it is trusted.
        self._verified: dict[str, tuple[str | None, int, int | None]] = {}
        self._files: list[str] = []
        # The identity (dev:ino) of each file as last read by this instance; not part of the stored state.
        self._inodes: dict[str, str] = {}
        self._last_lookup = -float("inf")

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Multiple files mode needs an existing Base Directory and a valid regular expression."""
        if context.property(TAILING_MODE).as_str() != MULTIPLE_FILES:
            return ()
        problems = []
        base = context.property(BASE_DIRECTORY)
        if not base.is_set:
            problems.append(ValidationResult(BASE_DIRECTORY.display_name,
                                             "Base directory property cannot be empty in Multifile mode.",
                                             BASE_DIRECTORY.key))
        elif "${" not in (base.raw or "") and not Path(base.evaluate(None).as_str()).is_dir():
            problems.append(ValidationResult(BASE_DIRECTORY.display_name, f"{base.raw} is not a directory.",
                                             BASE_DIRECTORY.key))
        files = context.property(FILES_TO_TAIL)
        if files.is_set and "${" not in (files.raw or ""):
            problem = validators.REGEX(files.raw or "")
            if problem is not None:
                problems.append(ValidationResult(FILES_TO_TAIL.display_name, problem, FILES_TO_TAIL.key))
        return problems

    def on_scheduled(self, context: ProcessContext) -> None:
        """Forget what was verified: state is checked against the files again."""
        with self._lock:
            self._verified.clear()
            self._inodes.clear()
            self._files = []
            self._last_lookup = -float("inf")

    def _settings(self, context: ProcessContext) -> _Settings:
        pattern = context.property(LINE_START_PATTERN)
        single = context.property(TAILING_MODE).as_str() == SINGLE_FILE
        return _Settings(
            mode=context.property(TAILING_MODE).as_str(),
            start=context.property(INITIAL_START_POSITION).as_str(),
            rolling=context.property(ROLLING_FILENAME_PATTERN).value,
            post_rollover_ms=int(context.property(POST_ROLLOVER_TAIL_PERIOD).as_duration() * 1000),
            reread_on_nul=(context.property(REREAD_ON_NUL).value or "false").lower() == "true",
            line_start=pattern.as_regex() if pattern.is_set and single else None,
            max_buffer=context.property(MAX_BUFFER_SIZE).as_data_size(),
            chunk=max(4096, context.property(PREALLOCATED_BUFFER_SIZE).as_data_size()),
        )

    def _lookup(self, context: ProcessContext) -> list[str]:
        if context.property(TAILING_MODE).as_str() == SINGLE_FILE:
            return [context.property(FILES_TO_TAIL).evaluate(None).as_str()]
        now = time.monotonic()
        if now - self._last_lookup < context.property(LOOKUP_FREQUENCY).as_duration():
            return self._files
        self._last_lookup = now
        base = Path(context.property(BASE_DIRECTORY).evaluate(None).as_str())
        regex = re.compile(context.property(FILES_TO_TAIL).evaluate(None).as_str())
        recursive = context.property(RECURSIVE_LOOKUP).as_bool()
        max_age_ms = context.property(MAXIMUM_AGE).as_duration() * 1000
        now_ms = time.time() * 1000
        found = []
        walker = os.walk(base) if recursive else [(str(base), [], [e.name for e in os.scandir(base) if e.is_file()])]
        for directory, _, names in walker:
            for name in names:
                path = os.path.join(directory, name)
                if regex.fullmatch(os.path.relpath(path, base)) is None:
                    continue
                try:
                    if now_ms - os.stat(path).st_mtime_ns / 1e6 >= max_age_ms:
                        continue
                except OSError:
                    continue
                found.append(path)
        self._files = sorted(found)
        return self._files

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Send what was appended to each tailed file since the last trigger."""
        with self._lock:
            settings = self._settings(context)
            try:
                files = self._lookup(context)
            except (OSError, ValueError) as exc:  # ValueError: an expression or the regular expression failed
                context.logger.error(f"cannot list the files to tail: {exc}")
                context.yield_()
                return
            stored = states_from_map(session.get_state())
            # state holds names as text (storable_name); map them back to the names found
            found = {storable_name(name): name for name in files}
            states = {found[text]: replace(state, filename=found[text], inode=self._inodes.get(found[text]))
                      for text, state in stored.items() if text in found}
            next_index = max((s.index for s in stored.values()), default=-1) + 1
            sent = False
            yield_now = False
            for name in files:
                state = states.get(name)
                try:
                    if state is None:
                        state = FileState(filename=name, index=next_index)
                        next_index += 1
                        state, any_sent, nul = self._first_time(context, session, settings, state)
                    else:
                        state, any_sent, nul = self._tail(context, session, settings, state)
                except _Unreadable as exc:
                    # Checked before anything is sent: the file keeps its state and is tried again later.
                    context.logger.warning(f"cannot read {exc.path}: {exc.error}; will try again later")
                    yield_now = True
                    continue
                yield_now = yield_now or nul
                states[name] = state
                sent = sent or any_sent
            session.set_state(states_to_map({storable_name(name): replace(state, filename=storable_name(name))
                                             for name, state in states.items()}))
            self._inodes = {name: state.inode for name, state in states.items() if state.inode is not None}
            if not sent or yield_now:
                context.yield_()

    # -- one file ---------------------------------------------------------------

    def _first_time(
        self, context: ProcessContext, session: ProcessSession, settings: _Settings, state: FileState,
    ) -> tuple[FileState, bool, bool]:
        """Initial Start Position decides where a file never tailed before starts."""
        path = Path(state.filename)
        if settings.start == CURRENT_TIME:
            try:
                stat = path.stat()
            except OSError:
                return state, False, False
            checksum = _crc(path, stat.st_size)
            state = replace(state, position=stat.st_size, length=stat.st_size, timestamp=mtime_ms(stat) + 1,
                            checksum=checksum, inode=inode_of(stat))
            self._verified[state.filename] = (state.inode, state.position, state.checksum)
            return state, False, False
        sent = False
        if settings.start == BEGINNING_OF_TIME:
            for rolled, stat in rolled_files(path, settings.rolling, 0):
                sent = self._send_whole(context, session, state, rolled, stat) or sent
                state = state.restarted(mtime_ms(stat) + 1, stat.st_size)
        elif path.exists():
            # Rolled files older than the file are not wanted, even if nothing is read now.
            state = replace(state, timestamp=mtime_ms(path.stat()))
        state, more, nul = self._read_tail(context, session, settings, state, rotated=True)
        return state, sent or more, nul

    def _tail(
        self, context: ProcessContext, session: ProcessSession, settings: _Settings, state: FileState,
    ) -> tuple[FileState, bool, bool]:
        path = Path(state.filename)
        sent = False
        rotated = False
        rolled = rolled_files(path, settings.rolling, state.timestamp)
        if rolled:
            rotated = True
            first, first_stat = rolled[0]
            if state.checksum is not None and first_stat.st_size >= state.position \
                    and _crc(first, state.position) == state.checksum:
                if settings.post_rollover_ms > 0 \
                        and context.now_ms() - mtime_ms(first_stat) < settings.post_rollover_ms:
                    # Still written to after its rename: keep tailing it (whole lines); the new file waits.
                    return self._tail_rolled(context, session, settings, state, first, first_stat)
                if settings.reread_on_nul and _holds_nul(first, state.position, first_stat.st_size, settings.chunk):
                    # Not written completely yet (NFS fills NULs in later): read it again next time.
                    return state, False, True
                # The file we were reading, renamed: send the rest of it, a last unterminated line too.
                sent = self._send_range(context, session, state, first, state.position, first_stat.st_size,
                                        rolled_name=True) or sent
                state = state.restarted(mtime_ms(first_stat) + 1, first_stat.st_size)
                rolled = rolled[1:]
            for other, stat in rolled:
                sent = self._send_whole(context, session, state, other, stat) or sent
                state = state.restarted(mtime_ms(stat) + 1, stat.st_size)
        else:
            try:
                stat = path.stat()
            except OSError:
                return state, False, False
            replaced = state.inode is not None and state.inode != inode_of(stat)
            if replaced or stat.st_size < state.length or stat.st_size < state.position:
                rotated = True
            elif self._verified.get(state.filename) != (state.inode, state.position, state.checksum) \
                    and state.position > 0 and _crc(path, state.position) != state.checksum:
                context.logger.info(f"{path} does not begin as the file tailed before; reading it from its start")
                rotated = True
            if rotated:
                state = state.restarted(state.timestamp, stat.st_size)
        state, more, nul = self._read_tail(context, session, settings, state, rotated=rotated)
        return state, sent or more, nul

    def _tail_rolled(
        self, context: ProcessContext, session: ProcessSession, settings: _Settings, state: FileState,
        rolled: Path, stat: os.stat_result,
    ) -> tuple[FileState, bool, bool]:
        """Post-Rollover Tail Period: send the new whole lines of the rolled file; the state stays on it."""
        try:
            stream = open(rolled, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _Unreadable(rolled, exc) from exc
        with stream:
            end, nul = scan_whole_lines(stream, state.position, stat.st_size, settings.chunk, settings.reread_on_nul)
            if end <= state.position:
                return state, False, nul
            start = state.position
            crc = [state.checksum or 0]

            def copy(out: IO[bytes]) -> None:
                for piece in read_range(stream, start, end, settings.chunk):
                    crc[0] = zlib.crc32(piece, crc[0])
                    out.write(piece)

            ff = session.write(session.create(), copy)
        ff = session.put_attributes(ff, {"filename": storable_name(rolled.name), "mime.type": "text/plain",
                                         "tailfile.original.path": storable_name(state.filename)})
        session.provenance.receive(ff, rolled.absolute().as_uri(),
                                   f"FlowFile contains bytes {start} through {end} of source file")
        session.transfer(ff, SUCCESS)
        # The timestamp stays at the rolled file's, so it is found again until the period has passed.
        return replace(state, position=end, checksum=crc[0], timestamp=mtime_ms(stat), length=stat.st_size,
                       inode=None), True, nul

    def _read_tail(
        self, context: ProcessContext, session: ProcessSession, settings: _Settings, state: FileState, *,
        rotated: bool,
    ) -> tuple[FileState, bool, bool]:
        """Send the whole lines after ``state.position`` of the tailed file."""
        path = Path(state.filename)
        if rotated:
            state = replace(state, position=0, checksum=None, inode=None)
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            if path.exists():
                context.logger.warning(f"unable to open {path}: {exc}; will try again later")
            return state, False, False
        with stream:
            stat = os.fstat(stream.fileno())
            inode = inode_of(stat)
            size = stat.st_size
            if size < state.position:  # truncated between the checks and the open
                state = replace(state, position=0, checksum=None)
            end, nul = scan_whole_lines(stream, state.position, size, settings.chunk, settings.reread_on_nul)
            if settings.line_start is not None and end > state.position:
                stream.seek(state.position)
                end = state.position + line_start_cut(stream.read(end - state.position), settings.line_start,
                                                      settings.max_buffer)
            checksum = state.checksum or 0
            if end > state.position:
                start = state.position
                crc = [checksum]

                def copy(out: IO[bytes]) -> None:
                    for piece in read_range(stream, start, end, settings.chunk):
                        crc[0] = zlib.crc32(piece, crc[0])
                        out.write(piece)

                ff = session.write(session.create(), copy)
                ff = session.put_attributes(ff, {
                    "filename": storable_name(_range_name(path.name, start, end)),
                    "mime.type": "text/plain",
                    "tailfile.original.path": storable_name(state.filename),
                })
                session.provenance.receive(ff, path.absolute().as_uri(),
                                           f"FlowFile contains bytes {start} through {end} of source file")
                session.transfer(ff, SUCCESS)
                state = replace(state, position=end, checksum=crc[0], length=size, inode=inode,
                                timestamp=max(state.timestamp, mtime_ms(stat)))
                sent = True
            else:
                state = replace(state, length=size, inode=inode,
                                checksum=state.checksum if state.position else None)
                sent = False
        if nul:
            context.logger.warning(f"NUL character encountered in {path} and 'Reread on NUL Encountered' is set "
                                   "to 'true', yielding.")
        self._verified[state.filename] = (state.inode, state.position, state.checksum)
        return state, sent, nul

    def _send_whole(
        self, context: ProcessContext, session: ProcessSession, state: FileState, path: Path, stat: os.stat_result,
    ) -> bool:
        return self._send_range(context, session, state, path, 0, stat.st_size, rolled_name=True)

    def _send_range(
        self, context: ProcessContext, session: ProcessSession, state: FileState, path: Path, start: int, end: int,
        *, rolled_name: bool,
    ) -> bool:
        """Send bytes ``start``..``end`` of a rolled-over file (to its end: a last unterminated line too)."""
        if end <= start:
            return False
        try:
            with open(path, "rb") as stream:
                chunks = read_range(stream, start, end, 1 << 20)
                ff = session.write(session.create(), chunks)
        except OSError as exc:
            context.logger.warning(f"unable to read rolled-over file {path}: {exc}")
            return False
        ff = session.put_attributes(ff, {
            "filename": storable_name(path.name if rolled_name else _range_name(path.name, start, end)),
            "mime.type": "text/plain",
            "tailfile.original.path": storable_name(state.filename),
        })
        session.provenance.receive(ff, path.absolute().as_uri(),
                                   f"FlowFile contains bytes {start} through {end} of source file")
        session.transfer(ff, SUCCESS)
        return True


class _Unreadable(Exception):
    """A file could not be read while checking where tailing stands (nothing was sent from it)."""

    def __init__(self, path: Path, error: OSError) -> None:
        super().__init__(f"{path}: {error}")
        self.path = path
        self.error = error


def _holds_nul(path: Path, start: int, end: int, chunk: int) -> bool:
    """Whether bytes ``start`` to ``end`` of ``path`` hold a NUL (an unreadable file holds none)."""
    try:
        with open(path, "rb") as stream:
            return any(b"\0" in piece for piece in read_range(stream, start, end, chunk))
    except OSError:
        return False


def _crc(path: Path, size: int) -> int | None:
    """``crc_of_prefix``, raising ``_Unreadable`` when the file cannot be read."""
    try:
        return crc_of_prefix(path, size)
    except OSError as exc:
        raise _Unreadable(path, exc) from exc


def _range_name(name: str, start: int, end: int) -> str:
    """NiFi's FlowFile name for a range of a tailed file: ``base.start-end.ext``."""
    if "." in name:
        base, extension = name.rsplit(".", 1)
        return f"{base}.{start}-{end}.{extension}"
    return f"{name}.{start}-{end}"

