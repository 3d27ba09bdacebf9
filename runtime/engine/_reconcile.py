"""The one way the running graph changes: reconcile from the engine's flow to a new one.

::

    p = plan(engine, new, drop=frozenset({"c7"}))   # raises ReconcileRefused; nothing changed yet
    report = await reconcile(engine, p)             # engine.flow is new afterwards
    report.failed                                   # {id: why}, per component

``plan`` diffs ``engine.flow`` against ``new`` (``_reconcile_diff.diff``) and
refuses what depends on runtime state: removing a connection that still holds
flowfiles (queued or being worked on) unless its id is in ``drop``. ``reconcile``
then cannot be refused; it applies the changes in this order (NiFi's flow
synchronizer: stop, tear down, build, restart):

1. stop the processors and ports being removed, reconfigured, stopped or disabled,
   the old destinations of re-routed connections, and the processors that use a
   service about to be disabled;
2. disable the services being removed, disabled or reconfigured (and the enabled
   services that reference them, dependents first);
3. remove connections (queues dropped only for ids in ``drop``), then nodes (one
   that a kept connection is re-routed away from goes at the end of step 5), then
   services; ``engine.flow`` becomes the new flow;
4. add and reconfigure services, enable what is scheduled ENABLED (one that fails:
   a bulletin, it stays disabled at runtime, ``failed`` says why; the flow keeps
   its desired state);
5. apply moves (``group_of``), add nodes (a large group in steps, the event loop
   free in between), reconfigure changed nodes, add connections, re-route
   changed ones (their queues kept);
6. re-apply changed parameters and re-bound contexts (``parameters_changed``);
7. start what is scheduled RUNNING among what was stopped, added or touched.

The table of what a change does (docs/design/flow-edits.md §2.3): a processor's
``position``/``comments`` only, a port's ``name`` too, a connection's ``name``/
``bends``: the definition only, nothing stops; other processor fields: stopped,
reconfigured, started again if scheduled RUNNING; ``scheduled_state``: start, stop,
or disable/enable (a processor is reconfigured on a transition to or from
DISABLED); a connection's ends or settings: ``reconfigure_connection`` (queue
kept; a new *source* re-creates the connection, which ``plan`` treats as a
removal); a moved component keeps its node and queue, a moved processor is
reconfigured only when its parameter context differs or it uses services.

The old flow object is never changed: edits produce new flows (path copying),
and a node's definition becomes the new flow's object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from flowyard.runtime.engine._gcpause import collector_paused
from flowyard.runtime.engine._preflight import preflight
from flowyard.runtime.engine._reconcile_diff import Change, Changes, Placed, diff
from flowyard.runtime.engine._stateless import check_engines
from flowyard.runtime.flow import FlowDef, FunnelDef, GroupDef, PortDef, ProcessorDef
from flowyard.runtime.sdk._errors import FlowyardError

if TYPE_CHECKING:
    from flowyard.runtime.engine._engine import Engine
    from flowyard.runtime.engine._node import ProcessorNode

__all__ = ["Plan", "ReconcileRefused", "ReconcileReport", "plan", "reconcile"]

log = logging.getLogger("flowyard.engine.reconcile")

#: Engine node kinds -> the pass-through type name (None: a processor).
NODE_KINDS: dict[str, str | None] = {"processor": None, "funnel": "Funnel", "input-port": "InputPort",
                                     "output-port": "OutputPort"}
#: Fields whose change touches only the definition (no stop).
_LAYOUT = frozenset({"position", "comments"})
_PORT_LAYOUT = frozenset({"position", "comments", "name"})
_CONNECTION_LAYOUT = frozenset({"name", "bends"})
#: Service fields that need the service disabled and reconfigured.
_SERVICE_CONFIG = frozenset({"properties", "name", "type"})


class ReconcileRefused(FlowyardError):
    """``plan`` refused the new flow before anything changed: connections it removes
    still hold flowfiles (``queued``: connection id -> count) and are not in ``drop``.
    Also raised by ``reconcile`` for a plan made for another flow than the engine's."""

    def __init__(self, message: str, queued: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.queued = dict(queued or {})


@dataclass(frozen=True, slots=True)
class Plan:
    """What ``reconcile`` will do; made by ``plan`` for the engine's flow ``old``."""

    old: FlowDef
    new: FlowDef
    changes: Changes
    #: Connections whose queued flowfiles may be dropped.
    drop: frozenset[str]
    #: Connections kept in the new flow that must be removed and added again (their
    #: source changed, or an end is replaced by another component with the same id).
    recreate: dict[str, Placed]
    #: Queues the engine still has, attached to a node that goes, for connections that
    #: neither flow holds (an earlier removal that failed, e.g. a trigger abandoned after
    #: the grace period still held flowfiles of it): removed with the node. What they still hold is dropped (DROP
    #: events): their removal was accepted, under the drop rule, by that earlier edit.
    orphans: tuple[str, ...] = ()


@dataclass(slots=True)
class ReconcileReport:
    """What ``reconcile`` did. ``failed``: component id (or parameter context / group id)
    -> why that part could not be applied; everything else was."""

    failed: dict[str, str] = field(default_factory=dict)
    #: Flowfiles dropped with removed connections.
    dropped: int = 0
    #: Nodes stopped for the change (they were running).
    stopped: list[str] = field(default_factory=list)
    #: Nodes started by step 7 (others may start as they are added or reconfigured).
    started: list[str] = field(default_factory=list)
    #: Processors and services given a new configuration.
    reconfigured: list[str] = field(default_factory=list)


def plan(engine: Engine, new: FlowDef, *, drop: frozenset[str] = frozenset()) -> Plan:
    """Diff ``engine.flow`` against ``new`` and check what depends on the engine:
    ``preflight`` (``FlowDefinitionError`` for what it could not build), and
    ``ReconcileRefused`` naming every connection to be removed that still holds
    flowfiles (queued or in flight) without its id in ``drop``. Changes nothing."""
    old = engine.flow
    preflight(engine, new)
    check_engines(engine, new)
    changes = diff(old, new)
    conns = changes["connection"]
    removed_nodes = {i for k in NODE_KINDS for i in changes[k].removed}
    attached = {q.connection_id for i in removed_nodes if i in engine.nodes
                for q in (*engine.nodes[i].inputs, *(q for qs in engine.nodes[i].outputs.values() for q in qs))}
    recreate: dict[str, Placed] = {}
    orphans: list[str] = []
    for cid in sorted(attached - conns.removed.keys()):
        change = conns.changed.get(cid)
        if change is not None and "destination" in change.fields and change.old.source not in removed_nodes \
                and "source" not in change.fields:
            continue  # re-routed away from a node that goes: its queue is kept (the node goes after)
        found = _placed(conns, cid)
        if found is None:  # unchanged object: where the new flow holds it (by its index)
            owner = new.owner(cid)
            cdef = None if owner is None else next((c for c in owner[0].connections if c.identifier == cid), None)
            if owner is None or cdef is None:
                # the engine still has a queue no flow holds a connection for: it goes with the node
                log.warning("connection %s, attached to a removed component, is in neither flow: removing its "
                            "queue", cid)
                orphans.append(cid)
                continue
            found = Placed(owner[0].identifier, cdef)
        recreate[cid] = found
    for cid, change in conns.changed.items():
        if "source" in change.fields:
            recreate[cid] = Placed(change.new_group, change.new)
    queued = {}
    for cid in sorted(conns.removed.keys() | recreate.keys()):
        queue = engine.queues.get(cid)
        held = queue.count + queue.in_flight if queue is not None else 0
        if held and cid not in drop:
            queued[cid] = held
    if queued:
        names = ", ".join(f"{cid!r} holds {n} queued flowfile(s)" for cid, n in queued.items())
        raise ReconcileRefused(f"connection {names}: empty it first, or ask to drop them"
                               if len(queued) == 1 else
                               f"connections would be removed that still hold flowfiles: {names}; empty them "
                               "first, or ask to drop them", queued)
    return Plan(old, new, changes, frozenset(drop), recreate, tuple(orphans))


def _placed(kind: Any, ident: str) -> Placed | None:
    """The new definition and group of ``ident`` if the diff saw it (changed, moved, same)."""
    for bucket in (kind.changed, kind.moved, kind.same):
        change = bucket.get(ident)
        if change is not None:
            return Placed(change.new_group, change.new)
    return None


async def reconcile(engine: Engine, p: Plan) -> ReconcileReport:
    """Change the running graph from ``p.old`` to ``p.new`` (see the module docstring).
    Per-id failures are reported in ``ReconcileReport.failed``, never raised; raises
    ``ReconcileRefused`` only for a plan made for another flow (nothing changed then).
    Cancelling it leaves the engine part-way (it waits for processors to stop, which
    is bounded only by their triggers in progress): callers let it finish."""
    if engine.flow is not p.old:
        raise ReconcileRefused("the plan was made for another flow than the engine runs: plan again")
    return await _Reconciler(engine, p).run()


class _Reconciler:
    """One reconcile: the steps of the module docstring, sharing what they found."""

    def __init__(self, engine: Engine, p: Plan) -> None:
        self.engine = engine
        self.plan = p
        self.changes = p.changes
        self.report = ReconcileReport()
        #: Nodes whose run state step 7 looks at again.
        self.touched: dict[str, None] = {}
        #: Removed nodes that connections are re-routed away from: they go after step 5's re-routing.
        self.deferred: list[str] = []
        self._groups: tuple[dict[str, GroupDef], dict[str, GroupDef]] | None = None

    def fail(self, ident: str, exc: BaseException | str) -> None:
        self.report.failed[ident] = str(exc)

    def groups(self) -> tuple[dict[str, GroupDef], dict[str, GroupDef]]:
        """Old and new groups by id (built once, when a move needs them)."""
        if self._groups is None:
            self._groups = ({g.identifier: g for g in self.plan.old.walk()},
                            {g.identifier: g for g in self.plan.new.walk()})
        return self._groups

    async def run(self) -> ReconcileReport:
        engine = self.engine
        services = engine.controller_services
        closure = self._service_closure()
        reconfigure = self._processors_to_reconfigure()
        await self._stop(self._to_stop(closure, reconfigure))
        await self._disable(closure)
        await self._remove()
        engine.flow = self.plan.new
        services.changed()
        _forget_evaluators(engine)
        self._services(closure)
        await self._build(reconfigure)
        await self._parameters()
        await self._restart()
        return self.report

    # -- what to do ------------------------------------------------------------------

    def _service_closure(self) -> list[str]:
        """Services to disable for the change: removed, disabled, reconfigured or moved
        ones, and (transitively) the services that reference them."""
        registry = self.engine.controller_services.registry
        kind = self.changes["controller-service"]
        base = set(kind.removed) | set(kind.moved)
        for sid, change in kind.changed.items():
            if change.fields & _SERVICE_CONFIG or change.new.scheduled_state == "DISABLED":
                base.add(sid)
        found: dict[str, None] = {}
        todo = sorted(s for s in base if s in registry)
        while todo:
            sid = todo.pop()
            if sid in found:
                continue
            found[sid] = None
            todo += [r for r in registry.referencing(sid) if r not in found]
        return list(found)

    def _processors_to_reconfigure(self) -> dict[str, ProcessorDef]:
        """Processors whose configuration changes (or that move where parameters or
        services differ), with their new definitions."""
        engine = self.engine
        kind = self.changes["processor"]
        found: dict[str, ProcessorDef] = {}
        for pid, change in kind.changed.items():
            rest = change.fields - _LAYOUT
            states = {change.old.scheduled_state, change.new.scheduled_state}
            if rest - {"scheduled_state"} or ("scheduled_state" in rest and "DISABLED" in states):
                found[pid] = change.new
        for pid, change in kind.moved.items():
            if pid in found or pid not in engine.nodes:
                continue
            old_groups, new_groups = self.groups()
            old_ctx = old_groups[change.old_group].parameter_context
            new_ctx = new_groups[change.new_group].parameter_context
            if old_ctx != new_ctx or engine.nodes[pid].configured.referenced_services():
                found[pid] = change.new
        return found

    def _to_stop(self, closure: list[str], reconfigure: dict[str, ProcessorDef]) -> list[str]:
        engine = self.engine
        ids: dict[str, None] = dict.fromkeys(i for k in NODE_KINDS for i in self.changes[k].removed)
        ids.update(dict.fromkeys(reconfigure))
        for k in NODE_KINDS:
            for ident, change in self.changes[k].changed.items():
                if "scheduled_state" in change.fields and change.new.scheduled_state != "RUNNING":
                    ids[ident] = None
        for change in self.changes["connection"].changed.values():
            if "destination" in change.fields:
                ids[change.old.destination] = None
        services = engine.controller_services
        for sid in closure:
            ids.update(dict.fromkeys(services.referencing_processors(sid)))
        return [i for i in ids if i in engine.nodes]

    # -- the steps -----------------------------------------------------------------------

    async def _stop(self, ids: list[str]) -> None:
        """Step 1: stop them all at once (each waits for its triggers in progress)."""
        engine = self.engine
        running = [i for i in ids if engine.nodes[i].running]
        async with trio.open_nursery() as nursery:
            for ident in running:
                nursery.start_soon(engine.stop_processor, ident)
        self.report.stopped += running
        self.touched.update(dict.fromkeys(ids))

    async def _disable(self, closure: list[str]) -> None:
        """Step 2: disable the enabled services of ``closure``, dependents first."""
        services = self.engine.controller_services
        registry = services.registry
        pending = {s for s in closure if registry.is_enabled(s)}
        while pending:
            ready = sorted(s for s in pending if not any(r in pending for r in registry.referencing(s) if r != s))
            for sid in ready or sorted(pending):
                try:
                    await services.disable(sid, stop_referencing=True)
                except FlowyardError as exc:
                    self.fail(sid, exc)
            pending -= set(ready or pending)

    async def _remove(self) -> None:
        """Step 3: connections, then nodes, then services."""
        engine = self.engine
        p = self.plan
        conns = self.changes["connection"]
        for cid in [*conns.removed, *p.recreate, *p.orphans]:
            if cid not in engine.queues:
                continue
            old = conns.removed.get(cid)
            cdef = old.definition if old is not None else None
            try:
                self.report.dropped += await engine.remove_connection(cid, drop=cid in p.drop or cid in p.orphans)
            except FlowyardError as exc:
                self.fail(cid, exc)
            if cdef is not None:
                self.touched.update(dict.fromkeys((cdef.source, cdef.destination)))
        for k in NODE_KINDS:
            for ident in self.changes[k].removed:
                node = engine.nodes.get(ident)
                if node is not None and node.inputs:
                    self.deferred.append(ident)  # a connection is re-routed away from it first (step 5)
                elif node is not None:
                    await self._remove_node(ident)
        services = engine.controller_services
        for sid in self.changes["controller-service"].removed:
            if sid in services.registry:
                try:
                    services.remove(sid)
                except FlowyardError as exc:
                    self.fail(sid, exc)

    async def _remove_node(self, ident: str) -> None:
        try:
            await self.engine.remove_processor(ident)
        except FlowyardError as exc:
            self.fail(ident, exc)

    def _services(self, closure: list[str]) -> None:
        """Step 4: add and reconfigure services, then enable what is scheduled ENABLED."""
        engine = self.engine
        services = engine.controller_services
        kind = self.changes["controller-service"]
        for sid, change in kind.moved.items():
            engine.group_of[sid] = change.new_group
        for sid, placed in kind.added.items():
            try:
                services.add(placed.definition, placed.group_id)
            except FlowyardError as exc:
                self.fail(sid, exc)
        for sid, change in {**kind.moved, **kind.changed}.items():
            if sid in services.registry and (change.moved or change.fields & _SERVICE_CONFIG):
                try:
                    services.reconfigure(change.new)
                except FlowyardError as exc:
                    self.fail(sid, exc)
                else:
                    self.report.reconfigured.append(sid)
        services.changed()
        enabled = self._enable_scheduled(self.plan.new.walk())
        for sid in dict.fromkeys([*closure, *enabled, *kind.removed]):
            self.touched.update(dict.fromkeys(services.referencing_processors(sid)))
            if sid in services.registry:
                services.revalidate(sid)

    def _enable_scheduled(self, groups: Iterator[GroupDef]) -> list[str]:
        """Enable the services of ``groups`` scheduled ENABLED but disabled at runtime;
        a failure is a bulletin and a ``failed`` entry. Returns the ids tried."""
        services = self.engine.controller_services
        registry = services.registry
        wanted = [s.identifier for g in groups for s in g.controller_services
                  if s.scheduled_state == "ENABLED" and s.identifier in registry
                  and not registry.is_enabled(s.identifier)]
        for sid, exc in registry.enable_all(wanted).items():
            services.bulletin(sid, registry.node(sid).name, "WARNING", f"not enabled: {exc}")
            self.fail(sid, f"not enabled: {exc}")
        return wanted

    async def _build(self, reconfigure: dict[str, ProcessorDef]) -> None:
        """Step 5: moves, new nodes, changed nodes, new and re-routed connections."""
        engine = self.engine
        for k in (*NODE_KINDS, "connection"):
            for ident, change in self.changes[k].moved.items():
                if ident in engine.nodes or ident in engine.queues:
                    engine.group_of[ident] = change.new_group
        steps = _Steps()
        with collector_paused():  # nothing the build makes is garbage
            for k, type_name in NODE_KINDS.items():
                for ident, placed in self.changes[k].added.items():
                    try:
                        if type_name is None:
                            engine.add_processor(placed.definition, placed.group_id)
                        else:
                            engine.add_pass_through(placed.definition, type_name, placed.group_id)
                    except FlowyardError as exc:
                        self.fail(ident, exc)
                    self.touched[ident] = None
                    await steps.step()
            await self._update_nodes(reconfigure, steps)
            conns = self.changes["connection"]
            for cid, placed in [*conns.added.items(), *self.plan.recreate.items()]:
                try:
                    engine.add_connection(placed.definition, placed.group_id)
                except FlowyardError as exc:
                    self.fail(cid, exc)
                await steps.step()
            for cid, change in conns.changed.items():
                if cid in self.plan.recreate or not change.fields - _CONNECTION_LAYOUT or cid not in engine.queues:
                    continue
                try:
                    engine.reconfigure_connection(change.new)
                except FlowyardError as exc:
                    self.fail(cid, exc)
                self.touched.update(dict.fromkeys((change.new.source, change.new.destination,
                                                   change.old.destination)))
            for ident in self.deferred:
                await self._remove_node(ident)
        self._revalidate_moved_groups()

    async def _update_nodes(self, reconfigure: dict[str, ProcessorDef], steps: _Steps) -> None:
        engine = self.engine
        for pid, pdef in reconfigure.items():
            if pid not in engine.nodes:
                continue
            try:
                await engine.reconfigure_processor(pdef)
            except FlowyardError as exc:
                self.fail(pid, exc)
            else:
                self.report.reconfigured.append(pid)
            self.touched[pid] = None
            await steps.step()
        kind = self.changes["processor"]
        for pid, change in {**kind.same, **kind.moved, **kind.changed}.items():
            if pid not in reconfigure and pid in engine.nodes:
                engine.nodes[pid].definition = change.new
                self.touched[pid] = None
        for k, type_name in NODE_KINDS.items():
            if type_name is None:
                continue
            for ident, change in {**self.changes[k].moved, **self.changes[k].changed}.items():
                node = engine.nodes.get(ident)
                if node is not None:
                    _pass_through_changed(node, change, type_name)
                    self.touched[ident] = None

    def _revalidate_moved_groups(self) -> None:
        """Processors below a moved group see other services now: validate them again."""
        moved = self.changes["process-group"].moved
        if not moved:
            return
        engine = self.engine
        engine.controller_services.changed()
        for change in moved.values():
            for g in change.new.walk():
                for pdef in g.processors:
                    node = engine.nodes.get(pdef.identifier)
                    if node is not None and node.configured.referenced_services():
                        node.set_routing(node.definition.auto_terminated)
                        self.touched[pdef.identifier] = None

    async def _parameters(self) -> None:
        """Step 6: changed parameters and re-bound groups (not the groups just added:
        their components were configured with the new flow)."""
        added: set[str] = set()
        for placed in self.changes["process-group"].added.values():
            added |= {g.identifier for g in placed.definition.walk()}
        affected: set[str] = set()
        for ctx_id, ctx in self.changes.contexts.items():
            groups = set(ctx.bound) - added
            if groups and ctx.parameters:
                await self._reapply(ctx_id, groups, set(ctx.parameters))
                affected |= groups
        for gid in self.changes.rebound:
            if gid not in added:
                await self._reapply(gid, {gid}, None)
                affected.add(gid)
        if affected:
            _, new_groups = self.groups()
            self._enable_scheduled(new_groups[g] for g in sorted(affected) if g in new_groups)

    async def _reapply(self, ident: str, groups: set[str], names: set[str] | None) -> None:
        try:
            changed = await self.engine.parameters_changed(groups, names)
        except FlowyardError as exc:
            self.fail(ident, exc)
            return
        self.report.reconfigured += changed
        self.touched.update(dict.fromkeys(changed))

    async def _restart(self) -> None:
        """Step 7: a touched node runs exactly when it is scheduled RUNNING and can run."""
        engine = self.engine
        for ident in self.touched:
            node = engine.nodes.get(ident)
            if node is None:
                continue
            wanted = node.definition.scheduled_state == "RUNNING"
            if node.running and not (wanted and node.is_valid):
                await engine.stop_processor(ident)
                if ident not in self.report.stopped:
                    self.report.stopped.append(ident)
            elif not node.running and wanted:
                try:
                    if engine.start_if_scheduled(node):
                        self.report.started.append(ident)
                except FlowyardError as exc:
                    self.fail(ident, exc)


def pass_through_definition(component: FunnelDef | PortDef, type_name: str) -> ProcessorDef:
    """The definition the engine gives a funnel or port node (as ``Engine.add_pass_through`` does)."""
    return ProcessorDef(identifier=component.identifier, type=type_name,
                        name=getattr(component, "name", "") or type_name, position=component.position,
                        scheduled_state=getattr(component, "scheduled_state", "RUNNING"))


def _pass_through_changed(node: ProcessorNode, change: Change, type_name: str) -> None:
    """A funnel or port changed: its definition (name, position, scheduled state) is
    replaced in place; it was stopped in step 1 if it no longer runs."""
    node.definition = pass_through_definition(change.new, type_name)
    node.name = node.definition.name
    if node.definition.scheduled_state == "DISABLED":
        node.state = "DISABLED"
    elif node.state == "DISABLED":
        node.state = "STOPPED"


def _forget_evaluators(engine: Engine) -> None:
    """The flow was replaced: parameter values are looked up again. (Engine keeps its
    evaluators per context id; a ``replace_flow`` method there should do this.)"""
    engine._evaluators.clear()


class _Steps:
    """Lets the event loop run whenever a long change has held it for ``slice_seconds``."""

    def __init__(self, slice_seconds: float = 0.02) -> None:
        self.slice = slice_seconds
        self.since = time.perf_counter()

    async def step(self) -> None:
        if time.perf_counter() - self.since >= self.slice:
            await trio.sleep(0)
            self.since = time.perf_counter()
