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
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import trio

from flowyard.runtime import expression
from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._component import ConfiguredProcessor
from flowyard.runtime.engine._funnel import FUNNEL_RELATIONSHIP, Funnel
from flowyard.runtime.engine._node import Bulletin, ProcessorNode
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import StandardProcessSession
from flowyard.runtime.flow import ConnectionDef, FlowDef, ProcessorDef
from flowyard.runtime.repository import Repositories, Transaction
from flowyard.runtime.repository._codec import flowfile_key, pack_attrs
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._processor import Processor
from flowyard.runtime.sdk._properties import Evaluator
from flowyard.runtime.sdk._provenance import ProvenanceEventType as E
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = ["Engine", "EngineStatus"]

log = logging.getLogger("flowyard.engine")

_FAR_FUTURE_MS = 1 << 62


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
        evaluator: Evaluator | None = None,
        max_threads: int = 8,
        grace_seconds: float = 10.0,
        swap_threshold: int = 20_000,
        provenance_max_events: int = 1_000_000,
        source: str = "flow",
    ) -> None:
        self.flow = flow
        self.repositories = repositories
        self.registry = registry
        #: Evaluates property Expression Language (NiFi's EL with the flow's parameters).
        self.evaluator = evaluator if evaluator is not None else expression.evaluator(flow.parameters)
        self.grace_seconds = grace_seconds
        self.swap_threshold = swap_threshold
        self.provenance_max_events = provenance_max_events
        self.thread_limiter = trio.CapacityLimiter(max_threads)
        self.bulletins: collections.deque[Bulletin] = collections.deque(maxlen=1000)
        #: Bulletins raised since start (``bulletins`` keeps only the last 1,000).
        self.bulletin_count = 0
        self.nodes: dict[str, ProcessorNode] = {}
        self.queues: dict[str, FlowFileQueue] = {}
        self._trio_clock: Any = None
        self._t0 = 0.0
        self._wall0_ms = int(time.time() * 1000)
        self.committer = Committer(repositories, self.clock)
        self._stop = trio.Event()
        #: Set once ``run`` has shut everything down.
        self.finished = trio.Event()
        self._nursery: trio.Nursery | None = None
        self.recovered: dict[str, int] = {}
        self.orphaned_queues: dict[int, int] = {}
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
        flow = self.flow
        for i, pdef in enumerate(flow.processors):
            where = f"rootGroup.processors[{i}]"
            cls = resolve_type(self.registry, pdef.type)
            if cls is None:
                known = ", ".join(sorted(self.registry))
                raise FlowDefinitionError(f"unknown processor type {pdef.type!r}; known types: {known}",
                                          source=source, where=f"{where}.type")
            self.nodes[pdef.identifier] = self._make_node(pdef, cls, source, where)
        for f in flow.funnels:
            pdef = ProcessorDef(identifier=f.identifier, type="Funnel", name="Funnel", position=f.position)
            self.nodes[f.identifier] = self._make_node(pdef, Funnel, source, "funnel")
        for i, c in enumerate(flow.connections):
            self._connect(c, source, f"rootGroup.connections[{i}]")
        for node in self.nodes.values():
            node.set_routing(node.definition.auto_terminated)

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
                evaluator=self.evaluator, bulletins=sink, clock=self.clock, parameters=self.flow.parameters,
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
        async with trio.open_nursery() as committer_nursery:
            committer_nursery.start_soon(self.committer.run)
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._housekeeping)
                for node in self.nodes.values():
                    if node.definition.scheduled_state == "RUNNING" or node.type_name == "Funnel":
                        try:
                            self.start_processor(node.id)
                        except FlowyardError as exc:
                            node.bulletin(self, "WARNING", f"not started: {exc}")
                task_status.started(self)
                await self._stop.wait()
                await self._stop_all()
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
        archived content in slices of 10,000 until nothing more is due, and keep
        provenance to ``provenance_max_events``."""
        content = self.repositories.content
        provenance = self.repositories.provenance
        while True:
            await trio.sleep(5)
            while await self.committer.exclusive(lambda: content.expire_archive(self.clock())):
                await trio.lowlevel.checkpoint()
            await self.committer.exclusive(lambda: provenance.expire(self.provenance_max_events))

    # -- changing the graph while it runs ------------------------------------------------

    def _resolve(self, pdef: ProcessorDef) -> type[Processor]:
        cls = resolve_type(self.registry, pdef.type)
        if cls is None:
            raise FlowDefinitionError(f"unknown processor type {pdef.type!r}; known types: "
                                      f"{', '.join(sorted(self.registry))}", where="type")
        return cls

    def add_processor(self, pdef: ProcessorDef) -> ProcessorNode:
        """Add a processor (started if its scheduled state is RUNNING and it is valid).
        Raises ``FlowDefinitionError`` for an unknown type or unreadable settings."""
        if pdef.identifier in self.nodes or pdef.identifier in self.queues:
            raise FlowDefinitionError(f"identifier {pdef.identifier!r} is already used")
        node = self._make_node(pdef, self._resolve(pdef), "flow", "processor")
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
        if (was_running or pdef.scheduled_state == "RUNNING") and node.is_valid and node.state != "DISABLED":
            self.start_processor(node.id)
        return node

    async def remove_processor(self, component_id: str) -> None:
        """Remove a processor that no connection touches (stopping it first)."""
        node = self.nodes[component_id]
        if node.inputs or any(node.outputs.values()):
            raise FlowyardError(f"{node.name} still has connections: remove them first")
        await self.stop_processor(component_id)
        del self.nodes[component_id]

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
        rels = [FUNNEL_RELATIONSHIP] if src.type_name == "Funnel" else list(cdef.relationships)
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

    def add_connection(self, cdef: ConnectionDef) -> FlowFileQueue:
        """Connect two components while the flow runs. Raises ``FlowDefinitionError``."""
        src, dst = self._connect(cdef, "", "connection")
        src.set_routing(src.definition.auto_terminated)
        dst.set_routing(dst.definition.auto_terminated)
        dst.poke()
        return self.queues[cdef.identifier]

    async def remove_connection(self, connection_id: str, *, drop: bool = False) -> int:
        """Disconnect. A queue holding flowfiles is refused unless ``drop`` (then its
        flowfiles are dropped with DROP events); flowfiles a processor is working on
        are never dropped (stop it first). Returns how many were dropped."""
        queue = self.queues[connection_id]
        if queue.in_flight:
            raise FlowyardError(f"a processor is working on {queue.in_flight} flowfile(s) of connection "
                                f"{connection_id!r}: stop it first")
        if queue.count and not drop:
            raise FlowyardError(f"connection {connection_id!r} holds {queue.count} queued flowfile(s): empty it "
                                "first, or ask to drop them")
        dropped = await self.empty_queue(connection_id) if queue.count else 0
        del self.queues[connection_id]
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
        connection_id = queue.connection_id
        now = self.clock()
        txn = Transaction()
        for ff in victims:
            txn.ff_deletes.append(flowfile_key(queue.queue_id, ff[7]))
            if ff[2] is not None:
                txn.claim_deltas[ff[2][0]] = txn.claim_deltas.get(ff[2][0], 0) - 1
            txn.events.append(StandardProcessSession._row(
                E.DROP, ff, pack_attrs(ff[1]), connection_id, "Connection", now,
                details="FlowFile Queue emptied by user"))
        try:
            self.repositories.write([txn], now)
        except Exception:
            queue.requeue(victims)
            raise
        queue.acknowledge(victims)
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
