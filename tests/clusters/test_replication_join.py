"""Joining the cluster's flow against a real etcd: a node that was down
catches up from the log; one further behind than the log takes the snapshot;
one whose queued data the snapshot would delete stays DISCONNECTED saying so;
the cold start elects the most common flow. Every wait is bounded."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import trio
from _replicas import FLOW, Harness, Replica, at, connected, same, until

from flowyard.clusters.etcdserver import EtcdServer
from flowyard.clusters.node import NodeState

pytestmark = [
    pytest.mark.integration,
    # A node stopped by cancellation can leave an etcd request of its membership half-sent
    # (clusters/etcd.py through httpx); the garbage collector then reports the request body's
    # generator. Reported to the etcd client's owner; nothing of replication.
    pytest.mark.filterwarnings("ignore:Exception ignored in. <async_generator object ByteStream.__aiter__"
                               ":pytest.PytestUnraisableExceptionWarning"),
]


def sees(seen_by: Replica, node_id: str) -> bool:
    """``seen_by`` counts ``node_id`` among the live CONNECTED nodes. Wait for this before
    stopping ``node_id``: until then :func:`gone` holds at once and proves nothing."""
    return any(m.node_id == node_id for m in seen_by.node.connected_peers())


async def gone(seen_by: Replica, node_id: str) -> None:
    """Until ``seen_by`` no longer counts ``node_id`` among the live nodes (its lease ran out)."""
    await until(lambda: all(m.node_id != node_id for m in seen_by.node.connected_peers()), timeout=15)


async def edits(replica: Replica, count: int, prefix: str) -> None:
    for i in range(count):
        await replica.service.create("funnel", {"identifier": f"{prefix}{i}"}, user="ann")


async def test_a_node_that_was_down_catches_up_from_the_log(etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery)
        n1, n2 = await h.start("n1"), await h.start("n2")
        await until(lambda: connected(n1, n2) and sees(n1, "n2"))
        await edits(n1, 1, "a")
        await until(lambda: at(1, n2))
        await h.stop("n2")
        await gone(n1, "n2")
        await edits(n1, 3, "b")
        n2 = await h.start("n2")
        await until(lambda: connected(n2) and at(4, n2))
        same(n1, n2)
        took = [e for e in n2.service.history("x")["entries"] if e["description"] == "Took the cluster's flow"]
        assert len(took) == 1, "caught up from the log: the flow was taken once, at the first join only"
        nursery.cancel_scope.cancel()


async def test_a_node_far_behind_takes_the_snapshot(etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery, snapshot_every=2, keep_entries=2)
        n1, n2 = await h.start("n1"), await h.start("n2")
        await until(lambda: connected(n1, n2) and sees(n1, "n2"))
        await h.stop("n2")
        await gone(n1, "n2")
        await edits(n1, 5, "b")
        await until(lambda: at(5, n1))
        log, _ = await n1.replicator.etcd.range(n1.replicator.keys.log)
        assert [n1.replicator.keys.seq_of(kv.key) for kv in log] == [3, 4, 5], "the log keeps its last entries"
        n2 = await h.start("n2")
        await until(lambda: connected(n2) and at(5, n2))
        same(n1, n2)
        took = [e for e in n2.service.history("x")["entries"] if e["description"] == "Took the cluster's flow"]
        assert len(took) == 2, "the snapshot was taken again on rejoining"
        nursery.cancel_scope.cancel()


async def test_a_node_whose_queued_data_the_cluster_flow_deletes_stays_disconnected(
        etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery, snapshot_every=1, keep_entries=1)
        n1, n2 = await h.start("n1"), await h.start("n2")
        await until(lambda: connected(n1, n2) and sees(n1, "n2"))
        await n2.service.engine.run_once("gen")
        await until(lambda: n2.service.engine.queues["c1"].count > 0)
        await h.stop("n2")
        await gone(n1, "n2")
        await n1.service.delete("connection", "c1", 0)  # nothing queued on n1
        await edits(n1, 2, "b")
        n2 = await h.start("n2")
        await until(lambda: n2.node.state is NodeState.DISCONNECTED, timeout=20)
        assert "would remove connections still holding flowfiles here: c1 (" in n2.node.reason
        assert n2.service.engine.queues["c1"].count > 0 and n2.service.cluster_seq == 0, "its flow kept as it was"
        nursery.cancel_scope.cancel()


def _flow_with(funnels: int) -> dict[str, Any]:
    flow = copy.deepcopy(FLOW)
    flow["rootGroup"]["funnels"] = [{"identifier": f"f{i}"} for i in range(funnels)]
    return flow


async def test_cold_start_elects_the_most_common_flow(etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery, flow_election_candidates=3, flow_election_wait=20.0)
        n1 = await h.start("n1", _flow_with(5))  # more components, but alone
        n2 = await h.start("n2", _flow_with(1))
        n3 = await h.start("n3", _flow_with(1))
        await until(lambda: connected(n1, n2, n3) and at(0, n1, n2, n3))
        same(n1, n2, n3)
        assert [f.identifier for f in n1.service.flow.funnels] == ["f0"], "two of three hold that flow"
        nursery.cancel_scope.cancel()


async def test_cold_start_elects_after_the_wait_with_fewer_candidates(etcd_server: EtcdServer,
                                                                      tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery, flow_election_candidates=3, flow_election_wait=1.0)
        n1, n2 = await h.start("n1", _flow_with(2)), await h.start("n2", _flow_with(3))
        await until(lambda: connected(n1, n2) and at(0, n1, n2))
        assert len(n1.service.flow.funnels) == 3, "a tie goes to the most components"
        same(n1, n2)
        nursery.cancel_scope.cancel()


async def test_edits_go_on_after_the_coordinator_dies_and_it_rejoins(etcd_server: EtcdServer,
                                                                    tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery)
        n1 = await h.start("n1")
        await until(lambda: connected(n1) and n1.node.is_coordinator)
        n2, n3 = await h.start("n2"), await h.start("n3")
        await until(lambda: connected(n1, n2, n3))
        await edits(n3, 1, "a")
        await h.stop("n1")  # the coordinator, killed: no leave
        await until(lambda: n2.node.is_coordinator or n3.node.is_coordinator, timeout=15)
        await edits(n3, 2, "b")  # the proposal finds the new coordinator
        await edits(n2, 1, "c")
        await until(lambda: at(4, n2, n3))
        n1 = await h.start("n1")
        await until(lambda: connected(n1) and at(4, n1))
        same(n1, n2, n3)
        nursery.cancel_scope.cancel()


async def test_an_edit_whose_coordinator_dies_before_answering_is_found_committed_not_made_twice(
        etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery)
        n1 = await h.start("n1")
        await until(lambda: connected(n1) and n1.node.is_coordinator)
        n2 = await h.start("n2")
        await until(lambda: connected(n1, n2) and len(n1.node.connected_peers()) == 1)
        commit = n1.replicator._on_propose

        async def commit_then_hang(payload: Any, caller: str) -> Any:
            await commit(payload, caller)
            await trio.sleep_forever()
        n1.replicator._on_propose = commit_then_hang  # type: ignore[method-assign]
        answers: list[Any] = []

        async def edit() -> None:
            answers.append(await n2.service.create("funnel", {"identifier": "f1"}, user="ann"))
        nursery.start_soon(edit)
        await until(lambda: at(1, n1))
        await h.stop("n1")  # dies before answering
        await until(lambda: bool(answers), timeout=20)
        assert answers[0]["identifier"] == "f1" and at(1, n2), "answered from the log, not proposed again"
        await edits(n2, 1, "b")
        assert at(2, n2)
        nursery.cancel_scope.cancel()


async def test_a_node_cut_off_longer_than_its_lease_catches_up_when_it_comes_back(
        etcd_server: EtcdServer, tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        h = Harness(etcd_server, tmp_path, nursery)
        n1, n2 = await h.start("n1"), await h.start("n2")
        await until(lambda: connected(n1, n2) and sees(n1, "n2"))
        lease = n2.node.lease_id
        n2.node.freeze()  # as SIGSTOP: no keepalive, no heartbeat (it cannot notice anything)
        await gone(n1, "n2")
        await edits(n1, 2, "b")  # without n2: it is not asked
        n2.node.thaw()  # its lease is gone: DISCONNECTED, registers again, catches up
        await until(lambda: n2.node.lease_id not in (None, lease) and connected(n2) and at(2, n1, n2), timeout=20)
        same(n1, n2)
        nursery.cancel_scope.cancel()
