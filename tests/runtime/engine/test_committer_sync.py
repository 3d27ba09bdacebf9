"""The committer in ``sync`` durability: a group is acknowledged only after the
write-ahead log's sync finished, and the event loop keeps running meanwhile.

The sync is a fake that waits for the test's word (a slow fsync without a
clock), then runs the real one; the order of events is asserted, no timing.
"""

from __future__ import annotations

import threading
from pathlib import Path

import trio
import trio_wait

from flowyard.runtime.engine._committer import Committer
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.repository import Repositories, RocksStore

START = 1_700_000_000_000


class SlowSync:
    """A ``wal_sync`` that records when it starts and ends and, until
    ``release`` is set, does not end (bounded, so a failing test cannot hang)."""

    def __init__(self) -> None:
        self.store: RocksStore | None = None
        self.log: list[str] = []
        self.release = threading.Event()

    def __call__(self) -> None:
        assert self.store is not None
        self.log.append("sync started")
        if not self.release.wait(60):
            raise RuntimeError("the test never released the sync")
        self.store._flush_wal()
        self.log.append("sync finished")


async def test_a_synced_group_is_acknowledged_after_its_sync_while_the_loop_runs(tmp_path: Path) -> None:
    slow = SlowSync()
    store = RocksStore(tmp_path / "repository", wal_sync=slow)
    slow.store = store
    repos = Repositories(store, durability="sync")
    try:
        out = FlowFileQueue("out", repos.flowfiles.queue_id("out"), object_threshold=0, size_threshold=0,
                            loader=repos.flowfiles.read_range)
        session = StandardProcessSession(Routing("gen", "Test", destinations={"success": [out]}), repos,
                                         lambda: START)
        session.transfer(session.put_attribute(session.create(), "label", "x"), "success")
        committer = Committer(repos, lambda: START)
        ticks = 0
        ticked = trio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await trio.sleep(0.001)
                ticks += 1
                if ticks == 5:
                    ticked.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(committer.run)
            pending = committer.submit(session.prepare_commit())
            await trio_wait.wait_for(lambda: slow.log == ["sync started"], 60, step=0.001)
            # The batch is in the store, the fsync has not finished: the loop still runs...
            nursery.start_soon(ticker)
            await ticked.wait()
            # ... and nothing of the commit is acknowledged or published.
            assert not pending.done.is_set()
            assert out.count == 0
            assert repos.flowfiles.count_queue(out.queue_id)[0] == 1, "written, not yet synced"
            slow.log.append("released")
            slow.release.set()
            await pending.wait()
            slow.log.append("acknowledged")
            nursery.cancel_scope.cancel()
        assert slow.log == ["sync started", "released", "sync finished", "acknowledged"]
        assert out.count == 1
        assert committer.commits_written == 1
    finally:
        slow.release.set()
        repos.close()
