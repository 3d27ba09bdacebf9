"""The durable ``Store``: one RocksDB database through rocksdict, raw mode.

Never pickles (``raw_mode=True``) and never disables the write-ahead log: with
the WAL, a batch that ``write`` returned from survives kill -9 and is never
split across column families (verified on these machines, see STACK.md).
"""

from __future__ import annotations

import fcntl
import gc
import os
from collections.abc import Iterator
from pathlib import Path

from rocksdict import (
    ColumnFamily,
    DBCompressionType,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

from flowyard.runtime.repository._store import COLUMN_FAMILIES, Batch
from flowyard.runtime.sdk._errors import DataDirectoryInUseError, RepositoryError

__all__ = ["RocksStore"]

_MiB = 1024 * 1024


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


class RocksStore:
    """``Store`` over a RocksDB database at ``path`` (created if missing).

    Raises ``DataDirectoryInUseError`` if another process (or another store in
    this process) has the database open; nothing on disk is changed then.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock_fd = self._lock(self.path)
        opts = Options(raw_mode=True)
        opts.create_if_missing(True)
        opts.create_missing_column_families(True)
        opts.set_max_background_jobs(2)
        try:
            self._db = Rdict(
                str(self.path),
                options=opts,
                column_families={name: _cf_options(name) for name in COLUMN_FAMILIES},
            )
        except Exception as exc:  # rocksdict raises plain Exception
            os.close(self._lock_fd)
            text = str(exc)
            if "lock" in text.lower():
                raise DataDirectoryInUseError(
                    f"the data directory {self.path.parent} is already in use by another "
                    f"flowyard process (RocksDB lock held on {self.path / 'LOCK'})"
                ) from None
            raise RepositoryError(f"cannot open the repository at {self.path}: {text}") from exc
        # Callers get the column family *name* as its handle: RocksDB keeps its
        # lock while any rocksdict handle object lives, so only this store
        # may hold them, and ``close`` drops them all.
        self._handles: dict[object, ColumnFamily] = {
            name: self._db.get_column_family_handle(name) for name in COLUMN_FAMILIES}
        self._views: dict[object, Rdict] = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._nosync = WriteOptions()
        self._sync = WriteOptions()
        self._sync.sync = True
        self._closed = False

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

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        assert isinstance(batch, _RocksBatch)
        self._db.write(batch.wb, self._sync if sync else self._nosync)

    def get(self, cf: object, key: bytes) -> bytes | None:
        value = self._views[cf].get(key)
        assert value is None or isinstance(value, bytes)
        return value

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        wb = WriteBatch(raw_mode=True)
        wb.put(key, value, self._handles[cf])
        self._db.write(wb, self._nosync)

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        if begin > end:
            raise ValueError(f"delete_range: begin {begin!r} is after end {end!r}")
        wb = WriteBatch(raw_mode=True)
        wb.delete_range(begin, end, self._handles[cf])
        self._db.write(wb, self._nosync)

    def scan(
        self, cf: object, begin: bytes, end: bytes | None = None, *, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        ro = ReadOptions()
        if end is not None:
            ro.set_iterate_upper_bound(end)
        it = self._views[cf].iter(ro)
        it.seek(begin)
        n = 0
        while it.valid() and (limit is None or n < limit):
            yield it.key(), it.value()
            n += 1
            it.next()

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        it = self._views[cf].iter(ReadOptions())
        it.seek_for_prev(end)
        if it.valid() and it.key() == end:
            it.prev()
        if not it.valid():
            return None
        return it.key(), it.value()

    def sync_wal(self) -> None:
        self._db.flush_wal(True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            # Every column family view shares the database: all must go
            # before RocksDB releases its lock.
            for view in self._views.values():
                view.close()
            self._views.clear()
            self._handles.clear()
            self._db.close()
            gc.collect()  # unfinished scan iterators also pin the database
            os.close(self._lock_fd)  # releases the flock
