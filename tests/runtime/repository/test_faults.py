"""The repositories under injected faults (``FaultyStore`` over RocksDB): a
failed write changes nothing that is remembered, and no id is ever handed out
twice, across restarts (issue 11: 409 of 1,110 flowfiles once carried other
flowfiles' content after a disk-full error)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from flowyard.runtime.repository import FaultyStore, IdAllocator, Repositories, RocksStore
from flowyard.runtime.sdk._errors import StorageFullError

if TYPE_CHECKING:
    from pathlib import Path

KEY = b"meta/test-ids"


def take_all(allocator: IdAllocator, n: int) -> tuple[list[int], int]:
    """Take ``n`` single ids; returns those handed out and how many takes failed."""
    issued, failed = [], 0
    for _ in range(n):
        try:
            issued.append(allocator.take())
        except StorageFullError:
            failed += 1
    return issued, failed


@pytest.mark.parametrize("heal_after", [1, 3, None])
def test_a_failed_reservation_hands_out_nothing_and_ids_never_repeat(tmp_path: Path, heal_after: int | None) -> None:
    issued: list[int] = []
    for restart in range(3):
        store = FaultyStore(RocksStore(tmp_path / "repository"))
        try:
            allocator = IdAllocator(store, KEY, block=4)
            got, _ = take_all(allocator, 10)
            issued += got
            # the disk fills: the next reservation fails (``heal_after`` times, or for good)
            fault = store.fail("put", key=KEY, times=heal_after)
            got, failed = take_all(allocator, 20)
            issued += got
            assert failed >= 1 and fault.raised == failed
            if heal_after is None:
                assert len(got) <= 4, "with the reservation failing, at most the reserved block is handed out"
        finally:
            store.close()
        assert len(issued) == len(set(issued)), f"an id was handed out twice (restart {restart})"
    store = FaultyStore(RocksStore(tmp_path / "repository"))
    try:
        assert IdAllocator(store, KEY, block=4).take() > max(issued)
    finally:
        store.close()


def test_flowfile_and_content_ids_stay_unique_when_their_reservations_fail(tmp_path: Path) -> None:
    """Each start: a few ids, then the disk fills and the process ends (no
    reservation ever succeeds again before the restart)."""
    seen_ids: list[int] = []
    seen_resources: list[int] = []
    for _ in range(4):
        store = FaultyStore(RocksStore(tmp_path / "repository"))
        repos = Repositories(store)
        try:
            for allocator, seen in ((repos.flowfiles.ids, seen_ids), (repos.content.resource_ids, seen_resources)):
                seen.append(allocator.take(1000))
            store.fail("put", key=b"meta/", times=None)
            for allocator, seen in ((repos.flowfiles.ids, seen_ids), (repos.content.resource_ids, seen_resources)):
                for _ in range(200):
                    try:
                        seen.append(allocator.take(1000))
                    except StorageFullError:
                        pass
        finally:
            store.close()
    for seen in (seen_ids, seen_resources):
        assert len(seen) == len(set(seen)), "an id was handed out twice across restarts"
        assert seen == sorted(seen), "ids only increase, restarts included"
