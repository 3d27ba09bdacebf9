"""PutFile: write FlowFile content to files in a local directory."""

from __future__ import annotations

import errno
import fcntl
import grp
import os
import pwd
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from flowyard.processors._common import boolean_property
from flowyard.processors._content_io import copy_content_to, thread_buffer
from flowyard.processors._files import parse_timestamp
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
    validators,
)

__all__ = ["PutFile", "directory_permissions", "file_permissions", "is_temp_name", "remove_leftover_temp_files"]

_BATCH = 32
# Threads that fsync the files of a batch while the next ones are written: fsync
# releases the GIL and the file system merges concurrent syncs into fewer journal
# commits, so a batch costs about one sync instead of one per file and directory.
_SYNC_THREADS = 4
_RWX = re.compile(r"[r-][w-][x-][r-][w-][x-][r-][w-][x-]")
_OCTAL = re.compile(r"[0-7]{3}")
# Temporary names: "." + the file name (cut to _TEMP_NAME_MAX bytes, leaving room
# within NAME_MAX, 255) + "." + 16 random hex digits + _TEMP_SUFFIX. The suffix
# and the token make them PutFile's own: only such names are ever removed.
_TEMP_NAME_MAX = 200
_TEMP_SUFFIX = ".flowyard-putfile.tmp"
_TEMP_NAME = re.compile(r"\.(.*)\.[0-9a-f]{16}" + re.escape(_TEMP_SUFFIX), re.DOTALL)

REPLACE = "replace"
IGNORE = "ignore"
FAIL = "fail"

SUCCESS = Relationship("success", "FlowFiles written to the directory (or skipped by the 'ignore' strategy).")
FAILURE = Relationship("failure", "FlowFiles that could not be written; they are penalized.")


def _check_permissions(value: str) -> str | None:
    if _RWX.fullmatch(value) or _OCTAL.fullmatch(value):
        return None
    return f"{value!r} is not a valid permission: expected rwxr-x--- form or an octal triplet such as '644'"


PERMISSIONS_VALIDATOR = validators.Validator(
    "permissions", "UNIX permissions as rwxr-x--- or as an octal triplet such as 644", _check_permissions
)

DIRECTORY = PropertySpec(
    key="directory",
    display_name="Directory",
    description="The directory files are written to. Expression Language may use attributes, e.g. /data/${path}.",
    required=True,
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
CONFLICT_RESOLUTION = PropertySpec(
    key="conflict-resolution-strategy",
    display_name="Conflict Resolution Strategy",
    description="What to do when the directory already has a file of the same name.",
    required=True,
    default=FAIL,
    allowed_values=(
        AllowableValue(REPLACE, description="Overwrite the existing file."),
        AllowableValue(IGNORE, description="Leave the existing file and send the FlowFile to success unwritten."),
        AllowableValue(FAIL, description="Leave the existing file and send the FlowFile to failure, penalized."),
    ),
)
CREATE_DIRS = boolean_property(
    "create-missing-directories", "Create Missing Directories",
    "Create the directory (and its parents) when it does not exist. When false, such FlowFiles are penalized "
    "and sent to failure.",
    "true",
)
MAX_FILES = PropertySpec(
    key="maximum-file-count",
    display_name="Maximum File Count",
    description=(
        "The most entries the directory may hold; while it has this many (not counting a file of the same "
        "name), FlowFiles are penalized and sent to failure."
    ),
    validator=validators.INTEGER,
)
LAST_MODIFIED = PropertySpec(
    key="last-modified-time",
    display_name="Last Modified Time",
    description=(
        "The modification time given to the written file, as yyyy-MM-dd'T'HH:mm:ssZ, e.g. "
        "${file.lastModifiedTime}. A value that cannot be parsed is logged and skipped."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
PERMISSIONS = PropertySpec(
    key="permissions",
    display_name="Permissions",
    description="Permissions for the written file, as rw-r--r-- or 644, e.g. ${file.permissions}.",
    validator=PERMISSIONS_VALIDATOR,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
OWNER = PropertySpec(
    key="owner",
    display_name="Owner",
    description=(
        "Owner (user name or id) for the written file, e.g. ${file.owner}. Usually needs flowyard to run as "
        "root; failures are logged as warnings."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)
GROUP = PropertySpec(
    key="group",
    display_name="Group",
    description="Group (name or id) for the written file, e.g. ${file.group}. Failures are logged as warnings.",
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.FLOWFILE_ATTRIBUTES,
)


def _mode_bits(text: str) -> int:
    if _OCTAL.fullmatch(text):
        return int(text, 8)
    if not _RWX.fullmatch(text):
        raise ValueError(f"{text!r} is not a valid permission")
    bits = 0
    for i, ch in enumerate(text):
        if ch != "-":
            bits |= 1 << (8 - i)
    return bits


def file_permissions(text: str) -> int:
    """The mode bits of a ``rw-r--r--`` or ``644`` text. Raises ``ValueError``."""
    return _mode_bits(text.strip())


def directory_permissions(text: str) -> int:
    """Mode bits for a created directory: as ``file_permissions``, plus the
    search (x) bit for each class that may read or write, so the directory
    stays usable. Raises ``ValueError``."""
    bits = _mode_bits(text.strip())
    for shift in (6, 3, 0):
        if bits & (0o6 << shift):
            bits |= 0o1 << shift
    return bits


def _uid(owner: str) -> int:
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        if owner.isdigit():
            return int(owner)
        raise


def _gid(group: str) -> int:
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        if group.isdigit():
            return int(group)
        raise


def _temp_name(filename: str) -> str:
    # Cut by bytes (not characters) so the name fits NAME_MAX; a cut character is dropped.
    head = filename.encode("utf-8", "surrogateescape")[:_TEMP_NAME_MAX].decode("utf-8", "ignore")
    return f".{head}.{secrets.token_hex(8)}{_TEMP_SUFFIX}"


def is_temp_name(name: str) -> bool:
    """Whether ``name`` has the form of PutFile's temporary files,
    ``.<filename>.<16 lower-case hex digits>.flowyard-putfile.tmp``."""
    return _TEMP_NAME.fullmatch(name) is not None


def _lock_nowait(fd: int) -> bool:
    """Take an exclusive ``flock`` on ``fd`` without waiting; False when it is held
    elsewhere or the file system has no locks."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def remove_leftover_temp_files(directory: Path) -> list[str]:
    """Remove the temporary files a PutFile left in ``directory`` when it was
    killed mid-write; return their names.

    Only regular files whose name ``is_temp_name`` are candidates (symbolic
    links, directories and every other name are never touched), and only those
    no running PutFile holds: a writer keeps an exclusive ``flock`` on its
    temporary file until it is published, and the kernel drops it when the
    writer dies, so this is safe while other PutFiles (in this process or
    another) write into the same directory. A file that cannot be opened or
    locked (no permission, no locks on the file system) is left alone. A
    missing directory holds nothing; other ``OSError``s from listing it are raised.
    """
    try:
        names = [entry.name for entry in os.scandir(directory) if is_temp_name(entry.name)]
    except FileNotFoundError:
        return []
    return [name for name in names if _remove_if_abandoned(directory / name)]


def _remove_if_abandoned(path: Path) -> bool:
    fd = -1
    for mode in (os.O_RDONLY, os.O_WRONLY):  # a temporary file may already have its final, write-only permissions
        try:
            fd = os.open(path, mode | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
            break
        except PermissionError:
            continue
        except OSError:  # gone meanwhile, or a symbolic link (ELOOP): not a leftover of ours
            return False
    if fd < 0:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode) or not _lock_nowait(fd):
            return False
        # Holding the lock, check the name still leads to this file before removing it.
        held, named = os.fstat(fd), os.lstat(path)
        if (held.st_dev, held.st_ino) != (named.st_dev, named.st_ino):
            return False
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    finally:
        os.close(fd)


def _fsync(fd: int) -> None:
    os.fsync(fd)  # looked up at each call, so a test can stand in for it


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Written:
    """The FlowFile at ``index`` of the batch, whose content is in its temporary
    file, being synced; the file stays open, and locked, until it is published
    or removed."""

    index: int
    target: Path
    temp: Path
    out: BinaryIO
    overwrite: bool
    synced: Future[None]

    def close(self, *, published: bool = False) -> None:
        """Close the temporary file; unless ``published`` (which moved or removed
        it), remove it if it is still there."""
        try:
            if not published and self.temp.exists():
                self.temp.unlink()
        finally:
            self.out.close()


@dataclass(slots=True)
class _Batch:
    """One trigger's FlowFiles, where each goes (``routes``, by position, with
    the transit URI of those written) and those written but not yet published."""

    flowfiles: list[FlowFile]
    routes: list[tuple[Relationship, str | None] | None]
    written: list[_Written] = field(default_factory=list)
    #: directories known to exist (checked or created by this trigger)
    directories: set[Path] = field(default_factory=set)

    def targets(self) -> set[Path]:
        return {w.target for w in self.written}

    def in_directory(self, directory: Path) -> list[_Written]:
        return [w for w in self.written if w.target.parent == directory]

    def discard(self) -> None:
        """Remove every temporary file not published (after an unexpected error)."""
        written, self.written = self.written, []
        for w in written:
            w.synced.cancel()
        for w in written:
            try:
                w.synced.exception()  # never close a file a sync thread still uses
            except CancelledError:
                pass
            try:
                w.close()
            except OSError:
                pass


class PutFile(Processor):
    """Writes the content of each FlowFile to ``Directory/filename``.

    The content is streamed into a hidden temporary file in the target
    directory, given its modification time, permissions, owner and group,
    flushed to disk (fsync), and then renamed into place, so readers never see
    a partial file; the directory is fsynced after the rename, and only then
    does the FlowFile go to success. The files of one trigger are synced
    together: each file's fsync runs in a sync thread while the next is
    written, and each directory is fsynced once for all the files renamed into
    it. With 'replace' the rename overwrites an existing file atomically;
    otherwise the file is published without ever overwriting one that
    appeared meanwhile.
    Failing to set the modification time, permissions, owner or group is
    logged as a warning, as in NiFi (changing the owner usually needs root).

    A filename that is empty, ``.``/``..`` or contains ``/`` is refused
    (failure) so attributes cannot write outside the directory; NiFi resolves
    such names against the directory.

    The temporary file is named ``.<filename>.<16 hex digits>.flowyard-putfile.tmp``
    and stays locked (``flock``) until it is renamed. One left behind by a
    ``kill -9`` is removed when PutFile next starts, if its Directory is known
    then: a fixed path or one built from parameters (``#{...}``). A Directory
    with an expression (``${...}``) depends on each FlowFile, so nothing is
    removed at start; delete such leftovers by hand (``find DIR -name
    '.*.flowyard-putfile.tmp'``, while flowyard is stopped). Files of any other
    name, symbolic links, and temporary files a running PutFile still holds are
    never removed. (Temporary files of versions before this naming, ``.<name>.<8
    hex digits>.tmp``, are not recognised.)
    """

    spec = ProcessorSpec(
        description="Writes the content of FlowFiles to files in a directory of the local file system.",
        tags=("put", "local", "copy", "archive", "files", "filesystem"),
        properties=(DIRECTORY, CONFLICT_RESOLUTION, CREATE_DIRS, MAX_FILES, LAST_MODIFIED, PERMISSIONS, OWNER,
                    GROUP),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
        reads_attributes=(("filename", "The name of the file written."),),
    )

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Remove the temporary files an interrupted PutFile left in Directory
        (``remove_leftover_temp_files``) when Directory holds no ``${...}``
        expression. Best effort: a failure is logged as a warning and the
        processor starts anyway."""
        configured = context.property(DIRECTORY)
        if configured.raw is None or "${" in configured.raw:
            return
        try:
            directory = Path(configured.evaluate(None).as_str()).absolute()
            removed = remove_leftover_temp_files(directory)
        except (OSError, ValueError) as exc:
            context.logger.warning(f"cannot remove leftover temporary files from Directory: {exc}")
            return
        if removed:
            shown = ", ".join(sorted(removed)[:10]) + (", …" if len(removed) > 10 else "")
            context.logger.info(f"removed {len(removed)} temporary file(s) left in {directory} by an interrupted "
                                f"PutFile: {shown}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Let the sync threads go (a later start makes new ones)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _sync_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(_SYNC_THREADS, thread_name_prefix="PutFile-sync")
            return self._pool

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Write a batch of FlowFiles; each goes to success or (penalized) to failure.

        Each FlowFile's content goes to its temporary file, whose fsync starts in
        a sync thread at once, while the next one is written. Then, in order,
        each file is published once synced, and each directory that received
        files is fsynced once. A FlowFile goes to success only after its file's
        data and its directory entry are durable; FlowFiles are routed in the
        order they were taken. A FlowFile whose target an earlier one of the
        batch is writing waits until that one is published, so conflicts
        resolve exactly as if the files were written one by one.
        """
        flowfiles = session.get_batch(_BATCH)
        batch = _Batch(flowfiles, [None] * len(flowfiles))
        try:
            for index, ff in enumerate(flowfiles):
                try:
                    outcome = self._start(context, session, ff, index, batch)
                except (OSError, ValueError) as exc:
                    context.logger.error(f"cannot write {ff!r}: {exc}; penalizing it and routing it to failure")
                    outcome = FAILURE
                if outcome is not None:
                    batch.routes[index] = (outcome, None)
            self._finish(context, batch)
        finally:
            batch.discard()
        for ff, route in zip(flowfiles, batch.routes, strict=True):
            assert route is not None, "every FlowFile of the batch is routed"
            relationship, uri = route
            if relationship is FAILURE:
                session.transfer(session.penalize(ff), FAILURE)
                continue
            if uri is not None:
                session.provenance.send(ff, uri)
            session.transfer(ff, SUCCESS)

    def _start(
        self, context: ProcessContext, session: ProcessSession, ff: FlowFile, index: int, batch: _Batch
    ) -> Relationship | None:
        """Check ``ff`` and write its temporary file: its outcome, or None once it is in ``batch``."""
        attributes = ff.attributes
        log = context.logger
        directory = Path(context.property(DIRECTORY).evaluate(attributes).as_str()).absolute()
        filename = attributes.get("filename", "")
        if not filename or filename in (".", "..") or "/" in filename or "\0" in filename:
            log.error(f"refusing to write {ff!r}: filename {filename!r} is not a plain file name")
            return FAILURE
        target = directory / filename
        if target in batch.targets():
            self._finish(context, batch)  # as if one by one: the earlier one first
        permissions = _optional(context, PERMISSIONS, attributes)
        owner = _optional(context, OWNER, attributes)
        group = _optional(context, GROUP, attributes)

        if directory not in batch.directories and not directory.exists():
            if not context.property(CREATE_DIRS).as_bool():
                log.error(f"{directory} does not exist and Create Missing Directories is false; {ff!r} failed")
                return FAILURE
            self._create_directory(context, directory, permissions, owner, group)

        max_files = context.property(MAX_FILES)
        if max_files.is_set:
            limit = max_files.as_int()
            present = _entries_once_published(directory, filename, batch)
            if present >= limit and batch.in_directory(directory):
                # A pending file may yet fail: publish them and count what is there.
                self._finish(context, batch)
                present = _entries_once_published(directory, filename, batch)
            if present >= limit:
                log.warning(f"{directory} holds {present} entries, the Maximum File Count; {ff!r} failed")
                return FAILURE

        batch.directories.add(directory)
        strategy = context.property(CONFLICT_RESOLUTION).as_str()
        if strategy != REPLACE and os.path.lexists(target):
            if strategy == IGNORE:
                log.info(f"{target} exists; {ff!r} goes to success without being written")
                return SUCCESS
            if strategy == FAIL:
                log.warning(f"{target} exists; {ff!r} goes to failure")
                return FAILURE

        temp = directory / _temp_name(filename)
        # The temporary file stays open, and locked, until it is published or removed:
        # the lock tells a PutFile starting meanwhile that it is not a leftover.
        out = open(temp, "xb")  # noqa: SIM115 - closed by _Written.close once published or failed
        written = False
        try:
            _lock_nowait(out.fileno())
            copy_content_to(session, ff, out, thread_buffer())
            out.flush()
            # Before the sync, so that it makes the metadata durable too.
            self._apply_metadata(context, temp, attributes, permissions, owner, group)
            synced = self._sync_pool().submit(_fsync, out.fileno())
            batch.written.append(_Written(index, target, temp, out, strategy == REPLACE, synced))
            written = True
        finally:
            if not written:
                try:
                    temp.unlink()
                finally:
                    out.close()
        return None
    def _finish(self, context: ProcessContext, batch: _Batch) -> None:
        """Publish the files of ``batch`` in order, each once synced, then fsync
        each of their directories once; route each of their FlowFiles."""
        log = context.logger
        published: list[_Written] = []
        while batch.written:
            w = batch.written[0]
            ff = batch.flowfiles[w.index]
            done = False
            try:
                w.synced.result()
                done = self._publish(w.temp, w.target, overwrite=w.overwrite)
                if done:
                    published.append(w)
                else:
                    log.warning(f"{w.target} appeared while {ff!r} was written; it goes to failure")
                    batch.routes[w.index] = (FAILURE, None)
            except OSError as exc:
                log.error(f"cannot write {ff!r}: {exc}; penalizing it and routing it to failure")
                batch.routes[w.index] = (FAILURE, None)
            finally:
                del batch.written[0]
                w.close(published=done)
        directories = {w.target.parent for w in published}
        failed: dict[Path, OSError] = {}
        if len(directories) == 1:
            try:
                _fsync_dir(*directories)
            except OSError as exc:
                failed.update(dict.fromkeys(directories, exc))
        else:
            pool = self._sync_pool()
            for directory, syncing in [(d, pool.submit(_fsync_dir, d)) for d in directories]:
                error = syncing.exception()
                if isinstance(error, OSError):
                    failed[directory] = error
                elif error is not None:
                    raise error
        for w in published:
            ff = batch.flowfiles[w.index]
            error = failed.get(w.target.parent)
            if error is not None:
                log.error(f"cannot write {ff!r}: {error}; penalizing it and routing it to failure")
                batch.routes[w.index] = (FAILURE, None)
            else:
                log.info(f"wrote {ff!r} to {w.target}")
                batch.routes[w.index] = (SUCCESS, w.target.as_uri())

    @staticmethod
    def _publish(temp: Path, target: Path, *, overwrite: bool) -> bool:
        """Move ``temp`` to ``target``; False if ``target`` exists and may not be overwritten."""
        if overwrite:
            os.replace(temp, target)
            return True
        try:
            os.link(temp, target)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links here (e.g. some network and FAT file systems): check, then rename.
            if os.path.lexists(target):
                return False
            os.rename(temp, target)
            return True
        temp.unlink()
        return True

    @staticmethod
    def _create_directory(
        context: ProcessContext, directory: Path, permissions: str | None, owner: str | None, group: str | None
    ) -> None:
        existing = directory
        while not existing.exists():
            existing = existing.parent
        mode = directory_permissions(permissions) if permissions else 0o777
        created = []
        current = directory
        while current != existing:
            created.append(current)
            current = current.parent
        for path in reversed(created):
            try:
                path.mkdir(mode=mode)
            except FileExistsError:
                continue
            if permissions:
                os.chmod(path, mode)  # mkdir's mode is filtered by the umask
            _change_owner(context, path, owner, group)

    @staticmethod
    def _apply_metadata(
        context: ProcessContext, path: Path, attributes: Mapping[str, str],
        permissions: str | None, owner: str | None, group: str | None,
    ) -> None:
        log = context.logger
        modified = _optional(context, LAST_MODIFIED, attributes)
        if modified:
            try:
                when = parse_timestamp(modified)
                os.utime(path, (when, when))
            except (ValueError, OSError, OverflowError) as exc:
                log.warning(f"cannot set the modification time of {path} to {modified!r}: {exc}")
        if permissions:
            try:
                os.chmod(path, file_permissions(permissions))
            except (ValueError, OSError) as exc:
                log.warning(f"cannot set the permissions of {path} to {permissions!r}: {exc}")
        _change_owner(context, path, owner, group)


def _entries_once_published(directory: Path, filename: str, batch: _Batch) -> int:
    """The entries ``directory`` will hold, not counting ``filename``, once the
    files of ``batch`` are published (their temporary files replaced by their names)."""
    names = set(os.listdir(directory))
    pending = batch.in_directory(directory)
    names.difference_update(w.temp.name for w in pending)
    names.update(w.target.name for w in pending)
    names.discard(filename)
    return len(names)


def _optional(context: ProcessContext, spec: PropertySpec, attributes: Mapping[str, str]) -> str | None:
    value = context.property(spec).evaluate(attributes).value
    return value if value is not None and value.strip() else None


def _change_owner(context: ProcessContext, path: Path, owner: str | None, group: str | None) -> None:
    # KeyError: no such user/group; OverflowError: an id beyond uid_t/gid_t (e.g. 10^30);
    # ValueError: a NUL byte in the name. NiFi logs each as a warning and the FlowFile goes on to success.
    if owner:
        try:
            os.chown(path, _uid(owner.strip()), -1)
        except (KeyError, OSError, OverflowError, ValueError) as exc:
            context.logger.warning(f"cannot set the owner of {path} to {owner!r}: {_reason(exc)}")
    if group:
        try:
            os.chown(path, -1, _gid(group.strip()))
        except (KeyError, OSError, OverflowError, ValueError) as exc:
            context.logger.warning(f"cannot set the group of {path} to {group!r}: {_reason(exc)}")


def _reason(exc: Exception) -> str:
    return "no such user or group" if isinstance(exc, KeyError) else str(exc)
