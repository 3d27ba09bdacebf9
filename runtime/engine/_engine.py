"""The engine: builds queues and processor nodes from a flow definition, recovers
the queues from the repositories, and runs everything in one trio nursery.

Life cycle::

    engine = Engine(flow, repositories, registry=PROCESSORS)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)   # recovered and started
        ...
        engine.request_stop()             # or SIGINT/SIGTERM via the CLI

Shutdown stops every processor (triggers in progress finish and commit, up
to ``grace_seconds``), then the committer writes what is pending and the
repositories are left for the caller to close.

Clock: flowfile times are epoch milliseconds derived from trio's clock, so a
test with ``trio.testing.MockClock`` controls both scheduling and expiry.
"""

from __future__ import annotations

import gc
import logging
import time

import trio

from flowyard.runtime.engine._diskguard import human_size
from flowyard.runtime.engine._engine_core import EngineStatus, resolve_type
from flowyard.runtime.engine._engine_graph import EngineGraph
from flowyard.runtime.engine._funnel import PASS_THROUGH
from flowyard.runtime.repository import MemoryStore
from flowyard.runtime.sdk._errors import FlowyardError, RepositoryError

__all__ = ["Engine", "EngineStatus", "resolve_type"]

log = logging.getLogger("flowyard.engine")

#: How often the repository's durable point is recorded (``Store.mark_durable``).
DURABLE_MARK_SECONDS = 1.0
#: How often the free space of the repository's disk is read.
DISK_CHECK_SECONDS = 1.0


class Engine(EngineGraph):
    """A flow running on repositories. See the module docstring; building,
    clock, sessions and start/stop are in ``EngineCore``, graph changes and
    queue actions in ``EngineGraph``."""

    async def run(self, *, task_status: trio.TaskStatus[Engine] = trio.TASK_STATUS_IGNORED) -> None:
        """Recover, start the processors whose scheduled state is RUNNING, run until
        ``request_stop``; then shut down cleanly."""
        self._trio_clock = trio.lowlevel.current_clock()
        self._t0 = self.clock_seconds()
        self._wall0_ms = int(time.time() * 1000)
        try:
            await self._run(task_status)
        finally:
            self.finished.set()

    async def _run(self, task_status: trio.TaskStatus[Engine]) -> None:
        self._recover()
        if self.freeze_heap:
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
        async with trio.open_nursery() as committer_nursery:
            committer_nursery.start_soon(self.committer.run)
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._housekeeping)
                nursery.start_soon(self._sample_statistics)
                if not isinstance(self.repositories.store, MemoryStore):  # nothing to make durable
                    nursery.start_soon(self._mark_durable)
                if self.disk.path is not None:
                    nursery.start_soon(self._watch_disk)
                self.controller_services.enable_scheduled()
                for node in self.nodes.values():
                    node.set_routing(node.definition.auto_terminated)
                for node in self.nodes.values():
                    if node.type_name in PASS_THROUGH:
                        self.start_if_scheduled(node)
                    elif node.definition.scheduled_state == "RUNNING":
                        try:
                            self.start_processor(node.id)
                        except FlowyardError as exc:
                            node.bulletin(self, "WARNING", f"not started: {exc}")
                task_status.started(self)
                await self._stop.wait()
                await self._stop_all()
                self.controller_services.disable_all()
                nursery.cancel_scope.cancel()
            self._nursery = None
            committer_nursery.cancel_scope.cancel()

    def request_stop(self) -> None:
        """Ask ``run`` to shut down (idempotent, callable from the event loop)."""
        self._stop.set()

    async def _stop_all(self) -> None:
        nodes = [n for n in self.nodes.values() if n.running]
        for node in nodes:
            node.running = False
            node.poke()
        with trio.move_on_after(self.grace_seconds):
            for node in nodes:
                await node.stopped.wait()
        for node in nodes:
            if node.cancel_scope is not None:
                node.cancel_scope.cancel()
        for node in nodes:
            await node.stopped.wait()

    async def _housekeeping(self) -> None:
        """Every few seconds, through the committer (the single writer): expire
        archived content in slices of 10,000 until nothing more is due, then
        provenance beyond ``provenance_max_events``, ``provenance_max_age_ms`` or
        ``provenance_max_bytes`` (0 disables a limit) in slices of 10,000 groups."""
        content = self.repositories.content
        provenance = self.repositories.provenance

        def expire_provenance() -> int:
            return provenance.expire_due(
                self.clock(), max_events=self.provenance_max_events or None,
                max_age_ms=self.provenance_max_age_ms or None, max_bytes=self.provenance_max_bytes or None)

        while True:
            await trio.sleep(5)
            while await self.committer.exclusive(lambda: content.expire_archive(self.clock())):
                await trio.lowlevel.checkpoint()
            while await self.committer.exclusive(expire_provenance):
                await trio.lowlevel.checkpoint()

    async def _mark_durable(self) -> None:
        """Once a second, in a worker thread: sync the write-ahead log and record
        how far that reaches (``Store.mark_durable``), so that a start which
        recovers less than was durable refuses instead of losing flowfiles
        silently. A failure (a full disk) is retried at the next tick."""
        store = self.repositories.store
        while True:
            await trio.sleep(DURABLE_MARK_SECONDS)
            if self.disk.paused:
                continue  # no room: nothing new was committed meanwhile either
            try:
                await trio.to_thread.run_sync(store.mark_durable)
            except RepositoryError as exc:
                log.warning("could not record the durable state of the repository: %s", exc)

    async def _watch_disk(self) -> None:
        """Once a second: the free space of the repository's file system; pause
        below the floor, resume above the mark (reopening the store first when a
        write had failed)."""
        while True:
            change = self.disk.observe(self.disk.look())
            if change == "pause":
                self._disk_bulletin("WARNING", self.disk.reason)
            elif change == "resume":
                if self.disk.failed:
                    store = self.repositories.store
                    try:
                        if self.committer.holding:  # it waits for this: no write is in progress
                            await trio.to_thread.run_sync(store.reopen)
                        else:
                            await self.committer.exclusive(store.reopen)
                    except RepositoryError as exc:
                        self.disk.reason = f"the repository could not be reopened after the disk was full: {exc}"
                        await trio.sleep(DISK_CHECK_SECONDS)
                        continue
                self.disk.resumed()
                self._disk_bulletin("INFO", "processing resumed: the repository's disk has "
                                            f"{human_size(self.disk.free or 0)} free")
                self._room.set()
                self._room = trio.Event()
                for node in self.nodes.values():
                    node.poke()
            await trio.sleep(DISK_CHECK_SECONDS)

    async def _sample_statistics(self) -> None:
        """Once a second (on a fixed grid; ticks missed while the loop was busy are
        skipped, the next sample covers them): roll every component's statistics
        and status history. O(components), no I/O."""
        stats = self.statistics
        interval = stats.interval_ms / 1000
        stats.start(self.clock())
        due = trio.current_time()
        while True:
            due += interval
            await trio.sleep_until(due)
            late = trio.current_time() - due
            if late >= interval:
                due += late
            stats.sample(self.clock(), self.nodes, self.queues)

    def status(self) -> EngineStatus:
        """Figures for the whole flow: ``flowfiles_in`` counts flowfiles produced by
        processors without incoming connections, ``flowfiles_out`` those dropped or
        auto-terminated anywhere."""
        nodes = self.nodes.values()
        return EngineStatus(
            flowfiles_in=sum(n.stats.flowfiles_out for n in nodes if not n.inputs),
            flowfiles_out=sum(n.stats.flowfiles_removed for n in nodes),
            queued_count=sum(q.count for q in self.queues.values()),
            queued_bytes=sum(q.size for q in self.queues.values()),
            running=sum(1 for n in nodes if n.running),
            stopped=sum(1 for n in nodes if not n.running and n.state != "DISABLED"),
            invalid=sum(1 for n in nodes if not n.is_valid),
            bulletins=len(self.bulletins),
            primary=self.primary,
            waiting_for_primary=sum(1 for n in nodes if n.running and n.waiting_for_primary),
        )
