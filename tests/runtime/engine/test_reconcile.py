"""The engine reconciles from its flow to a new one (docs/design/flow-edits.md §2.3):
one test per row of the table, then the acceptance property — an engine started
from A and reconciled to B equals an engine started from B, and no queued flowfile
is lost."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from trio_wait import wait_for

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._reconcile import ReconcileRefused, ReconcileReport, plan, reconcile
from flowyard.runtime.engine._reconcile_diff import diff
from flowyard.runtime.flow import FlowDef, flow_from_dict, flow_to_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}


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


async def test_a_removed_node_whose_books_list_a_connection_the_flow_lacks_plans_without_error(
        autojump_clock: Any) -> None:
    """The engine's books out of step with the flow (a removed node still listing the queue
    of a connection that neither the old nor the new flow has) must not break the plan
    (it raised StopIteration, a server error): the queue goes with the node."""
    doc = base()
    async with running(flow_from_dict(doc)) as engine:
        ghost = FlowFileQueue("ghost", engine.repositories.flowfiles.queue_id("ghost"), object_threshold=0,
                               size_threshold=0)
        engine.nodes["sink2"].inputs.append(ghost)
        engine.queues["ghost"] = ghost
        remove(doc, "sink2")
        p = plan(engine, flow_from_dict(doc))
        assert "ghost" not in p.recreate and p.orphans == ("ghost",)
        report = await reconcile(engine, p)
        assert report.failed == {}, "the node goes, and its orphan queue with it"
        assert "sink2" not in engine.nodes and "ghost" not in engine.queues


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
