"""RocksStore's synced write: the batch first, then the write-ahead log's sync
(``wal_sync``, RocksDB's SyncWAL by default), which runs without the GIL.

The fake syncers here record what they see; the real one is exercised by every
``sync``-durability test and by bench/bench_sync_health.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.runtime.repository import Repositories, RocksStore, Transaction
from flowyard.runtime.sdk._errors import RepositoryError, StorageFullError


class RecordingSync:
    """A ``wal_sync`` that notes, at each call, whether the key just written is
    already readable (the write happened first), then runs the real sync."""

    def __init__(self) -> None:
        self.store: RocksStore | None = None
        self.seen: list[bytes | None] = []
        self.fail: Exception | None = None

    def __call__(self) -> None:
        assert self.store is not None
        self.seen.append(self.store.get(self.store.handle("state"), b"probe"))
        if self.fail is not None:
            raise self.fail
        self.store._flush_wal()


@pytest.fixture
def synced(tmp_path: Path) -> tuple[RocksStore, RecordingSync]:
    recorder = RecordingSync()
    store = RocksStore(tmp_path / "repository", wal_sync=recorder)
    recorder.store = store
    yield store, recorder
    store.close()


def _write(store: RocksStore, value: bytes, *, sync: bool) -> None:
    batch = store.batch()
    batch.put(store.handle("state"), b"probe", value)
    store.write(batch, sync=sync)


def test_a_synced_write_syncs_the_log_once_after_the_batch_is_written(
        synced: tuple[RocksStore, RecordingSync]) -> None:
    store, recorder = synced
    _write(store, b"one", sync=True)
    assert recorder.seen == [b"one"]
    _write(store, b"two", sync=True)
    assert recorder.seen == [b"one", b"two"]


def test_an_unsynced_write_does_not_sync(synced: tuple[RocksStore, RecordingSync]) -> None:
    store, recorder = synced
    _write(store, b"one", sync=False)
    assert recorder.seen == []
    assert store.get(store.handle("state"), b"probe") == b"one"


@pytest.mark.parametrize(("message", "error"), [
    ("IO error: No space left on device: While fsync: a file", StorageFullError),
    ("IO error: Input/output error: While fsync: a file", RepositoryError),
])
def test_a_failed_sync_is_raised_as_a_repository_error(
        synced: tuple[RocksStore, RecordingSync], message: str, error: type[RepositoryError]) -> None:
    store, recorder = synced
    recorder.fail = Exception(message)
    with pytest.raises(error, match="syncing the write-ahead log"):
        _write(store, b"one", sync=True)


def test_repositories_sync_each_group_only_in_sync_durability(tmp_path: Path) -> None:
    for durability, expected in (("os", 0), ("sync", 1)):
        recorder = RecordingSync()
        store = RocksStore(tmp_path / durability, wal_sync=recorder)
        recorder.store = store
        repos = Repositories(store, durability=durability)
        try:
            txn = Transaction()
            txn.states["proc"] = (0, {"k": "v"})
            assert repos.write([txn], 1_700_000_000_000) == []
            assert len(recorder.seen) == expected, durability
        finally:
            repos.close()


def test_mark_durable_goes_through_the_same_sync(synced: tuple[RocksStore, RecordingSync]) -> None:
    store, recorder = synced
    _write(store, b"one", sync=False)
    store.mark_durable()
    assert recorder.seen == [b"one"]
