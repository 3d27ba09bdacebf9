"""The engine's core: what it is built of and the calls a running node needs.

``EngineCore`` builds the queues and processor nodes of a flow definition,
recovers the queues, owns the clock, sessions, the committer and the disk
guard's callbacks, and starts and stops processors. ``EngineGraph``
(``_engine_graph``) adds the graph changes made while the flow runs and
``Engine`` (``_engine``) the run loop and housekeeping; use ``Engine``.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from flowyard.runtime import expression
from flowyard.runtime.engine._balance import balancing
from flowyard.runtime.engine._cluster_state import ClusterStateStore
from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._diskguard import DEFAULT_PAUSE_BELOW, DEFAULT_RESUME_ABOVE, DiskGuard
from flowyard.runtime.engine._funnel import FUNNEL_RELATIONSHIP, PASS_THROUGH
from flowyard.runtime.engine._host import committing_session
from flowyard.runtime.engine._node import Bulletin, ProcessorNode
from flowyard.runtime.engine._partition import Partitioner
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._services import EngineServices
from flowyard.runtime.engine._session import StandardProcessSession
from flowyard.runtime.engine._stateless import StatelessUnits
from flowyard.runtime.engine._stats import StatisticsHolder
from flowyard.runtime.flow import ConnectionDef, FlowDef, FunnelDef, GroupDef, PortDef, ProcessorDef
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._properties import Evaluator
from flowyard.runtime.sdk._service import ControllerService
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = ["EngineCore", "EngineStatus", "resolve_type"]

log = logging.getLogger("flowyard.engine")


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
    #: Whether this node is the cluster's primary node (a single node is).
    primary: bool = True
    #: Running primary-node-only processors not triggered here because this node is not primary.
    waiting_for_primary: int = 0


def resolve_type(registry: Mapping[str, type[Processor]], type_name: str) -> type[Processor] | None:
    """Find a processor class by flowyard type name or NiFi's fully qualified class name."""
    return registry.get(type_name) or registry.get(type_name.rsplit(".", 1)[-1])


class EngineCore:
    """Queues, nodes, clock, sessions and start/stop of a flow; see ``Engine``."""

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
        #: Cluster hooks, wired by ``bootstrap`` when the node is in a cluster
        #: (docs/cluster-internals.md); on a single node: no partitioner, no
        #: cluster state store, and the node is primary.
        self.partitioner: Partitioner | None = None
        self.cluster_state: ClusterStateStore | None = None
        #: Whether this node is the cluster's primary node (``Engine.set_primary``).
        self.primary = True
        #: After recovery, move every object that then exists (modules and the libraries the
        #: processors import, the flow, the recovered queues) to the garbage collector's permanent
        #: generation (``gc.freeze``), so that the full collections that flowfiles streaming through
        #: trigger now and then do not walk them again each time (with the whole processor library
        #: loaded that walk cost chain5 a quarter of its throughput), and collect the youngest
        #: generation every 10,000 net allocations instead of 700 (``gc.set_threshold(10_000, 10,
        #: 10)``): the objects of a batch mostly die by reference count before the collector would
        #: see them (chain5: 5% fewer instructions per flowfile). For a process that runs one
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
        #: Stateless process groups: which components run in invocations, and their runners.
        self.stateless = StatelessUnits(self)
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

    def clock_seconds(self) -> float:
        """trio's clock (callable from worker threads too)."""
        if self._trio_clock is None:
            return 0.0
        return float(self._trio_clock.current_time())

    def clock(self) -> int:
        """Epoch milliseconds, advancing with trio's clock."""
        return self._wall0_ms + int((self.clock_seconds() - self._t0) * 1000)

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
        node.primary = self.primary
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

    def _resolve(self, pdef: ProcessorDef) -> type[Processor]:
        cls = resolve_type(self.registry, pdef.type)
        if cls is None:
            raise FlowDefinitionError(f"unknown processor type {pdef.type!r}; known types: "
                                      f"{', '.join(sorted(self.registry))}", where="type")
        return cls

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

    def _recover(self) -> None:
        """Put every committed flowfile back in its queue, in order."""
        self.recovered = self.repositories.recover()
        flowfiles = self.repositories.flowfiles
        by_qid = {q.queue_id: q for q in self.queues.values()}
        now = self.clock()
        for qid in list(flowfiles.queues_with_records()):
            queue = by_qid.get(qid)
            if queue is None:
                surveyed = flowfiles.surveyed(qid)  # counted when the store was opened
                self.orphaned_queues[qid] = surveyed.count if surveyed else flowfiles.count_queue(qid)[0]
                continue
            load = flowfiles.load_queue(qid, self.swap_threshold)
            queue.restore(load.head, load.swapped_count, load.swapped_size, load.swap_from_seq, load.last_seq, now)
        balancing(self).configure()  # the partitions of load-balanced connections (``<connection>#lb:<node>``)
        for qid, count in self.orphaned_queues.items():
            log.warning("%d flowfile(s) are kept in queue %d, whose connection is not in the flow", count, qid)

    def new_session(self, node: ProcessorNode, early: list[PendingCommit]) -> StandardProcessSession:
        """A session for one trigger of ``node`` (``_host.committing_session``, the
        one the test kit uses too). Its state is the repository's, or the cluster
        state the node read for this trigger when its state is cluster-scoped."""
        cluster = node.take_cluster_state()
        if cluster is None:
            return committing_session(node.routing, self.repositories, self.clock, self.committer, early,
                                      self._read_state)

        def read_cluster(component_id: str) -> tuple[int, dict[str, str]]:
            return cluster[0], dict(cluster[1])

        return committing_session(node.routing, self.repositories, self.clock, self.committer, early, read_cluster)

    def _read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        state = self.repositories.state.get(component_id)
        return state.version, dict(state.values)

    def set_primary(self, primary: bool) -> None:
        """This node became (True) or stopped being (False) the cluster's primary node.

        Processors whose ``executionNode`` is PRIMARY stay scheduled everywhere (as in
        NiFi, ``on_scheduled`` runs on every node) but are triggered only on the
        primary: losing the role stops triggering them
        (a trigger in progress finishes and commits), winning it triggers those
        that are running (scheduled state RUNNING) again at once. Other
        processors are unaffected. Idempotent; call it on the event loop."""
        primary = bool(primary)
        if primary == self.primary:
            return
        self.primary = primary
        for node in self.nodes.values():
            node.primary = primary
            if node.execution_node == "PRIMARY":
                node.poke()

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
        unit = self.stateless.unit_id(node.id)
        if unit is None:
            self._nursery.start_soon(node.run, self)
        else:
            self._nursery.start_soon(self.stateless.run_member, node, unit)

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
        if self.stateless.unit_id(node.id) is not None:
            raise FlowyardError(f"{node.name} is in a stateless process group: it runs only in the group's "
                                "invocations; start the group instead of running it once")
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


def _paths(group: GroupDef, path: str) -> list[tuple[GroupDef, str]]:
    """Every group below and including ``group`` with its place in the flow file."""
    found = [(group, path)]
    for i, child in enumerate(group.groups):
        found += _paths(child, f"{path}.processGroups[{i}]")
    return found
