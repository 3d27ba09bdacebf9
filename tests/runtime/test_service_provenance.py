"""Provenance through the runtime facade: search, event detail with content before
and after, the lineage of a flowfile split into parts and merged back, and
replay through a running engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from trio.testing import MockClock
from trio_wait import wait_for

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import (
    ContentNotFoundError,
    FlowyardError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
)
from flowyard.runtime.service import FlowService, UnknownComponentError

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS
from flowyard_test_processors import expected_content

SUCCESS = Relationship("success")


class Clock:
    now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now


def commit(repos: Repositories, session: StandardProcessSession, clock: Clock) -> None:
    prepared = session.prepare_commit()
    repos.write([prepared.transaction], clock())
    prepared.apply(clock())


@pytest.fixture
def split_and_merged(tmp_path: Path) -> tuple[FlowService, dict[str, str]]:
    repos = Repositories.in_memory()
    clock = Clock()
    q1 = FlowFileQueue("q1", 1, object_threshold=0, size_threshold=0)
    q2 = FlowFileQueue("q2", 2, object_threshold=0, size_threshold=0)
    q3 = FlowFileQueue("q3", 3, object_threshold=0, size_threshold=0)
    source = StandardProcessSession(Routing("src", "Source", destinations={"success": [q1]}), repos, clock)
    whole = source.put_attributes(source.write(source.create(), b"abcdef"), {"filename": "whole.txt", "team": "x"})
    source.transfer(whole, "success")
    commit(repos, source, clock)
    clock.now += 1000
    split = StandardProcessSession(Routing("split", "SplitText", inputs=[q1], destinations={"splits": [q2]}),
                                   repos, clock)
    parent = split.get()
    assert parent is not None
    parts = [split.clone(parent, 0, 3), split.clone(parent, 3, 3)]
    for part in parts:
        split.transfer(split.put_attribute(part, "fragment", "yes"), "splits")
    split.remove(parent)
    commit(repos, split, clock)
    clock.now += 1000
    merge = StandardProcessSession(Routing("merge", "MergeContent", inputs=[q2], destinations={"merged": [q3]}),
                                   repos, clock)
    taken = merge.get_batch(10)
    merged = merge.create(taken)
    merged = merge.write(merged, b"".join(merge.read_bytes(t) for t in taken))
    merge.transfer(merged, "merged")
    for t in taken:
        merge.remove(t)
    commit(repos, merge, clock)
    service = FlowService(FlowDef(), repos, tmp_path, {})
    return service, {"whole": whole.uuid, "part1": parts[0].uuid, "part2": parts[1].uuid, "merged": merged.uuid}


def test_lineage_of_a_split_and_merged_flowfile(split_and_merged: tuple[FlowService, dict[str, str]]) -> None:
    service, ids = split_and_merged
    graph = service.lineage(ids["whole"])
    nodes = {n["id"]: n for n in graph["nodes"]}
    edges = {(e["source"], e["target"]) for e in graph["edges"]}
    assert set(ids.values()) <= set(nodes), "parent, both parts and the merged flowfile"
    fork = next(n for n in nodes.values() if n.get("eventType") == "FORK")  # parts of the content: FORK
    join = next(n for n in nodes.values() if n.get("eventType") == "JOIN")
    assert (ids["whole"], fork["id"]) in edges
    assert {(fork["id"], ids["part1"]), (fork["id"], ids["part2"])} <= edges
    assert {(ids["part1"], join["id"]), (ids["part2"], join["id"]), (join["id"], ids["merged"])} <= edges
    upward = {n["id"] for n in service.lineage(ids["merged"])["nodes"]}
    assert set(ids.values()) <= upward, "walking up from the merged flowfile finds the same family"
    with pytest.raises(UnknownComponentError):
        service.lineage("no-such-uuid")


def test_search_and_event_detail(split_and_merged: tuple[FlowService, dict[str, str]]) -> None:
    service, ids = split_and_merged
    found = service.provenance_search(component_id="merge")
    assert [e["eventType"] for e in found].count("JOIN") == 1
    assert all(e["componentId"] == "merge" for e in found)
    by_uuid = service.provenance_search(flowfile_uuid=ids["whole"])
    assert {"CREATE", "FORK", "DROP"} <= {e["eventType"] for e in by_uuid}
    timestamps = [e["timestamp"] for e in service.provenance_search()]
    assert timestamps == sorted(timestamps, reverse=True), "newest first"
    assert service.provenance_search(attributes={"team": "x"}, event_type="create")[0]["flowfileUuid"] == ids["whole"]
    assert len(service.provenance_search(limit=2)) == 2
    assert service.provenance_search(start_ms=1_700_000_002_000)[-1]["componentId"] == "merge"
    event = service.provenance_event(found[0]["eventId"])
    assert event["attributes"]["uuid"] == found[0]["flowfileUuid"]
    fragment_event = next(e for e in service.provenance_search(component_id="split")
                          if e["eventType"] == "FORK")
    assert service.provenance_event(fragment_event["eventId"])["childUuids"] == [ids["part1"], ids["part2"]]
    with pytest.raises(UnknownComponentError):
        service.provenance_event(10_000)


def test_event_detail_says_whether_content_before_and_after_is_available(
        split_and_merged: tuple[FlowService, dict[str, str]]) -> None:
    service, _ = split_and_merged
    created = service.provenance_search(component_id="src", event_type="CREATE")[0]
    detail = service.provenance_event(created["eventId"])
    assert (detail["inputContentAvailable"], detail["inputSize"], detail["sourceConnectionId"]) == (False, None, None)
    assert (detail["outputContentAvailable"], detail["outputSize"]) == (True, 6)
    assert detail["replayAvailable"] is False and "did not come from a queue" in detail["replayExplanation"]
    mime, filename, size, chunks = service.provenance_content(created["eventId"], "output")
    assert (mime, filename, size, b"".join(chunks)) == ("application/octet-stream", "whole.txt", 6, b"abcdef")
    with pytest.raises(ContentNotFoundError, match="no input content"):
        service.provenance_content(created["eventId"], "input")

    fork = next(e for e in service.provenance_search(component_id="split") if e["eventType"] == "FORK")
    detail = service.provenance_event(fork["eventId"])
    assert (detail["inputContentAvailable"], detail["inputSize"], detail["sourceConnectionId"]) == (True, 6, "q1")
    assert detail["replayAvailable"] is False and "no longer in the flow" in detail["replayExplanation"]
    _, filename, size, chunks = service.provenance_content(fork["eventId"], "input")
    assert (filename, size, b"".join(chunks)) == ("whole.txt", 6, b"abcdef")
    with pytest.raises(FlowyardError, match="'input' or 'output'"):
        service.provenance_content(fork["eventId"], "sideways")
    with pytest.raises(UnknownComponentError):
        service.provenance_content(10_000, "input")


class Uppercase(Processor):
    """Upper-cases the content (a CONTENT_MODIFIED event) and marks the flowfile."""

    blocking = False
    spec = ProcessorSpec(description="Upper-cases content.", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        for ff in session.get_batch(10):
            ff = session.write(ff, session.read_bytes(ff).upper())
            session.transfer(session.put_attribute(ff, "upper", "yes"), SUCCESS)


def upper_flow() -> FlowDef:
    """gen (two flowfiles) → c1 → upper → c2 → sink (auto-terminated)."""
    def conn(ident: str, src: str, dst: str) -> dict[str, Any]:
        return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
                "selectedRelationships": ["success"]}
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "type": "SequenceSource", "properties": {"Count": "2", "Content Size": "16"}},
            {"identifier": "upper", "type": "Uppercase"},
            {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "1 ms"},
             "autoTerminatedRelationships": ["success"]}],
        "connections": [conn("c1", "gen", "upper"), conn("c2", "upper", "sink")]}})


async def test_replay_through_the_service(tmp_path: Path, autojump_clock: Any) -> None:
    repos = Repositories.in_memory()
    service = FlowService(upper_flow(), repos, tmp_path, {**TEST_PROCESSORS, "Uppercase": Uppercase})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await wait_for(lambda: service.engine.nodes["sink"].stats.flowfiles_in == 2)
        event = service.provenance_search(component_id="upper", event_type="CONTENT_MODIFIED")[0]
        detail = service.provenance_event(event["eventId"])
        assert (detail["replayAvailable"], detail["replayExplanation"]) == (True, None)
        assert (detail["inputContentAvailable"], detail["sourceConnectionId"]) == (True, "c1")
        seq = int(detail["previousAttributes"]["seq"])
        _, _, _, before = service.provenance_content(event["eventId"], "input")
        _, _, _, after = service.provenance_content(event["eventId"], "output")
        assert b"".join(before) == expected_content(seq, 16) and b"".join(after) == expected_content(seq, 16).upper()
        await service.engine.stop_processor("upper")  # so the replayed flowfile stays in c1

        result = await service.replay_provenance_event(event["eventId"], user="admin")

        assert (result["connectionId"], result["size"]) == ("c1", 16)
        [queued] = service.queue_listing("c1")
        assert queued["uuid"] == result["flowfileUuid"] != event["flowfileUuid"]
        assert queued["attributes"] == {**detail["previousAttributes"], "uuid": result["flowfileUuid"]}
        _, _, _, chunks = service.queued_content("c1", result["flowfileUuid"])
        assert b"".join(chunks) == expected_content(seq, 16)
        replay = service.provenance_event(result["eventId"])
        assert (replay["eventType"], replay["parentUuids"]) == ("REPLAY", [event["flowfileUuid"]])
        assert replay["details"] == f"Replay of provenance event {event['eventId']} requested by admin"
        lineage = {n["id"] for n in service.lineage(event["flowfileUuid"])["nodes"]}
        assert {event["flowfileUuid"], result["flowfileUuid"], f"event:{result['eventId']}"} <= lineage
        with pytest.raises(UnknownComponentError):
            await service.replay_provenance_event(10_000)
        service.request_stop()


async def test_replay_through_the_service_is_refused_when_the_content_expired(
        tmp_path: Path, real_rate_clock: MockClock) -> None:
    repos = Repositories.in_memory(archive_max_age_ms=60_000)
    service = FlowService(upper_flow(), repos, tmp_path, {**TEST_PROCESSORS, "Uppercase": Uppercase})
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await wait_for(lambda: service.engine.nodes["sink"].stats.flowfiles_in == 2)
        event_id = service.provenance_search(component_id="upper", event_type="CONTENT_MODIFIED")[0]["eventId"]
        assert service.provenance_event(event_id)["inputContentAvailable"], "kept a minute"
        real_rate_clock.jump(61)
        await wait_for(lambda: not service.provenance_event(event_id)["inputContentAvailable"])
        detail = service.provenance_event(event_id)
        assert detail["replayAvailable"] is False and "no longer retained" in detail["replayExplanation"]
        with pytest.raises(ContentNotFoundError, match="no longer retained"):
            service.provenance_content(event_id, "input")
        with pytest.raises(FlowyardError, match="no longer retained"):
            await service.replay_provenance_event(event_id)
        assert service.queue_listing("c1") == []
        service.request_stop()
