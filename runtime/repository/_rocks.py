"""The durable ``Store``: one RocksDB database through rocksdict, raw mode.

Never pickles (``raw_mode=True``) and never disables the write-ahead log: with
the WAL, a batch that ``write`` returned from survives kill -9 and is never
split across column families (verified on these machines, see STACK.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from flowyard.runtime.repository._store import COLUMN_FAMILIES, Batch
from flowyard.runtime.sdk._errors import DataDirectoryInUseError, RepositoryError
from rocksdict import (
    DBCompressionType,
    Options,
    Rdict,
    ReadOptions,
    WriteBatch,
    WriteOptions,
)

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
    __slots__ = ("wb",)

    def __init__(self) -> None:
        self.wb = WriteBatch(raw_mode=True)

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        self.wb.put(key, value, cf)  # type: ignore[arg-type]

    def delete(self, cf: object, key: bytes) -> None:
        self.wb.delete(key, cf)  # type: ignore[arg-type]

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        self.wb.delete_range(begin, end, cf)  # type: ignore[arg-type]


class RocksStore:
    """``Store`` over a RocksDB database at ``path`` (created if missing).

    Raises ``DataDirectoryInUseError`` if another process (or another store in
    this process) has the database open; nothing on disk is changed then.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
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
            text = str(exc)
            if "lock" in text.lower():
                raise DataDirectoryInUseError(
                    f"the data directory {self.path.parent} is already in use by another "
                    f"flowyard process (RocksDB lock held on {self.path / 'LOCK'})"
                ) from None
            raise RepositoryError(f"cannot open the repository at {self.path}: {text}") from exc
        self._handles = {name: self._db.get_column_family_handle(name) for name in COLUMN_FAMILIES}
        self._views = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._view_of = {id(self._handles[n]): self._views[n] for n in COLUMN_FAMILIES}
        self._nosync = WriteOptions()
        self._sync = WriteOptions()
        self._sync.sync = True
        self._closed = False

    def handle(self, cf: str) -> object:
        return self._handles[cf]

    def batch(self) -> Batch:
        return _RocksBatch()

    def write(self, batch: Batch, *, sync: bool = False) -> None:
        assert isinstance(batch, _RocksBatch)
        self._db.write(batch.wb, self._sync if sync else self._nosync)

    def get(self, cf: object, key: bytes) -> bytes | None:
        value = self._view_of[id(cf)].get(key)
        assert value is None or isinstance(value, bytes)
        return value

    def put(self, cf: object, key: bytes, value: bytes) -> None:
        wb = WriteBatch(raw_mode=True)
        wb.put(key, value, cf)  # type: ignore[arg-type]
        self._db.write(wb, self._nosync)

    def delete_range(self, cf: object, begin: bytes, end: bytes) -> None:
        wb = WriteBatch(raw_mode=True)
        wb.delete_range(begin, end, cf)  # type: ignore[arg-type]
        self._db.write(wb, self._nosync)

    def scan(
        self, cf: object, begin: bytes, end: bytes | None = None, *, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        ro = ReadOptions()
        if end is not None:
            ro.set_iterate_upper_bound(end)
        it = self._view_of[id(cf)].iter(ro)
        it.seek(begin)
        n = 0
        while it.valid() and (limit is None or n < limit):
            yield it.key(), it.value()
            n += 1
            it.next()

    def last_before(self, cf: object, end: bytes) -> tuple[bytes, bytes] | None:
        it = self._view_of[id(cf)].iter(ReadOptions())
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
            self._db.close()
