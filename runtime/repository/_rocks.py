"""The durable ``Store``: one RocksDB database through rocksdict, raw mode.

Never pickles (``raw_mode=True``) and never disables the write-ahead log: with
the WAL, a batch that ``write`` returned from survives kill -9 and is never
split across column families (verified on these machines, see STACK.md).

A synced write (``write(batch, sync=True)``) is two RocksDB calls, not one
write with ``WriteOptions.sync``: rocksdict holds the GIL for the whole of
``Rdict.write`` (measured: a pure-Python thread stands still for the length
of every write, fsync included), so a synced write froze every other thread,
the event loop included, for the length of an fsync. Instead the batch is
written without sync (a WAL append into the page cache: short, under the GIL),
then the WAL is made durable by ``Rdict.flush_wal(True)`` -- RocksDB's
``FlushWAL(sync=true)``, i.e. ``SyncWAL``, during which rocksdict releases the
GIL (measured on this machine: another Python thread keeps running throughout).
``SyncWAL`` fsyncs every live WAL file that holds unsynced writes (a WAL
switch between the write and the sync is covered: RocksDB keeps the list) and
the WAL directory when a new log file was created since the last sync; a
WAL file already gone was obsolete, its writes flushed to table files that
RocksDB fsynced first. So ``write(sync=True)`` returns only once the batch is
durable against power loss, as before; what differs is documented by RocksDB
("Write() followed by SyncWAL() is not exactly the same as Write() with
sync=true: in the latter case the changes won't be visible until the sync is
done"): readers of the store may see the batch during the fsync. Flowyard
publishes nothing of a commit (queues, counts, acknowledgements) before
``write`` returns, so nobody acts on it early. This relies on options RocksDB
has by default and flowyard leaves so: ``manual_wal_flush=false`` (every
write reaches the log file before ``Write`` returns), ``allow_mmap_writes=false``
(``SyncWAL`` needs it) and ``recycle_log_file_num=0`` (which RocksDB also forces
with ``tolerate_corrupted_tail_records``); recovery replays the log files as
written, whoever synced them.

Large content does not go through RocksDB: the content repository keeps it
in files of its own under ``content_directory`` (``content/`` in the
repository directory) and makes them durable through ``add_sync_hook``
whenever this store makes writes durable.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rocksdict import (
    AccessType,
    ColumnFamily,
    DBCompressionType,
    DBRecoveryMode,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from flowyard.runtime.repository._store import COLUMN_FAMILIES, Batch, Store
from flowyard.runtime.sdk._errors import (
    DataDirectoryInUseError,
    RepositoryCorruptedError,
    RepositoryError,
    StorageFullError,
)

__all__ = ["CONTENT_DIRECTORY", "MARKER", "WATERMARK", "RocksStore", "classify", "read_watermark"]

_MiB = 1024 * 1024
log = logging.getLogger("flowyard.repository")


def _cf_options(name: str) -> Options:
    opts = Options(raw_mode=True)
    opts.set_compression_type(DBCompressionType.lz4())
    if name == "content":
        # Large values go to blob files; a small memtable keeps a 2 GB flowfile
        # streaming through with bounded memory.
        opts.set_enable_blob_files(True)
        opts.set_min_blob_size(64 * 1024)
        opts.set_enable_blob_gc(True)
        opts.set_write_buffer_size(16 * _MiB)
        opts.set_max_write_buffer_number(2)
    else:
        opts.set_write_buffer_size(32 * _MiB)
    return opts


class _RocksBatch:
    __slots__ = ("handles", "wb")

    def __init__(self, handles: dict[object, ColumnFamily]) -> None:
        self.wb = WriteBatch(raw_mode=True)
        self.handles = handles

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        self.wb.put(key, value, self.handles[cf])

    def delete(self, cf: object, key: bytes) -> None:
        self.wb.delete(key, self.handles[cf])

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        if begin > end:
            raise ValueError(f"delete_range: begin {begin!r} is after end {end!r}")
        self.wb.delete_range(begin, end, self.handles[cf])


#: Written once, when flowyard first creates a repository: from then on it is
#: opened only if it is whole (never created again over a damaged one).
MARKER = "FLOWYARD.REPOSITORY"
#: Column families read whole at every start, in the read-only check before
#: RocksDB may change a file (the ``verify`` hook reads the flowfiles and claims
#: tables whole too): what recovery reads must be readable.
VERIFIED_AT_OPEN = ("state",)
#: The folder of the repository directory holding content files (see content.py).
CONTENT_DIRECTORY = "content"
#: The RocksDB sequence number known durable (written after an fsync of the
#: log): a repository that opens below it has lost committed writes.
WATERMARK = "FLOWYARD.WATERMARK"


def classify(exc: BaseException, what: str) -> RepositoryError:
    """A ``RepositoryError`` for an error rocksdict raised, by RocksDB's status
    code (its message starts with it: ``Corruption: ...``, ``IO error: No space
    left on device: ...``), never by words inside the message."""
    text = str(exc)
    code, _, rest = text.partition(": ")
    if code == "Corruption":
        return RepositoryCorruptedError(f"{what}: the repository is damaged: {rest} (flowyard repair --data-dir "
                                        "DIR repairs what can be repaired and reports what was lost)")
    if code == "IO error" and rest.startswith(("No space left on device", "Disk quota exceeded")):
        return StorageFullError(f"{what}: the disk is full: {rest}")
    return RepositoryError(f"{what}: {text}")


class RocksStore:
    """``Store`` over a RocksDB database at ``path``.

    Opening refuses, without changing a file, what it cannot open whole:

    * a directory created by flowyard before (``MARKER``) is opened without
      ``create_if_missing``: a missing ``CURRENT`` or MANIFEST is reported, not
      replaced by a new empty database;
    * it is first opened read-only, to check that it has not gone back in time
      (RocksDB's last sequence number below ``WATERMARK``: a truncated MANIFEST
      or write-ahead log lost committed writes) before RocksDB may rewrite or
      delete anything;
    * the write-ahead log is replayed in ``tolerate_corrupted_tail_records``
      mode: a torn last record (a crash mid-write) is dropped, any other damage
      is an error; paranoid checks are on;
    * RocksDB's own log goes to ``path/../logs`` so that a refused open adds
      nothing to the repository directory.

    Raises ``DataDirectoryInUseError`` if another process (or another store in
    this process) has the database open, ``RepositoryCorruptedError`` for
    damage (naming the file), ``RepositoryError`` otherwise.
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: Callable[[Store], object] | None = None,
                 wal_sync: Callable[[], None] | None = None) -> None:
        self.path = Path(path)
        self._verify_hook = verify
        #: Makes every write so far durable (tests put a recording or slow one here).
        self._wal_sync = wal_sync if wal_sync is not None else self._flush_wal
        self._lock_fd = self._lock(self.path)
        marked = (self.path / MARKER).exists()
        try:
            created = self._preflight()
            self._db = self._open(created)
        except BaseException:
            os.close(self._lock_fd)
            raise
        # Callers get the column family *name* as its handle: RocksDB keeps its
        # lock while any rocksdict handle object lives, so only this store
        # may hold them, and ``close`` drops them all.
        self._handles: dict[object, ColumnFamily] = {
            name: self._db.get_column_family_handle(name) for name in COLUMN_FAMILIES}
        self._views: dict[object, Rdict] = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._nosync = WriteOptions()
        self._closed = False
        #: Where the content repository keeps content files (created with the first one).
        self.content_directory = self.path / CONTENT_DIRECTORY
        self._sync_hooks: list[Callable[[], None]] = []
        if not marked:
            _write_file(self.path / MARKER, b"flowyard repository 1\n")

    def _options(self, *, create: bool) -> Options:
        opts = Options(raw_mode=True)
        opts.create_if_missing(create)
        opts.create_missing_column_families(True)  # a repository from before a column family was added
        opts.set_max_background_jobs(2)
        opts.set_paranoid_checks(True)
        opts.set_wal_recovery_mode(DBRecoveryMode.tolerate_corrupted_tail_records())
        # The state family's small writes would otherwise keep every log file alive up to
        # RocksDB's own cap (~1 GB with these buffers), replayed at every start (twice:
        # the read-only check, then the open); past 64 MiB the oldest families are flushed.
        opts.set_max_total_wal_size(64 * _MiB)
        logs = self.path.parent / "logs"
        logs.mkdir(exist_ok=True)
        opts.set_db_log_dir(str(logs))
        return opts

    def _preflight(self) -> bool:
        """Whether the repository is to be created (a new, empty directory).
        Raises ``RepositoryCorruptedError`` when files RocksDB needs are missing."""
        current = self.path / "CURRENT"
        if not (self.path / MARKER).exists():
            others = {p.name for p in self.path.iterdir()} - {"FLOWYARD.LOCK"}
            if not others:
                return True
            if not current.exists():
                raise RepositoryCorruptedError(
                    f"{self.path} holds files ({', '.join(sorted(others)[:5])}) but no repository: its CURRENT file "
                    "is missing. Nothing was changed; flowyard repair --data-dir DIR can try to rebuild it")
            return False  # created by an older flowyard: opened as it is, the marker written after
        if not current.exists():
            raise RepositoryCorruptedError(
                f"the repository's CURRENT file ({current}) is missing: RocksDB cannot find its MANIFEST. Nothing "
                "was changed; flowyard repair --data-dir DIR rebuilds it from the table files and reports what "
                "was lost")
        manifest = current.read_text(encoding="ascii", errors="replace").strip()
        if not manifest or not (self.path / manifest).is_file():
            raise RepositoryCorruptedError(
                f"the repository's MANIFEST ({self.path / (manifest or 'MANIFEST-?')}), named by {current}, is "
                "missing. Nothing was changed; flowyard repair --data-dir DIR rebuilds it and reports what was lost")
        return False

    def _open(self, create: bool) -> Rdict:
        column_families = {name: _cf_options(name) for name in COLUMN_FAMILIES}
        watermark = read_watermark(self.path)
        if not create:
            try:  # read-only: RocksDB changes nothing before we know it has lost nothing
                existing = Rdict.list_cf(str(self.path), self._options(create=False))
                probe = Rdict(str(self.path), options=self._options(create=False),
                              column_families={name: _cf_options(name) for name in existing},
                              access_type=AccessType.read_only())
            except Exception as exc:  # rocksdict raises plain Exception
                raise classify(exc, f"cannot open the repository at {self.path}") from None
            try:
                _check_watermark(self.path, probe.latest_sequence_number(), watermark)
                for name in VERIFIED_AT_OPEN:
                    if name in existing:
                        _verify(probe.get_column_family(name), f"{self.path}: the {name} table")
                if self._verify_hook is not None and set(COLUMN_FAMILIES) <= set(existing):
                    self._verify_hook(_ProbeStore(probe, self.path))
            finally:
                probe.close()
                del probe
                gc.collect()
        try:
            db = Rdict(str(self.path), options=self._options(create=create), column_families=column_families)
        except Exception as exc:  # rocksdict raises plain Exception
            raise classify(exc, f"cannot open the repository at {self.path}") from None
        _check_watermark(self.path, db.latest_sequence_number(), watermark)
        return db

    @staticmethod
    def _lock(path: Path) -> int:
        """Take flowyard's own lock before RocksDB opens anything: a second
        RocksDB open rotates the info log before it notices its lock is taken,
        and an engine that is refused must leave the directory untouched."""
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / "FLOWYARD.LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirectoryInUseError(
                f"the data directory {path.parent} is already in use by another flowyard process "
                f"(lock held on {path / 'FLOWYARD.LOCK'})"
            ) from None
        return fd

    def handle(self, cf: str) -> object:
        if cf not in self._handles:
            raise KeyError(f"no column family {cf!r}")
        return cf

    def batch(self) -> Batch:
        return _RocksBatch(self._handles)

    def add_sync_hook(self, hook: Callable[[], None]) -> None:
        """Have ``hook`` make durable what lives outside RocksDB (content files)
        whenever this store makes writes durable: before the batch of a synced
        ``write`` is written, and before ``sync_wal`` (so ``mark_durable``) syncs
        the log. It raises ``RepositoryError`` (``StorageFullError``) on failure;
        a synced write then writes nothing."""
        self._sync_hooks.append(hook)

    def _run_sync_hooks(self) -> None:
        for hook in self._sync_hooks:
            hook()

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        """Apply ``batch`` atomically; with ``sync``, return only once the WAL
        holding it is fsynced (the fsync runs without the GIL: see the module's
        docstring), and what the sync hooks keep (content files finished before
        this call) was made durable before the batch was written. If a hook
        fails nothing is written. If the WAL sync fails the batch may be in the
        store (and may or may not be on disk), as when RocksDB's own synced
        write fails: the error is raised (a full disk as ``StorageFullError``)
        and RocksDB, which records a failed WAL sync as a background error,
        refuses later writes until ``reopen``."""
        assert isinstance(batch, _RocksBatch)
        if sync:
            self._run_sync_hooks()
        try:
            self._db.write(batch.wb, self._nosync)
        except Exception as exc:  # rocksdict raises plain Exception
            raise classify(exc, "writing to the repository") from None
        if sync:
            self._sync_log()

    def get(self, cf: object, key: bytes) -> bytes | None:
        try:
            value = self._views[cf].get(key)
        except Exception as exc:
            raise classify(exc, f"reading {cf} {key[:40]!r}") from None
        assert value is None or isinstance(value, bytes)
        return value

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        batch = _RocksBatch(self._handles)
        batch.put(cf, key, value)
        self.write(batch)

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        batch = _RocksBatch(self._handles)
        batch.delete_range(cf, begin, end)
        self.write(batch)

    def scan(
        self, cf: object, begin: bytes, end: bytes | None = None, *, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        return _scan(self._views[cf], cf, begin, end, limit, f"reading the {cf} table")

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        return _last_before(self._views[cf], end, f"reading the {cf} table")

    def _flush_wal(self) -> None:
        self._db.flush_wal(True)  # RocksDB's SyncWAL; rocksdict releases the GIL meanwhile

    def sync_wal(self) -> None:
        """Run the sync hooks (content files), then fsync the write-ahead log:
        every write so far survives power loss. Holds the GIL only briefly (see
        the module's docstring)."""
        self._run_sync_hooks()
        self._sync_log()

    def _sync_log(self) -> None:
        try:
            self._wal_sync()
        except Exception as exc:  # rocksdict raises plain Exception
            raise classify(exc, "syncing the write-ahead log") from None

    def mark_durable(self) -> None:
        """Make every write so far durable and record how far that is
        (``WATERMARK``): a later open that recovers less refuses to start."""
        sequence = self._db.latest_sequence_number()  # read first: later writes may not be synced yet
        self.sync_wal()
        try:
            _write_file(self.path / WATERMARK, f"{sequence}\n".encode())
        except OSError as exc:
            error = StorageFullError if exc.errno in (errno.ENOSPC, errno.EDQUOT) else RepositoryError
            raise error(f"cannot record the durable state in {self.path / WATERMARK}: {exc.strerror}") from None

    def _release(self) -> list[str]:
        """Close the database (its views first: all must go before RocksDB releases
        its lock); what RocksDB reported on the way, e.g. a write-ahead log that a
        full disk broke, is returned, not raised: the data written is in the log."""
        problems = []
        for view in self._views.values():
            try:
                view.close()
            except Exception as exc:  # rocksdict raises plain Exception
                problems.append(str(exc))
        self._views.clear()
        self._handles.clear()
        try:
            self._db.close()
        except Exception as exc:
            problems.append(str(exc))
        gc.collect()  # unfinished scan iterators also pin the database
        return problems

    def reopen(self) -> None:
        """Close and open the database again, as after a restart (the lock stays
        held). After a write failed for want of space RocksDB refuses every later
        write ("Writer has previous error") until it is reopened; once there is
        room again this brings it back. Raises like opening."""
        self._release()
        self._db = self._open(False)
        self._handles = {name: self._db.get_column_family_handle(name) for name in COLUMN_FAMILIES}
        self._views = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}

    def close(self) -> None:
        if not self._closed:
            try:  # a clean close records everything written as durable
                self.mark_durable()
            except RepositoryError:
                pass  # (a full disk): the watermark stays where it was, which is still true
            self._closed = True
            for problem in self._release():
                log.warning("closing the repository at %s: %s", self.path, problem)
            os.close(self._lock_fd)  # releases the flock


def _write_file(path: Path, data: bytes) -> None:
    """Write ``path`` atomically and durably (temporary file, fsync, rename, fsync directory)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_watermark(path: Path) -> int:
    """The durable sequence number recorded for the repository at ``path`` (0: none)."""
    try:
        text = (path / WATERMARK).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return 0
    if not text.isdigit():
        raise RepositoryCorruptedError(f"{path / WATERMARK} is damaged (expected a number, found {text[:40]!r})")
    return int(text)


class _ProbeStore:
    """A ``Store`` over the read-only probe of ``RocksStore``: reads what the
    repository holds; writes are accepted and forgotten (recovery code run over
    it to check that everything it reads is readable may want to write)."""

    def __init__(self, db: Rdict, path: Path) -> None:
        self._db = db
        self.path = path
        self._views: dict[object, Rdict] = {}

    def handle(self, cf: str) -> object:
        if cf not in self._views:
            self._views[cf] = self._db.get_column_family(cf)
        return cf

    def batch(self) -> Batch:
        return _IgnoredBatch()

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        pass

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        pass

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        pass

    def get(self, cf: object, key: bytes) -> bytes | None:
        try:
            value = self._views[cf].get(key)
        except Exception as exc:
            raise classify(exc, f"{self.path}: reading the {cf} table") from None
        assert value is None or isinstance(value, bytes)
        return value

    def scan(self, cf: object, begin: bytes, end: bytes | None = None, *,
             limit: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        return _scan(self._views[cf], cf, begin, end, limit, f"{self.path}: reading the {cf} table")

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        return _last_before(self._views[cf], end, f"{self.path}: reading the {cf} table")

    def sync_wal(self) -> None:
        pass

    def mark_durable(self) -> None:
        pass

    def reopen(self) -> None:
        pass

    def close(self) -> None:
        self._views.clear()


class _IgnoredBatch:
    def put(self, cf: object, key: bytes, value: bytes) -> None:
        pass

    def delete(self, cf: object, key: bytes) -> None:
        pass

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        pass


def _scan(view: Rdict, cf: object, begin: bytes, end: bytes | None, limit: int | None,
          what: str) -> Iterator[tuple[bytes, bytes]]:
    ro = ReadOptions()
    if end is not None:
        ro.set_iterate_upper_bound(end)
    it = view.iter(ro)
    it.seek(begin)
    n = 0
    while it.valid() and (limit is None or n < limit):
        yield it.key(), it.value()
        n += 1
        it.next()
    _check(it, what)


def _last_before(view: Rdict, end: bytes, what: str) -> tuple[bytes, bytes] | None:
    it = view.iter(ReadOptions())
    it.seek_for_prev(end)
    if it.valid() and it.key() == end:
        it.prev()
    if not it.valid():
        _check(it, what)
        return None
    return it.key(), it.value()


def _check(it: Any, what: str) -> None:
    """An iterator that stopped early on damage only says so in its status
    (``valid()`` just turns False): raise it."""
    try:
        it.status()
    except Exception as exc:
        raise classify(exc, what) from None


def _verify(view: Rdict, what: str) -> None:
    """Read every entry of ``view`` (block checksums are checked as blocks are
    read); raise ``RepositoryCorruptedError`` naming the damaged file."""
    it = view.iter(ReadOptions())
    it.seek_to_first()
    while it.valid():
        it.next()
    try:
        it.status()
    except Exception as exc:
        raise classify(exc, what) from None
    finally:
        del it


def _check_watermark(path: Path, sequence: int, watermark: int) -> None:
    if sequence < watermark:
        raise RepositoryCorruptedError(
            f"the repository at {path} has lost committed writes: RocksDB recovered up to sequence number "
            f"{sequence:,}, but {watermark:,} had been written durably ({path / WATERMARK}). Its MANIFEST or "
            "write-ahead log is damaged (truncated). Nothing was changed; flowyard repair --data-dir DIR "
            "reports exactly which queues and content were lost")
