"""Contract of ``Store``: every test runs against ``MemoryStore`` and ``RocksStore``.

The repositories rely on exactly these guarantees: bytewise key order in
scans, half-open ranges, batches applied atomically and in order, column
families independent of each other.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from flowyard.runtime.repository import COLUMN_FAMILIES, RocksStore, Store
from flowyard.runtime.sdk import DataDirectoryInUseError, RepositoryError

# Deliberately unsorted; bytewise order is b"", \x00, \x01, "a", "a\x00", "ab", "b", \x7f, \x80, \xff, \xff\xff
KEYS = [b"b", b"\xff", b"a\x00", b"\x00", b"ab", b"\x80", b"a", b"\xff\xff", b"\x7f", b"\x01"]
ORDERED = sorted(KEYS)


def fill(store: Store, cf_name: str = "state", keys: list[bytes] = KEYS) -> object:
    cf = store.handle(cf_name)
    for key in keys:
        store.put(cf, key, b"v:" + key)
    return cf


def keys_of(store: Store, cf: object, begin: bytes = b"", end: bytes | None = None) -> list[bytes]:
    return [k for k, _ in store.scan(cf, begin, end)]


# -- single keys ---------------------------------------------------------------


@pytest.mark.parametrize("cf_name", COLUMN_FAMILIES)
def test_put_get_overwrite_in_every_column_family(store: Store, cf_name: str) -> None:
    cf = store.handle(cf_name)
    assert store.get(cf, b"k") is None
    store.put(cf, b"k", b"one")
    assert store.get(cf, b"k") == b"one"
    store.put(cf, b"k", b"two")
    assert store.get(cf, b"k") == b"two"
    assert list(store.scan(cf, b"")) == [(b"k", b"two")]


def test_unknown_column_family_is_rejected(store: Store) -> None:
    with pytest.raises(KeyError):
        store.handle("no-such-cf")


def test_empty_value_is_present_not_missing(store: Store) -> None:
    # Pending-content markers are empty values; they must scan and get like any other.
    cf = store.handle("state")
    store.put(cf, b"marker", b"")
    assert store.get(cf, b"marker") == b""
    assert list(store.scan(cf, b"")) == [(b"marker", b"")]
    assert store.last_before(cf, b"z") == (b"marker", b"")


def test_column_families_are_independent(store: Store) -> None:
    a, b = store.handle("content"), store.handle("flowfiles")
    store.put(a, b"same", b"in content")
    store.put(b, b"same", b"in flowfiles")
    store.delete_range(a, b"", b"\xff")
    assert store.get(a, b"same") is None
    assert store.get(b, b"same") == b"in flowfiles"


# -- scans -----------------------------------------------------------------------


def test_scan_is_in_bytewise_key_order(store: Store) -> None:
    cf = fill(store)
    assert keys_of(store, cf) == ORDERED
    assert [v for _, v in store.scan(cf, b"")] == [b"v:" + k for k in ORDERED]


@pytest.mark.parametrize(
    ("begin", "end", "limit", "expected"),
    [
        (b"a", b"b", None, [b"a", b"a\x00", b"ab"]),  # begin inclusive, end exclusive
        (b"a\x00", b"ab", None, [b"a\x00"]),
        (b"a\x01", None, None, [b"ab", b"b", b"\x7f", b"\x80", b"\xff", b"\xff\xff"]),  # begin need not exist
        (b"\x80", b"\xff", None, [b"\x80"]),
        (b"", b"\x01", None, [b"\x00"]),
        (b"", None, 3, [b"\x00", b"\x01", b"a"]),
        (b"ab", None, 2, [b"ab", b"b"]),
        (b"a", b"b", 10, [b"a", b"a\x00", b"ab"]),
        (b"a", None, 0, []),
        (b"c", b"c", None, []),
        (b"\xff\xff\x00", None, None, []),
    ],
)
def test_scan_range_and_limit(
    store: Store, begin: bytes, end: bytes | None, limit: int | None, expected: list[bytes]
) -> None:
    cf = fill(store)
    assert [k for k, _ in store.scan(cf, begin, end, limit=limit)] == expected


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (b"b", b"ab"),  # strictly before: an existing key equal to end is excluded
        (b"a", b"\x01"),
        (b"aa", b"a\x00"),
        (b"\xff\xff\xff", b"\xff\xff"),
        (b"\x00", None),
        (b"", None),
    ],
)
def test_last_before(store: Store, end: bytes, expected: bytes | None) -> None:
    cf = fill(store)
    found = store.last_before(cf, end)
    if expected is None:
        assert found is None
    else:
        assert found == (expected, b"v:" + expected)


def test_last_before_on_an_empty_column_family(store: Store) -> None:
    assert store.last_before(store.handle("provenance"), b"\xff" * 9) is None


def test_scan_tolerates_writes_while_iterating(store: Store) -> None:
    # Recovery and queue loading write while they walk a range.
    cf = fill(store)
    seen = []
    for key, _ in store.scan(cf, b"a", b"b"):
        seen.append(key)
        store.put(cf, b"zz-" + key, b"elsewhere")  # outside the scanned range
        batch = store.batch()
        batch.delete(cf, key)
        store.write(batch)
    assert seen == [b"a", b"a\x00", b"ab"]
    assert keys_of(store, cf, b"a", b"b") == []
    assert keys_of(store, cf, b"zz-", b"zz.") == [b"zz-a", b"zz-a\x00", b"zz-ab"]


# -- deletes -----------------------------------------------------------------------


@pytest.mark.parametrize("via", ["store", "batch"])
@pytest.mark.parametrize(
    ("begin", "end", "remaining"),
    [
        (b"a", b"b", [b"\x00", b"\x01", b"b", b"\x7f", b"\x80", b"\xff", b"\xff\xff"]),
        (b"a\x00", b"a\x01", [k for k in ORDERED if k != b"a\x00"]),
        (b"", b"\x80", [b"\x80", b"\xff", b"\xff\xff"]),
        (b"\xff", b"\xff\xff\x00", [k for k in ORDERED if not k.startswith(b"\xff")]),
        (b"c", b"d", ORDERED),  # nothing in range
        (b"a", b"a", ORDERED),  # empty range
    ],
)
def test_delete_range_is_half_open(
    store: Store, via: str, begin: bytes, end: bytes, remaining: list[bytes]
) -> None:
    cf = fill(store)
    if via == "store":
        store.delete_range(cf, begin, end)
    else:
        batch = store.batch()
        batch.delete_range(cf, begin, end)
        store.write(batch)
    assert keys_of(store, cf) == remaining
    for key in set(ORDERED) - set(remaining):
        assert store.get(cf, key) is None


@pytest.mark.parametrize("via", ["store", "batch"])
def test_delete_range_with_begin_after_end_is_an_error_and_deletes_nothing(store: Store, via: str) -> None:
    cf = fill(store)
    with pytest.raises(ValueError, match="is after end"):
        if via == "store":
            store.delete_range(cf, b"b", b"a")
        else:
            store.batch().delete_range(cf, b"b", b"a")
    assert keys_of(store, cf) == ORDERED


def test_deleted_keys_can_be_written_again(store: Store) -> None:
    cf = fill(store)
    store.delete_range(cf, b"", b"\xff\xff\xff")
    assert keys_of(store, cf) == []
    store.put(cf, b"ab", b"back")
    assert list(store.scan(cf, b"")) == [(b"ab", b"back")]
    assert store.last_before(cf, b"\xff") == (b"ab", b"back")


# -- batches -------------------------------------------------------------------------


def test_batch_is_invisible_until_written_then_visible_at_once(store: Store) -> None:
    ff, content, claims = store.handle("flowfiles"), store.handle("content"), store.handle("claims")
    store.put(ff, b"old", b"record")
    batch = store.batch()
    batch.put(ff, b"new", b"record")
    batch.delete(ff, b"old")
    batch.put(content, b"chunk", b"bytes")
    batch.put(claims, b"claim", b"1")
    assert store.get(ff, b"new") is None
    assert store.get(ff, b"old") == b"record"
    assert store.get(content, b"chunk") is None
    assert keys_of(store, claims) == []
    store.write(batch)
    assert keys_of(store, ff) == [b"new"]
    assert store.get(content, b"chunk") == b"bytes"
    assert store.get(claims, b"claim") == b"1"


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ([("put", b"k", b"1"), ("delete", b"k")], []),
        ([("delete", b"k"), ("put", b"k", b"2")], [(b"k", b"2")]),
        ([("put", b"k", b"1"), ("put", b"k", b"2")], [(b"k", b"2")]),
        ([("put", b"k", b"1"), ("range", b"a", b"z")], []),
        ([("range", b"a", b"z"), ("put", b"k", b"3")], [(b"k", b"3")]),
        ([("put", b"a", b"1"), ("put", b"z", b"2"), ("range", b"a", b"z")], [(b"z", b"2")]),
        ([("delete", b"never-written")], []),
    ],
)
def test_batch_operations_apply_in_order(
    store: Store, ops: list[tuple[bytes, ...]], expected: list[tuple[bytes, bytes]]
) -> None:
    cf = store.handle("state")
    batch = store.batch()
    for op in ops:
        if op[0] == "put":
            batch.put(cf, op[1], op[2])
        elif op[0] == "delete":
            batch.delete(cf, op[1])
        else:
            batch.delete_range(cf, op[1], op[2])
    store.write(batch)
    assert list(store.scan(cf, b"")) == expected


@pytest.mark.parametrize("sync", [False, True])
def test_write_with_and_without_sync(store: Store, sync: bool) -> None:
    cf = store.handle("flowfiles")
    batch = store.batch()
    batch.put(cf, b"k", b"v")
    store.write(batch, sync=sync)
    store.sync_wal()
    assert store.get(cf, b"k") == b"v"


def test_an_unwritten_batch_changes_nothing(store: Store) -> None:
    cf = fill(store)
    batch = store.batch()
    batch.delete_range(cf, b"", b"\xff\xff\xff")
    batch.put(cf, b"new", b"v")
    del batch
    assert keys_of(store, cf) == ORDERED


# -- the RocksDB store on disk ------------------------------------------------------------


def test_rocks_store_persists_across_close_and_reopen(tmp_path: Path) -> None:
    store = RocksStore(tmp_path / "db")
    fill(store, "content")
    batch = store.batch()
    batch.delete(store.handle("content"), b"ab")
    batch.put(store.handle("claims"), b"c", b"1")
    store.write(batch, sync=True)
    store.close()
    store.close()  # idempotent
    del store, batch
    gc.collect()
    again = RocksStore(tmp_path / "db")
    try:
        assert keys_of(again, again.handle("content")) == [k for k in ORDERED if k != b"ab"]
        assert again.get(again.handle("claims"), b"c") == b"1"
    finally:
        again.close()


def test_rocks_store_refuses_a_directory_already_open(tmp_path: Path) -> None:
    path = tmp_path / "db"
    first = RocksStore(path)
    first.put(first.handle("state"), b"k", b"v")
    try:
        with pytest.raises(DataDirectoryInUseError) as info:
            RocksStore(path)
        message = str(info.value)
        assert f"the data directory {tmp_path} is already in use by another flowyard process" in message
        assert str(path) in message  # names where the lock is held
        assert isinstance(info.value, RepositoryError)
        # The holder is untouched and keeps working.
        assert first.get(first.handle("state"), b"k") == b"v"
        first.put(first.handle("state"), b"k2", b"v2")
    finally:
        first.close()
    del first
    gc.collect()
    second = RocksStore(path)
    try:
        assert keys_of(second, second.handle("state")) == [b"k", b"k2"]
    finally:
        second.close()


def test_rocks_store_close_releases_the_directory_at_once(tmp_path: Path) -> None:
    first = RocksStore(tmp_path / "db")
    cf = first.handle("state")
    first.put(cf, b"k", b"v")
    unfinished = first.scan(cf, b"")
    assert next(unfinished) == (b"k", b"v")
    del unfinished  # abandoned half way, as a caller breaking out of a loop does
    first.close()
    second = RocksStore(tmp_path / "db")  # `first` and its handle are still referenced
    try:
        assert second.get(second.handle("state"), b"k") == b"v"
    finally:
        second.close()


def test_rocks_store_in_use_message_names_the_data_directory(tmp_path: Path) -> None:
    # The CLI keeps the repository in ``<data dir>/repository``; the operator knows the data dir.
    path = tmp_path / "data" / "repository"
    first = RocksStore(path)
    try:
        with pytest.raises(DataDirectoryInUseError) as info:
            RocksStore(path)
    finally:
        first.close()
    assert str(info.value).startswith(
        f"the data directory {tmp_path / 'data'} is already in use by another flowyard process (")
    assert str(path) in str(info.value)
