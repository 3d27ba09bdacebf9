"""Changing the flow graph while it runs: processors, funnels, ports and
connections added, reconfigured and removed; parameters re-applied; queues
listed and emptied. ``EngineGraph`` is the middle layer of ``Engine``.
"""

from __future__ import annotations

import trio

from flowyard.runtime import expression
from flowyard.runtime.engine._balance import balancing, empty_partitions
from flowyard.runtime.engine._engine_core import EngineCore
from flowyard.runtime.engine._funnel import FUNNEL_RELATIONSHIP, PASS_THROUGH
from flowyard.runtime.engine._node import ProcessorNode
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.flow import ConnectionDef, FunnelDef, PortDef, ProcessorDef
from flowyard.runtime.repository import Transaction
from flowyard.runtime.sdk._errors import FlowDefinitionError, FlowyardError
from flowyard.runtime.sdk._flowfile import FlowFile
from flowyard.runtime.sdk._units import parse_data_size, parse_duration

__all__ = ["EngineGraph"]

_FAR_FUTURE_MS = 1 << 62


class EngineGraph(EngineCore):
    """Graph changes and queue actions of a running engine; see ``Engine``."""

    def add_pass_through(self, component: FunnelDef | PortDef, type_name: str, group_id: str) -> ProcessorNode:
        """Add a funnel (``type_name`` Funnel) or port (InputPort, OutputPort) while the flow runs."""
        node = self._add_pass_through(component, type_name, group_id)
        node.set_routing(())
        self.start_if_scheduled(node)
        return node

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

    def add_connection(self, cdef: ConnectionDef, group_id: str | None = None) -> FlowFileQueue:
        """Connect two components while the flow runs. Raises ``FlowDefinitionError``."""
        src, dst = self._connect(cdef, "", "connection")
        self.group_of[cdef.identifier] = group_id or self.flow.identifier
        balancing(self).configure_queue(self.queues[cdef.identifier], cdef)
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
        balancing(self).configure_queue(queue, cdef)  # a changed load-balance strategy applies at once
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
        flowfiles are dropped with DROP events, those waiting in its load-balance
        partitions too). Its two ends are stopped while it goes (so no commit in
        progress lands in it; a trigger at work on its flowfiles ends first) and started
        again. Flowfiles a processor still holds once stopped (a trigger abandoned after
        the grace period) are never dropped: the removal is refused. Returns how many
        were dropped."""
        queue = self.queues[connection_id]
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

    def list_queue(self, connection_id: str, limit: int = 100) -> list[FlowFile]:
        """The first ``limit`` flowfiles of a connection's queue, in the order they
        would be taken (NiFi's "List queue"; swapped-out flowfiles are not listed)."""
        return self.queues[connection_id].listing(limit)

    async def empty_queue(self, connection_id: str, *, batch: int = 10_000) -> int:
        """Drop every flowfile waiting in a connection's queue (NiFi's "Empty
        queue"), swapped-out ones included, and in a load-balanced connection's
        partitions for other nodes too, each with a DROP event. Flowfiles a
        processor has already taken, and a batch a load-balance sender has in
        flight, are not touched. Returns how many were dropped."""
        queue = self.queues[connection_id]
        dropped = 0
        while True:
            n = await self.committer.exclusive(lambda: self._drop_batch(queue, batch))
            if not n:
                break
            dropped += n
            await trio.lowlevel.checkpoint()
        if queue.partitions:
            dropped += await empty_partitions(self, queue, batch=batch)
        return dropped

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

    # -- component state (NiFi's "View state" and "Clear state") ---------------------------

    def _stateful_node(self, component_id: str) -> ProcessorNode:
        node = self.nodes.get(component_id)
        if node is None or node.type_name in PASS_THROUGH:
            raise FlowyardError(f"no processor has id {component_id!r}")
        return node

    async def component_state(self, component_id: str) -> tuple[str, dict[str, str], int]:
        """A processor's state: its scope ("LOCAL" or "CLUSTER"), values and version.
        Cluster-scoped state comes from the cluster store when there is one (its
        errors propagate), otherwise from the repository. Raises ``FlowyardError``
        for an unknown id."""
        node = self._stateful_node(component_id)
        if node.state_scope == "CLUSTER" and self.cluster_state is not None:
            values, version = await self.cluster_state.get(component_id)
            return "CLUSTER", dict(values), version
        state = self.repositories.state.get(component_id)
        return node.state_scope, dict(state.values), state.version

    async def clear_state(self, component_id: str) -> None:
        """Empty a processor's state where it lives (the cluster store for cluster-scoped
        state in a cluster, else the repository); its version goes on increasing, so
        a session that read the state before is refused. As NiFi, refused
        (``FlowyardError``) while the processor is running or stopping."""
        node = self._stateful_node(component_id)
        if node.running or not node.stopped.is_set():
            raise FlowyardError(f"{node.name} is running; stop it before clearing its state")
        if node.state_scope == "CLUSTER" and self.cluster_state is not None:
            await self.cluster_state.clear(component_id)
            return
        repositories = self.repositories

        def clear() -> None:  # a transaction: the repository's version cache follows
            version = repositories.state_version(component_id)
            if version == 0:
                return
            txn = Transaction()
            txn.states[component_id] = (version, {})
            if repositories.write([txn], self.clock()):
                raise FlowyardError(f"the state of {node.name} changed while it was being cleared; try again")

        await self.committer.exclusive(clear)
