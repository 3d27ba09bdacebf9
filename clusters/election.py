"""Leader election on etcd, fenced by the leader key's create revision.

Each candidate puts ``<prefix><lease hex>`` (its value: usually the node id) under its own
lease; the leader is the key with the lowest ``create_revision``. A candidate waits until no
key older than its own is left, watching the prefix for deletions. The leader's ``Fence``
(key, create revision) goes into the compare list of every write the leader makes as
leader: once the lease expires and the key goes (or is recreated by a later campaign), the
fenced transaction fails, so a deposed leader that has not noticed yet cannot write.

etcd's own ``/v3/election/campaign`` is not used: it blocks without a timeout and cannot be
cancelled from the client side.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from flowyard.clusters.etcd import Compare, Etcd, EtcdCompacted, EtcdError, KeyValue, Op

__all__ = ["Election", "Fence"]


@dataclass(frozen=True, slots=True)
class Fence:
    """A leadership: the leader's election key and the revision that created it."""

    key: str
    revision: int

    def compare(self) -> Compare:
        """The condition "this leadership still holds", for a transaction's compare list."""
        return Compare.create_revision(self.key, "=", self.revision)


def _leader_of(kvs: list[KeyValue]) -> tuple[str, Fence] | None:
    if not kvs:
        return None
    first = min(kvs, key=lambda kv: kv.create_revision)
    return first.value.decode("utf-8", "replace"), Fence(first.key, first.create_revision)


class Election:
    """One election (one role) under ``prefix``, e.g. ``/flowyard/c/election/coordinator/``."""

    def __init__(self, etcd: Etcd, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError(f"election prefix {prefix!r} must end with '/'")
        self._etcd = etcd
        self.prefix = prefix

    def key_of(self, lease_id: int) -> str:
        """The candidate key of ``lease_id`` (fixed-width hex, so no key prefixes another)."""
        return f"{self.prefix}{lease_id:016x}"

    async def campaign(self, lease_id: int, value: str) -> Fence:
        """Stand as candidate with ``lease_id`` and return once elected.

        Campaigning again with the same lease keeps the candidacy (and its place in line).
        Raises ``EtcdError`` when the candidacy vanished while waiting (the lease expired),
        ``EtcdUnavailable`` when etcd cannot be reached. On cancellation or error the
        candidate key is deleted (best effort, bounded by the client's timeout)."""
        key = self.key_of(lease_id)
        created = await self._etcd.txn(
            [Compare.create_revision(key, "=", 0)],
            [Op.put(key, value.encode(), lease=lease_id)],
            [Op.get(key)],
        )
        if created.succeeded:
            revision = created.revision
        else:
            existing = created.responses[0]
            if not existing:  # deleted between the compare and the get: cannot happen in one txn
                raise EtcdError(f"election {self.prefix}: candidate key {key} vanished")
            revision = existing[0].create_revision
        elected = False
        try:
            await self._wait_for_turn(key, revision)
            elected = True
            return Fence(key, revision)
        finally:
            if not elected:
                with trio.CancelScope(shield=True), trio.move_on_after(self._etcd.timeout):
                    try:
                        await self._etcd.txn([Compare.create_revision(key, "=", revision)], [Op.delete(key)])
                    except EtcdError:
                        pass  # the lease takes the key with it in the end

    async def _wait_for_turn(self, key: str, revision: int) -> None:
        while True:
            kvs, seen = await self._etcd.range(self.prefix)
            mine = [kv for kv in kvs if kv.key == key and kv.create_revision == revision]
            if not mine:
                raise EtcdError(f"election {self.prefix}: candidacy {key} is gone (its lease expired or "
                                "it was resigned) while waiting to be elected")
            older = {kv.key for kv in kvs if kv.create_revision < revision}
            if not older:
                return
            try:
                async with self._etcd.watch(self.prefix, start_revision=seen + 1) as events:
                    async for batch in events:
                        if any(e.kind == "DELETE" and (e.kv.key in older or e.kv.key == key) for e in batch):
                            break
            except EtcdCompacted:
                continue  # read again

    async def leader(self) -> tuple[str, Fence] | None:
        """The current leader's value and fence, or None when nobody is campaigning."""
        kvs, _ = await self._etcd.range(self.prefix)
        return _leader_of(kvs)

    @asynccontextmanager
    async def observe(self) -> AsyncIterator[AsyncIterator[tuple[str, Fence] | None]]:
        """Follow the leadership: yields an async iterator that gives the current leader
        (or None) first, then again on every change of leader (key, revision or value).
        Raises ``EtcdUnavailable`` when etcd cannot be reached."""
        yield _Observer(self._etcd, self.prefix)

    async def resign(self, fence: Fence) -> None:
        """Give up the leadership (or candidacy) of ``fence``; nothing when it is already gone."""
        await self._etcd.txn([fence.compare()], [Op.delete(fence.key)])


class _Observer:
    """The iterator of ``Election.observe``: a range, then a watch from the range's revision."""

    def __init__(self, etcd: Etcd, prefix: str) -> None:
        self._etcd = etcd
        self._prefix = prefix
        self._kvs: dict[str, KeyValue] | None = None
        self._revision = 0
        self._last: tuple[str, Fence] | bool | None = False  # False: nothing reported yet

    def __aiter__(self) -> _Observer:
        return self

    async def __anext__(self) -> tuple[str, Fence] | None:
        while True:
            if self._kvs is None:
                kvs, self._revision = await self._etcd.range(self._prefix)
                self._kvs = {kv.key: kv for kv in kvs}
            else:
                await self._follow()
            current = _leader_of(list(self._kvs.values())) if self._kvs is not None else None
            if current != self._last:
                self._last = current
                return current

    async def _follow(self) -> None:
        """Apply changes until the leader may have changed (or the history was compacted)."""
        assert self._kvs is not None
        before = _leader_of(list(self._kvs.values()))
        try:
            async with self._etcd.watch(self._prefix, start_revision=self._revision + 1) as events:
                async for batch in events:
                    for event in batch:
                        self._revision = max(self._revision, event.kv.mod_revision)
                        if event.kind == "DELETE":
                            self._kvs.pop(event.kv.key, None)
                        else:
                            self._kvs[event.kv.key] = event.kv
                    if _leader_of(list(self._kvs.values())) != before:
                        return
        except EtcdCompacted:
            self._kvs = None  # read again
