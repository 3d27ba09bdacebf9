"""Provenance through the runtime facade: search, event detail, and the lineage
of a flowfile split into parts and merged back."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.engine._session import Routing, StandardProcessSession
from flowyard.runtime.flow import FlowDef
from flowyard.runtime.repository import Repositories
from flowyard.runtime.service import FlowService, UnknownComponentError


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
    clone = next(n for n in nodes.values() if n.get("eventType") == "CLONE")
    join = next(n for n in nodes.values() if n.get("eventType") == "JOIN")
    assert (ids["whole"], clone["id"]) in edges
    assert {(clone["id"], ids["part1"]), (clone["id"], ids["part2"])} <= edges
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
    assert {"CREATE", "CLONE", "DROP"} <= {e["eventType"] for e in by_uuid}
    timestamps = [e["timestamp"] for e in service.provenance_search()]
    assert timestamps == sorted(timestamps, reverse=True), "newest first"
    assert service.provenance_search(attributes={"team": "x"}, event_type="create")[0]["flowfileUuid"] == ids["whole"]
    assert len(service.provenance_search(limit=2)) == 2
    assert service.provenance_search(start_ms=1_700_000_002_000)[-1]["componentId"] == "merge"
    event = service.provenance_event(found[0]["eventId"])
    assert event["attributes"]["uuid"] == found[0]["flowfileUuid"]
    fragment_event = next(e for e in service.provenance_search(component_id="split")
                          if e["eventType"] == "CLONE")
    assert service.provenance_event(fragment_event["eventId"])["childUuids"] == [ids["part1"], ids["part2"]]
    with pytest.raises(UnknownComponentError):
        service.provenance_event(10_000)
