"""An edit is saved and applied, or neither (issue 10): when the flow file cannot
be written, every kind of edit answers ``FlowNotSavedError`` and leaves the live
flow, the engine and the file exactly as they were; the flow's limits (nesting,
sizes, numbers) are enforced before anything changes; whatever happens, the flow
file read back equals the live flow."""

from __future__ import annotations

import errno
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from flowyard.bootstrap import compose
from flowyard.runtime.flow import MAX_GROUP_DEPTH, flow_to_dict, load_flow
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError
from flowyard.runtime.service import FlowNotSavedError, FlowService

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "name": "Gen", "schedulingPeriod": "1 sec",
     "scheduledState": "STOPPED", "properties": {"Batch Size": "1"}},
    {"identifier": "log", "type": "LogAttribute", "name": "Log", "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"]},
], "controllerServices": [
    {"identifier": "cache", "type": "LocalMapCacheService", "name": "Cache", "scheduledState": "DISABLED"},
], "processGroups": [
    {"identifier": "child", "name": "Child"},
]}, "parameterContexts": [{"identifier": "ctx", "name": "P", "parameters": [{"name": "a", "value": "1"}]}]}


def open_service(tmp_path: Path) -> FlowService:
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW))
    return compose.open_service(tmp_path / "data", initial_flow=initial)


def saved(tmp_path: Path) -> dict[str, Any]:
    return flow_to_dict(load_flow(tmp_path / "data" / "flow.json"))


def live(service: FlowService) -> dict[str, Any]:
    return flow_to_dict(service.flow)


def engine_shape(service: FlowService) -> tuple[Any, ...]:
    engine = service.engine
    return (sorted(engine.nodes), sorted(engine.queues), sorted(engine.controller_services.registry),
            sorted((n.id, n.running, n.state) for n in engine.nodes.values()))


Edit = Callable[[FlowService], Awaitable[Any]]

EDITS: list[tuple[str, Edit]] = [
    ("create processor", lambda s: s.create("processor", {"type": "LogAttribute", "name": "New"})),
    ("create connection", lambda s: s.create("connection", {
        "source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"]})),
    ("create group", lambda s: s.create("process-group", {"name": "G", "processors": [
        {"identifier": "inner", "type": "LogAttribute", "name": "Inner"}]})),
    ("create label", lambda s: s.create("label", {"label": "note"})),
    ("create service", lambda s: s.create("controller-service", {"type": "LocalMapCacheService", "name": "S"})),
    ("create context", lambda s: s.create("parameter-context", {"name": "Q"})),
    ("update processor", lambda s: s.update("processor", "gen", 0, {"properties": {"Batch Size": "7"}})),
    ("move processor", lambda s: s.update("processor", "gen", 0, {"position": {"x": 5, "y": 6}})),
    ("update connection", lambda s: s.update("connection", "c1", 0, {"backPressureObjectThreshold": 5})),
    ("update group", lambda s: s.update("process-group", "child", 0, {"name": "Renamed"})),
    ("bind context", lambda s: s.update("process-group", "child", 0, {"parameterContext": {"id": "ctx"}})),
    ("update context", lambda s: s.update("parameter-context", "ctx", 0,
                                          {"parameters": [{"name": "a", "value": "2"}]})),
    ("update service", lambda s: s.update("controller-service", "cache", 0, {"name": "Cache 2"})),
    ("delete connection", lambda s: s.delete("connection", "c1", 0)),
    ("delete group", lambda s: s.delete("process-group", "child", 0)),
    ("start processor", lambda s: s.set_run_state("log", "RUNNING")),
    ("disable processor", lambda s: s.set_run_state("gen", "DISABLED")),
    ("start group", lambda s: s.set_run_state("root", "RUNNING")),
    ("start selection", lambda s: s.set_run_states(["gen", "log"], "RUNNING")),
    ("enable service", lambda s: s.set_service_state("cache", "ENABLED")),
    ("import group", lambda s: s.import_group("root", {"flowyardFlowVersion": 1, "parameterContexts": [
        {"identifier": "x", "name": "Imported", "parameters": []}], "rootGroup": {
        "name": "Imp", "parameterContext": {"id": "x"},
        "processors": [{"identifier": "i1", "type": "LogAttribute", "name": "I1"}]}})),
]


@pytest.mark.parametrize("edit", [e[1] for e in EDITS], ids=[e[0] for e in EDITS])
async def test_an_edit_that_cannot_be_saved_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           edit: Edit) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            before_live, before_engine = live(service), engine_shape(service)
            before_file = (tmp_path / "data" / "flow.json").read_bytes()
            revisions = dict(service.revisions)

            def disk_full(data: bytes, path: Any) -> None:
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr("flowyard.runtime.service._core.write_flow_bytes", disk_full)
            with pytest.raises(FlowNotSavedError, match="No space left on device") as info:
                await edit(service)
            assert info.value.disk_full
            assert live(service) == before_live, "the live flow is as it was"
            assert engine_shape(service) == before_engine, "the engine is as it was"
            assert (tmp_path / "data" / "flow.json").read_bytes() == before_file, "the file is as it was"
            assert service.revisions == revisions
            assert service.history("alice")["undo"] == [] and service.history("alice")["redo"] == []
            assert service.log.history() == [], "nothing was logged"
            monkeypatch.undo()
            await edit(service)  # the same edit succeeds once the disk has room
            assert saved(tmp_path) == live(service)
            service.request_stop()
    finally:
        service.close()


async def test_a_refused_edit_leaves_the_file_as_the_live_flow(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            with pytest.raises(FlowyardError, match="has no relationship 'nope'"):  # refused by the engine
                await service.create("connection", {"source": {"id": "gen"}, "destination": {"id": "log"},
                                                    "selectedRelationships": ["nope"]})
            assert saved(tmp_path) == live(service)
            assert "nope" not in json.dumps(saved(tmp_path))
            service.request_stop()
    finally:
        service.close()


def nested(levels: int) -> dict[str, Any]:
    group: dict[str, Any] = {"name": f"level {levels}"}
    for level in range(levels - 1, 0, -1):
        group = {"name": f"level {level}", "processGroups": [group]}
    return group


async def test_group_nesting_is_bounded_and_edits_keep_working(tmp_path: Path) -> None:
    """The regression: a 200-level group answered 500 and broke every later save."""
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            with pytest.raises(FlowDefinitionError, match=f"at most {MAX_GROUP_DEPTH} levels deep"):
                await service.create("process-group", nested(200))
            with pytest.raises(FlowDefinitionError, match=f"at most {MAX_GROUP_DEPTH} levels deep"):
                await service.create("process-group", nested(MAX_GROUP_DEPTH), parent_group_id="child")
            deepest = await service.create("process-group", nested(MAX_GROUP_DEPTH - 1), parent_group_id="child")
            assert deepest["name"] == "level 1"
            await service.update("processor", "gen", 0, {"name": "Still editable"})
            assert saved(tmp_path) == live(service)
            service.request_stop()
    finally:
        service.close()


@pytest.mark.parametrize(("kind", "data", "field", "fragment"), [
    ("processor", {"type": "LogAttribute", "concurrentlySchedulableTaskCount": 10**12},
     "processor.concurrentlySchedulableTaskCount", "must be from 1 to 100"),
    ("processor", {"type": "LogAttribute", "identifier": "x" * 201}, "processor.identifier", "at most 200"),
    ("processor", {"type": "LogAttribute", "identifier": "a/b"}, "processor.identifier", "a character"),
    ("processor", {"type": "LogAttribute", "name": "  "}, "processor.name", "must not be empty"),
    ("processor", {"type": "LogAttribute", "schedulingPeriod": "yesterday"}, "processor.schedulingPeriod",
     "not a valid time period"),
    ("processor", {"type": "LogAttribute", "schedulingPeriod": "99999 weeks"}, "processor.schedulingPeriod",
     "longer than"),
    ("processor", {"type": "LogAttribute", "schedulingStrategy": "CRON_DRIVEN", "schedulingPeriod": "0 0 0 31 2 ?"},
     "processor.schedulingPeriod", "never fires"),
    ("processor", {"type": "LogAttribute", "position": {"x": 1e300, "y": 0}}, "processor.position", "finite"),
    ("connection", {"source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"],
                    "backPressureObjectThreshold": "lots"}, "connection.backPressureObjectThreshold",
     "must be a whole number, found 'lots'"),
    ("connection", {"source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"],
                    "backPressureObjectThreshold": 10**15}, "connection.backPressureObjectThreshold", "must be from"),
    ("connection", {"source": {"id": "gen"}, "destination": {"id": "log"}, "selectedRelationships": ["success"],
                    "backPressureDataSizeThreshold": "9999999 TB"}, "connection.backPressureDataSizeThreshold",
     "larger than"),
    ("label", {"style": {"background-color": "url(http://example.com/x.png)"}}, "label.style.background-color",
     "must be a colour"),
    ("label", {"style": {"background-image": "red"}}, "label.style", "unknown style"),
    ("process-group", {"name": ""}, "process-group.name", "must not be empty"),
])
async def test_bounds_are_refused_naming_the_field(tmp_path: Path, kind: str, data: dict[str, Any], field: str,
                                                  fragment: str) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            before = live(service)
            with pytest.raises(FlowDefinitionError) as info:
                await service.create(kind, data)
            assert info.value.where == field
            assert fragment in str(info.value)
            assert live(service) == before and saved(tmp_path) == before
            service.request_stop()
    finally:
        service.close()


async def test_every_wrong_field_is_reported(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            with pytest.raises(FlowDefinitionError) as info:
                await service.update("connection", "c1", 0, {"backPressureObjectThreshold": "lots",
                                                              "flowFileExpiration": "yesterday", "name": 5})
            fields = [where for where, _ in info.value.problems]
            assert fields == ["connection.name", "connection.backPressureObjectThreshold",
                              "connection.flowFileExpiration"]
            service.request_stop()
    finally:
        service.close()


async def test_a_large_import_lets_the_event_loop_run(tmp_path: Path) -> None:
    """The regression: importing 10,000 processors held the event loop for ~7 s.
    The group is built in slices (its figures are a benchmark: import_10k_*)."""
    count = 5_000
    doc = {"flowyardFlowVersion": 1, "rootGroup": {"name": "big", "processors": [
        {"identifier": f"p{i}", "type": "LogAttribute", "autoTerminatedRelationships": ["success"]}
        for i in range(count)]}}
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            turns = 0
            importing = True

            async def other_work() -> None:
                nonlocal turns
                while importing:
                    turns += 1
                    await trio.sleep(0)
            nursery.start_soon(other_work)
            group = await service.import_group("root", doc)
            importing = False
            assert turns >= 5, f"other tasks ran only {turns} times while {count:,} processors were imported"
            assert len(service.flow.group(group["identifier"]).processors) == count  # type: ignore[union-attr]
            assert saved(tmp_path) == live(service)
            service.request_stop()
    finally:
        service.close()
