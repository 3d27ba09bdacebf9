"""The complete flow model through the runtime facade, on a running flow: process
groups with ports, funnels, labels, controller services and parameter contexts
created, changed and deleted with revisions; run state per group and selection;
export/import; undo and redo of every kind; everything saved and reloaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors import CONTROLLER_SERVICES
from flowyard.runtime.flow import flow_from_dict, load_flow
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowService, RevisionConflict, UnknownComponentError

ROOT = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "50 ms",
     "properties": {"Batch Size": "2", "File Size": "4 B"}},
]}}


def open_service(tmp_path: Path, flow: dict[str, Any] | None = None) -> FlowService:
    return FlowService(flow_from_dict(flow or ROOT), Repositories.in_memory(), tmp_path, discover_processors(),
                       service_types=CONTROLLER_SERVICES)


async def build_nested(service: FlowService) -> None:
    """gen -> [Enrich: in -> lookup (LookupAttribute via a root service, #{colour.key}) -> out] -> funnel -> log."""
    await service.create("parameter-context", {"identifier": "ctx", "name": "Enrich parameters",
                                               "parameters": [{"name": "colour.key", "value": "sky"}]})
    await service.create("controller-service", {"identifier": "colours", "type": "SimpleKeyValueLookupService",
                                                "properties": {"sky": "blue", "grass": "green"},
                                                "scheduledState": "ENABLED"})
    await service.create("process-group", {"identifier": "enrich", "name": "Enrich",
                                           "position": {"x": 300, "y": 0}, "parameterContext": {"id": "ctx"}})
    await service.create("input-port", {"identifier": "in", "name": "In", "parentGroupId": "enrich"})
    await service.create("output-port", {"identifier": "out", "name": "Out", "parentGroupId": "enrich"})
    await service.create("processor", {"identifier": "lookup", "type": "LookupAttribute", "parentGroupId": "enrich",
                                       "scheduledState": "RUNNING",
                                       "properties": {"Lookup Service": "colours", "colour": "#{colour.key}"},
                                       "autoTerminatedRelationships": ["unmatched", "failure"]})
    await service.create("connection", {"identifier": "e1", "source": {"id": "in"}, "destination": {"id": "lookup"},
                                        "parentGroupId": "enrich"})
    await service.create("connection", {"identifier": "e2", "source": {"id": "lookup"},
                                        "destination": {"id": "out"}, "selectedRelationships": ["matched"],
                                        "parentGroupId": "enrich"})
    await service.create("funnel", {"identifier": "fun"})
    await service.create("processor", {"identifier": "log", "type": "LogAttribute", "scheduledState": "STOPPED",
                                       "autoTerminatedRelationships": ["success"]})
    await service.create("connection", {"identifier": "r1", "source": {"id": "gen"}, "destination": {"id": "in"},
                                        "selectedRelationships": ["success"]})
    await service.create("connection", {"identifier": "r2", "source": {"id": "out"}, "destination": {"id": "fun"}})
    await service.create("connection", {"identifier": "r3", "source": {"id": "fun"}, "destination": {"id": "log"}})
    await service.create("label", {"identifier": "note", "label": "Enrichment happens here",
                                   "position": {"x": 300, "y": -80}, "width": 240, "height": 40})


def colours_in(service: FlowService, connection: str) -> set[str | None]:
    return {ff["attributes"].get("colour") for ff in service.queue_listing(connection)}


async def test_a_nested_flow_built_live_runs_and_survives_a_restart(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        await wait_for(lambda: service.engine.queues["r3"].count >= 4)
        assert colours_in(service, "r3") == {"blue"}, "service from the root group, parameter from the group's context"
        doc = service.flow_document()
        group = doc["rootGroup"]["processGroups"][0]
        assert (group["identifier"], group["runningCount"], group["parameterContext"]) == ("enrich", 1, {"id": "ctx"})
        assert group["inputPorts"][0]["runState"] == "RUNNING"
        assert doc["rootGroup"]["labels"][0]["label"] == "Enrichment happens here"
        assert doc["rootGroup"]["controllerServices"][0]["state"] == "ENABLED"
        assert doc["rootGroup"]["controllerServices"][0]["referencingComponents"] == ["lookup"]
        assert doc["parameterContexts"][0]["boundGroups"] == ["enrich"]
        service.request_stop()
    saved = load_flow(tmp_path / "flow.json")
    assert saved.groups[0].processors[0].identifier == "lookup"
    assert [c.identifier for c in saved.connections] == ["r1", "r2", "r3"]
    again = FlowService(saved, Repositories.in_memory(), tmp_path, discover_processors(),
                        service_types=CONTROLLER_SERVICES)
    assert again.component("process-group", "enrich")["revision"] == 0
    assert again.engine.group_of["lookup"] == "enrich"


async def test_changing_a_parameter_reapplies_it_to_the_running_processor(tmp_path: Path,
                                                                        patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        await wait_for(lambda: service.engine.queues["r3"].count >= 2)
        ctx = service.component("parameter-context", "ctx")
        await service.update("parameter-context", "ctx", ctx["revision"],
                             {"parameters": [{"name": "colour.key", "value": "grass"}]})
        assert service.engine.nodes["lookup"].running
        await service.empty_queue("r3")
        await wait_for(lambda: service.engine.queues["r3"].count >= 4)
        await service.set_run_state("gen", "STOPPED")
        await wait_for(lambda: service.engine.queues["r1"].count == 0 and service.engine.queues["e2"].count == 0)
        assert "green" in colours_in(service, "r3")
        service.request_stop()


async def test_group_and_selection_run_state(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        stopped = await service.set_run_state("enrich", "STOPPED")
        assert sorted(stopped["changed"]) == ["in", "lookup", "out"] and stopped["failed"] == {}
        assert not any(service.engine.nodes[i].running for i in ("in", "lookup", "out"))
        assert load_flow(tmp_path / "flow.json").groups[0].input_ports[0].scheduled_state == "STOPPED"
        started = await service.set_run_state("enrich", "RUNNING")
        assert sorted(started["changed"]) == ["in", "lookup", "out"]
        result = await service.set_run_states(["log", "nope", "note"], "RUNNING")
        assert result["changed"] == ["log"]
        assert "no component has id 'nope'" in result["failed"]["nope"]
        assert "a label has no run state" in result["failed"]["note"]
        await service.set_run_state("lookup", "DISABLED")
        assert service.component("processor", "lookup")["runState"] == "DISABLED"
        with pytest.raises(FlowyardError, match="is disabled"):
            await service.set_run_state("lookup", "RUNNING")
        await service.set_run_state("lookup", "ENABLED")
        assert service.component("processor", "lookup")["runState"] == "STOPPED"
        service.request_stop()


async def test_controller_service_rules(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        svc = service.component("controller-service", "colours")
        with pytest.raises(FlowyardError, match="is enabled; disable it before changing it"):
            await service.update("controller-service", "colours", svc["revision"], {"properties": {"sky": "grey"}})
        with pytest.raises(FlowyardError, match=r"running processor\(s\) 'LookupAttribute' reference this service"):
            await service.set_service_state("colours", "DISABLED")
        await service.set_service_state("colours", "DISABLED", stop_referencing=True)
        assert not service.engine.nodes["lookup"].running
        assert "is not enabled" in " ".join(service.processor("lookup")["validationErrors"])
        svc = service.component("controller-service", "colours")
        await service.update("controller-service", "colours", svc["revision"], {"properties": {"sky": "grey"}})
        with pytest.raises(FlowyardError, match="is enabled; disable it before removing it"):
            await service.set_service_state("colours", "ENABLED")
            await service.delete("controller-service", "colours", svc["revision"] + 1)
        service.request_stop()


async def test_revisions_unknown_ids_and_bad_input(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        group = service.component("process-group", "enrich")
        moved = await service.update("process-group", "enrich", group["revision"], {"position": {"x": 1, "y": 2}})
        assert moved["revision"] == group["revision"] + 1
        with pytest.raises(RevisionConflict) as conflict:
            await service.update("process-group", "enrich", group["revision"], {"name": "stale"})
        assert conflict.value.current["position"] == {"x": 1.0, "y": 2.0}
        with pytest.raises(UnknownComponentError, match="no label has id 'gen'"):
            service.component("label", "gen")
        inner = await service.create("process-group", {"name": "Inner", "parentGroupId": "enrich"})
        assert inner["parameterContext"] == {"id": "ctx"}, "a new group inherits its parent's binding"
        with pytest.raises(FlowyardError, match="changes through its own resources"):
            await service.update("process-group", "enrich", moved["revision"], {"processors": []})
        with pytest.raises(FlowyardError, match="'lookup' is not a processor, funnel or output port of group"):
            await service.create("connection", {"source": {"id": "gen"}, "destination": {"id": "lookup"},
                                                "selectedRelationships": ["success"]})
        with pytest.raises(FlowyardError, match=r"still has connection\(s\) 'r1', 'r2': remove them first"):
            await service.delete("process-group", "enrich", moved["revision"])
        with pytest.raises(FlowyardError, match="used by process group"):
            await service.delete("parameter-context", "ctx", 0)
        with pytest.raises(UnknownComponentError, match="no process group has id 'nowhere'"):
            await service.create("funnel", {"parentGroupId": "nowhere"})
        service.request_stop()


async def test_sensitive_parameters_only_in_sensitive_properties(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("parameter-context", {"identifier": "ctx", "name": "Secrets", "parameters": [
            {"name": "token", "value": "canary-4242", "sensitive": True}]})
        root = service.component("process-group", "root")
        await service.update("process-group", "root", root["revision"], {"parameterContext": {"id": "ctx"}})
        with pytest.raises(FlowyardError, match="references the sensitive parameter 'token'"):
            await service.create("processor", {"type": "UpdateAttribute", "properties": {"leak": "#{token}"},
                                               "autoTerminatedRelationships": ["success"]})
        ctx = service.component("parameter-context", "ctx")
        assert ctx["parameters"][0]["value"] == "********"
        await service.update("parameter-context", "ctx", ctx["revision"], {"parameters": [
            {"name": "token", "value": "********", "sensitive": True, "description": "kept"}]})
        assert service.flow.parameter_contexts[0].parameters[0].value == "canary-4242", "the mask means unchanged"
        service.request_stop()
    stored = (tmp_path / "flow.json").read_text()
    assert "canary-4242" not in stored and "token" in stored
    export = json.dumps(service.export_group("root"))
    assert "canary-4242" not in export


async def test_export_and_import_make_a_copy_with_fresh_ids(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await build_nested(service)
        exported = service.export_group("enrich")
        assert exported["rootGroup"]["identifier"] == "enrich"
        assert [c["name"] for c in exported["parameterContexts"]] == ["Enrich parameters"]
        copy = await service.import_group("root", exported, position={"x": 0, "y": 500}, user="alice")
        assert copy["identifier"] != "enrich" and copy["name"] == "Enrich"
        assert copy["parameterContext"] == {"id": "ctx"}, "matched by name"
        inner = copy["processors"][0]
        assert inner["identifier"] != "lookup" and inner["properties"]["lookup-service"] == "colours"
        assert inner["runState"] == "STOPPED", "an import arrives stopped, as in NiFi"
        assert copy["position"] == {"x": 0.0, "y": 500.0}
        assert service.history("alice")["undo"] == ["Import process group 'Enrich'"]
        await service.undo("alice")
        with pytest.raises(UnknownComponentError):
            service.component("process-group", copy["identifier"])
        await service.redo("alice")
        assert service.component("process-group", copy["identifier"])["processors"][0]["identifier"] == \
            inner["identifier"]
        with pytest.raises(FlowyardError) as bad:
            await service.import_group("root", {"flowyardFlowVersion": 1, "rootGroup": {"processors": [{}]}})
        assert "rootGroup.processors[0].identifier" in str(bad.value)
        service.request_stop()


async def test_an_import_repoints_service_references_and_nothing_else(tmp_path: Path, patient_clock: Any) -> None:
    """Found by the fuzz test: every property value equal to an identifier of the
    imported file was rewritten, not only references to its controller services."""
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        flow = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "g", "controllerServices": [
            {"identifier": "svc", "type": "SimpleKeyValueLookupService", "properties": {"sky": "blue"}}],
            "processors": [
                {"identifier": "tag", "type": "UpdateAttribute", "properties": {"next": "tag", "group": "g",
                                                                                  "service": "svc"}},
                {"identifier": "look", "type": "LookupAttribute", "properties": {"Lookup Service": "svc"}}]}}
        group = await service.import_group("root", flow)
        new_service = group["controllerServices"][0]["identifier"]
        assert new_service != "svc"
        tag, look = sorted(group["processors"], key=lambda p: p["type"], reverse=True)
        assert tag["properties"] == {"next": "tag", "group": "g", "service": "svc"}, "plain values stay as written"
        assert look["properties"]["lookup-service"] == new_service, "a service reference follows its service"
        service.request_stop()


async def test_undo_and_redo_of_every_kind(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("label", {"identifier": "l1", "label": "hello"}, user="bob")
        label = service.component("label", "l1")
        await service.update("label", "l1", label["revision"], {"label": "changed"}, user="bob")
        await service.create("process-group", {"identifier": "g1", "name": "G"}, user="bob")
        assert service.component("process-group", "g1")["parameterContext"] is None
        await service.create("output-port", {"identifier": "p1", "parentGroupId": "g1"}, user="bob")
        port = service.component("output-port", "p1")
        await service.delete("output-port", "p1", port["revision"], user="bob")
        assert service.history("bob")["undo"][:2] == ["Delete output port 'p1'", "Create output port 'p1'"]
        await service.undo("bob")  # the port is back, in its group
        assert service.component("output-port", "p1")["parentGroupId"] == "g1"
        await service.undo("bob")
        await service.undo("bob")  # the group is gone
        with pytest.raises(UnknownComponentError):
            service.component("process-group", "g1")
        await service.undo("bob")
        assert service.component("label", "l1")["label"] == "hello"
        await service.redo("bob")
        assert service.component("label", "l1")["label"] == "changed"
        service.request_stop()


async def test_rerouting_a_connection_keeps_its_queue(tmp_path: Path, patient_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        for ident in ("a", "b"):
            await service.create("processor", {"identifier": ident, "type": "LogAttribute",
                                               "autoTerminatedRelationships": ["success"]})
        conn = await service.create("connection", {"identifier": "c", "source": {"id": "gen"},
                                                   "destination": {"id": "a"}, "selectedRelationships": ["success"]})
        await wait_for(lambda: service.engine.queues["c"].count >= 4)
        await service.set_run_state("gen", "STOPPED")
        queued = service.engine.queues["c"].count
        moved = await service.update("connection", "c", conn["revision"], {
            "destination": {"id": "b"}, "backPressureObjectThreshold": 2,
            "prioritizers": ["NewestFlowFileFirstPrioritizer"]})
        assert moved["destination"] == {"id": "b"} and moved["queuedCount"] == queued
        queue = service.engine.queues["c"]
        assert queue.is_full() and queue.prioritizers == ("NewestFlowFileFirstPrioritizer",)
        assert queue in service.engine.nodes["b"].inputs and queue not in service.engine.nodes["a"].inputs
        with pytest.raises(FlowyardError, match="the source of a connection cannot change"):
            await service.update("connection", "c", moved["revision"], {"source": {"id": "a"}})
        await service.set_run_state("b", "RUNNING")
        await wait_for(lambda: service.engine.queues["c"].count == 0)
        assert service.engine.nodes["b"].stats.flowfiles_in == queued
        assert service.engine.nodes["a"].stats.flowfiles_in == 0
        service.request_stop()
