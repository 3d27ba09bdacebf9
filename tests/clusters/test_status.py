"""ClusterView against three real FlowServices, each behind a real NodeChannel on
port 0, plus a fourth "node" that accepts connections and never answers:
cluster totals are the sum of the nodes', the per-node figures are each
node's, the dead node is reported without holding the answer back beyond the
timeout, and provenance, queue listings and lineage carry a node column and
honour the node filter. Membership is a fake (no etcd needed here)."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import trio
from cluster_fakes import FakeNode, held_flow

from flowyard.bootstrap.compose import open_service
from flowyard.clusters import _merge
from flowyard.clusters._members import Member, NodeState
from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.status import (
    QUERY_PATH,
    STATUS_PATH,
    ClusterView,
    NodeActionRefused,
    NodeNotFoundError,
    NodeUnavailableError,
)
from flowyard.runtime.service import FlowService, UnknownComponentError

pytestmark = pytest.mark.integration

BATCH = {"n1": 2, "n2": 3, "n3": 5}
TIMEOUT = 0.5


@dataclass
class Cluster:
    views: dict[str, ClusterView]
    services: dict[str, FlowService]


async def wait_queued(service: FlowService, count: int) -> None:
    with trio.fail_after(30):
        while service.status()["queuedCount"] < count:
            await trio.sleep(0.02)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    keys = derive_keys(secrets.token_bytes(32))
    services: dict[str, FlowService] = {}
    channels: dict[str, NodeChannel] = {}
    views: dict[str, ClusterView] = {}
    silent = trio.socket.socket()  # the dead node: accepts connections (backlog) and never answers
    await silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    dead = Member("n4", f"127.0.0.1:{silent.getsockname()[1]}", "http://127.0.0.1:1", NodeState.CONNECTED, "",
                  0.0, True)
    try:
        async with trio.open_nursery() as nursery:
            addresses: dict[str, str] = {}
            for nid, batch in BATCH.items():
                initial = tmp_path / f"{nid}.json"
                initial.write_text(json.dumps(held_flow(batch)))
                services[nid] = open_service(tmp_path / nid, initial_flow=initial)
                await nursery.start(services[nid].run)
                channels[nid] = NodeChannel(nid, keys)
            members: list[Member] = []
            for nid in BATCH:
                # the view is made before the address is known: its routes only read the service
                view = ClusterView(FakeNode(nid, members, primary_at=1), channels[nid], services[nid], timeout=TIMEOUT)
                views[nid] = view
                addresses[nid] = await nursery.start(channels[nid].serve, view.routes(), "127.0.0.1:0")
            members += [Member(nid, addresses[nid], f"http://127.0.0.1:80{i}", NodeState.CONNECTED, "", 1.0, True)
                        for i, nid in enumerate(BATCH)]
            members.append(dead)
            for nid, batch in BATCH.items():
                await wait_queued(services[nid], batch)
            yield Cluster(views, services)
            nursery.cancel_scope.cancel()
    finally:
        silent.close()
        for channel in channels.values():
            with trio.CancelScope(shield=True):
                await channel.aclose()
        for service in services.values():
            service.close()


async def test_status_totals_are_the_sum_and_a_dead_node_is_named_within_the_timeout(cluster: Cluster) -> None:
    view = cluster.views["n1"]
    start = trio.current_time()
    status = await view.status()
    assert trio.current_time() - start < TIMEOUT + 1.0, "the dead node held the answer back"
    assert status["clustered"] is True
    assert status["queuedCount"] == sum(BATCH.values())
    assert status["queuedBytes"] == 4 * sum(BATCH.values())
    by_node = {n["nodeId"]: n for n in status["nodes"]}
    assert list(by_node) == ["n1", "n2", "n3", "n4"], "this node first, then the peers by id"
    for nid, batch in BATCH.items():
        assert by_node[nid]["queuedCount"] == batch
    assert "error" in by_node["n4"] and "0.5" in by_node["n4"]["error"]
    c1 = status["connections"]["c1"]
    assert c1["queuedCount"] == sum(BATCH.values())
    assert {n["nodeId"]: n["queuedCount"] for n in c1["nodes"]} == BATCH
    gen = status["processors"]["gen"]
    assert gen["out"] == sum(BATCH.values()) and gen["runState"] == "RUNNING" and gen["valid"] is True
    assert {n["nodeId"]: (n["out"], n["runState"]) for n in gen["nodes"]} == {
        nid: (b, "RUNNING") for nid, b in BATCH.items()}
    assert status["processors"]["held"]["runState"] == "STOPPED"

    only = await view.status(node="n3")
    assert only["queuedCount"] == 5 and [n["nodeId"] for n in only["nodes"]] == ["n3"]
    with pytest.raises(NodeUnavailableError) as refused:
        await view.status(node="n4")
    assert refused.value.status == 503
    with pytest.raises(NodeNotFoundError):
        await view.status(node="n9")


async def test_stream_entries_and_statistics_merge(cluster: Cluster) -> None:
    view = cluster.views["n2"]
    entries, answers = await view.status_entries()
    assert [a.node_id for a in answers] == ["n2", "n1", "n3", "n4"]
    assert [a.node_id for a in answers if not a.ok] == ["n4"]
    assert entries["c1"]["queuedCount"] == 10 and entries["c1"]["kind"] == "connection"
    assert {n["nodeId"] for n in entries["c1"]["nodes"]} == {"n1", "n2", "n3"}
    assert entries["_repository"]["kind"] == "repository"
    again, _ = await view.status_entries()
    assert again is entries, "concurrent streams share one fan-out for cache_seconds"

    stats = await view.component_statistics("c1")
    assert stats["current"] == {"queuedCount": 10, "queuedBytes": 40}
    assert {n["nodeId"]: n.get("current", {}).get("queuedCount") for n in stats["nodes"]} == {
        "n1": 2, "n2": 3, "n3": 5, "n4": None}
    with pytest.raises(UnknownComponentError):
        await view.component_statistics("nope")
    group = await view.group_statistics("root")
    assert group["connections"]["current"]["queuedCount"] == 10 and group["connections"]["count"] == 1


async def test_the_stream_probes_a_dead_peer_briefly_after_it_failed_once(cluster: Cluster) -> None:
    base = cluster.views["n1"]
    view = ClusterView(base.node, base.channel, base.service, timeout=2.0, cache_seconds=0, probe_timeout=0.1)
    start = trio.current_time()
    _, answers = await view.status_entries()
    first = trio.current_time() - start
    assert first >= 2.0 and [a.node_id for a in answers if not a.ok] == ["n4"]
    start = trio.current_time()
    entries, answers = await view.status_entries()
    assert trio.current_time() - start < 1.0, "the dead peer is only probed"
    assert [a.node_id for a in answers if not a.ok] == ["n4"] and "0.1 s" in (answers[-1].error or "")
    assert entries["c1"]["queuedCount"] == 10, "the live peers still count"
    start = trio.current_time()
    await view.status()
    assert trio.current_time() - start >= 2.0, "a plain read still gives it the full timeout"


async def test_queue_listing_and_provenance_carry_the_node(cluster: Cluster) -> None:
    view = cluster.views["n1"]
    listing, unavailable = await view.queue_listing("c1")
    assert unavailable == ["n4"]
    assert len(listing) == 10
    assert [(item["nodeId"], item["position"]) for item in listing[:3]] == [("n1", 1), ("n2", 1), ("n3", 1)]
    assert sorted(item["nodeId"] for item in listing) == ["n1"] * 2 + ["n2"] * 3 + ["n3"] * 5
    few, _ = await view.queue_listing("c1", limit=4)
    assert len(few) == 4
    only, unavailable = await view.queue_listing("c1", node="n2")
    assert unavailable == [] and {item["nodeId"] for item in only} == {"n2"} and len(only) == 3
    with pytest.raises(NodeUnavailableError) as unknown:
        await view.queue_listing("nope", node="n2")
    assert unknown.value.status == 404 and "nope" in str(unknown.value)

    events, unavailable = await view.provenance_search({"component": "gen", "type": "CREATE", "limit": 100})
    assert unavailable == ["n4"]
    assert sorted(e["nodeId"] for e in events) == ["n1"] * 2 + ["n2"] * 3 + ["n3"] * 5
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps, reverse=True), "newest first"
    cut, _ = await view.provenance_search({"component": "gen", "limit": 3})
    assert len(cut) == 3
    n3, _ = await view.provenance_search({"component": "gen", "limit": 100}, node="n3")
    assert len(n3) == 5 and {e["nodeId"] for e in n3} == {"n3"}

    chosen = n3[0]
    event = await view.provenance_event(chosen["eventId"], node="n3")
    assert event["nodeId"] == "n3" and event["flowfileUuid"] == chosen["flowfileUuid"]
    graph, _ = await view.lineage(chosen["flowfileUuid"])
    ids = {n["id"] for n in graph["nodes"]}
    assert f"event:n3:{chosen['eventId']}" in ids and chosen["flowfileUuid"] in ids
    flowfile = next(n for n in graph["nodes"] if n["id"] == chosen["flowfileUuid"])
    assert flowfile["nodeIds"] == ["n3"]
    with pytest.raises(UnknownComponentError):
        await view.lineage("no-such-flowfile")

    bulletins, _ = await view.bulletins()
    assert bulletins == []


async def test_node_protocol_handlers_answer_only_whitelisted_reads(cluster: Cluster) -> None:
    routes = cluster.views["n1"].routes()
    assert set(routes) == {STATUS_PATH, QUERY_PATH}
    refused = await routes[QUERY_PATH]({"op": "empty_queue", "args": {"connectionId": "c1"}}, "n2")
    assert refused["ok"] is False and refused["status"] == 400 and "unknown operation" in refused["error"]
    assert cluster.services["n1"].status()["queuedCount"] == 2
    bad = await routes[QUERY_PATH]({"op": "queue_listing", "args": {"connectionId": 5}}, "n2")
    assert bad["ok"] is False and "connectionId" in bad["error"]
    missing = await routes[QUERY_PATH]({"op": "queue_listing", "args": {"connectionId": "zz"}}, "n2")
    assert missing == {"ok": False, "status": 404, "error": "no connection has id 'zz'"}
    assert (await routes[STATUS_PATH]([], "n2"))["ok"] is False


async def test_node_actions_check_the_state_first(cluster: Cluster) -> None:
    view = cluster.views["n1"]
    node = view.node
    assert isinstance(node, FakeNode)
    overview = view.overview()
    assert overview["coordinator"] == "n1" and overview["primary"] == "n2"
    assert [m["nodeId"] for m in overview["nodes"]] == ["n1", "n2", "n3", "n4"]
    await view.disconnect("n2", by="alice")
    assert node.actions[-1] == ("request_state", "n2", NodeState.DISCONNECTED, "disconnected by alice", "alice")
    for action in (view.connect("n2", by="alice"), view.offload("n2", by="alice"), view.remove("n2", by="alice")):
        with pytest.raises(NodeActionRefused, match=r"n2.*CONNECTED"):
            await action
    with pytest.raises(NodeNotFoundError):
        await view.disconnect("n9", by="alice")


async def test_a_node_not_running_is_not_offloaded_and_an_offloading_node_can_be_connected_or_removed(
        cluster: Cluster) -> None:
    view = cluster.views["n1"]
    node = view.node
    assert isinstance(node, FakeNode)
    members = node.listed
    n2 = next(m for m in members if m.node_id == "n2")
    members[members.index(n2)] = dead = dataclasses.replace(n2, state=NodeState.DISCONNECTED, alive=False)
    with pytest.raises(NodeActionRefused, match=r"'n2' is not running") as refused:
        await view.offload("n2", by="alice")
    assert refused.value.status == 409 and not node.actions  # nothing asked: it would stay OFFLOADING for good
    members[members.index(dead)] = dataclasses.replace(dead, state=NodeState.OFFLOADING)
    await view.connect("n2", by="alice")  # an OFFLOADING node: the offload stops, it goes CONNECTING
    await view.remove("n2", by="alice")
    assert node.actions == [("allow_connect", "n2", "alice"), ("remove", "n2", "alice")]
    members[members.index(next(m for m in members if m.node_id == "n2"))] = dataclasses.replace(
        dead, state=NodeState.DISCONNECTED, alive=True)
    await view.offload("n2", by="alice")  # running and disconnected: offloaded
    assert node.actions[-1] == ("request_state", "n2", NodeState.OFFLOADING, "offloaded by alice", "alice")


def test_lineage_merge_follows_a_flowfile_across_nodes() -> None:
    events = {
        ("n1", 7): {"eventId": 7, "eventType": "FORK", "flowfileUuid": "a", "parentUuids": [],
                    "childUuids": ["b"], "componentId": "split", "timestamp": 1},
        ("n2", 7): {"eventId": 7, "eventType": "RECEIVE", "flowfileUuid": "b", "parentUuids": [],
                    "childUuids": [], "componentId": "lb", "timestamp": 2},
    }
    graph = _merge.lineage(events, {"a", "b"})
    assert {n["id"] for n in graph["nodes"]} == {"a", "b", "event:n1:7", "event:n2:7"}
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {
        ("a", "event:n1:7"), ("event:n1:7", "b"), ("b", "event:n2:7")}
    b = next(n for n in graph["nodes"] if n["id"] == "b")
    assert b["nodeIds"] == ["n1", "n2"]


def test_status_history_merge_adds_samples_per_interval() -> None:
    def history(timestamps: list[int], out: list[int]) -> dict[str, Any]:
        return {"id": "gen", "resolution": "1s", "intervalMillis": 1000,
                "fieldDescriptors": [{"field": "flowFilesOut", "type": "counter"}],
                "timestamps": timestamps, "series": {"flowFilesOut": out}}
    merged = _merge.status_history([("n1", history([1000, 2000, 3000], [1, 2, 3])),
                                    ("n2", history([1400, 2400], [10, 20]))], [{"nodeId": "n3", "error": "gone"}])
    assert merged["timestamps"] == [1000, 2000, 3000]
    assert merged["series"] == {"flowFilesOut": [1, 12, 23]}, "a sample at 1.4 s is in the interval ending at 2 s"
    assert [n["nodeId"] for n in merged["nodes"]] == ["n1", "n2", "n3"]


def test_statistics_merge_sums_figures_and_keeps_the_latest_timestamp() -> None:
    def stats(ts: int, out: int, rate: float) -> dict[str, Any]:
        return {"id": "gen", "kind": "processor", "timestamp": ts, "windowMillis": 300000,
                "totals": {"flowFilesOut": out}, "rates": {"1s": {"flowFilesOut": rate}},
                "sinceStart": {"flowFilesOut": out}, "current": {"activeThreadCount": 1}}
    merged = _merge.statistics([("n1", stats(5000, 3, 0.1)), ("n2", stats(6000, 4, 0.2))], [])
    assert merged["timestamp"] == 6000 and merged["windowMillis"] == 300000 and merged["kind"] == "processor"
    assert merged["totals"] == {"flowFilesOut": 7} and merged["rates"]["1s"] == {"flowFilesOut": 0.3}
    assert merged["current"] == {"activeThreadCount": 2}
    assert [n["totals"]["flowFilesOut"] for n in merged["nodes"]] == [3, 4]


async def test_lineage_follows_flowfiles_to_other_nodes_and_asks_a_dead_node_once(autojump_clock: Any) -> None:
    from flowyard.runtime.sdk._provenance import ProvenanceEvent, ProvenanceEventType

    def event(eid: int, kind: str, ff: str, *, children: tuple[str, ...] = (), at: int = 0) -> ProvenanceEvent:
        return ProvenanceEvent(ProvenanceEventType[kind], ff, at, "p", "T", {}, child_uuids=children, event_id=eid)

    local = [event(1, "CREATE", "a"), event(2, "FORK", "a", children=("b",), at=1)]
    remote = {"b": [{"eventId": 1, "eventType": "RECEIVE", "flowfileUuid": "b", "parentUuids": [],
                     "childUuids": [], "componentId": "lb", "timestamp": 2},
                    {"eventId": 2, "eventType": "FORK", "flowfileUuid": "b", "parentUuids": [],
                     "childUuids": ["c"], "componentId": "split", "timestamp": 3}],
              "c": [{"eventId": 3, "eventType": "DROP", "flowfileUuid": "c", "parentUuids": [],
                     "childUuids": [], "componentId": "end", "timestamp": 4}]}
    calls: list[str] = []

    class Channel:
        async def call(self, address: str, path: str, payload: Any, *, timeout: float, node: str | None) -> Any:
            calls.append(address)
            if address == "dead":
                await trio.sleep(timeout)
                raise OSError(f"{node} did not answer within {timeout:g} s")
            found = [e for u in payload["args"]["uuids"] for e in remote.get(u, [])]
            return {"ok": True, "result": found}

    provenance = SimpleNamespace(events_mentioning=lambda uuids: [
        e for e in local if e.flowfile_uuid in uuids or set(e.child_uuids) & set(uuids)])
    service: Any = SimpleNamespace(repositories=SimpleNamespace(provenance=provenance))
    listed = [Member("n1", "me", "", NodeState.CONNECTED, "", 1.0, True),
              Member("n2", "alive", "", NodeState.CONNECTED, "", 1.0, True),
              Member("n3", "dead", "", NodeState.CONNECTED, "", 1.0, True)]
    view = ClusterView(FakeNode("n1", listed, primary_at=1), Channel(), service, timeout=1.0)
    start = trio.current_time()
    graph, unavailable = await view.lineage("a")
    assert unavailable == ["n3"] and calls.count("dead") == 1, "a node that failed is not asked again"
    assert trio.current_time() - start < 2.0
    ids = {n["id"] for n in graph["nodes"]}
    assert {"a", "b", "c", "event:n1:1", "event:n1:2", "event:n2:1", "event:n2:2", "event:n2:3"} == ids
    assert calls.count("alive") == 3, "three generations: a, b, c"
