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

import collections
import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from flowyard.runtime import expression
from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._diskguard import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE, DiskGuard, human_size
from flowyard.runtime.engine._funnel import FUNNEL_RELATIONSHIP, PASS_THROUGH
from flowyard.runtime.engine._node import Bulletin, ProcessorNode
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._services import EngineServices
from flowyard.runtime.engine._session import StandardProcessSession
from flowyard.runtime.engine._stats import StatisticsHolder
from flowyard.runtime.flow import ConnectionDef, FlowDef, FunnelDef, GroupDef, PortDef, ProcessorDef
from flowyard.runtime.repository import MemoryStore, Repositories, Transaction
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError, RepositoryError
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._properties import Evaluator
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = ["Engine", "EngineStatus"]

log = logging.getLogger("flowyard.engine")

_FAR_FUTURE_MS = 1 << 62
#: How often the repository's durable point is recorded (``Store.mark_durable``).
DURABLE_MARK_SECONDS = 1.0
#: How often the free space of the repository's disk is read.
DISK_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """A snapshot of the whole flow's figures."""

    flowfiles_in: int
    flowfiles_out: int
    queued_count: int
    queued_bytes: int
    running: int
    stopped: int
    invalid: int
    bulletins: int


def resolve_type(registry: Mapping[str, type[Processor]], type_name: str) -> type[Processor] | None:
    """Find a processor class by flowyard type name or NiFi's fully qualified class name."""
    return registry.get(type_name) or registry.get(type_name.rsplit(".", 1)[-1])


class Engine:
    """A flow running on repositories. See the module docstring."""

    def __init__(
        self,
        flow: FlowDef,
        repositories: Repositories,
        *,
        registry: Mapping[str, type[Processor]],
        service_types: Mapping[str, type[ControllerService]] | None = None,
        evaluator: Evaluator | None = None,
        max_threads: int = 8,
        grace_seconds: float = 10.0,
        swap_threshold: int = 20_000,
        provenance_max_events: int = 1_000_000,
        provenance_max_age_ms: int = 24 * 3600 * 1000,
        provenance_max_bytes: int = 1 << 30,
        disk_pause_below: int = DEFAULT_PAUSE_BELOW,
        disk_resume_above: int = DEFAULT_RESUME_ABOVE,
        source: str = "flow",
        freeze_heap: bool = False,
    ) -> None:
        self.flow = flow
        #: After recovery, move every object that then exists (modules and the libraries the
        #: processors import, the flow, the recovered queues) to the garbage collector's permanent
        #: generation (``gc.freeze``), so that the full collections that flowfiles streaming through
        #: trigger now and then do not walk them again each time (with the whole processor library
        #: loaded that walk cost chain5 a quarter of its throughput). For a process that runs one
        #: engine for its lifetime: the CLI sets it; tests that build many engines do not.
        self.freeze_heap = freeze_heap
        self.repositories = repositories
        self.registry = registry
        #: Evaluates property Expression Language for every group (tests); by default
        #: each group gets NiFi's EL with its parameter context's parameters.
        self._fixed_evaluator = evaluator
        self._evaluators: dict[str | None, Evaluator] = {}
        #: The process group of every component and connection (by identifier).
        self.group_of: dict[str, str] = {}
        #: Groups being built (``adopting``) before they join the flow definition.
        self._adopting: dict[str, GroupDef] = {}
        #: Controller services, scoped to their group and its descendants.
        self.controller_services = EngineServices(self, service_types or {})
        self.grace_seconds = grace_seconds
        self.swap_threshold = swap_threshold
        self.provenance_max_events = provenance_max_events
        #: Provenance retention by age and by bytes used (NiFi's max.storage.time / .size); 0 disables.
        self.provenance_max_age_ms = provenance_max_age_ms
        self.provenance_max_bytes = provenance_max_bytes
        self.thread_limiter = trio.CapacityLimiter(max_threads)
        self.bulletins: collections.deque[Bulletin] = collections.deque(maxlen=1000)
        #: Bulletins raised since start (``bulletins`` keeps only the last 1,000).
        self.bulletin_count = 0
        self.nodes: dict[str, ProcessorNode] = {}
        self.queues: dict[str, FlowFileQueue] = {}
        self._trio_clock: Any = None
        self._t0 = 0.0
        self._wall0_ms = int(time.time() * 1000)
        #: Free disk space as back pressure (see ``_diskguard``).
        self.disk = DiskGuard(getattr(repositories.store, "path", None), disk_pause_below, disk_resume_above)
        self._room = trio.Event()  # set when processing resumes after a pause for space
        self.committer = Committer(repositories, self.clock, on_full=self.storage_full, wait_room=self._wait_room)
        self._stop = trio.Event()
        #: Set once ``run`` has shut everything down.
        self.finished = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.recovered: dict[str, int] = {}
        self.orphaned_queues: dict[int, int] = {}
        #: Rolling statistics and status history of every component, sampled once a second while running.
        self.statistics = StatisticsHolder()
        self._build(source)

    # -- clock ---------------------------------------------------------------------

    def clock_seconds(self) -> float:
        """trio's clock (callable from worker threads too)."""
        if self._trio_clock is None:
            return 0.0
        return float(self._trio_clock.current_time())

    def clock(self) -> int:
        """Epoch milliseconds, advancing with trio's clock."""
        return self._wall0_ms + int((self.clock_seconds() - self._t0) * 1000)

    # -- building ------------------------------------------------------------------

    def _build(self, source: str) -> None:
        """Every group's processors, funnels and ports become nodes, every group's
        connections queues: the engine runs the flattened graph."""
        groups = _paths(self.flow, "rootGroup")
        for group, path in groups:
            for i, sdef in enumerate(group.controller_services):
                self.controller_services.add(sdef, group.identifier, f"{path}.controllerServices[{i}]", source)
        for group, path in groups:
            for i, pdef in enumerate(group.processors):
                where = f"{path}.processors[{i}]"
                cls = resolve_type(self.registry, pdef.type)
                if cls is None:
                    known = ", ".join(sorted(self.registry))
                    raise FlowDefinitionError(f"unknown processor type {pdef.type!r}; known types: {known}",
                                              source=source, where=f"{where}.type")
                self.group_of[pdef.identifier] = group.identifier
                self.nodes[pdef.identifier] = self._make_node(pdef, cls, source, where)
            for f in group.funnels:
                self._add_pass_through(f, "Funnel", group.identifier)
            for port in group.input_ports:
                self._add_pass_through(port, "InputPort", group.identifier)
            for port in group.output_ports:
                self._add_pass_through(port, "OutputPort", group.identifier)
        for group, path in groups:
            for i, c in enumerate(group.connections):
                self.group_of[c.identifier] = group.identifier
                self._connect(c, source, f"{path}.connections[{i}]")
        for node in self.nodes.values():
            node.set_routing(node.definition.auto_terminated)

    def _add_pass_through(self, component: FunnelDef | PortDef, type_name: str, group_id: str) -> ProcessorNode:
        """A funnel or port node (always RUNNING for a funnel; as scheduled for a port)."""
        if component.identifier in self.nodes or component.identifier in self.queues:
            raise FlowDefinitionError(f"identifier {component.identifier!r} is already used")
        name = getattr(component, "name", "") or type_name
        state = getattr(component, "scheduled_state", "RUNNING")
        pdef = ProcessorDef(identifier=component.identifier, type=type_name, name=name,
                            position=component.position, scheduled_state=state)
        self.group_of[component.identifier] = group_id
        node = self._make_node(pdef, PASS_THROUGH[type_name], "flow", type_name)
        self.nodes[component.identifier] = node
        return node

    def add_pass_through(self, component: FunnelDef | PortDef, type_name: str, group_id: str) -> ProcessorNode:
        """Add a funnel (``type_name`` Funnel) or port (InputPort, OutputPort) while the flow runs."""
        node = self._add_pass_through(component, type_name, group_id)
        node.set_routing([])
        self.start_if_scheduled(node)
        return node

    def start_if_scheduled(self, node: ProcessorNode) -> bool:
        """Start a component scheduled to run once it is valid (e.g. just connected)."""
        return node.definition.scheduled_state == "RUNNING" and self.resume(node)

    def resume(self, node: ProcessorNode) -> bool:
        """Start a stopped component again if it is valid and enabled (after a change
        that needed it stopped). Returns whether it was started."""
        if node.is_valid and not node.running and node.state != "DISABLED" and node.stopped.is_set() \
                and self._nursery is not None:
            self.start_processor(node.id)
            return True
        return False

    def _group(self, component_id: str) -> GroupDef:
        gid = self.group_of.get(component_id, self.flow.identifier)
        group = self.flow.group(gid) or self._adopting.get(gid)
        return group if group is not None else self.flow

    @contextlib.contextmanager
    def adopting(self, group: GroupDef) -> Iterator[None]:
        """While inside, components added to ``group`` or its descendants find
        their group (its parameters) although the group is not yet part of the
        flow definition: a new group is built in the engine first and joins the
        flow once complete."""
        added = {g.identifier: g for g in group.walk()}
        self._adopting.update(added)
        try:
            yield
        finally:
            for gid in added:
                self._adopting.pop(gid, None)

    def evaluator_for(self, component_id: str) -> Evaluator:
        """The EL evaluator of ``component_id``'s group (its parameter context's parameters)."""
        if self._fixed_evaluator is not None:
            return self._fixed_evaluator
        ctx = self._group(component_id).parameter_context
        found = self._evaluators.get(ctx)
        if found is None:
            found = self._evaluators[ctx] = expression.evaluator(self.flow.parameters_for(self._group(component_id)))
        return found

    async def parameters_changed(self, group_ids: set[str], names: set[str] | None = None) -> list[str]:
        """Re-apply ``#{}`` references after parameters changed: every processor of
        ``group_ids`` whose properties reference one of ``names`` (any parameter:
        None) is reconfigured live — stopped, updated, restarted, as NiFi does.
        Controller services of those groups that reference them are re-enabled
        with the new values first. Returns the ids of the processors reconfigured."""
        self._evaluators.clear()
        await self.controller_services.reapply_parameters(group_ids, names)
        changed = []
        for node in list(self.nodes.values()):
            if node.type_name in PASS_THROUGH or self.group_of.get(node.id) not in group_ids:
                continue
            refs: set[str] = set()
            for value in node.definition.properties.values():
                if value and "#{" in value:
                    refs |= expression.parameter_references(value)
            if refs and (names is None or refs & names):
                await self.reconfigure_processor(node.definition)
                changed.append(node.id)
        return changed

    def _make_queue(self, c: ConnectionDef) -> FlowFileQueue:
        flowfiles = self.repositories.flowfiles
        return FlowFileQueue(
            c.identifier, flowfiles.queue_id(c.identifier),
            object_threshold=c.back_pressure_object_threshold,
            size_threshold=parse_data_size(c.back_pressure_data_size_threshold),
            expiration_ms=int(parse_duration(c.flowfile_expiration) * 1000),
            prioritizers=c.prioritizers,
            swap_threshold=self.swap_threshold,
            loader=flowfiles.read_range,
        )

    def _make_node(self, pdef: ProcessorDef, cls: type[Processor], source: str, where: str) -> ProcessorNode:
        holder: list[ProcessorNode] = []
        configured = self._configure(pdef, cls, source, where, holder)
        node = ProcessorNode(pdef, configured)
        node.state = "DISABLED" if pdef.scheduled_state == "DISABLED" else "STOPPED"
        holder.append(node)
        return node

    def _configure(self, pdef: ProcessorDef, cls: type[Processor], source: str, where: str,
                   holder: list[ProcessorNode]) -> ConfiguredProcessor:
        """The configured processor; its log bulletins go to the node in ``holder``."""
        def sink(level: str, message: str) -> None:
            if holder:
                holder[0].bulletin(self, level, message)

        try:
            configured = ConfiguredProcessor(
                cls, component_id=pdef.identifier, name=pdef.name or None, properties=pdef.properties,
                evaluator=self.evaluator_for(pdef.identifier), bulletins=sink, clock=self.clock,
                parameters=self.flow.parameters_for(self._group(pdef.identifier)),
                services=self.controller_services.lookup(self.group_of.get(pdef.identifier, self.flow.identifier)),
                concurrent_tasks=pdef.concurrent_tasks,
                penalty=pdef.penalty_duration, yield_duration=pdef.yield_duration,
            )
        except FlowyardError as exc:
            raise FlowDefinitionError(str(exc), source=source, where=where) from None
        return configured

    def _recover(self) -> None:
        """Put every committed flowfile back in its queue, in order."""
        self.recovered = self.repositories.recover()
        flowfiles = self.repositories.flowfiles
        by_qid = {q.queue_id: q for q in self.queues.values()}
        now = self.clock()
        for qid in list(flowfiles.queues_with_records()):
            queue = by_qid.get(qid)
            if queue is None:
                count, _ = flowfiles.count_queue(qid)
                self.orphaned_queues[qid] = count
                log.warning("%d flowfile(s) are kept in queue %d, whose connection is not in the flow", count, qid)
                continue
            load = flowfiles.load_queue(qid, self.swap_threshold)
            queue.restore(load.head, load.swapped_count, load.swapped_size, load.swap_from_seq, load.last_seq, now)

    # -- sessions ------------------------------------------------------------------

    def new_session(self, node: ProcessorNode, early: list[PendingCommit]) -> StandardProcessSession:
        """A session for one trigger of ``node``, usable from the event loop and from
        a worker thread alike (queue operations always run on the loop).

        An explicit ``session.commit()`` goes through the committer like every
        other write: from a worker thread it waits until the commit is durable;
        on the event loop (which cannot block) it is queued, in order, and
        appended to ``early`` for the trigger to await with its final commit.
        """
        def hook(session: StandardProcessSession) -> None:
            if trio.lowlevel.in_trio_run():
                early.append(self.committer.submit(session.prepare_commit()))
            else:
                trio.from_thread.run(self._commit_now, session)

        return StandardProcessSession(node.routing, self.repositories, self.clock, queue_access=_on_loop,
                                      state_reader=self._read_state, commit_hook=hook)

    async def _commit_now(self, session: StandardProcessSession) -> None:
        await self.committer.commit(session.prepare_commit())

    def _read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        state = self.repositories.state.get(component_id)
        return state.version, dict(state.values)

    # -- running -------------------------------------------------------------------

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

    def start_processor(self, component_id: str) -> None:
        """Start a processor (no-op if running). Raises ``FlowyardError`` if it is invalid or disabled."""
        node = self.nodes[component_id]
        if node.running:
            return
        if node.state == "DISABLED":
            raise FlowyardError(f"{node.name} is disabled")
        if not node.stopped.is_set():
            raise FlowyardError(f"{node.name} is still stopping; start it again once it has stopped")
        if not node.is_valid:
            raise FlowyardError(f"{node.name} is invalid: " + "; ".join(map(str, node.validation)))
        if self._nursery is None:
            raise FlowyardError("the engine is not running")
        node.running = True
        node.state = "RUNNING"
        node.stopped = trio.Event()
        node.schedule_first(self)
        self._nursery.start_soon(node.run, self)

    async def stop_processor(self, component_id: str) -> None:
        """Stop a processor: no new triggers; waits for the ones in progress."""
        node = self.nodes[component_id]
        if not node.running:
            return
        node.running = False
        node.poke()
        await node.stopped.wait()

    async def run_once(self, component_id: str) -> None:
        """Trigger a stopped processor exactly once (NiFi's "Run Once")."""
        node = self.nodes[component_id]
        if self._nursery is None:
            raise FlowyardError("the engine is not running")
        if node.running or not node.stopped.is_set():
            raise FlowyardError(f"{node.name} is running or stopping; stop it to run it once")
        if node.state == "DISABLED":
            raise FlowyardError(f"{node.name} is disabled")
        if not node.is_valid:
            raise FlowyardError(f"{node.name} is invalid: " + "; ".join(map(str, node.validation)))
        processor, context = node.configured.processor, node.configured.context
        node.running = True
        node.stopped = trio.Event()
        try:
            with trio.CancelScope() as scope:
                node.cancel_scope = scope
                await node._call(self, processor.on_scheduled, context)
                await node.trigger(self)
                await node._call(self, processor.on_stopped, context)
        finally:
            node.running = False
            node.cancel_scope = None
            node.stopped.set()

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

    # -- free disk space ---------------------------------------------------------------

    def storage_full(self, error: BaseException) -> None:
        """A write failed for want of space: pause processing (one bulletin)."""
        self.disk.look()
        if self.disk.write_failed(error):
            self._disk_bulletin("ERROR", self.disk.reason)

    async def _wait_room(self) -> bool:
        """Until processing resumes after a pause for space (True), or the engine
        is asked to stop first (False)."""
        while self.disk.paused and not self._stop.is_set():
            async with trio.open_nursery() as nursery:
                async def wake(event: trio.Event) -> None:
                    await event.wait()
                    nursery.cancel_scope.cancel()
                nursery.start_soon(wake, self._room)
                nursery.start_soon(wake, self._stop)
        return not self._stop.is_set()

    def _disk_bulletin(self, level: str, message: str) -> None:
        self.bulletins.append(Bulletin(self.clock(), "repository", "Repository", level, message))
        self.bulletin_count += 1
        log.log(logging.ERROR if level == "ERROR" else logging.WARNING, "repository: %s", message)

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

    # -- changing the graph while it runs ------------------------------------------------

    def _resolve(self, pdef: ProcessorDef) -> type[Processor]:
        cls = resolve_type(self.registry, pdef.type)
        if cls is None:
            raise FlowDefinitionError(f"unknown processor type {pdef.type!r}; known types: "
                                      f"{', '.join(sorted(self.registry))}", where="type")
        return cls

    def add_processor(self, pdef: ProcessorDef, group_id: str | None = None) -> ProcessorNode:
        """Add a processor to a group (the root group by default), started if its
        scheduled state is RUNNING and it is valid. Raises ``FlowDefinitionError``
        for an unknown type or unreadable settings."""
        if pdef.identifier in self.nodes or pdef.identifier in self.queues:
            raise FlowDefinitionError(f"identifier {pdef.identifier!r} is already used")
        self.group_of[pdef.identifier] = group_id or self.flow.identifier
        try:
            node = self._make_node(pdef, self._resolve(pdef), "flow", "processor")
        except BaseException:
            del self.group_of[pdef.identifier]
            raise
        self.nodes[pdef.identifier] = node
        node.set_routing(pdef.auto_terminated)
        if pdef.scheduled_state == "RUNNING" and node.is_valid and self._nursery is not None:
            self.start_processor(pdef.identifier)
        return node

    async def reconfigure_processor(self, pdef: ProcessorDef) -> ProcessorNode:
        """Apply a new configuration to a processor: if it runs, it is stopped
        (triggers in progress finish), reconfigured and started again. Its queues
        are untouched. On a configuration error nothing changes."""
        node = self.nodes[pdef.identifier]
        configured = self._configure(pdef, self._resolve(pdef), "flow", "processor", [node])
        was_running = node.running
        if was_running:
            await self.stop_processor(node.id)
        node.apply_definition(pdef, configured)
        node.state = "DISABLED" if pdef.scheduled_state == "DISABLED" else "STOPPED"
        node.set_routing(pdef.auto_terminated)
        wanted = pdef.scheduled_state == "RUNNING" or (was_running and pdef.scheduled_state != "STOPPED")
        if wanted and node.is_valid and node.state != "DISABLED":
            self.start_processor(node.id)
        return node

    async def remove_processor(self, component_id: str) -> None:
        """Remove a processor that no connection touches (stopping it first)."""
        node = self.nodes[component_id]
        if node.inputs or any(node.outputs.values()):
            raise FlowyardError(f"{node.name} still has connections: remove them first")
        await self.stop_processor(component_id)
        del self.nodes[component_id]
        self.group_of.pop(component_id, None)

    def _connect(self, cdef: ConnectionDef, source: str, where: str) -> tuple[ProcessorNode, ProcessorNode]:
        """Create the queue of ``cdef`` and wire it to its ends (routing is the caller's
        to rebuild). Raises ``FlowDefinitionError`` naming ``where``."""
        if cdef.identifier in self.queues or cdef.identifier in self.nodes:
            raise FlowDefinitionError(f"identifier {cdef.identifier!r} is already used", source=source, where=where)
        src, dst = self.nodes.get(cdef.source), self.nodes.get(cdef.destination)
        if src is None or dst is None:
            missing = cdef.source if src is None else cdef.destination
            raise FlowDefinitionError(f"no processor or funnel has identifier {missing!r}", source=source,
                                      where=where)
        rels = [FUNNEL_RELATIONSHIP] if src.type_name in PASS_THROUGH else list(cdef.relationships)
        unknown = [r for r in rels if r not in src.configured.relationship_names]
        if unknown or not rels:
            raise FlowDefinitionError(
                f"{src.name} has no relationship {unknown[0]!r}; it has: {', '.join(src.configured.relationship_names)}"
                if unknown else "a connection must carry at least one relationship",
                source=source, where=f"{where}.selectedRelationships")
        queue = self._make_queue(cdef)
        queue.on_data.append(dst.poke)
        queue.on_space.append(src.poke)
        self.queues[cdef.identifier] = queue
        dst.inputs.append(queue)
        for r in rels:
            src.outputs.setdefault(r, []).append(queue)
        return src, dst

    def add_connection(self, cdef: ConnectionDef, group_id: str | None = None) -> FlowFileQueue:
        """Connect two components while the flow runs. Raises ``FlowDefinitionError``."""
        src, dst = self._connect(cdef, "", "connection")
        self.group_of[cdef.identifier] = group_id or self.flow.identifier
        src.set_routing(src.definition.auto_terminated)
        dst.set_routing(dst.definition.auto_terminated)
        self.start_if_scheduled(src)
        self.start_if_scheduled(dst)
        dst.poke()
        return self.queues[cdef.identifier]

    def reconfigure_connection(self, cdef: ConnectionDef) -> FlowFileQueue:
        """Apply new settings to a connection while data flows: back pressure,
        expiration and prioritizers change in place (queued flowfiles stay and are
        re-ordered); a new destination or new relationships re-route it. Raises
        ``FlowDefinitionError`` (nothing changes then)."""
        queue = self.queues[cdef.identifier]
        src, dst = self.nodes.get(cdef.source), self.nodes.get(cdef.destination)
        if src is None or dst is None:
            missing = cdef.source if src is None else cdef.destination
            raise FlowDefinitionError(f"no processor, funnel or port has identifier {missing!r}",
                                      where="connection")
        rels = [FUNNEL_RELATIONSHIP] if src.type_name in PASS_THROUGH else list(cdef.relationships)
        unknown = [r for r in rels if r not in src.configured.relationship_names]
        if unknown or not rels:
            raise FlowDefinitionError(
                f"{src.name} has no relationship {unknown[0]!r}; it has: {', '.join(src.configured.relationship_names)}"
                if unknown else "a connection must carry at least one relationship",
                where="connection.selectedRelationships")
        old_src = next(n for n in self.nodes.values() if any(queue in qs for qs in n.outputs.values()))
        old_dst = next(n for n in self.nodes.values() if queue in n.inputs)
        if old_src is not src:
            raise FlowDefinitionError("the source of a connection cannot change; connect anew instead",
                                      where="connection.source.id")
        if old_dst is not dst and queue.in_flight:
            raise FlowyardError(f"{old_dst.name} is working on {queue.in_flight} flowfile(s) of this connection: "
                                "stop it before re-routing")
        queue.object_threshold = cdef.back_pressure_object_threshold
        queue.size_threshold = parse_data_size(cdef.back_pressure_data_size_threshold)
        queue.expiration_ms = int(parse_duration(cdef.flowfile_expiration) * 1000)
        if tuple(cdef.prioritizers) != queue.prioritizers:
            queue.set_prioritizers(cdef.prioritizers)
        for rel in list(src.outputs):
            src.outputs[rel] = [q for q in src.outputs[rel] if q is not queue]
            if not src.outputs[rel]:
                del src.outputs[rel]
        for r in rels:
            src.outputs.setdefault(r, []).append(queue)
        if old_dst is not dst:
            old_dst.inputs.remove(queue)
            queue.on_data.remove(old_dst.poke)
            dst.inputs.append(queue)
            queue.on_data.append(dst.poke)
            old_dst.set_routing(old_dst.definition.auto_terminated)
        src.set_routing(src.definition.auto_terminated)
        dst.set_routing(dst.definition.auto_terminated)
        self.start_if_scheduled(src)
        self.start_if_scheduled(dst)
        src.poke()
        dst.poke()
        return queue

    async def remove_connection(self, connection_id: str, *, drop: bool = False) -> int:
        """Disconnect. A queue holding flowfiles is refused unless ``drop`` (then its
        flowfiles are dropped with DROP events); flowfiles a processor is working on
        are never dropped (stop it first). Its two ends are stopped while it goes (so
        no commit in progress lands in it) and started again. Returns how many were dropped."""
        queue = self.queues[connection_id]
        if queue.in_flight:
            raise FlowyardError(f"a processor is working on {queue.in_flight} flowfile(s) of connection "
                                f"{connection_id!r}: stop it first")
        if queue.count and not drop:
            raise FlowyardError(f"connection {connection_id!r} holds {queue.count} queued flowfile(s): empty it "
                                "first, or ask to drop them")
        ends = [n for n in self.nodes.values()
                if n.running and (queue in n.inputs or any(queue in qs for qs in n.outputs.values()))]
        for node in ends:
            await self.stop_processor(node.id)
        try:
            if queue.in_flight:
                raise FlowyardError(f"a processor is working on {queue.in_flight} flowfile(s) of connection "
                                    f"{connection_id!r}: stop it first")
            dropped = await self.empty_queue(connection_id) if queue.count else 0
        except BaseException:
            for node in ends:
                self.resume(node)
            raise
        del self.queues[connection_id]
        self.group_of.pop(connection_id, None)
        for node in self.nodes.values():
            touched = queue in node.inputs or any(queue in qs for qs in node.outputs.values())
            if queue in node.inputs:
                node.inputs.remove(queue)
            for rel in list(node.outputs):
                node.outputs[rel] = [q for q in node.outputs[rel] if q is not queue]
                if not node.outputs[rel]:
                    del node.outputs[rel]
            if touched:
                node.set_routing(node.definition.auto_terminated)
        for node in ends:  # a funnel or port with nowhere to go stays stopped until connected again
            self.resume(node)
        return dropped

    # -- queues --------------------------------------------------------------------

    def list_queue(self, connection_id: str, limit: int = 100) -> list[FlowFile]:
        """The first ``limit`` flowfiles of a connection's queue, in the order they
        would be taken (NiFi's "List queue"; swapped-out flowfiles are not listed)."""
        return self.queues[connection_id].listing(limit)

    async def empty_queue(self, connection_id: str, *, batch: int = 10_000) -> int:
        """Drop every flowfile waiting in a connection's queue (NiFi's "Empty
        queue"), swapped-out ones included, each with a DROP event. Flowfiles a
        processor has already taken are not touched. Returns how many were dropped."""
        queue = self.queues[connection_id]
        dropped = 0
        while True:
            n = await self.committer.exclusive(lambda: self._drop_batch(queue, batch))
            if not n:
                return dropped
            dropped += n
            await trio.lowlevel.checkpoint()

    def _drop_batch(self, queue: FlowFileQueue, batch: int) -> int:
        """One transaction of ``empty_queue``; runs as a committer job (single writer)."""
        # Far in the future every penalty has passed: penalized flowfiles go too.
        taken, expired = queue.poll(batch, _FAR_FUTURE_MS)
        victims = taken + expired
        if not victims:
            return 0
        now = self.clock()
        txn = Transaction()
        txn.drop(queue.queue_id, victims, queue.connection_id, "Connection", now,
                 details="FlowFile Queue emptied by user")
        moves = QueueMoves({queue: victims})
        try:
            self.repositories.write([txn], now)
        except Exception:
            moves.give_back()
            raise
        moves.apply(now)
        return len(victims)

    # -- status --------------------------------------------------------------------

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
        )


def _on_loop(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on the event loop: directly there, through trio from a worker thread."""
    if trio.lowlevel.in_trio_run():
        return fn()
    return trio.from_thread.run_sync(fn)


def _paths(group: GroupDef, path: str) -> list[tuple[GroupDef, str]]:
    """Every group below and including ``group`` with its place in the flow file."""
    found = [(group, path)]
    for i, child in enumerate(group.groups):
        found += _paths(child, f"{path}.processGroups[{i}]")
    return found
