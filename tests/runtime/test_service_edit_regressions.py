"""Regressions from the review of the flow-model editing code: each test failed
before its fix (secrets revealed, half-done changes, run states that did not
stick, races between edits, orphaned queue records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors import CONTROLLER_SERVICES
from flowyard.runtime.flow import flow_from_dict, load_flow
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError
from flowyard.runtime.service import FlowService, RevisionConflict

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

ROOT = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "50 ms",
     "properties": {"Batch Size": "2", "File Size": "4 B"}, "autoTerminatedRelationships": ["success"]},
]}}


def open_service(tmp_path: Path, flow: dict[str, Any] | None = None) -> FlowService:
    registry = {**discover_processors(), **TEST_PROCESSORS}
    return FlowService(flow_from_dict(flow or ROOT), Repositories.in_memory(), tmp_path, registry,
                       service_types=CONTROLLER_SERVICES)


async def secret_context(service: FlowService) -> None:
    await service.create("parameter-context", {"identifier": "ctx", "name": "Secrets", "parameters": [
        {"name": "pw", "value": "TOPSECRET", "sensitive": True}, {"name": "colour", "value": "blue"}]})
    await service.update("process-group", "root", 0, {"parameterContext": {"id": "ctx"}})


async def test_sensitive_parameters_are_refused_in_plain_service_properties(tmp_path: Path,
                                                                            autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await secret_context(service)
        with pytest.raises(FlowyardError, match="references the sensitive parameter 'pw'"):
            await service.create("controller-service", {"type": "SimpleKeyValueLookupService",
                                                        "properties": {"sky": "#{pw}"}})
        assert service.flow.controller_services == (), "nothing half-created"
        service.request_stop()


async def test_types_and_sensitivity_cannot_change(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await secret_context(service)
        await service.create("processor", {"identifier": "s", "type": "Secretive",
                                           "properties": {"Password": "TOPSECRET"}})
        with pytest.raises(FlowyardError, match="the type of a processor cannot change"):
            await service.update("processor", "s", 0, {"type": "UpdateAttribute"})
        with pytest.raises(FlowyardError, match="whether a parameter is sensitive cannot change"):
            await service.update("parameter-context", "ctx", 0, {"parameters": [
                {"name": "pw", "value": "********", "sensitive": False}, {"name": "colour", "value": "blue"}]})
        assert service.component("parameter-context", "ctx")["parameters"][0]["value"] == "********"
        service.request_stop()
    assert "TOPSECRET" not in (tmp_path / "flow.json").read_text()


def test_non_finite_numbers_are_refused() -> None:
    from flowyard.runtime.flow import component_from_dict

    with pytest.raises(FlowDefinitionError, match="finite"):
        component_from_dict("label", {"identifier": "l", "position": {"x": float("nan"), "y": 0}})
    with pytest.raises(FlowDefinitionError, match="positive number"):
        component_from_dict("label", {"identifier": "l", "width": float("inf")})


async def test_run_state_changes_stick(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        assert service.engine.nodes["gen"].running
        stopped = await service.update("processor", "gen", 0, {"scheduledState": "STOPPED"}, user="u")
        assert stopped["runState"] == "STOPPED", "a PUT with STOPPED stops a running processor"
        await service.set_run_state("gen", "RUNNING")
        await service.update("processor", "gen", 1, {"comments": "edited"}, user="u")
        await service.undo("u")
        assert service.component("processor", "gen")["runState"] == "RUNNING", "undo leaves run state alone"
        await service.set_run_state("gen", "DISABLED")
        with pytest.raises(FlowyardError, match="is disabled: enable it first"):
            await service.set_run_state("gen", "STOPPED")
        await service.set_run_state("gen", "ENABLED")
        await service.set_run_state("gen", "RUNNING")
        await service.set_run_state("gen", "ENABLED")
        assert service.engine.nodes["gen"].running, "enabling what is not disabled changes nothing"
        service.request_stop()


async def test_stopping_a_group_also_holds_back_processors_waiting_to_be_valid(tmp_path: Path,
                                                                              autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("controller-service", {"identifier": "kv", "type": "SimpleKeyValueLookupService",
                                                    "properties": {"sky": "blue"}})
        await service.create("processor", {"identifier": "lk", "type": "LookupAttribute", "scheduledState": "RUNNING",
                                           "properties": {"Lookup Service": "kv", "colour": "sky"},
                                           "autoTerminatedRelationships": ["matched", "unmatched", "failure"]})
        await service.create("connection", {"source": {"id": "gen"}, "destination": {"id": "lk"},
                                            "selectedRelationships": ["success"]})
        assert not service.engine.nodes["lk"].running
        assert "is not enabled" in " ".join(service.processor("lk")["validationErrors"]), "waits for its service"
        await service.set_run_state("root", "STOPPED")
        await service.set_service_state("kv", "ENABLED")
        assert not service.engine.nodes["lk"].running, "the group was stopped: it stays stopped"
        service.request_stop()
    assert load_flow(tmp_path / "flow.json").processors[1].scheduled_state == "STOPPED"
    assert load_flow(tmp_path / "flow.json").processors[0].scheduled_state == "STOPPED"


async def test_controller_service_changes_are_all_or_nothing(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        bad = await service.create("controller-service", {"identifier": "m", "type": "LocalMapCacheService",
                                                          "properties": {"maximum-cache-entries": "lots"},
                                                          "scheduledState": "ENABLED"})
        assert bad["state"] == "DISABLED" and bad["validationErrors"], "created, disabled, saying why"
        assert bad["scheduledState"] == "DISABLED"
        fixed = await service.update("controller-service", "m", 0, {"properties": {"Maximum Cache Entries": "5"},
                                                                    "scheduledState": "ENABLED"})
        assert fixed["state"] == "ENABLED"
        both = await service.update("controller-service", "m", 1, {"properties": {"Maximum Cache Entries": "7"},
                                                                   "scheduledState": "DISABLED"})
        assert both["state"] == "DISABLED" and both["properties"]["maximum-cache-entries"] == "7"
        service.request_stop()


async def test_a_refused_disable_stops_nothing(tmp_path: Path, autojump_clock: Any) -> None:
    from flowyard.runtime.flow import ControllerServiceDef

    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("controller-service", {"identifier": "kv", "type": "SimpleKeyValueLookupService",
                                                    "properties": {"sky": "blue"}, "scheduledState": "ENABLED"})
        await service.create("processor", {"identifier": "lk", "type": "LookupAttribute", "scheduledState": "RUNNING",
                                           "properties": {"Lookup Service": "kv", "colour": "sky"},
                                           "autoTerminatedRelationships": ["matched", "unmatched", "failure"]})
        await service.create("connection", {"source": {"id": "gen"}, "destination": {"id": "lk"},
                                            "selectedRelationships": ["success"]})
        assert service.engine.nodes["lk"].running
        # an enabled service that references kv (a lookup with a property naming it, in the registry only)
        services = service.engine.controller_services
        dependent = services.configure(ControllerServiceDef("dep", "SimpleKeyValueLookupService",
                                                            properties={"k": "kv"}), "root")
        services.registry.add(dependent)
        dependent.referenced_services = lambda: {"k": "kv"}  # type: ignore[method-assign]
        services.registry.enable("dep")
        with pytest.raises(FlowyardError, match="referenced by enabled controller service"):
            await services.disable("kv", stop_referencing=True)
        assert service.engine.nodes["lk"].running, "nothing was stopped for a refused disable"
        services.registry.disable("dep")
        service.request_stop()


async def test_edits_are_serialized(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    results: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)

        async def attempt(name: str, call: Any) -> None:
            try:
                results[name] = await call
            except FlowyardError as exc:
                results[name] = exc

        async with trio.open_nursery() as edits:
            edits.start_soon(attempt, "update", service.update("processor", "gen", 0, {"comments": "x"}))
            await trio.sleep(0)
            edits.start_soon(attempt, "delete", service.delete("processor", "gen", 0))
        assert results["update"]["revision"] == 1
        assert isinstance(results["delete"], RevisionConflict), "the delete saw the update's revision"
        service.request_stop()


async def test_deleting_a_connection_while_its_source_runs_leaves_no_records(tmp_path: Path) -> None:
    flow = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "0 sec",
         "properties": {"Batch Size": "50", "File Size": "1 B"}},
        {"identifier": "sink", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "sink"},
                        "selectedRelationships": ["success"]}]}}
    service = open_service(tmp_path, flow)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await wait_for(lambda: service.engine.queues["c"].count > 500, timeout=30)
        await service.delete("connection", "c", 0, drop=True)
        assert not service.engine.nodes["gen"].running, "invalid now (success unrouted): stopped, not failing"
        await trio.sleep(0.2)
        assert list(service.repositories.flowfiles.queues_with_records()) == []
        service.request_stop()


async def test_parameter_changes_reach_controller_services(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await secret_context(service)
        await service.create("controller-service", {"identifier": "kv", "type": "SimpleKeyValueLookupService",
                                                    "properties": {"sky": "#{colour}"}, "scheduledState": "ENABLED"})
        registry = service.engine.controller_services.registry
        assert registry.node("kv").service.lookup({"key": "sky"}) == "blue"  # type: ignore[attr-defined]
        ctx = service.component("parameter-context", "ctx")
        await service.update("parameter-context", "ctx", ctx["revision"], {"parameters": [
            {"name": "pw", "value": "********", "sensitive": True}, {"name": "colour", "value": "red"}]})
        assert registry.is_enabled("kv")
        assert registry.node("kv").service.lookup({"key": "sky"}) == "red"  # type: ignore[attr-defined]
        service.request_stop()


async def test_undoing_a_group_creation_is_refused_once_it_holds_more(tmp_path: Path,
                                                                     autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("process-group", {"identifier": "g", "name": "G"}, user="u")
        await service.create("label", {"identifier": "l", "parentGroupId": "g"}, user="other")
        with pytest.raises(RevisionConflict, match="changed since"):
            await service.undo("u")
        assert service.component("label", "l")["parentGroupId"] == "g"
        service.request_stop()


async def test_a_refused_group_update_changes_nothing(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await service.create("parameter-context", {"identifier": "ctx", "name": "Secrets", "parameters": [
            {"name": "pw", "value": "TOPSECRET", "sensitive": True}]})
        await service.create("processor", {"identifier": "u", "type": "UpdateAttribute",
                                           "properties": {"x": "#{pw}"}, "autoTerminatedRelationships": ["success"]})
        with pytest.raises(FlowyardError, match="sensitive parameter 'pw'"):
            await service.update("process-group", "root", 0, {"name": "Renamed", "parameterContext": {"id": "ctx"}})
        group = service.component("process-group", "root")
        assert (group["name"], group["parameterContext"], group["revision"]) == ("Flow", None, 0)
        service.request_stop()


async def test_moving_a_running_processor_does_not_restart_it(tmp_path: Path, autojump_clock: Any) -> None:
    service = open_service(tmp_path)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        node = service.engine.nodes["gen"]
        started = node.stopped  # a new event at every start
        moved = await service.update("processor", "gen", 0, {"position": {"x": 64, "y": 32}, "comments": "here"})
        assert moved["position"] == {"x": 64.0, "y": 32.0} and moved["runState"] == "RUNNING"
        assert node.running and node.stopped is started, "not stopped and started again"
        assert node.definition.position == (64.0, 32.0)
        service.request_stop()
