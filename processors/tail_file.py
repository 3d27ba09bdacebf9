"""TailFile: send the lines appended to text files (logs), surviving restarts and rollovers.

Its properties are in ``_tail_file_props``; its file logic without sessions in ``_system_tail``."""

from __future__ import annotations

import os
import re
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

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
from flowyard.processors._tail_file_props import (
    BASE_DIRECTORY,
    BEGINNING_OF_TIME,
    CURRENT_TIME,
    FILES_TO_TAIL,
    INITIAL_START_POSITION,
    LINE_START_PATTERN,
    LOOKUP_FREQUENCY,
    MAX_BUFFER_SIZE,
    MAXIMUM_AGE,
    MULTIPLE_FILES,
    POST_ROLLOVER_TAIL_PERIOD,
    PREALLOCATED_BUFFER_SIZE,
    RECURSIVE_LOOKUP,
    REREAD_ON_NUL,
    ROLLING_FILENAME_PATTERN,
    SINGLE_FILE,
    STATE_LOCATION,
    TAILING_MODE,
)
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    SchedulingDefaults,
    ValidationResult,
    validators,
)

__all__ = ["TailFile"]

SUCCESS = Relationship("success", "Every FlowFile of lines read from the tailed files.")


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
    ``.checksum`` — the CRC32 of the bytes before the position —, and
    ``.tailingPostRollover``, true while a rolled file is still followed
    during the Post-Rollover Tail Period, whatever its age) and saved in
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
    State Location picks the state's scope (``state_scope``): Local keeps the
    positions per node, Remote in the cluster, so that a TailFile on the
    primary node only goes on where the previous primary stopped. Rolling
    Filename Pattern globs follow Python's ``fnmatch`` (no
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
            "Follows one or more text files as they grow and sends the newly written complete lines as FlowFiles. With "
            "a Rolling Filename Pattern it also reads what was written to a file before it rolled over, even while the "
            "processor was stopped."
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
            ("tailfile.original.path", "The path of the tailed file the lines come from."),
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

    def state_scope(self, context: ProcessContext) -> str:
        """CLUSTER for a Remote State Location, else LOCAL (as NiFi's TailFile)."""
        return "CLUSTER" if context.property(STATE_LOCATION).as_str() == "Remote" else "LOCAL"

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
        for path in _regular_files(str(base), recursive):
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
        if state.post_rollover:
            # Still on the rolled file (Post-Rollover Tail Period): find it whatever its age now.
            following = [(p, st) for p, st in rolled_files(path, settings.rolling, 0)
                         if st.st_size >= state.position and _crc(p, state.position) == state.checksum]
            if following:
                rolled = following[:1] + [item for item in rolled if item[0] != following[0][0]]
            else:
                state = replace(state, post_rollover=False)
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
                return replace(state, post_rollover=True), False, nul
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
                       inode=None, post_rollover=True), True, nul

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


def _regular_files(base: str, recursive: bool) -> Iterator[str]:
    """The regular files (or links to one) in ``base`` and, when ``recursive``, in its subdirectories
    (links to directories are not followed). Entries that are no regular file (a FIFO, a link loop, a
    dangling link) are skipped, as NiFi's listing skips them, and so are subdirectories that cannot be
    read; ``OSError`` only when ``base`` itself cannot be listed."""
    pending = [base]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as scan:
                entries = list(scan)
        except OSError:
            if directory == base:
                raise
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        pending.append(entry.path)
                elif entry.is_file(follow_symlinks=True):
                    yield entry.path
            except OSError:  # e.g. ELOOP: a link to itself
                continue


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

