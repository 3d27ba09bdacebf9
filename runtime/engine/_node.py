"""A processor component inside a running engine, and the loops that trigger it.

Each running processor has ``concurrent_tasks`` task loops. A loop waits until
the processor is eligible — not yielding, its schedule is due, no outgoing
queue is full (back pressure), and, if it has incoming connections, one of
them has work — then runs one trigger: ``on_trigger`` in a fresh session
(repeated for the run duration), then the framework's commit. Waiting is on
one ``trio.Event`` per node that queue listeners set, with a deadline for
timers, yields and penalties: nothing polls.

Outcomes of a trigger:

- returns: the session is committed (group commit); statistics are updated;
- raises ``ProcessingError``: rollback, input penalized, WARNING bulletin;
- raises anything else: rollback, input penalized, ERROR bulletin, and the
  processor yields for the administrative yield duration (NiFi's default 30 s).

In a cluster (docs/cluster-internals.md, "Primary node and cluster state"): a
processor whose ``executionNode`` is PRIMARY stays scheduled on every node but
is triggered only while ``primary`` is True (the host's ``set_primary`` sets it
and pokes the node); a trigger in progress when the role is lost finishes and
commits. A processor whose ``state_scope`` is CLUSTER, on a host with a
``cluster_state`` store, reads its state from the store before each trigger
and writes it with ``replace`` just before the trigger's commit goes to the
repository; when the version moved (another node wrote it) the session is
rolled back (nothing lost) and the processor yields; when the repository write
then fails, the state read before the trigger is put back.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from flowyard.runtime.engine._cluster_state import ClusterStateStore
from flowyard.runtime.engine._committer import PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor, is_async
from flowyard.runtime.engine._host import Bulletin, NodeHost
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import PreparedCommit, Routing, SessionStats, StandardProcessSession
from flowyard.runtime.flow import ProcessorDef
from flowyard.runtime.schedule import CronSchedule
from flowyard.runtime.sdk._errors import ContentNotFoundError, ProcessingError, StorageFullError
from flowyard.runtime.sdk._processor import InputRequirement
from flowyard.runtime.sdk._properties import ValidationResult
from flowyard.runtime.sdk._units import parse_duration

__all__ = ["Bulletin", "NodeStats", "ProcessorNode"]

log = logging.getLogger("flowyard.engine")


#: Bulletin levels in order (the engine says WARNING, NiFi's setting says WARN).
_RANK = {"DEBUG": 10, "INFO": 20, "WARN": 30, "WARNING": 30, "ERROR": 40, "NONE": 100}


class NodeStats:
    """Running totals of one processor since the engine started (never reset).

    Rolling windows, rates and history are derived from these by sampling
    (``_stats.StatisticsHolder``), so a commit only adds a few integers."""

    __slots__ = ("bytes_in", "bytes_out", "bytes_read", "bytes_written", "errors", "flowfiles_in", "flowfiles_out",
                 "flowfiles_removed", "task_seconds", "tasks")

    def __init__(self) -> None:
        self.flowfiles_in = 0
        self.bytes_in = 0
        self.flowfiles_out = 0
        self.bytes_out = 0
        self.flowfiles_removed = 0
        #: Content bytes the processor read / wrote (NiFi's "Read/Write").
        self.bytes_read = 0
        self.bytes_written = 0
        self.tasks = 0
        self.task_seconds = 0.0
        self.errors = 0

    def add(self, s: SessionStats) -> None:
        """Count one committed session."""
        self.flowfiles_in += s.flowfiles_in
        self.bytes_in += s.bytes_in
        self.flowfiles_out += s.flowfiles_out
        self.bytes_out += s.bytes_out
        self.flowfiles_removed += s.flowfiles_removed
        self.bytes_read += s.bytes_read
        self.bytes_written += s.bytes_written


class ProcessorNode:
    """One processor component in the engine (or the test kit)."""

    def __init__(self, definition: ProcessorDef, configured: ConfiguredProcessor) -> None:
        self.id = definition.identifier
        self.apply_definition(definition, configured)
        self.admin_yield_seconds = 30.0
        self.inputs: list[FlowFileQueue] = []
        self.outputs: dict[str, list[FlowFileQueue]] = {}
        #: Flowfiles (by id) whose content cannot be read: sent to failure when next taken.
        self.unreadable: dict[int, str] = {}
        self.routing = Routing(self.id, self.type_name, unreadable=self.unreadable)
        self.validation: list[ValidationResult] = []
        self.state = "STOPPED"
        self.stats = NodeStats()
        self.bulletins: collections.deque[Bulletin] = collections.deque(maxlen=20)
        self.active_tasks = 0
        self.yield_until = -math.inf
        self.next_run = -math.inf
        self._cron_last_wall = 0.0
        self.wake = trio.Event()
        self.running = False
        self.cancel_scope: trio.CancelScope | None = None
        #: Set while no run (or run once) of this processor is in progress.
        self.stopped = trio.Event()
        self.stopped.set()
        #: Why the last trigger failed (None: it did not); read by the test kit.
        self.last_error: BaseException | None = None
        #: Called after every ``on_trigger`` call, on the thread that made it: the test
        #: kit advances its mock clock there (the trigger's cost). None in the engine.
        self.after_on_trigger: Callable[[], None] | None = None
        #: Whether the node this runs on is the cluster's primary node (always, alone);
        #: set by ``Engine.set_primary``.
        self.primary = True
        #: Cluster state read for the next session (taken by the host's ``new_session``).
        self._cluster_read: tuple[int, dict[str, str]] | None = None

    def apply_definition(self, definition: ProcessorDef, configured: ConfiguredProcessor) -> None:
        """Take a (new) configuration. Only while the processor is not running."""
        self.definition = definition
        self.configured = configured
        self.name = configured.name
        self.type_name = configured.type_name
        self.strategy = definition.scheduling_strategy
        self.cron = CronSchedule(definition.scheduling_period) if self.strategy == "CRON_DRIVEN" else None
        self.period = parse_duration(definition.scheduling_period) if self.strategy == "TIMER_DRIVEN" else 0.0
        self.run_duration = parse_duration(definition.run_duration)
        self.concurrent_tasks = definition.concurrent_tasks
        #: "ALL" or "PRIMARY" (NiFi's Execution setting).
        self.execution_node = definition.execution_node
        #: "LOCAL" or "CLUSTER": where the processor keeps its state (``Processor.state_scope``).
        self.state_scope = _scope_of(configured)

    @property
    def waiting_for_primary(self) -> bool:
        """True while this is a primary-node-only processor on a node that is not primary:
        scheduled (it may be RUNNING) but not triggered."""
        return self.execution_node == "PRIMARY" and not self.primary

    # -- graph -----------------------------------------------------------------

    def set_routing(self, auto_terminated: tuple[str, ...]) -> None:
        """Rebuild ``routing`` from ``inputs``/``outputs`` after the graph changed."""
        self.routing = Routing(
            self.id, self.type_name, inputs=self.inputs, destinations=self.outputs,
            auto_terminated=auto_terminated, relationships=self.configured.relationship_names,
            penalty_ms=int(self.configured.penalty_seconds * 1000), unreadable=self.unreadable,
        )
        routed = set(auto_terminated) | {r for r, qs in self.outputs.items() if qs}
        self.validation = self.configured.validation_results(has_input=bool(self.inputs), routed=routed)
        if self.strategy == "EVENT_DRIVEN" and not self.inputs:
            self.validation.append(ValidationResult(
                "Scheduling Strategy", "event-driven scheduling needs an incoming connection to be woken by"))

    @property
    def is_valid(self) -> bool:
        return not self.validation

    def _needs_input(self) -> bool:
        spec = self.configured.type.spec
        return bool(self.inputs) and spec.input_requirement is not InputRequirement.FORBIDDEN \
            and not spec.trigger_when_empty

    def back_pressured(self) -> bool:
        """True while any outgoing queue is full: the processor is not triggered.
        A processor that asks to be triggered while any destination is
        available is back-pressured only when every relationship has a full queue."""
        if self.configured.type.spec.trigger_when_any_destination_available:
            names = self.configured.relationship_names
            return bool(names) and all(any(q.is_full() for q in self.outputs.get(n, ())) for n in names)
        return any(q.is_full() for qs in self.outputs.values() for q in qs)

    def _available_relationships(self) -> frozenset[str]:
        """The relationships whose queues all have room (read from any thread:
        a snapshot of the routing and the queues' counters)."""
        routing = self.routing
        return frozenset(name for name in routing.relationships
                         if not any(q.is_full() for q in routing.destinations.get(name, ())))

    def bind_context(self) -> None:
        """Tell the processor's context about the connections (before ``on_scheduled``
        and each trigger): whether there is input, which relationships have room."""
        context = self.configured.context
        context.has_incoming_connection = bool(self.inputs)
        context.relationship_availability = self._available_relationships

    def poke(self) -> None:
        """Wake the waiting task loops to re-check eligibility."""
        self.wake.set()

    # -- the task loops -----------------------------------------------------------

    async def run(self, host: NodeHost, *, loop: Callable[[NodeHost], Awaitable[None]] | None = None) -> None:
        """Run until ``running`` is cleared; then call ``on_stopped``. Started by the host.
        ``loop``: what runs between ``on_scheduled`` and ``on_stopped`` instead of the
        ``concurrent_tasks`` task loops (a stateless group's member waits there while
        its group's runner triggers it)."""
        processor, context = self.configured.processor, self.configured.context
        self.bind_context()
        try:
            with trio.CancelScope() as scope:
                self.cancel_scope = scope
                if not await self._schedule(host):
                    return
                if loop is not None:
                    await loop(host)
                else:
                    async with trio.open_nursery() as nursery:
                        for _ in range(self.concurrent_tasks):
                            nursery.start_soon(self._task_loop, host)
            # Shielded so a shutdown still lets the processor clean up, but only for
            # the grace period: a hanging on_stopped must not hang shutdown.
            with trio.CancelScope(shield=True) as shield:
                shield.deadline = trio.current_time() + host.grace_seconds
                try:
                    await self._call(host, processor.on_stopped, context)
                except Exception as exc:
                    self.bulletin(host, "ERROR", f"on_stopped failed: {exc!r}")
        finally:
            self.cancel_scope = None
            self.running = False
            self.state = "STOPPED" if self.state != "DISABLED" else "DISABLED"
            self.stopped.set()

    async def _schedule(self, host: NodeHost) -> bool:
        """Call ``on_scheduled`` until it succeeds or the processor is stopped.

        As NiFi does: a failure (a port in use, a server not reachable yet) is
        one ERROR bulletin; ``on_stopped`` cleans up what the attempt opened,
        and the next attempt comes after the administrative yield (30 s) while
        the processor stays RUNNING. Returns False when stopped meanwhile."""
        processor, context = self.configured.processor, self.configured.context
        while True:
            try:
                await self._call(host, processor.on_scheduled, context)
                return True
            except Exception as exc:
                self.stats.errors += 1
                self.bulletin(host, "ERROR", f"failed to start: {exc!r}; trying again in "
                                             f"{self.admin_yield_seconds:g} s")
                try:
                    await self._call(host, processor.on_stopped, context)
                except Exception as cleanup:
                    self.bulletin(host, "ERROR", f"on_stopped failed: {cleanup!r}")
            retry_at = trio.current_time() + self.admin_yield_seconds
            while self.running and trio.current_time() < retry_at:
                self.wake = trio.Event()
                with trio.move_on_at(retry_at):
                    await self.wake.wait()
            if not self.running:
                return False

    async def _call(self, host: NodeHost, fn: Callable[..., Any], *args: Any) -> Any:
        if is_async(fn):
            return await fn(*args)
        if self.configured.processor.blocking:
            return await trio.to_thread.run_sync(fn, *args, limiter=host.thread_limiter, abandon_on_cancel=True)
        return fn(*args)

    async def _task_loop(self, host: NodeHost) -> None:
        while self.running:
            await self._wait_eligible(host)
            if not self.running:
                return
            await self.trigger(host)
            await trio.lowlevel.checkpoint()

    async def _wait_eligible(self, host: NodeHost) -> None:
        while self.running:
            if self.wake.is_set():
                self.wake = trio.Event()
            now = trio.current_time()
            deadline = math.inf
            if host.disk.paused:
                pass  # no room for a commit: the disk watch wakes us when there is
            elif self.waiting_for_primary:
                pass  # set_primary wakes us when this node becomes primary
            elif now < self.yield_until:
                deadline = self.yield_until
            elif now < self.next_run:
                deadline = self.next_run
            elif self.back_pressured():
                pass  # a downstream on_space wakes us
            elif self._needs_input():
                now_ms = host.clock()
                if any(q.has_available(now_ms) for q in self.inputs):
                    return
                expiries = [e for e in (q.next_penalty_expiry() for q in self.inputs) if e is not None]
                if expiries:
                    deadline = now + max(0.0, (min(expiries) - now_ms) / 1000.0) + 0.001
            else:
                return
            with trio.move_on_at(deadline):
                await self.wake.wait()

    def schedule_first(self, host: NodeHost) -> None:
        """Called on start: timer-driven runs at once, cron-driven at its next firing time."""
        self.yield_until = -math.inf
        self.next_run = -math.inf
        self._cron_last_wall = 0.0
        if self.cron is not None:
            self._schedule_next(host, trio.current_time())

    def _schedule_next(self, host: NodeHost, started: float) -> None:
        if self.cron is not None:
            # Cron times are wall-clock times from the engine's clock. Never
            # schedule before the firing just served: the clock has whole
            # milliseconds and may read a hair before that firing.
            wall = max(host.clock() / 1000.0, self._cron_last_wall)
            fire = self.cron.next_after(wall)
            self._cron_last_wall = fire
            self.next_run = started + (fire - wall)
        elif self.period > 0:
            self.next_run = started + self.period

    async def trigger(self, host: NodeHost) -> None:
        """Run ``on_trigger`` once (for the run duration) and commit. Never raises
        except ``trio.Cancelled``; a failure is handled as the module docstring
        says and kept in ``last_error``."""
        configured = self.configured
        processor, context = configured.processor, configured.context
        self.bind_context()
        started = trio.current_time()
        self._schedule_next(host, started)
        store = self._cluster_store(host)
        if store is not None and not await self._read_cluster_state(host, store):
            return
        read = self._cluster_read
        #: (version, values) to put back if the state was replaced but the commit then failed.
        undo: tuple[int, dict[str, str]] | None = None
        final: PendingCommit | None = None
        blocking = processor.blocking and not is_async(processor.on_trigger)
        early: list[PendingCommit] = []
        session = host.new_session(self, early)
        self._cluster_read = None
        self.active_tasks += 1
        context.yield_requested = False
        self.last_error = None
        submitted = False
        try:
            if is_async(processor.on_trigger):
                while True:
                    await processor.on_trigger(context, session)
                    if self.after_on_trigger is not None:
                        self.after_on_trigger()
                    if not self._again(host, started, session):
                        break
            elif blocking:
                await trio.to_thread.run_sync(self._run_sync, host, session, started,
                                              limiter=host.thread_limiter, abandon_on_cancel=True)
            else:
                self._run_sync(host, session, started)
            pendings = list(early)
            if not session.is_empty:
                prepared = session.prepare_commit()
                written = True if store is None else await self._write_cluster_state(host, store, prepared)
                if written:
                    final = host.committer.submit(prepared)
                    pendings.append(final)
                    if store is not None and read is not None and written == "replaced":
                        undo = (read[0] + 1, read[1])
            submitted = True
            try:
                for pending in pendings:
                    await pending.wait()
                    self.stats.add(pending.prepared.stats)
            except Exception:
                if undo is not None and store is not None and final is not None:
                    await final.done.wait()
                    if final.error is not None:
                        await self._undo_cluster_state(host, store, undo)
                raise
        except trio.Cancelled:
            # Give the input back unless a worker thread may still be using the
            # session (an abandoned blocking trigger: its records stay on disk).
            if not submitted and not blocking:
                session.rollback()
            raise
        except StorageFullError as exc:  # content could not be written: wait for room, no error storm
            self.last_error = exc
            session.rollback()
            host.storage_full(exc)
        except ContentNotFoundError as exc:
            self.last_error = exc
            lost = session.holding(exc.resource) if exc.resource is not None else []
            session.rollback(penalize=not lost)
            if lost:  # never again: those flowfiles go to failure when next taken
                for ff in lost:
                    self.unreadable[ff.id] = str(exc)
                self.bulletin(host, "ERROR", f"the content of {len(lost)} flowfile(s) cannot be read ({exc}): "
                                             "sent to failure with the reason in flowyard.content.error")
                self.poke()
            else:
                self.stats.errors += 1
                self.yield_until = trio.current_time() + self.admin_yield_seconds
                self.bulletin(host, "ERROR", f"failed to process session due to {exc!r}; rolled back, "
                                             "input penalized")
        except ProcessingError as exc:
            self.last_error = exc
            session.rollback(penalize=True)
            self.stats.errors += 1
            self.bulletin(host, "WARNING", f"failed to process session, input penalized: {exc}")
        except Exception as exc:
            self.last_error = exc
            session.rollback(penalize=True)
            self.stats.errors += 1
            self.yield_until = trio.current_time() + self.admin_yield_seconds
            self.bulletin(host, "ERROR", f"failed to process session due to {exc!r}; rolled back, "
                                         f"input penalized, administratively yielded for "
                                         f"{self.admin_yield_seconds:g} s")
        finally:
            self.active_tasks -= 1
            self.stats.tasks += 1
            self.stats.task_seconds += trio.current_time() - started
        if context.yield_requested:
            self.yield_until = trio.current_time() + configured.yield_seconds

    # -- cluster-scoped state ---------------------------------------------------------

    def _cluster_store(self, host: NodeHost) -> ClusterStateStore | None:
        """The store this processor's state lives in, if it is cluster-scoped and the host has one."""
        if self.state_scope != "CLUSTER":
            return None
        return host.cluster_state

    def take_cluster_state(self) -> tuple[int, dict[str, str]] | None:
        """The cluster state read for the session being built (once), or None: local state."""
        read, self._cluster_read = self._cluster_read, None
        return read

    async def _read_cluster_state(self, host: NodeHost, store: ClusterStateStore) -> bool:
        """Read the state before a trigger; on failure (the store unreachable) no trigger:
        ERROR bulletin and administrative yield. Returns whether to go on."""
        try:
            values, version = await store.get(self.id)
        except Exception as exc:
            self.stats.errors += 1
            self.yield_until = trio.current_time() + self.admin_yield_seconds
            self.bulletin(host, "ERROR", f"could not read the cluster state: {exc!r}; not triggered, "
                                         f"administratively yielded for {self.admin_yield_seconds:g} s")
            return False
        self._cluster_read = (version, dict(values))
        return True

    async def _write_cluster_state(self, host: NodeHost, store: ClusterStateStore,
                                   prepared: PreparedCommit) -> bool | str:
        """Before the repository commit: move the session's state (if it set any) out of the
        transaction into the cluster store. False when the store refused (the version
        moved) or failed: the commit is aborted (its input goes back) and the
        processor yields. True when there was no state to write, "replaced" when it
        was written."""
        state = prepared.transaction.states.pop(self.id, None)
        if state is None:
            return True
        version, values = state
        try:
            replaced = await store.replace(self.id, version, values)
        except trio.Cancelled:
            prepared.abort(None)
            raise
        except Exception as exc:
            prepared.abort(exc)
            self.stats.errors += 1
            self.yield_until = trio.current_time() + self.admin_yield_seconds
            self.bulletin(host, "ERROR", f"could not write the cluster state: {exc!r}; rolled back, "
                                         f"administratively yielded for {self.admin_yield_seconds:g} s")
            return False
        if not replaced:
            prepared.abort(None)
            self.yield_until = trio.current_time() + self.configured.yield_seconds
            self.bulletin(host, "WARNING", f"the cluster state could not be replaced (version {version}): another "
                                           "node wrote it since, or this node is no longer the primary; rolled "
                                           "back, yielding")
            return False
        return "replaced"

    async def _undo_cluster_state(self, host: NodeHost, store: ClusterStateStore,
                                  undo: tuple[int, dict[str, str]]) -> None:
        """The state was replaced but the repository commit failed: put the state read
        before the trigger back, so that nothing is skipped. If that is refused too
        (another node wrote since) or fails, say so: the state is then ahead of what
        was committed."""
        version, values = undo
        try:
            restored = await store.replace(self.id, version, values)
        except Exception as exc:
            restored, why = False, repr(exc)
        else:
            why = "another node wrote it since"
        if not restored:
            self.bulletin(host, "ERROR", f"the commit failed after the cluster state was replaced, and the "
                                         f"state could not be put back ({why}): it stays ahead of what was "
                                         "committed, so what this trigger produced is not produced again")

    def _again(self, host: NodeHost, started: float, session: StandardProcessSession) -> bool:
        """Within the run duration, trigger again in the same session?"""
        if self.run_duration <= 0 or self.configured.context.yield_requested or not self.running \
                or self.waiting_for_primary:
            return False
        if host.clock_seconds() - started >= self.run_duration:
            return False
        if self.back_pressured():
            return False
        if self._needs_input():
            now_ms = host.clock()
            return any(q.has_available(now_ms) for q in self.inputs)
        return True

    def _run_sync(self, host: NodeHost, session: StandardProcessSession, started: float) -> None:
        processor, context = self.configured.processor, self.configured.context
        while True:
            processor.on_trigger(context, session)
            if self.after_on_trigger is not None:
                self.after_on_trigger()
            if self.run_duration <= 0:
                break
            # Queue state belongs to the event loop: ask there, not from this thread.
            if trio.lowlevel.in_trio_run():
                again = self._again(host, started, session)
            else:
                again = trio.from_thread.run_sync(self._again, host, started, session)
            if not again:
                break

    def bulletin(self, host: NodeHost, level: str, message: str) -> None:
        """Log a message of this component; it becomes a bulletin when its level is at
        least the component's bulletin level (NiFi's setting, WARN by default)."""
        if _RANK.get(level, 30) < _RANK.get(self.definition.bulletin_level, 30):
            log.log(logging.DEBUG if level == "DEBUG" else logging.INFO, "%s[%s]: %s", self.name, self.id, message)
            return
        b = Bulletin(host.clock(), self.id, self.name, level, message)
        self.bulletins.append(b)
        host.bulletins.append(b)
        host.bulletin_count += 1
        log.log(logging.ERROR if level == "ERROR" else logging.WARNING, "%s[%s]: %s", self.name, self.id, message)


def _scope_of(configured: ConfiguredProcessor) -> str:
    """The processor's state scope for its configuration: "CLUSTER" or "LOCAL"
    (also when the configuration cannot say, e.g. an invalid property: such a
    processor does not run)."""
    try:
        scope = configured.processor.state_scope(configured.context)
    except Exception:
        return "LOCAL"
    return "CLUSTER" if str(scope).upper() == "CLUSTER" else "LOCAL"
