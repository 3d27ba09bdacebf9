"""The engine reconciles from its flow to a new one (docs/design/flow-edits.md §2.3):
one test per row of the table, then the acceptance property — an engine started
from A and reconciled to B equals an engine started from B, and no queued flowfile
is lost."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from flow_strategies import SPECS, edits, flows
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._reconcile import ReconcileRefused, ReconcileReport, plan, reconcile
from flowyard.runtime.engine._reconcile_diff import diff
from flowyard.runtime.flow import COMPONENT_KINDS, FlowDef, ParameterDef, flow_from_dict, flow_to_dict
from flowyard.runtime.flow.edits import EditContext, EditRefused, apply, validate
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._flowfile import FlowFile

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}


async def wait_for(condition: Callable[[], bool], *, timeout: float = 600.0) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.05)


def base() -> dict[str, Any]:
    """root (context 'params'): src -> c1 -> sink (stopped, so c1 keeps what src made);
    gen -> c2 -> tag (#{label}) ; look (uses service 'colours'); sink2 (stopped, unconnected)."""
    return {
        "flowyardFlowVersion": 1,
        "parameterContexts": [
            {"identifier": "params", "name": "Params", "parameters": [{"name": "label", "value": "one"},
                                                                      {"name": "other", "value": "x"}]},
            {"identifier": "params2", "name": "Params 2", "parameters": [{"name": "label", "value": "two"}]},
        ],
        "rootGroup": {
            "identifier": "root", "parameterContext": {"id": "params"},
            "controllerServices": [{"identifier": "colours", "type": "SimpleKeyValueLookupService",
                                    "properties": {"sky": "blue"}, "scheduledState": "ENABLED"}],
            "processors": [
                {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "10", "Batch Size": "10"}},
                {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
                 "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]},
                {"identifier": "sink2", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
                 "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]},
                {"identifier": "gen", "type": "SequenceSource", "properties": {"Count": "0"}},
                {"identifier": "tag", "type": "UpdateAttribute", "properties": {"label": "#{label}"},
                 "autoTerminatedRelationships": ["success"]},
                {"identifier": "look", "type": "LookupAttribute",
                 "properties": {"Lookup Service": "colours", "colour": "sky"},
                 "autoTerminatedRelationships": ["matched", "unmatched", "failure"]},
            ],
            "connections": [
                {"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "sink"},
                 "selectedRelationships": ["success"]},
                {"identifier": "c2", "source": {"id": "gen"}, "destination": {"id": "tag"},
                 "selectedRelationships": ["success"]},
                {"identifier": "c3", "source": {"id": "gen"}, "destination": {"id": "look"},
                 "selectedRelationships": ["success"]},
            ],
            "funnels": [{"identifier": "f1"}],
        },
    }


def child_group(gid: str = "child", prefix: str = "") -> dict[str, Any]:
    """in -> work (RUNNING) -> out, a service of its own; bound to 'params2'."""
    return {
        "identifier": gid, "name": "Child", "parameterContext": {"id": "params2"},
        "inputPorts": [{"identifier": f"{prefix}in", "name": "In"}],
        "outputPorts": [{"identifier": f"{prefix}out", "name": "Out"}],
        "controllerServices": [{"identifier": f"{prefix}svc", "type": "SimpleKeyValueLookupService",
                                "properties": {"a": "b"}, "scheduledState": "ENABLED"}],
        "processors": [{"identifier": f"{prefix}work", "type": "UpdateAttribute",
                        "properties": {"label": "#{label}"}}],
        "connections": [
            {"identifier": f"{prefix}ci", "source": {"id": f"{prefix}in"}, "destination": {"id": f"{prefix}work"}},
            {"identifier": f"{prefix}co", "source": {"id": f"{prefix}work"}, "destination": {"id": f"{prefix}out"},
             "selectedRelationships": ["success"]},
        ],
    }


def find(doc: dict[str, Any], ident: str) -> dict[str, Any]:
    """The component ``ident`` in a flow's JSON form (anywhere)."""
    def search(group: dict[str, Any]) -> dict[str, Any] | None:
        if group.get("identifier") == ident:
            return group
        for key, items in group.items():
            if isinstance(items, list):
                for item in items:
                    if isinstance(item, dict):
                        if item.get("identifier") == ident:
                            return item
                        if key == "processGroups":
                            found = search(item)
                            if found is not None:
                                return found
        return None
    found = search(doc["rootGroup"])
    assert found is not None, ident
    return found


def remove(doc: dict[str, Any], ident: str) -> None:
    def search(group: dict[str, Any]) -> bool:
        for key, items in group.items():
            if isinstance(items, list):
                for item in list(items):
                    if isinstance(item, dict) and item.get("identifier") == ident:
                        items.remove(item)
                        return True
                    if key == "processGroups" and search(item):
                        return True
        return False
    assert search(doc["rootGroup"]), ident


def label(engine: Engine, pid: str) -> str | None:
    """The processor's dynamic property 'label' evaluated (parameters substituted)."""
    return engine.nodes[pid].configured.context.dynamic_properties["label"].evaluate({}).value


def engine_for(flow: FlowDef) -> Engine:
    return Engine(flow, Repositories.in_memory(), registry=REGISTRY, service_types=CONTROLLER_SERVICES)


@asynccontextmanager
async def running(flow: FlowDef) -> AsyncIterator[Engine]:
    engine = engine_for(flow)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        yield engine
        engine.request_stop()


async def to(engine: Engine, doc: dict[str, Any], *, drop: frozenset[str] = frozenset()) -> ReconcileReport:
    """Reconcile ``engine`` to the flow ``doc``; the old flow must come out untouched."""
    old = engine.flow
    before = flow_to_dict(old)
    report = await reconcile(engine, plan(engine, flow_from_dict(doc), drop=drop))
    assert flow_to_dict(old) == before, "the old flow is never changed"
    assert flow_to_dict(engine.flow) == flow_to_dict(flow_from_dict(doc))
    return report


# -- processors and ports -------------------------------------------------------------------


async def test_a_layout_only_change_does_not_stop_the_processor(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        node = engine.nodes["tag"]
        assert node.running
        find(doc, "tag").update(position={"x": 40.0, "y": 50.0}, comments="moved")
        report = await to(engine, doc)
        assert report.stopped == [] and report.reconfigured == [] and report.failed == {}
        assert engine.nodes["tag"] is node and node.running
        assert node.definition.position == (40.0, 50.0) and node.definition.comments == "moved"
        assert node.definition is engine.flow.processors[4], "the node holds the new flow's definition"


async def test_a_config_change_restarts_a_running_processor(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        node = engine.nodes["tag"]
        find(doc, "tag")["properties"]["label"] = "fixed"
        find(doc, "tag")["concurrentlySchedulableTaskCount"] = 2
        report = await to(engine, doc)
        assert report.stopped == ["tag"] and report.reconfigured == ["tag"] and report.failed == {}
        assert engine.nodes["tag"] is node and node.running, "stopped, reconfigured, started again"
        assert node.concurrent_tasks == 2 and node.configured.dynamic["label"] == "fixed"


async def test_a_config_change_of_a_stopped_processor_leaves_it_stopped(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        find(doc, "sink")["properties"]["Delay"] = "1 ms"
        report = await to(engine, doc)
        assert report.reconfigured == ["sink"] and not engine.nodes["sink"].running


async def test_scheduled_state_starts_stops_disables_and_enables(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        find(doc, "tag")["scheduledState"] = "STOPPED"
        find(doc, "sink2")["scheduledState"] = "DISABLED"
        report = await to(engine, doc)
        assert report.stopped == ["tag"] and report.reconfigured == ["sink2"]
        assert not engine.nodes["tag"].running and engine.nodes["sink2"].state == "DISABLED"
        find(doc, "tag")["scheduledState"] = "RUNNING"
        find(doc, "sink2")["scheduledState"] = "STOPPED"
        report = await to(engine, doc)
        assert report.started == ["tag"] and engine.nodes["tag"].running
        assert engine.nodes["sink2"].state == "STOPPED" and not engine.nodes["sink2"].running


async def test_a_port_is_renamed_in_place_and_stopped_by_its_scheduled_state(autojump_clock: Any) -> None:
    doc = base()
    doc["rootGroup"]["processGroups"] = [child_group()]
    async with running(flow_from_dict(doc)) as engine:
        port = engine.nodes["in"]
        assert not port.running, "an unconnected input port cannot run"
        find(doc, "out").update(name="Renamed", position={"x": 1.0, "y": 2.0})
        report = await to(engine, doc)
        assert report.stopped == [] and engine.nodes["out"].name == "Renamed"
        assert engine.nodes["out"].definition.position == (1.0, 2.0)
        find(doc, "work")["scheduledState"] = "DISABLED"
        find(doc, "in")["scheduledState"] = "DISABLED"
        await to(engine, doc)
        assert engine.nodes["in"].state == "DISABLED" and engine.nodes["in"] is port
        assert engine.nodes["work"].state == "DISABLED"


# -- connections ------------------------------------------------------------------------------


async def test_a_rerouted_connection_keeps_its_queue(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        await wait_for(lambda: engine.queues["c1"].count == 10)
        queue = engine.queues["c1"]
        find(doc, "c1")["destination"] = {"id": "sink2"}
        report = await to(engine, doc)
        assert report.failed == {} and report.dropped == 0
        assert engine.queues["c1"] is queue and queue.count == 10, "queue kept"
        assert queue in engine.nodes["sink2"].inputs and queue not in engine.nodes["sink"].inputs
        assert engine.nodes["src"].running, "the source was not touched"


async def test_a_connection_rerouted_away_from_a_removed_processor_keeps_its_queue(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        await wait_for(lambda: engine.queues["c1"].count == 10)
        queue = engine.queues["c1"]
        remove(doc, "sink")
        find(doc, "c1")["destination"] = {"id": "sink2"}
        report = await to(engine, doc)
        assert report.failed == {} and report.dropped == 0 and "sink" not in engine.nodes
        assert engine.queues["c1"] is queue and queue.count == 10 and queue in engine.nodes["sink2"].inputs


async def test_changed_thresholds_change_the_queue_in_place(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        await wait_for(lambda: engine.queues["c1"].count == 10)
        queue = engine.queues["c1"]
        find(doc, "c1").update(backPressureObjectThreshold=5, flowFileExpiration="1 hour",
                               prioritizers=["NewestFlowFileFirstPrioritizer"])
        report = await to(engine, doc)
        assert report.failed == {} and report.stopped == []
        assert engine.queues["c1"] is queue and queue.count == 10
        assert queue.object_threshold == 5 and queue.expiration_ms == 3_600_000
        assert queue.prioritizers == ("NewestFlowFileFirstPrioritizer",)


async def test_a_connection_name_or_bends_change_nothing_at_runtime(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        queue = engine.queues["c2"]
        find(doc, "c2").update(name="renamed", bends=[{"x": 1.0, "y": 1.0}])
        report = await to(engine, doc)
        assert report == ReconcileReport()
        assert engine.queues["c2"] is queue and engine.nodes["tag"].running and engine.nodes["gen"].running


async def test_removal_is_refused_while_queued_unless_dropped(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        await wait_for(lambda: engine.queues["c1"].count == 10)
        remove(doc, "c1")
        remove(doc, "sink")
        with pytest.raises(ReconcileRefused, match=r"'c1' holds 10 queued flowfile\(s\)") as refused:
            plan(engine, flow_from_dict(doc))
        assert refused.value.queued == {"c1": 10}
        assert "c1" in engine.queues and "sink" in engine.nodes, "nothing changed"
        report = await to(engine, doc, drop=frozenset({"c1"}))
        assert report.dropped == 10 and report.failed == {}
        assert "c1" not in engine.queues and "sink" not in engine.nodes
        assert "c1" not in engine.group_of and "sink" not in engine.group_of


async def test_a_new_source_recreates_the_connection(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        find(doc, "c2")["source"] = {"id": "src"}
        report = await to(engine, doc)
        assert report.failed == {}
        queue = engine.queues["c2"]
        assert queue in engine.nodes["src"].outputs["success"] and queue not in engine.nodes["gen"].outputs.get(
            "success", [])


# -- controller services ------------------------------------------------------------------------


async def test_an_added_service_is_enabled_and_a_failing_one_reported(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        doc["rootGroup"]["controllerServices"] += [
            {"identifier": "kv", "type": "SimpleKeyValueLookupService", "properties": {"k": "v"}},
            {"identifier": "tls", "type": "StandardSSLContextService", "properties": {}}]
        report = await to(engine, doc)
        registry = engine.controller_services.registry
        assert registry.is_enabled("kv") and not registry.is_enabled("tls")
        assert "Keystore" in report.failed["tls"] and set(report.failed) == {"tls"}
        assert any(b.component_id == "tls" and "not enabled" in b.message for b in engine.bulletins)
        assert find(flow_to_dict(engine.flow), "tls")["scheduledState"] == "ENABLED", "the desired state stays"


async def test_a_service_config_change_disables_reconfigures_and_enables_it(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        registry = engine.controller_services.registry
        old = registry.node("colours")
        assert engine.nodes["look"].running and old.enabled
        find(doc, "colours")["properties"] = {"sky": "grey"}
        report = await to(engine, doc)
        assert report.failed == {} and "colours" in report.reconfigured
        assert "look" in report.stopped, "its processor stopped while the service was disabled"
        new = registry.node("colours")
        assert new is not old and new.enabled and not old.enabled
        assert new.dynamic == {"sky": "grey"}
        assert engine.nodes["look"].running, "and started again"


async def test_a_removed_service_stops_its_processors_which_become_invalid(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        doc["rootGroup"]["controllerServices"] = []
        report = await to(engine, doc)
        assert report.failed == {} and report.stopped == ["look"]
        assert "colours" not in engine.controller_services.registry and "colours" not in engine.group_of
        assert not engine.nodes["look"].running and not engine.nodes["look"].is_valid


# -- groups ---------------------------------------------------------------------------------------


async def test_an_added_group_is_built_and_its_scheduled_processors_started(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        doc["rootGroup"]["processGroups"] = [child_group()]
        doc["rootGroup"]["connections"].append(
            {"identifier": "c-in", "source": {"id": "gen"}, "destination": {"id": "in"},
             "selectedRelationships": ["success"]})
        report = await to(engine, doc)
        assert report.failed == {}
        assert {engine.group_of[i] for i in ("in", "out", "work", "ci", "co", "svc")} == {"child"}
        assert engine.group_of["c-in"] == "root"
        assert engine.nodes["work"].running and engine.nodes["in"].running
        assert engine.controller_services.registry.is_enabled("svc")
        assert label(engine, "work") == "two", "the new group's own context"


async def test_a_removed_group_is_torn_down(autojump_clock: Any) -> None:
    doc = base()
    doc["rootGroup"]["processGroups"] = [child_group()]
    async with running(flow_from_dict(doc)) as engine:
        doc["rootGroup"]["processGroups"] = []
        report = await to(engine, doc)
        assert report.failed == {} and set(report.stopped) == {"work"}
        for ident in ("in", "out", "work"):
            assert ident not in engine.nodes and ident not in engine.group_of
        assert "ci" not in engine.queues and "co" not in engine.queues
        assert "svc" not in engine.controller_services.registry


async def test_a_moved_component_keeps_its_node_and_queue(autojump_clock: Any) -> None:
    doc = base()
    doc["rootGroup"]["processGroups"] = [child_group()]
    async with running(flow_from_dict(doc)) as engine:
        await wait_for(lambda: engine.queues["c1"].count == 10)
        nodes, queue = (engine.nodes["src"], engine.nodes["sink"]), engine.queues["c1"]
        moved = [find(doc, i) for i in ("src", "sink", "c1")]
        for ident in ("c1", "src", "sink"):
            remove(doc, ident)
        child = find(doc, "child")
        child["processors"] += moved[:2]
        child["connections"].append(moved[2])
        report = await to(engine, doc)
        assert report.failed == {} and report.dropped == 0
        assert (engine.nodes["src"], engine.nodes["sink"]) == nodes and engine.queues["c1"] is queue
        assert queue.count == 10
        assert {engine.group_of[i] for i in ("src", "sink", "c1")} == {"child"}
        assert "src" in report.reconfigured, "another parameter context: reconfigured"


async def test_a_moved_group_keeps_everything_in_it(autojump_clock: Any) -> None:
    doc = base()
    outer = child_group("outer", "o-")
    outer["parameterContext"] = None
    doc["rootGroup"]["processGroups"] = [child_group(), outer]
    async with running(flow_from_dict(doc)) as engine:
        work = engine.nodes["work"]
        child = find(doc, "child")
        remove(doc, "child")
        find(doc, "outer").setdefault("processGroups", []).append(child)
        report = await to(engine, doc)
        assert report.failed == {} and report.stopped == [] and engine.nodes["work"] is work
        assert engine.group_of["work"] == "child"


# -- parameters ----------------------------------------------------------------------------------


async def test_a_parameter_change_reconfigures_exactly_the_referencing_processors(autojump_clock: Any) -> None:
    doc = base()
    doc["rootGroup"]["processGroups"] = [child_group()]
    async with running(flow_from_dict(doc)) as engine:
        doc["parameterContexts"][0]["parameters"][0]["value"] = "changed"
        report = await to(engine, doc)
        assert report.reconfigured == ["tag"], "not 'work': its group is bound to another context"
        assert label(engine, "tag") == "changed" and engine.nodes["tag"].running
        doc["parameterContexts"][0]["parameters"][1]["value"] = "y"
        assert (await to(engine, doc)).reconfigured == [], "nothing references 'other'"


async def test_a_rebound_group_reconfigures_its_referencing_processors(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        doc["rootGroup"]["parameterContext"] = {"id": "params2"}
        report = await to(engine, doc)
        assert report.reconfigured == ["tag"] and label(engine, "tag") == "two"


# -- the plan -------------------------------------------------------------------------------------


async def test_a_plan_for_another_flow_is_refused(autojump_clock: Any) -> None:
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        first = plan(engine, flow_from_dict(doc))
        await reconcile(engine, plan(engine, flow_from_dict(doc)))
        with pytest.raises(ReconcileRefused, match="plan again"):
            await reconcile(engine, first)


def test_diff_skips_shared_groups_and_names_the_changed_fields() -> None:
    doc = base()
    doc["rootGroup"]["processGroups"] = [child_group()]
    old = flow_from_dict(doc)
    # path copying: a new root and processor list, the child group shared by identity
    tag = dataclasses.replace(old.processors[4], comments="note", properties={"label": "x"})
    new = dataclasses.replace(old, processors=[*old.processors[:4], tag, *old.processors[5:]])
    changes = diff(old, new)
    assert set(changes["processor"].changed) == {"tag"}
    assert changes["processor"].changed["tag"].fields == {"comments", "properties"}
    assert not changes["processor"].same, "unchanged components are the same objects"
    assert not any(changes[k] for k in ("connection", "controller-service", "process-group", "funnel"))
    assert not diff(old, old)
    again = flow_from_dict(doc)
    assert not diff(old, again), "equal values are no change"
    assert set(diff(old, again)["processor"].same) == {p.identifier for g in old.walk() for p in g.processors}


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
    """A drawn flow the engine can run in a test (in place; it is fresh): connections
    carry relationships their source has (the strategy draws them from a common
    list), no processor runs more than once per second of the (frozen) clock, half
    of them auto-terminate every relationship (so that more are valid), and no
    funnels and ports are connected in a ring."""
    types = {p.identifier: p.type for g in flow.walk() for p in g.processors}
    for g in flow.walk():
        for pdef in g.processors:
            if pdef.scheduling_period == "0 sec":
                pdef.scheduling_period = "1 sec"
            if int(pdef.identifier.rsplit("-", 1)[-1]) % 2:  # every relationship routed: more of them can run
                pdef.auto_terminated = _relationships(pdef.type)
        for c in g.connections:
            if c.source in types:
                names = _relationships(types[c.source])
                c.relationships = [r for r in c.relationships if r in names] or names[:1]
    edges: dict[str, set[str]] = {}
    passing = _pass_throughs(flow)
    for g in flow.walk():  # no ring of funnels and ports: a flowfile would go round it for ever
        for c in list(g.connections):
            if c.source in passing and c.destination in passing:
                if _reaches(edges, c.destination, c.source):
                    g.connections.remove(c)
                else:
                    edges.setdefault(c.source, set()).add(c.destination)
    return flow


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


def _relationships(type_name: str) -> list[str]:
    return [r.name for r in REGISTRY[type_name].spec.relationships]


def _rebuild(group: Any, change: Callable[[Any], None], touched: set[str]) -> Any:
    """Path copying: a new group wherever ``group`` or a descendant is in ``touched``
    (``change`` edits the copy's fresh lists), the same object everywhere else."""
    kids = [_rebuild(c, change, touched) for c in group.groups]
    if group.identifier not in touched and all(k is c for k, c in zip(kids, group.groups, strict=True)):
        return group
    new = dataclasses.replace(group, groups=kids)
    for name in ("processors", "connections", "funnels", "input_ports", "output_ports", "labels",
                 "controller_services"):
        setattr(new, name, list(getattr(group, name)))
    if group.identifier in touched:
        change(new)
    return new


@st.composite
def variants(draw: Any, a: FlowDef) -> FlowDef:
    """``a`` with random changes in a few of its groups, built by path copying (``a`` untouched)."""
    groups = list(a.walk())
    touched = set(draw(st.lists(st.sampled_from([g.identifier for g in groups]), min_size=1, max_size=3)))
    contexts = [None, *(c.identifier for c in a.parameter_contexts)]
    flip = st.integers(0, 4)

    def change(g: Any) -> None:
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
                                                       prioritizers=["NewestFlowFileFirstPrioritizer"])
            elif pick == 2:
                dest = draw(st.sampled_from(sorted(g.connectable_destinations())))
                g.connections[i] = dataclasses.replace(cdef, destination=dest)
        g.connections = [c for c in g.connections if c is not None]
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
            g.connections = [c for c in g.connections if gone not in (c.source, c.destination)]
        if g.groups and draw(flip) == 0:  # a child group goes, with the connections to its ports
            child = g.groups.pop(draw(st.integers(0, len(g.groups) - 1)))
            ports = {p.identifier for p in (*child.input_ports, *child.output_ports)}
            g.connections = [c for c in g.connections if not {c.source, c.destination} & ports]
        if draw(flip) == 0:
            g.parameter_context = draw(st.sampled_from(contexts))

    b = _rebuild(a, change, touched)
    if a.parameter_contexts and draw(st.booleans()):
        first = a.parameter_contexts[0]
        params = [dataclasses.replace(p, value="changed") for p in first.parameters]
        params.append(ParameterDef("host", "h") if not any(p.name == "host" for p in params) else params.pop())
        b = dataclasses.replace(b, parameter_contexts=[dataclasses.replace(first, parameters=params),
                                                       *a.parameter_contexts[1:]])
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
    for cdef in [c for kind, c in kinds.values() if kind == "connection"]:
        kind, dest = kinds[cdef.destination]
        if kind in ("processor", "input-port", "output-port") and draw(st.booleans()):
            dest.scheduled_state = "STOPPED"  # so that it keeps what is queued for it
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
