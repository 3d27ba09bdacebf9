"""The acceptance property of the engine's reconciler (docs/design/flow-edits.md
§2.3, issue 14): an engine started from A and reconciled to B equals an engine
started from B — same nodes, connections, run states, services and groups —
and no queued flowfile is lost. The per-row table tests are in test_reconcile.py."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

import trio
import trio.testing
from flow_strategies import SPECS, edits, flows
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_reconcile import REGISTRY, engine_for
from trio.testing import MockClock

from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._reconcile import ReconcileRefused, plan, reconcile
from flowyard.runtime.flow import COMPONENT_KINDS, FlowDef, ParameterDef, map_group
from flowyard.runtime.flow.edits import EditContext, EditRefused, apply, validate
from flowyard.runtime.sdk._flowfile import FlowFile

# -- acceptance: reconciled == started fresh ------------------------------------------------------


def snapshot(engine: Engine) -> dict[str, Any]:
    """What must be equal between a reconciled engine and one started from its flow."""
    def qids(queues: Any) -> list[str]:
        return sorted(q.connection_id for q in queues)
    registry = engine.controller_services.registry
    return {
        "nodes": {i: (n.definition, n.name, n.type_name, n.state, n.running, [str(r) for r in n.validation],
                      qids(n.inputs), {r: qids(qs) for r, qs in n.outputs.items() if qs},
                      n.configured.static, n.configured.dynamic, n.concurrent_tasks)
                  for i, n in engine.nodes.items()},
        "queues": {i: (q.object_threshold, q.size_threshold, q.expiration_ms, q.prioritizers)
                   for i, q in engine.queues.items()},
        "services": {s: (registry.node(s).enabled, registry.node(s).static, registry.node(s).dynamic)
                     for s in registry},
        "group_of": dict(engine.group_of),
    }


def loadable(flow: FlowDef) -> FlowDef:
    """A drawn flow the engine can run in a test (its connections carry
    relationships their source has, as the strategy draws them): no processor
    runs more than once per second of the (frozen) clock, half of them
    auto-terminate every relationship (so that more are valid), and no funnels
    and ports are connected in a ring."""
    def runnable(kind: str, c: Any) -> Any:
        if kind == "processor":
            changes: dict[str, Any] = {}
            if c.scheduling_period == "0 sec":
                changes["scheduling_period"] = "1 sec"
            if int(c.identifier.rsplit("-", 1)[-1]) % 2:  # every relationship routed: more of them can run
                changes["auto_terminated"] = _relationships(c.type)
            return dataclasses.replace(c, **changes) if changes else c
        return c

    edges: dict[str, set[str]] = {}
    passing = _pass_throughs(flow)

    def no_ring(g: Any) -> Any:  # no ring of funnels and ports: a flowfile would go round it for ever
        kept = []
        for c in g.connections:
            if c.source in passing and c.destination in passing:
                if _reaches(edges, c.destination, c.source):
                    continue
                edges.setdefault(c.source, set()).add(c.destination)
            kept.append(c)
        return g if len(kept) == len(g.connections) else dataclasses.replace(g, connections=tuple(kept))

    return map_group(flow, runnable, no_ring)


def _pass_throughs(flow: FlowDef) -> set[str]:
    return {c.identifier for g in flow.walk() for c in (*g.funnels, *g.input_ports, *g.output_ports)}


def _reaches(edges: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo += edges.get(node, ())
    return False


def _relationships(type_name: str) -> tuple[str, ...]:
    return tuple(r.name for r in REGISTRY[type_name].spec.relationships)


def _rebuild(group: Any, change: Callable[[Any], Any], touched: set[str]) -> Any:
    """Path copying: a new group wherever ``group`` or a descendant is in ``touched``
    (``change`` edits a copy holding fresh lists and returns it, or a replacement;
    the lists become tuples again after), the same object everywhere else."""
    kids = tuple(_rebuild(c, change, touched) for c in group.groups)
    if group.identifier not in touched:
        return group if all(k is c for k, c in zip(kids, group.groups, strict=True)) else \
            dataclasses.replace(group, groups=kids)
    names = ("processors", "connections", "funnels", "input_ports", "output_ports", "labels", "controller_services")
    fresh = dataclasses.replace(group, groups=list(kids), **{name: list(getattr(group, name)) for name in names})
    done = change(fresh)
    return dataclasses.replace(done, **{name: tuple(getattr(done, name)) for name in (*names, "groups")})


@st.composite
def variants(draw: Any, a: FlowDef) -> FlowDef:
    """``a`` with random changes in a few of its groups, built by path copying (``a`` untouched)."""
    groups = list(a.walk())
    touched = set(draw(st.lists(st.sampled_from([g.identifier for g in groups]), min_size=1, max_size=3)))
    contexts = [None, *(c.identifier for c in a.parameter_contexts)]
    flip = st.integers(0, 4)

    def change(g: Any) -> Any:
        for i, pdef in enumerate(g.processors):
            pick = draw(flip)
            if pick == 0:
                g.processors[i] = dataclasses.replace(pdef, scheduled_state=draw(st.sampled_from(SCHEDULED)))
            elif pick == 1:
                g.processors[i] = dataclasses.replace(pdef, position=(1.0, 2.0), comments="moved")
            elif pick == 2:
                properties = {**pdef.properties, _PARAMETER_KEY[pdef.type]: "#{host}"}
                g.processors[i] = dataclasses.replace(pdef, auto_terminated=_relationships(pdef.type),
                                                      properties=properties)
        for i, cdef in enumerate(g.connections):
            pick = draw(flip)
            if pick == 0:
                g.connections[i] = None
            elif pick == 1:
                g.connections[i] = dataclasses.replace(cdef, back_pressure_object_threshold=3, name="renamed",
                                                       prioritizers=("NewestFlowFileFirstPrioritizer",))
            elif pick == 2:
                dest = draw(st.sampled_from(sorted(g.connectable_destinations())))
                g.connections[i] = dataclasses.replace(cdef, destination=dest)
        g.connections[:] = [c for c in g.connections if c is not None]
        for ports in (g.input_ports, g.output_ports):
            for i, port in enumerate(ports):
                if draw(flip) == 0:
                    ports[i] = dataclasses.replace(port, name="renamed", scheduled_state=draw(st.sampled_from(
                        ("RUNNING", "STOPPED", "DISABLED"))))
        for i, sdef in enumerate(g.controller_services):
            if draw(flip) == 0:
                state = "DISABLED" if sdef.scheduled_state == "ENABLED" else "ENABLED"
                g.controller_services[i] = dataclasses.replace(sdef, scheduled_state=state)
        if g.processors and draw(flip) == 0:  # a processor goes, with its connections
            gone = g.processors.pop(draw(st.integers(0, len(g.processors) - 1))).identifier
            g.connections[:] = [c for c in g.connections if gone not in (c.source, c.destination)]
        if g.groups and draw(flip) == 0:  # a child group goes, with the connections to its ports
            child = g.groups.pop(draw(st.integers(0, len(g.groups) - 1)))
            ports = {p.identifier for p in (*child.input_ports, *child.output_ports)}
            g.connections[:] = [c for c in g.connections if not {c.source, c.destination} & ports]
        if draw(flip) == 0:
            return dataclasses.replace(g, parameter_context=draw(st.sampled_from(contexts)))
        return g

    b = _rebuild(a, change, touched)
    if a.parameter_contexts and draw(st.booleans()):
        first = a.parameter_contexts[0]
        params = [dataclasses.replace(p, value="changed") for p in first.parameters]
        params.append(ParameterDef("host", "h") if not any(p.name == "host" for p in params) else params.pop())
        b = dataclasses.replace(b, parameter_contexts=(dataclasses.replace(first, parameters=tuple(params)),
                                                       *a.parameter_contexts[1:]))
    return b


SCHEDULED = ("RUNNING", "STOPPED", "DISABLED")
#: A property of each type of ``flows()`` that may reference a parameter.
_PARAMETER_KEY = {"UpdateAttribute": "extra", "GenerateFlowFile": "custom-text", "LogAttribute": "log-prefix",
                  "InvokeHTTP": "http-url"}


def _runnable(flow: FlowDef) -> bool:
    """Whether the engine can run ``flow`` in a test as ``loadable`` makes them (without
    changing it: it shares objects with the flow it was edited from)."""
    types = {p.identifier: p.type for g in flow.walk() for p in g.processors}
    passing = _pass_throughs(flow)
    edges: dict[str, set[str]] = {}
    for g in flow.walk():
        for c in g.connections:
            if c.source in passing and c.destination in passing:
                edges.setdefault(c.source, set()).add(c.destination)
    return all(p.scheduling_period != "0 sec" for g in flow.walk() for p in g.processors) and all(
        c.relationships and set(c.relationships) <= set(_relationships(types[c.source]))
        for g in flow.walk() for c in g.connections if c.source in types) and not any(
        _reaches(edges, d, s) for s, ds in edges.items() for d in ds)


@st.composite
def flow_pairs(draw: Any) -> tuple[FlowDef, FlowDef]:
    """Two flows: B a variant of A (path copied), A with one valid edit applied
    (``flow.edits``, path copied), or drawn independently (identifiers overlap: the
    same id may sit in another group, with other settings)."""
    a = draw(flows().map(loadable))
    kinds = _kinds(a)
    stop = set()
    for cdef in [c for kind, c in kinds.values() if kind == "connection"]:
        kind, dest = kinds[cdef.destination]
        if kind in ("processor", "input-port", "output-port") and draw(st.booleans()):
            stop.add(dest.identifier)  # so that it keeps what is queued for it
    a = map_group(a, lambda kind, c: dataclasses.replace(c, scheduled_state="STOPPED") if c.identifier in stop else c)
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return a, draw(flows().map(loadable))
    if choice == 1:
        edit = draw(edits(a))
        try:
            validate(a, edit, EditContext(specs=SPECS))
        except EditRefused:
            assume(False)
        b = apply(a, edit)
    else:
        b = draw(variants(a))
    assume(_runnable(b))
    return a, b


def _kinds(flow: FlowDef) -> dict[str, tuple[str, Any]]:
    return {c.identifier: (kind, c) for g in flow.walk() for kind, (attr, _) in COMPONENT_KINDS.items()
            for c in getattr(g, attr)}


def _holding(a: FlowDef, b: FlowDef) -> list[str]:
    """Connections of A that survive in B (same source) and whose destination runs in
    neither flow: flowfiles put on them must still be there after the reconcile."""
    ka, kb = _kinds(a), _kinds(b)
    found = []
    for cid, (kind, ca) in ka.items():
        if kind != "connection" or kb.get(cid, ("", None))[0] != "connection":
            continue
        cb = kb[cid][1]
        if ca.source != cb.source:
            continue
        if all(k[d][0] in ("processor", "input-port", "output-port") and k[d][1].scheduled_state != "RUNNING"
               for k, d in ((ka, ca.destination), (kb, cb.destination))):
            found.append(cid)
    return sorted(found)


def _put(engine: Engine, cid: str, n: int, first_id: int) -> list[str]:
    """Put ``n`` flowfiles on connection ``cid``'s queue; returns their uuids."""
    now = engine.clock()
    uuids = [f"ff-{cid}-{i}" for i in range(n)]
    queue = engine.queues[cid]
    queue.put_all([FlowFile((first_id + i, {"uuid": u}, None, 0, now, now, 0, 1 << 40 | first_id + i))
                   for i, u in enumerate(uuids)], now)
    return uuids


async def _settle() -> None:
    for _ in range(3):
        await trio.testing.wait_all_tasks_blocked()


async def reconciled_equals_fresh(a: FlowDef, b: FlowDef) -> None:
    holding = _holding(a, b)
    async with trio.open_nursery() as nursery:
        engine = engine_for(a)
        await nursery.start(engine.run)
        await _settle()
        put = {cid: _put(engine, cid, 3, 1000 * (i + 1)) for i, cid in enumerate(holding)}
        gone = {i for i, (kind, _) in _kinds(a).items() if kind == "connection"}
        gone -= set(holding)
        try:
            plan(engine, b)
        except ReconcileRefused as exc:
            assert exc.queued and set(exc.queued) <= gone, "only connections that go are refused"
        # whatever reaches them meanwhile (a commit in a worker thread) may go too
        p = plan(engine, b, drop=frozenset(gone))
        report = await reconcile(engine, p)
        assert engine.flow is b
        fresh = engine_for(copy.deepcopy(b))
        await nursery.start(fresh.run)
        await _settle()
        mine, theirs = snapshot(engine), snapshot(fresh)
        for key in mine:
            assert mine[key] == theirs[key], (key, report)
        for cid, uuids in put.items():
            listed = {ff[1]["uuid"] for ff in engine.queues[cid].listing(10_000)}
            assert set(uuids) <= listed, f"flowfiles lost from {cid}"
        engine.request_stop()
        fresh.request_stop()


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(flow_pairs())
def test_reconciled_to_b_equals_started_from_b(pair: tuple[FlowDef, FlowDef]) -> None:
    a, b = pair
    trio.run(reconciled_equals_fresh, a, b, clock=MockClock(rate=0))
