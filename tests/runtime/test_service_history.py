"""The service's one edit path with its edit log: history that survives a
restart, several edits as one undo step, moves between groups that keep
queues, field-level undo conflicts, and property keys at the boundary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
import trio_wait

from flowyard.bootstrap import compose
from flowyard.runtime.flow import load_flow
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError
from flowyard.runtime.service import FlowService, RevisionConflict

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "tag", "type": "UpdateAttribute", "properties": {"color": "red"}, "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
    {"identifier": "gen", "type": "GenerateFlowFile", "scheduledState": "STOPPED", "schedulingPeriod": "10 ms",
     "properties": {"Batch Size": "3"}},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "tag"}, "selectedRelationships": ["success"]},
], "processGroups": [{"identifier": "child", "name": "Child"}]}}

async def wait_for(condition: Callable[[], bool], *, timeout: float = 60.0) -> None:
    await trio_wait.wait_for(condition, timeout, step=0.01)


def open_service(tmp_path: Path) -> FlowService:
    initial = tmp_path / "initial.json"
    if not initial.exists():
        initial.write_text(json.dumps(FLOW))
    return compose.open_service(tmp_path / "data", initial_flow=initial)


async def test_history_and_undo_survive_a_restart(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        await service.update("processor", "tag", 0, {"properties": {"color": "blue"}}, user="ann")
        await service.create("funnel", {"identifier": "f1"}, user="bob")
    finally:
        service.close()
    saved = json.loads((tmp_path / "data" / "flow.json").read_text())
    assert saved["editSeq"] == 2, "the flow file says which log entries it holds"
    service = open_service(tmp_path)
    try:
        history = service.history("ann")
        assert [(e["user"], e["description"]) for e in history["entries"]] == [
            ("bob", "Create funnel 'f1'"), ("ann", "Update processor 'UpdateAttribute' (properties)")]
        assert history["undo"] == ["Update processor 'UpdateAttribute' (properties)"]
        assert await service.undo("ann") == "Update processor 'UpdateAttribute' (properties)"
        assert service.processor("tag")["properties"] == {"color": "red"}
        assert service.history("bob")["undo"] == ["Create funnel 'f1'"], "bob's edit is his own to undo"
    finally:
        service.close()


async def test_a_display_name_is_stored_as_its_key(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        assert service.processor("gen")["properties"] == {"batch-size": "3"}, "normalized at open"
        assert load_flow(tmp_path / "data" / "flow.json").processors[1].properties == {"batch-size": "3"}
        await service.update("processor", "gen", 0, {"properties": {"Batch Size": "5", "File Size": "4 B"}})
        assert service.processor("gen")["properties"] == {"batch-size": "5", "file-size": "4 B"}
    finally:
        service.close()


async def test_several_edits_are_one_undo_step(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        result = await service.apply_edits("Paste 3 components", [
            {"action": "create", "kind": "funnel", "data": {"identifier": "f1"}},
            {"action": "create", "kind": "processor",
             "data": {"identifier": "log", "type": "LogAttribute", "autoTerminatedRelationships": ["success"]}},
            {"action": "create", "kind": "connection", "data": {
                "identifier": "c2", "source": {"id": "f1"}, "destination": {"id": "log"}}},
            {"action": "update", "kind": "processor", "id": "tag", "revision": 0, "changes": {"comments": "x"}},
        ], user="ann")
        assert [r["identifier"] for r in result["results"]] == ["f1", "log", "c2", "tag"]
        assert service.history("ann")["undo"] == ["Paste 3 components"]
        assert await service.undo("ann") == "Paste 3 components"
        ids = {p["identifier"] for p in service.flow_document()["rootGroup"]["processors"]}
        assert ids == {"tag", "gen"} and "c2" not in service.engine.queues and "f1" not in service.engine.nodes
        assert service.processor("tag")["comments"] == ""
        assert await service.redo("ann") == "Paste 3 components"
        assert "c2" in service.engine.queues and service.processor("tag")["comments"] == "x"
        with pytest.raises(FlowDefinitionError) as bad:
            await service.apply_edits("", [{"action": "create", "kind": "funnel", "data": {"identifier": "f9"}},
                                           {"action": "create", "kind": "processor",
                                            "data": {"type": "LogAttribute", "schedulingPeriod": "soon"}}])
        assert bad.value.where.startswith("edits[1]"), "the problem names its item"
        assert "f9" not in service.engine.nodes, "all or nothing"
    finally:
        service.close()


async def test_a_move_keeps_the_queue_and_is_undone_in_one_step(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await service.set_run_state("gen", "RUNNING")
            await wait_for(lambda: service.engine.queues["c1"].count >= 3)
            await service.set_run_state("gen", "STOPPED")
            queued = service.engine.queues["c1"].count
            with pytest.raises(FlowDefinitionError, match="c1"):  # its other end stays behind
                await service.move("child", ["gen"], user="ann")
            await service.move("child", ["gen", "tag", "c1"], positions={"gen": {"x": 5, "y": 6}}, user="ann")
            assert service.component("connection", "c1")["parentGroupId"] == "child"
            assert service.engine.queues["c1"].count == queued, "the queue and its flowfiles moved with it"
            assert service.processor("gen")["position"] == {"x": 5.0, "y": 6.0}
            assert service.history("ann")["undo"][0].startswith("Move")
            await service.undo("ann")
            assert service.component("connection", "c1")["parentGroupId"] == "root"
            assert service.engine.queues["c1"].count == queued
            service.request_stop()
    finally:
        service.close()


async def test_undo_is_refused_only_when_the_same_field_changed(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        await service.update("processor", "tag", 0, {"properties": {"color": "blue"}}, user="ann")
        await service.update("processor", "tag", 1, {"comments": "bob was here"}, user="bob")
        await service.undo("ann")  # another field changed meanwhile: fine
        assert service.processor("tag")["properties"] == {"color": "red"}
        assert service.processor("tag")["comments"] == "bob was here"
        await service.redo("ann")
        await service.update("processor", "tag", 4, {"properties": {"color": "green"}}, user="bob")
        with pytest.raises(RevisionConflict, match="changed since"):
            await service.undo("ann")
        assert service.processor("tag")["properties"] == {"color": "green"}, "nothing was undone"
    finally:
        service.close()


async def test_a_run_state_change_is_logged_but_not_undone(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await service.update("processor", "tag", 0, {"comments": "c"}, user="ann")
            await service.set_run_state("tag", "RUNNING", user="ann")
            entries = service.history("ann")["entries"]
            assert entries[0]["description"].startswith("Start") or "RUNNING" in entries[0]["description"] \
                or "run" in entries[0]["description"].lower()
            assert entries[0]["undoable"] is False
            assert service.processor("tag")["revision"] == 1, "a run state moves no revision"
            await service.undo("ann")
            assert service.processor("tag")["comments"] == ""
            assert service.processor("tag")["runState"] == "RUNNING", "undo leaves run states as they are"
            service.request_stop()
    finally:
        service.close()


async def test_a_service_that_cannot_be_enabled_stays_disabled(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await service.create("controller-service", {
                "identifier": "m", "type": "LocalMapCacheService",
                "properties": {"maximum-cache-entries": "lots"}}, user="ann")
            with pytest.raises(FlowyardError):
                await service.set_service_state("m", "ENABLED", user="ann")
            assert service.component("controller-service", "m")["scheduledState"] == "DISABLED"
            assert load_flow(tmp_path / "data" / "flow.json").controller_services[0].scheduled_state == "DISABLED"
            entries = service.history("ann")["entries"]
            assert entries[0]["user"] == "system" and not entries[0]["undoable"], "the correction is logged"
            service.request_stop()
    finally:
        service.close()


async def test_a_refused_undo_never_shows_a_secret(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        await service.create("processor", {"identifier": "http", "type": "InvokeHTTP",
                                           "properties": {"Request Password": "s3cret-ANN-1"}}, user="ann")
        await service.update("processor", "http", 0, {"properties": {"Request Password": "s3cret-ANN-2"}}, user="ann")
        await service.update("processor", "http", 1, {"properties": {"request-password": "s3cret-BOB"}}, user="bob")
        with pytest.raises(RevisionConflict) as refused:
            await service.undo("ann")
        assert "s3cret" not in str(refused.value) and "request-password" in str(refused.value)
    finally:
        service.close()


async def test_undo_of_a_parameter_or_binding_change_respects_later_ones(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        await service.create("parameter-context", {"identifier": "ctx", "name": "P",
                                                   "parameters": [{"name": "n", "value": "1"}]})
        await service.update("parameter-context", "ctx", 0, {"parameters": [{"name": "n", "value": "2"}]}, user="ann")
        await service.update("parameter-context", "ctx", 1, {"parameters": [{"name": "n", "value": "5"}]}, user="bob")
        with pytest.raises(RevisionConflict, match="parameter 'n'"):
            await service.undo("ann")
        assert service.component("parameter-context", "ctx")["parameters"][0]["value"] == "5"
        await service.update("process-group", "child", 0, {"parameterContext": {"id": "ctx"}}, user="ann")
        await service.update("process-group", "child", 1, {"parameterContext": None}, user="bob")
        with pytest.raises(RevisionConflict, match="parameter context of process group 'Child'"):
            await service.undo("ann")
        await service.undo("bob")  # bob's own unbinding: fine
        assert service.component("process-group", "child")["parameterContext"] == {"id": "ctx"}
    finally:
        service.close()


async def test_a_batch_acts_once_per_component_and_drops_only_what_it_says(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(service.run)
            await service.create("funnel", {"identifier": "f2"})
            await service.set_run_state("gen", "RUNNING")
            await wait_for(lambda: service.engine.queues["c1"].count >= 3)
            await service.set_run_state("gen", "STOPPED")
            seq = service.log.last_seq
            for items in (
                [{"action": "update", "kind": "funnel", "id": "f2", "revision": 0,
                  "changes": {"position": {"x": 9, "y": 9}}},
                 {"action": "delete", "kind": "funnel", "id": "f2", "revision": 0}],
                [{"action": "delete", "kind": "connection", "id": "c1", "revision": 0},
                 {"action": "create", "kind": "connection", "data": {
                     "identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "f2"},
                     "selectedRelationships": ["success"]}}],
                [{"action": "create", "kind": "funnel", "data": {"identifier": "nf", "parentGroupId": "child"}},
                 {"action": "delete", "kind": "process-group", "id": "child", "revision": 0}],
            ):
                with pytest.raises(FlowyardError, match=r"edits\[[01]\]"):
                    await service.apply_edits(None, items)
            with pytest.raises(FlowyardError, match="queued flowfile"):  # one item's drop is not another's
                await service.apply_edits(None, [
                    {"action": "delete", "kind": "connection", "id": "c1", "revision": 0},
                    {"action": "delete", "kind": "funnel", "id": "f2", "revision": 0, "drop": True}])
            assert service.log.last_seq == seq, "nothing refused was logged"
            nothing = await service.apply_edits(None, [{"action": "update", "kind": "processor", "id": "tag",
                                                        "revision": 0, "changes": {}}])
            assert nothing["results"][0]["identifier"] == "tag" and service.log.last_seq == seq
            one = await service.apply_edits(None, [{"action": "delete", "kind": "funnel", "id": "f2",
                                                    "revision": 0}])
            assert one["description"] == "Delete funnel 'f2'"
            service.request_stop()
    finally:
        service.close()


async def test_the_history_of_a_component_lists_the_deletion_of_its_group(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        await service.create("funnel", {"identifier": "inner", "parentGroupId": "child"}, user="ann")
        await service.delete("process-group", "child", 0, user="ann")
        listed = [e["description"] for e in service.history("ann", component="inner")["entries"]]
        assert listed == ["Delete process group 'Child'", "Create funnel 'inner'"]
    finally:
        service.close()


async def test_what_the_engine_refuses_in_a_batch_names_the_item(tmp_path: Path) -> None:
    service = open_service(tmp_path)
    try:
        with pytest.raises(FlowDefinitionError) as refused:
            await service.apply_edits(None, [
                {"action": "create", "kind": "funnel", "data": {"identifier": "f1"}},
                {"action": "create", "kind": "connection", "data": {
                    "identifier": "c9", "source": {"id": "gen"}, "destination": {"id": "f1"},
                    "selectedRelationships": ["nope"]}}])
        assert refused.value.where == "edits[1]" and "has no relationship 'nope'" in str(refused.value)
    finally:
        service.close()
