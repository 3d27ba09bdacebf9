"""The committer: one task that writes every session's transaction, grouped.

Sessions hand their ``PreparedCommit`` to ``submit`` (without a checkpoint
between preparing and submitting, so sequence numbers reach each queue in
order). The committer takes everything pending, writes it as one atomic batch
(``Repositories.write``), then applies the queue moves in submission order
and wakes the submitters. While one group is being written, the next one
gathers: in ``sync`` durability one fsync covers every session in a group.

Small groups are written on the event loop (a RocksDB write of a few
thousand keys without fsync takes well under a millisecond); large groups
and, in ``sync`` durability, every group go to a worker thread. That thread
does not free the event loop by itself: rocksdict holds the GIL for the whole
of ``Rdict.write``, so a write with RocksDB's own ``sync`` froze the loop (API,
status stream, every processor) for each fsync. The store therefore writes a
synced batch in two steps (``RocksStore.write``): the write without sync,
short and under the GIL, then the WAL fsync, during which the GIL is free and
the loop runs. A group is acknowledged (``_finish``: queue moves applied,
submitters woken) only after both returned, so in ``sync`` durability no
session continues before its commit survives power loss.

The committer is the only writer of the repositories while the engine runs:
claimant counts and state versions are planned from memory and applied after
the write, so a second writer in between would plan from stale figures.
Other work that writes (emptying a queue, expiring the archive) runs through
``exclusive``, between groups.

A group that cannot be written for want of space (``StorageFullError``) is
neither lost nor failed: the committer reports it (``on_full``: the engine
pauses processing), waits until there is room (``wait_room``), at least 1 s,
then 2, 4 … 30 s between attempts, and writes it again; its sessions wait
meanwhile. Only when the engine stops first (``wait_room`` answers False) are
they rolled back (their input is still in the repository: nothing is lost).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import trio

from flowyard.runtime.engine._session_commit import PreparedCommit
from flowyard.runtime.repository import Repositories, StateConflict
from flowyard.runtime.sdk._errors import ProcessingError, StorageFullError

__all__ = ["Committer", "PendingCommit"]

log = logging.getLogger("flowyard.engine.committer")

T = TypeVar("T")

#: Groups with more store operations than this are written in a worker thread.
INLINE_OPS = 4_000
#: Back-off between attempts to write a group the disk had no room for (seconds).
RETRY_FIRST, RETRY_MAX = 1.0, 30.0


async def _no_wait() -> bool:
    await trio.lowlevel.checkpoint()
    return True


class PendingCommit:
    """A submitted commit; ``await wait()`` returns once it is applied, or
    raises the reason it was not (the session is then already rolled back)."""

    __slots__ = ("done", "error", "prepared")

    def __init__(self, prepared: PreparedCommit) -> None:
        self.prepared = prepared
        self.done = trio.Event()
        self.error: BaseException | None = None

    async def wait(self) -> None:
        await self.done.wait()
        if self.error is not None:
            raise self.error


def _ops(prepared: PreparedCommit) -> int:
    t = prepared.transaction
    return len(t.placed) + len(t.removed) + len(t.inline_content) + len(t.events) + len(t.claim_deltas)


class Committer:
    """Group commit for one ``Repositories``. Run ``run`` in a nursery."""

    def __init__(self, repositories: Repositories, clock: Callable[[], int], *,
                 on_full: Callable[[BaseException], None] | None = None,
                 wait_room: Callable[[], Awaitable[bool]] = _no_wait) -> None:
        self.repositories = repositories
        self.clock = clock
        self.on_full = on_full
        self.wait_room = wait_room
        #: A group waiting for room on the disk (written before anything submitted after it).
        self._held: list[PendingCommit] = []
        self._pending: list[PendingCommit] = []
        self._jobs: list[Callable[[], None]] = []
        self._wake = trio.Event()
        self.groups_written = 0
        self.commits_written = 0
        self.failures = 0

    def submit(self, prepared: PreparedCommit) -> PendingCommit:
        """Queue ``prepared`` for the next group. Never blocks."""
        pending = PendingCommit(prepared)
        self._pending.append(pending)
        self._wake.set()
        return pending

    async def commit(self, prepared: PreparedCommit) -> None:
        """Submit and wait until applied (raises if it was not)."""
        await self.submit(prepared).wait()

    async def exclusive(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the committer's task between two groups, when no write is
        in progress, and return its result (or raise its exception)."""
        done = trio.Event()
        outcome: list[Any] = []

        def job() -> None:
            try:
                outcome.append((True, fn()))
            except Exception as exc:
                outcome.append((False, exc))
            done.set()

        self._jobs.append(job)
        self._wake.set()
        await done.wait()
        ok, value = outcome[0]
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    async def run(self) -> None:
        """Write groups until cancelled; on cancellation, writes what is pending first."""
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                jobs, self._jobs = self._jobs, []
                for job in jobs:
                    job()
                group, self._pending = self._pending, []
                if not group:
                    continue
                await self._write_until_written(group)
        finally:
            # Cancelled: nothing pending may be left waiting forever.
            group, self._pending = self._held + self._pending, []
            self._held = []
            if group:
                with trio.CancelScope(shield=True):
                    self._write_group(group)
            jobs, self._jobs = self._jobs, []
            for job in jobs:
                job()

    async def _write_until_written(self, group: list[PendingCommit]) -> None:
        """Write ``group``; while the disk has no room, wait and write it again."""
        delay = RETRY_FIRST
        ops = sum(_ops(p.prepared) for p in group)
        while True:
            for p in group:
                p.error = None
            if self.repositories.durability == "sync" or ops > INLINE_OPS:
                await trio.to_thread.run_sync(self._write_only, group)
            else:
                self._write_only(group)
            full = next((p.error for p in group if isinstance(p.error, StorageFullError)), None)
            if full is None or self.on_full is None:
                self._finish(group)
                return
            self._held = group
            self.on_full(full)
            await trio.sleep(delay)
            room = await self.wait_room()
            self._held = []
            if not room:  # the engine stops first: roll the sessions back (their input is still stored)
                self._finish(group)
                return
            delay = min(delay * 2, RETRY_MAX)

    @property
    def holding(self) -> bool:
        """Whether a group is waiting for room (no write is in progress then)."""
        return bool(self._held)

    def _write_only(self, group: list[PendingCommit]) -> None:
        """Runs in a worker thread: only the store write, no queue changes."""
        try:
            rejected = self.repositories.write([p.prepared.transaction for p in group], self.clock())
        except Exception as exc:  # the store failed: nothing was written
            for p in group:
                p.error = exc
            return
        ids = {id(t) for t in rejected}
        for p in group:
            if id(p.prepared.transaction) in ids:
                p.error = StateConflict("component state changed concurrently; session rolled back")

    def _finish(self, group: list[PendingCommit]) -> None:
        now = self.clock()
        for p in group:
            if p.error is None:
                for exc in p.prepared.apply(now):
                    log.warning("commit callback failed: %r", exc)
                self.commits_written += 1
            else:
                self.failures += 1
                log.error("commit failed, session rolled back: %s", p.error)
                p.prepared.abort(p.error, penalize=not isinstance(p.error, StateConflict))
                if not isinstance(p.error, ProcessingError):
                    p.error = ProcessingError(f"commit failed: {p.error}")
            p.done.set()
        self.groups_written += 1

    def _write_group(self, group: list[PendingCommit]) -> None:
        self._write_only(group)
        self._finish(group)
