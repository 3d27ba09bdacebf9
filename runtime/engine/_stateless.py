"""Stateless process groups (NiFi 2's Stateless execution engine).

A *stateless unit* (``flow._engines``) runs in invocations. One invocation:

1. takes flowfiles at one entry: an input port of the unit (what waits in the
   connections into it) or a source processor inside it that is due;
2. runs them through every processor of the unit in memory: each step is an
   ordinary trigger of an ordinary ``ProcessorNode`` with an ordinary session,
   but the connections inside the unit are private queues of this invocation
   (nothing is written for them, nothing is visible in the engine's queues)
   and the session's commit goes to a ``_Collector`` instead of the committer:
   its moves on private queues happen at once, the rest waits. Small content
   written by a step (inline chunks, stored only with the one commit) is kept
   in an overlay all the steps' sessions share, so later steps read it;
3. ends when nothing inside can move: the transactions of every step are
   merged into one (records only for the connections out of the unit and the
   input taken at the entry; every provenance event of every step; content
   counts summed) and written by the committer as one commit. Only then do
   the flowfiles leave the entry connection and reach the connections out.

Any failure (a processor raising, a flowfile left without a destination, a
step that leaves its input untouched, the stateless flow timeout, a failed
write) rolls the whole invocation back: the input returns to its connection
penalized, content written meanwhile is discarded, nothing reaches the
connections out. A kill -9 during an invocation leaves the store as it was
before it: the input is still queued.

The processors of a unit are started and stopped as usual (their
``on_scheduled``/``on_stopped`` run), but they have no task loops of their
own: ``StatelessUnits`` runs one runner per unit with ``max_concurrent_tasks``
invocations at a time, each with its own private queues. An invocation runs
only while every component of the unit is running.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio

from flowyard.runtime.engine._committer import Committer, PendingCommit
from flowyard.runtime.engine._funnel import PASS_THROUGH
from flowyard.runtime.engine._gcpause import collector_paused
from flowyard.runtime.engine._host import Bulletin, committing_session
from flowyard.runtime.engine._node import ProcessorNode
from flowyard.runtime.engine._queue import FlowFileQueue, QueueMoves
from flowyard.runtime.engine._session import StandardProcessSession
from flowyard.runtime.engine._session_commit import PreparedCommit, Routing
from flowyard.runtime.flow import FlowDef, GroupDef
from flowyard.runtime.flow._engines import effective_engine, engine_problems, unit_of
from flowyard.runtime.repository import Transaction
from flowyard.runtime.sdk._errors import FlowDefinitionError
from flowyard.runtime.sdk._processor import InputRequirement
from flowyard.runtime.sdk._units import parse_duration

#: The engine (``_engine_core.EngineCore``, which imports this module: typed ``Any`` here).
EngineCore = Any

__all__ = ["InvocationFailed", "StatelessUnits", "check_engines"]

log = logging.getLogger("flowyard.engine.stateless")

#: Private queues never apply back pressure or swap: an invocation runs to completion.
_UNBOUNDED = 1 << 62
#: How often an invocation waiting out a penalty inside the group looks whether it was stopped (s).
_PENALTY_POLL = 0.1


class InvocationFailed(Exception):
    """Why an invocation was rolled back (the text goes into the bulletin)."""


class _Collector(Committer):
    """Takes the commits of one invocation's steps in the committer's place:
    moves on private queues at once, everything else kept for the one write."""

    def __init__(self, engine: EngineCore, private: set[FlowFileQueue]) -> None:
        super().__init__(engine.repositories, engine.clock)
        self._private = private
        self.commits: list[PreparedCommit] = []

    def submit(self, prepared: PreparedCommit) -> PendingCommit:
        private = self._private
        moves = prepared.moves
        QueueMoves({q: f for q, f in moves.acks.items() if q in private},
                   {q: f for q, f in moves.enqueue.items() if q in private}).apply(self.clock())
        prepared.moves = QueueMoves({q: f for q, f in moves.acks.items() if q not in private},
                                    {q: f for q, f in moves.enqueue.items() if q not in private})
        self.commits.append(prepared)
        pending = PendingCommit(prepared)
        pending.done.set()
        return pending

    async def commit(self, prepared: PreparedCommit) -> None:
        self.submit(prepared)
        await trio.lowlevel.checkpoint()


class _Host:
    """The ``NodeHost`` of the steps of one invocation: the engine's, but
    sessions route through the invocation's private queues and commit to the
    collector. Cluster-scoped state is kept locally inside a stateless group."""

    cluster_state = None

    def __init__(self, engine: EngineCore, collector: _Collector, routings: dict[str, Routing]) -> None:
        self._engine = engine
        self.committer = collector
        self.routings = routings
        #: Small content the steps wrote (inline chunks, written with the invocation's one
        #: commit): every step's session reads through it. Content files are on disk at once.
        self.overlay: dict[bytes, bytes] = {}
        self.grace_seconds = engine.grace_seconds
        self.thread_limiter = engine.thread_limiter
        self.disk = engine.disk
        self.clock = engine.clock
        self.clock_seconds = engine.clock_seconds
        self.storage_full = engine.storage_full

    @property
    def bulletins(self) -> Any:
        return self._engine.bulletins

    @property
    def bulletin_count(self) -> int:
        return int(self._engine.bulletin_count)

    @bulletin_count.setter
    def bulletin_count(self, value: int) -> None:
        self._engine.bulletin_count = value

    def new_session(self, node: ProcessorNode, early: list[PendingCommit]) -> StandardProcessSession:
        return committing_session(self.routings[node.id], self._engine.repositories, self._engine.clock,
                                  self.committer, early, self.read_state, self.overlay)

    def read_state(self, component_id: str) -> tuple[int, dict[str, str]]:
        """A component's state as the steps before left it: the values the last of them
        set, with the version the first found (what the merged commit expects), or the
        stored state when no step of this invocation set it."""
        staged: tuple[int, dict[str, str]] | None = None
        for prepared in self.committer.commits:
            step = prepared.transaction.states.get(component_id)
            if step is not None:
                staged = (step[0] if staged is None else staged[0], step[1])
        if staged is None:
            return self._engine._read_state(component_id)  # type: ignore[no-any-return]
        return staged[0], dict(staged[1])


def merge(commits: list[PreparedCommit], private_ids: set[int]) -> Transaction:
    """One transaction for the steps of an invocation: flowfile records only for
    queues outside the unit, everything else of every step."""
    txn = Transaction()
    for pc in commits:
        t = pc.transaction
        txn.placed.extend(r for r in t.placed if r.queue_id not in private_ids)
        txn.removed.extend(r for r in t.removed if r.queue_id not in private_ids)
        txn.inline_content.extend(t.inline_content)
        for resource, delta in t.claim_deltas.items():
            txn.claim(resource, delta)
        txn.new_lengths.update(t.new_lengths)
        txn.streamed.extend(t.streamed)
        txn.events.extend(t.events)
        for component_id, (expected, values) in t.states.items():
            first = txn.states.get(component_id)
            txn.states[component_id] = (expected if first is None else first[0], values)
    return txn


class _Runner:
    """Runs the invocations of one stateless unit while any of its components runs."""

    def __init__(self, units: StatelessUnits, unit_id: str) -> None:
        self.units = units
        self.engine = units.engine
        self.unit_id = unit_id
        self.wake = trio.Event()
        self.active = 0
        self.idle = trio.Event()
        self.idle.set()
        self.invocations = 0
        self.rollbacks = 0
        self.next_entry = 0
        self._checked: FlowDef | None = None
        self._problems: list[str] = []
        #: Set when the runner has ended: a component that starts then needs a new one.
        self.done = False

    # -- what the unit is now -----------------------------------------------------------

    def unit(self) -> GroupDef | None:
        flow: FlowDef = self.engine.flow
        return flow.group(self.unit_id)

    def members(self, unit: GroupDef) -> list[ProcessorNode]:
        """The unit's nodes, upstream first: depth first from its entries along its connections."""
        nodes = self.engine.nodes
        groups = list(unit.walk())
        ids = [p.identifier for g in groups for p in (*g.input_ports, *g.output_ports)]
        ids += [p.identifier for g in groups for p in g.processors] + [f.identifier for g in groups for f in g.funnels]
        inside = set(ids)
        downstream: dict[str, list[str]] = {}
        for g in groups:
            for c in g.connections:
                downstream.setdefault(c.source, []).append(c.destination)
        fed = {d for ds in downstream.values() for d in ds}
        ports = {p.identifier for p in unit.input_ports}
        order: list[str] = []
        seen: set[str] = set()
        frontier = [i for i in ids if i in ports or i not in fed] + ids
        while frontier:
            nid = frontier.pop(0)
            if nid in seen or nid not in inside or nid not in nodes:
                continue
            seen.add(nid)
            order.append(nid)
            frontier[0:0] = downstream.get(nid, [])
        return [nodes[i] for i in order]

    @staticmethod
    def entries(unit: GroupDef, members: list[ProcessorNode]) -> list[ProcessorNode]:
        """Input ports of the unit, and processors inside it that take no flowfiles from a connection."""
        ports = {p.identifier for p in unit.input_ports}
        fed = {c.destination for g in unit.walk() for c in g.connections}
        return [n for n in members if n.id in ports or (n.id not in fed and n.type_name not in PASS_THROUGH)]

    def exits(self, unit: GroupDef) -> list[FlowFileQueue]:
        nodes = self.engine.nodes
        return [q for p in unit.output_ports if p.identifier in nodes
                for qs in nodes[p.identifier].outputs.values() for q in qs]

    # -- running ------------------------------------------------------------------------

    def ready(self, unit: GroupDef, members: list[ProcessorNode]) -> tuple[ProcessorNode | None, float]:
        """The entry to run an invocation from now, or None and when to look again."""
        engine = self.engine
        scheduled = self.units.scheduled
        if engine.disk.paused or not members or not all(n.running and n.id in scheduled for n in members):
            return None, math.inf
        if self._checked is not engine.flow:
            self._checked = engine.flow
            inside = {g.identifier for g in unit.walk()}
            inside |= {p.identifier for g in unit.walk() for p in g.processors}
            inside |= {c.identifier for g in unit.walk() for c in g.connections}
            problems = [m for where, m in engine_problems(engine.flow) if where in inside]
            if problems:
                self._bulletin(unit, "not run: " + "; ".join(problems))
            self._problems = problems
        if self._problems:
            return None, math.inf
        if any(q.is_full() for q in self.exits(unit)):
            return None, math.inf  # the connections out wake us (on_space)
        now = trio.current_time()
        now_ms = engine.clock()
        deadline = math.inf
        entries = self.entries(unit, members)
        for i in range(len(entries)):
            node = entries[(self.next_entry + i) % len(entries)]
            if node.waiting_for_primary:
                continue
            if now < node.yield_until:
                deadline = min(deadline, node.yield_until)
                continue
            if node.inputs and node.configured.type.spec.input_requirement is not InputRequirement.FORBIDDEN:
                if any(q.has_available(now_ms) for q in node.inputs):
                    self.next_entry = (self.next_entry + i + 1) % len(entries)
                    return node, now
                for q in node.inputs:
                    expiry = q.next_penalty_expiry()
                    if expiry is not None:
                        deadline = min(deadline, now + max(0.0, (expiry - now_ms) / 1000.0) + 0.001)
                continue
            if node.inputs:  # a port that takes nothing: nothing to do
                continue
            if now < node.next_run:
                deadline = min(deadline, node.next_run)
                continue
            self.next_entry = (self.next_entry + i + 1) % len(entries)
            return node, now
        return None, deadline

    async def run(self) -> None:
        """Until no component of the unit runs any more. ``done`` is set with no
        checkpoint after the last look, so a component started meanwhile either
        keeps this runner going or finds it done and starts a new one."""
        while True:
            unit = self.unit()
            tasks = unit.max_concurrent_tasks if unit is not None else 1
            async with trio.open_nursery() as nursery:
                for _ in range(tasks):
                    nursery.start_soon(self._loop)
            if not self.running():
                self.done = True
                return

    def running(self) -> bool:
        unit = self.unit()
        return unit is not None and any(n.running for n in self.members(unit))

    async def _loop(self) -> None:
        while self.running():
            unit = self.unit()
            assert unit is not None
            members = self.members(unit)
            entry, deadline = self.ready(unit, members)
            if entry is None:
                self.wake = trio.Event()
                with trio.move_on_at(deadline):
                    await self.wake.wait()
                continue
            self.active += 1
            self.idle = trio.Event()
            try:
                await self.invoke(unit, members, entry)
            finally:
                self.active -= 1
                if not self.active:
                    self.idle.set()
            await trio.lowlevel.checkpoint()

    async def invoke(self, unit: GroupDef, members: list[ProcessorNode], entry: ProcessorNode) -> bool:
        """One invocation from ``entry``; returns whether it committed something. The cycle
        collector pauses meanwhile (``_gcpause``): the invocation's flowfiles, sessions and
        events live until its one commit, and the collector would walk them again and again."""
        with collector_paused(alone=True):
            return await self._invoke(unit, members, entry)

    async def _invoke(self, unit: GroupDef, members: list[ProcessorNode], entry: ProcessorNode) -> bool:
        engine = self.engine
        conns = {c.identifier: c for g in unit.walk() for c in g.connections}
        private: dict[str, FlowFileQueue] = {}
        for cid, cdef in conns.items():
            shared = engine.queues.get(cid)
            if shared is None:
                continue
            private[cid] = FlowFileQueue(cid, shared.queue_id, object_threshold=_UNBOUNDED, size_threshold=_UNBOUNDED,
                                         expiration_ms=shared.expiration_ms, prioritizers=cdef.prioritizers,
                                         swap_threshold=_UNBOUNDED)
        queues = set(private.values())
        packed: dict[int, tuple[dict[str, str], bytes]] = {}
        routings = {}
        for node in members:
            r = node.routing
            routings[node.id] = Routing(
                node.id, node.type_name,
                inputs=[private.get(q.connection_id, q) for q in r.inputs],
                destinations={name: [private.get(q.connection_id, q) for q in qs]
                              for name, qs in r.destinations.items()},
                auto_terminated=r.auto_terminated, relationships=r.relationships, penalty_ms=r.penalty_ms,
                unreadable=r.unreadable, private=queues, packed=packed)
        collector = _Collector(engine, queues)
        host = _Host(engine, collector, routings)
        timeout = parse_duration(unit.stateless_flow_timeout)
        started = trio.current_time()
        self.invocations += 1
        try:
            await self._step(host, entry)
            while True:
                now_ms = engine.clock()
                todo = next((n for n in members if any(q in queues and q.has_available(now_ms)
                                                       for q in routings[n.id].inputs)), None)
                if todo is None:
                    left = sum(q.count for q in queues)
                    expiries = [e for q in queues if q.count and (e := q.next_penalty_expiry()) is not None]
                    if left and expiries:
                        # penalized by a step (PutFile's failure, say): as in NiFi, the flowfile
                        # waits out its penalty inside the invocation, within the flow timeout
                        wait = max(0.0, (min(expiries) - now_ms) / 1000.0) + 0.001
                        if trio.current_time() + wait - started > timeout:
                            raise InvocationFailed(
                                f"{left} flowfile(s) penalized inside the group would wait longer than the "
                                f"stateless flow timeout ({unit.stateless_flow_timeout}); shorten the Penalty "
                                "Duration of the processors that penalize them")
                        until = trio.current_time() + wait
                        while trio.current_time() < until:  # a stop of the group ends the wait
                            if not all(n.running for n in members):
                                raise InvocationFailed("the group was stopped while flowfiles penalized inside "
                                                       "it waited")
                            await trio.sleep(min(_PENALTY_POLL, until - trio.current_time()))
                        continue
                    if left:
                        raise InvocationFailed(f"{left} flowfile(s) were left in connections inside the group "
                                               "that nothing took")
                    break
                if trio.current_time() - started > timeout:
                    raise InvocationFailed(f"the invocation ran longer than the stateless flow timeout "
                                           f"({unit.stateless_flow_timeout})")
                before = sum(q.count + q.in_flight for q in routings[todo.id].inputs if q in queues)
                taken_before = len(collector.commits)
                await self._step(host, todo)
                after = sum(q.count for q in routings[todo.id].inputs if q in queues)
                if after >= before and len(collector.commits) == taken_before:
                    raise InvocationFailed(f"{todo.name} took none of the {after} flowfile(s) waiting for it")
        except InvocationFailed as exc:
            self._roll_back(collector.commits, exc)
            self.rollbacks += 1
            self._bulletin(unit, f"invocation rolled back, {self._retry(entry)}: {exc}")
            return False
        if not collector.commits:
            return False
        commits = collector.commits
        txn = merge(commits, {q.queue_id for q in queues})

        def applied() -> None:
            now = engine.clock()
            for pc in commits:
                for exc in pc.apply(now):
                    log.warning("commit callback failed: %r", exc)

        def aborted(error: BaseException | None) -> None:
            self._roll_back(commits, error)

        prepared = PreparedCommit(txn, QueueMoves(), on_success=(applied,), on_failure=(aborted,))
        try:
            await engine.committer.commit(prepared)
        except Exception as exc:
            self.rollbacks += 1
            self._bulletin(unit, f"invocation rolled back, {self._retry(entry)}: the commit failed: {exc}")
            return False
        return True

    @staticmethod
    def _retry(entry: ProcessorNode) -> str:
        """After a rollback: an input port's flowfiles are back in their connection, penalized, and
        wait that long. A source inside the group has nothing to penalize: it yields for the
        administrative yield duration (as a processor that fails), so a failing invocation is not
        retried in a tight loop. Returns what the bulletin says about it."""
        if entry.inputs:
            return "input penalized"
        entry.yield_until = max(entry.yield_until, trio.current_time() + entry.admin_yield_seconds)
        return f"{entry.name} yields for {entry.admin_yield_seconds:g} s"

    async def _step(self, host: _Host, node: ProcessorNode) -> None:
        await node.trigger(host)  # type: ignore[arg-type]
        if node.last_error is not None:
            raise InvocationFailed(f"{node.name} failed: {node.last_error}")

    @staticmethod
    def _roll_back(commits: list[PreparedCommit], error: BaseException | None) -> None:
        """Give back what the invocation took outside the unit, penalized (each step's commit
        carries its session's penalty; only the entry's took from outside), drop its content."""
        for pc in reversed(commits):
            pc.abort(error, penalize=True)

    def _bulletin(self, unit: GroupDef, message: str) -> None:
        engine = self.engine
        engine.bulletins.append(Bulletin(engine.clock(), unit.identifier, unit.name, "ERROR", message))
        engine.bulletin_count += 1
        log.error("stateless group %s[%s]: %s", unit.name, unit.identifier, message)


class StatelessUnits:
    """The engine's stateless groups: which unit a component belongs to, and the runners."""

    def __init__(self, engine: EngineCore) -> None:
        self.engine = engine
        self.runners: dict[str, _Runner] = {}
        #: Components whose ``on_scheduled`` has succeeded and that have not stopped since.
        self.scheduled: set[str] = set()

    def unit_id(self, component_id: str) -> str | None:
        """The stateless unit ``component_id`` runs in, or None (standard engine)."""
        flow = self.engine.flow
        gid = self.engine.group_of.get(component_id)
        if gid is None:
            return None
        unit = unit_of(flow, gid)
        return None if unit is None else unit.identifier

    async def run_member(self, node: ProcessorNode, unit_id: str) -> None:
        """``node.run`` for a component of a stateless unit: scheduled as usual, no task
        loop of its own; the unit's runner triggers it. Starts the runner if needed."""
        runner = self.runners.get(unit_id)
        if runner is None or runner.done:
            runner = self.runners[unit_id] = _Runner(self, unit_id)
            nursery = self.engine._nursery
            assert nursery is not None

            async def run_unit(runner: _Runner) -> None:
                try:
                    await runner.run()
                finally:
                    runner.done = True
                    if self.runners.get(unit_id) is runner:
                        del self.runners[unit_id]
            nursery.start_soon(run_unit, runner)
        current = runner

        async def loop(host: Any) -> None:
            self.scheduled.add(node.id)  # on_scheduled has succeeded: the runner may trigger it
            try:
                current.wake.set()
                while node.running:
                    node.wake = trio.Event()
                    await node.wake.wait()
                    current.wake.set()
                current.wake.set()
            finally:
                self.scheduled.discard(node.id)
            await current.idle.wait()  # no invocation uses the node any more

        await node.run(self.engine, loop=loop)



def check_engines(engine: EngineCore, new: FlowDef) -> None:
    """Refuse a flow whose stateless groups hold what they may not (``engine_problems``),
    or that changes how a group runs while anything in it runs or waits in a
    connection inside it (NiFi too wants the group stopped and empty first).
    Raises ``FlowDefinitionError`` naming every problem."""
    problems = list(engine_problems(new))
    old: FlowDef = engine.flow
    for group in new.walk():
        if old.group(group.identifier) is None:
            continue
        before, after = effective_engine(old, group.identifier), effective_engine(new, group.identifier)
        if before == after:
            continue
        inside = old.group(group.identifier)
        assert inside is not None
        ids = [p.identifier for g in inside.walk() for p in g.processors]
        ids += [p.identifier for g in inside.walk() for p in (*g.input_ports, *g.output_ports)]
        running = [engine.nodes[i].name for i in ids if i in engine.nodes and
                   (engine.nodes[i].running or not engine.nodes[i].stopped.is_set())]
        queued = sum(engine.queues[c.identifier].count + engine.queues[c.identifier].in_flight
                     for g in inside.walk() for c in g.connections if c.identifier in engine.queues)
        if running:
            problems.append((group.identifier, f"process group {group.name!r} would change from the {before.lower()} "
                                               f"to the {after.lower()} engine while {', '.join(running[:5])} "
                                               f"{'is' if len(running) == 1 else 'are'} running: stop the group "
                                               "first"))
        elif queued:
            problems.append((group.identifier, f"process group {group.name!r} would change from the {before.lower()} "
                                               f"to the {after.lower()} engine while {queued} flowfile(s) wait in "
                                               "connections inside it: empty them first"))
    if problems:
        raise FlowDefinitionError(problems[0][1], where=problems[0][0], problems=problems)
