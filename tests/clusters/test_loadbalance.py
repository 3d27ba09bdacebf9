"""Load-balanced connections between engines in one trio run: each node an
Engine with in-memory repositories, a NodeChannel on a loopback port 0, a
ClusterPartitioner over a fake membership and a LoadBalancer."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
import trio
import trio_wait

from flowyard.clusters._members import NodeState
from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.loadbalance import (
    ClusterPartitioner,
    LoadBalancer,
    OffloadError,
    decode_batch,
    encode_batch,
    jump_hash,
)
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk._flowfile import make_flowfile

from flowyard_test_processors import PROCESSORS, expected_content

REGISTRY = {**PROCESSORS, "UpdateAttribute": UpdateAttribute}
KEYS = derive_keys(b"k" * 32)
SIZE = 20

async def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    await trio_wait.wait_for(condition, timeout, step=0.02)


class FakeNode:
    """What the load balancer asks of ClusterNode: its config, its state, the
    connected peers and the members (by default the peers and this node)."""

    def __init__(self, node_id: str) -> None:
        self.config = SimpleNamespace(node_id=node_id, address="")
        self.peers: list[Any] = []
        self.state = NodeState.CONNECTED
        self.others: list[Any] | None = None  # members besides this node; None: the connected peers

    def connected_peers(self) -> list[Any]:
        return list(self.peers)

    def members(self) -> list[Any]:
        me = SimpleNamespace(node_id=self.config.node_id, address=self.config.address)
        return [me, *(self.peers if self.others is None else self.others)]


@dataclass
class Node:
    engine: Engine
    node: FakeNode
    channel: NodeChannel
    lb: LoadBalancer
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)


def make_flow(count: int, strategy: str = "ROUND_ROBIN", *, attribute: str = "", compression: str = "DO_NOT_COMPRESS",
              threshold: int = 10_000, sink: str = "STOPPED") -> Any:
    """src -> c0 -> tag (group = seq mod 7) -> c1 (load balanced) -> sink -> c2 -> end (stopped)."""
    def conn(ident: str, src: str, dst: str, **kw: Any) -> dict[str, Any]:
        return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
                "selectedRelationships": ["success"], **kw}
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
             "properties": {"Count": str(count), "Batch Size": "500", "Content Size": str(SIZE)}},
            {"identifier": "tag", "type": "UpdateAttribute", "properties": {"group": "${seq:mod(7)}"}},
            {"identifier": "sink", "type": "AsyncSlow", "scheduledState": sink, "properties": {"Delay": "1 ms"}},
            {"identifier": "end", "type": "AsyncSlow", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success"]}],
        "connections": [
            conn("c0", "src", "tag"),
            conn("c1", "tag", "sink", loadBalanceStrategy=strategy, partitioningAttribute=attribute or None,
                 loadBalanceCompression=compression, backPressureObjectThreshold=threshold),
            conn("c2", "sink", "end", backPressureObjectThreshold=0)]}})


@contextlib.asynccontextmanager
async def cluster(flows: list[Any], swap_threshold: int = 20_000, **lb_options: Any) -> AsyncIterator[list[Node]]:
    """One node per flow (ids n1, n2, ...), all connected to each other, engines and load balancers running."""
    nodes: list[Node] = []
    async with trio.open_nursery() as nursery:
        for i, f in enumerate(flows):
            fake = FakeNode(f"n{i + 1}")
            engine = Engine(f, Repositories.in_memory(), registry=REGISTRY, swap_threshold=swap_threshold)
            engine.partitioner = ClusterPartitioner(fake, refresh_seconds=0)  # type: ignore[arg-type]
            channel = NodeChannel(fake.config.node_id, KEYS)
            lb = LoadBalancer(engine, channel, fake, retry_first=0.01, retry_max=0.2,  # type: ignore[arg-type]
                              **lb_options)
            fake.config.address = await nursery.start(channel.serve, lb.routes(), "127.0.0.1:0")
            await nursery.start(engine.run)
            nodes.append(Node(engine, fake, channel, lb))
        for n in nodes:
            n.node.peers = [SimpleNamespace(node_id=o.node.config.node_id, address=o.node.config.address)
                            for o in nodes if o is not n]
        for n in nodes:
            await start_balancer(nursery, n)
        try:
            yield nodes
        finally:
            for n in nodes:
                n.engine.request_stop()
            for n in nodes:
                await n.engine.finished.wait()
                await n.channel.aclose()
            nursery.cancel_scope.cancel()


async def start_balancer(nursery: trio.Nursery, n: Node) -> None:
    n.scope = trio.CancelScope()

    async def run(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with n.scope:
            await n.lb.run(task_status=task_status)
    await nursery.start(run)


def local(queue: FlowFileQueue) -> list[Any]:
    """What the repository holds for the queue's local part (swapped-out flowfiles too)."""
    loader = queue._loader
    assert loader is not None
    return loader(queue.queue_id, 0, 1 << 62, 1 << 30)


def check_content(n: Node, ffs: list[Any]) -> None:
    content = n.engine.repositories.content
    for ff in ffs:
        assert content.read_bytes(ff[2]) == expected_content(int(ff[1]["seq"]), SIZE), ff[1]


def settled(nodes: list[Node], total: int, cid: str = "c1") -> bool:
    return (sum(n.engine.queues[cid].local_figures()[0] for n in nodes) >= total
            and all(not n.engine.queues[cid].partitions or not any(p.count for p in n.engine.queues[cid]
                                                                    .partitions.values()) for n in nodes))


@pytest.mark.parametrize("compression", ["DO_NOT_COMPRESS", "COMPRESS_ATTRIBUTES_AND_CONTENT"])
async def test_round_robin_spreads_every_flowfile_exactly_once_with_its_content(compression: str) -> None:
    total = 3000
    flows = [make_flow(total, compression=compression)] + [make_flow(0) for _ in range(2)]
    async with cluster(flows, swap_threshold=300) as nodes:  # the partitions swap to disk and back
        nodes[0].engine.start_processor("src")
        await wait_for(lambda: settled(nodes, total))
        seen: Counter[int] = Counter()
        for n in nodes:
            ffs = local(n.engine.queues["c1"])
            assert abs(len(ffs) - total / 3) <= 1, [len(local(m.engine.queues["c1"])) for m in nodes]
            check_content(n, ffs)
            seen.update(int(ff[1]["seq"]) for ff in ffs)
        assert seen == Counter(range(total))
        await wait_for(lambda: nodes[0].lb.sent[0] == 2 * total // 3)  # counted once its removal is applied
        assert nodes[0].engine.queues["c1"].count == total // 3  # partitions empty, nothing in flight


async def test_partition_by_attribute_puts_equal_values_on_one_node() -> None:
    total = 700
    flows = [make_flow(total, "PARTITION_BY_ATTRIBUTE", attribute="group"),
             make_flow(0, "PARTITION_BY_ATTRIBUTE", attribute="group")]
    async with cluster(flows) as nodes:
        nodes[0].engine.start_processor("src")
        await wait_for(lambda: settled(nodes, total))
        where: dict[str, set[str]] = {}
        for n in nodes:
            for ff in local(n.engine.queues["c1"]):
                where.setdefault(ff[1]["group"], set()).add(n.node.config.node_id)
        assert sorted(where) == [str(i) for i in range(7)]
        assert all(len(ids) == 1 for ids in where.values()), where
        assert {i for ids in where.values() for i in ids} == {"n1", "n2"}  # both nodes get some values


async def test_receiver_back_pressure_slows_the_sender_without_loss() -> None:
    total, threshold, batch = 2000, 150, 100
    flows = [make_flow(total, "SINGLE_NODE", threshold=threshold, sink="RUNNING") for _ in range(2)]
    async with cluster(flows, batch_count=batch) as nodes:
        # SINGLE_NODE: the first node by address takes everything; the source runs on the other one
        first = min(nodes, key=lambda n: (n.node.config.address, n.node.config.node_id))
        other = next(n for n in nodes if n is not first)
        receiving = first.engine.queues["c1"]
        peak = [0]
        receiving.on_data.append(lambda: peak.__setitem__(0, max(peak[0], receiving.local_figures()[0])))
        other.engine.start_processor("src")
        await wait_for(lambda: len(local(first.engine.queues["c2"])) == total, timeout=120)
        assert local(other.engine.queues["c2"]) == []
        assert Counter(int(ff[1]["seq"]) for ff in local(first.engine.queues["c2"])) == Counter(range(total))
        assert other.lb.refused > 0, "the receiver never refused: back pressure was not exercised"
        assert peak[0] <= threshold + batch
        assert other.engine.queues["c1"].count == 0


async def test_a_sender_cancelled_mid_batch_loses_nothing_and_repeats_nothing() -> None:
    total, batch = 1500, 200
    flows = [make_flow(total), make_flow(0)]
    async with cluster(flows, batch_count=batch) as nodes:
        a, b = nodes
        # Hold the senders until everything is queued, then cut A's off right after B committed a batch.
        a.scope.cancel()
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        original = b.lb.routes()["/lb/v1/transfer"]
        calls = [0]

        async def cut(payload: Any, peer: str) -> Any:
            reply = await original(payload, peer)
            calls[0] += 1
            if calls[0] == 2:
                a.scope.cancel()  # the reply never reaches A: it gives the batch back
            return reply

        async with trio.open_nursery() as nursery:
            b_address = b.node.config.address
            host, _, _ = b_address.rpartition(":")
            address = await nursery.start(b.channel.serve, {"/lb/v1/transfer": cut}, f"{host}:0")
            a.node.peers = [SimpleNamespace(node_id="n2", address=address)]
            await start_balancer(nursery, a)
            await wait_for(lambda: a.scope.cancel_called)
            await trio.sleep(0)
            assert a.engine.queues["c1"].partitions["n2"].in_flight == 0  # given back
            await start_balancer(nursery, a)  # restarted: sends again what was not confirmed
            await wait_for(lambda: settled(nodes, total))
            nursery.cancel_scope.cancel()
        seen = Counter(int(ff[1]["seq"]) for n in nodes for ff in local(n.engine.queues["c1"]))
        assert seen == Counter(range(total))  # the batch sent again was known: answered, not committed again
        assert b.lb.repeats == 1


async def test_offload_moves_every_queued_flowfile_conserving_count_and_bytes() -> None:
    total = 5000
    flows = [make_flow(total)] + [make_flow(0) for _ in range(2)]
    async with cluster(flows) as nodes:
        a, b, c = nodes
        a.scope.cancel()  # n1's partitions for n2 and n3 stay full: offload moves them too
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        assert a.engine.queues["c1"].partitions["n2"].count == 1667  # 5000 round robin over n1, n2, n3
        queued_bytes = a.engine.status().queued_bytes
        for n in (b, c):  # n1 is OFFLOADING: no longer connected for the others
            n.node.peers = [p for p in n.node.peers if p.node_id != "n1"]
        report = await a.lb.offload()
        assert report == {"count": total, "bytes": queued_bytes}
        assert a.engine.status().queued_count == 0
        assert not any(node.running for node in a.engine.nodes.values())
        # the receivers balance what they got between themselves
        await wait_for(lambda: settled([b, c], total))
        seen: Counter[int] = Counter()
        for n in (b, c):
            ffs = local(n.engine.queues["c1"])
            assert abs(len(ffs) - total / 2) <= 2
            check_content(n, ffs)
            seen.update(int(ff[1]["seq"]) for ff in ffs)
        assert seen == Counter(range(total))
        assert sum(n.engine.queues["c1"].size for n in (b, c)) == queued_bytes


def test_partitioner_strategies_follow_nifi() -> None:
    fake = FakeNode("n2")
    fake.config.address = "10.0.0.2:9443"
    fake.peers = [SimpleNamespace(node_id="n3", address="10.0.0.1:9443"),
                  SimpleNamespace(node_id="n1", address="10.0.0.3:9443")]
    p = ClusterPartitioner(fake, refresh_seconds=0)  # type: ignore[arg-type]
    assert [p.node_for("c", "ROUND_ROBIN", None) for _ in range(4)] == ["n1", None, "n3", "n1"]
    assert p.node_for("c", "SINGLE_NODE", None) == "n3"  # the first by address, as NiFi orders its partitions
    assert p.node_for("c", "DO_NOT_LOAD_BALANCE", None) is None
    by_value = {v: p.node_for("c", "PARTITION_BY_ATTRIBUTE", v) for v in map(str, range(300))}
    assert by_value == {v: p.node_for("c", "PARTITION_BY_ATTRIBUTE", v) for v in by_value}  # stable
    assert set(by_value.values()) == {"n1", None, "n3"}
    missing = p.node_for("c", "PARTITION_BY_ATTRIBUTE", None)
    assert all(p.node_for("d", "PARTITION_BY_ATTRIBUTE", None) == missing for _ in range(5))
    # n3 leaves: only its values move
    fake.peers = fake.peers[1:]
    p.refresh()
    moved = {v for v, n in by_value.items() if p.node_for("c", "PARTITION_BY_ATTRIBUTE", v) != n}
    assert moved and all(by_value[v] == "n3" or by_value[v] is None for v in moved)
    assert p.node_for("c", "SINGLE_NODE", None) is None  # now this node has the lowest address
    assert [jump_hash(k, 1) for k in range(10)] == [0] * 10


def test_wire_format_round_trips_and_names_what_is_wrong() -> None:
    batch = [make_flowfile(1, {"uuid": "u1", "a": "x"}, None, 3, 10, 9),
             make_flowfile(2, {"uuid": "u2"}, None, 0, 11, 8)]
    for compression in ("DO_NOT_COMPRESS", "COMPRESS_ATTRIBUTES_ONLY", "COMPRESS_ATTRIBUTES_AND_CONTENT"):
        cid, items = decode_batch(encode_batch("c1", compression, batch, [b"abc", b""]))
        assert cid == "c1"
        assert [(i.attributes, bytes(i.content), i.entry_date, i.lineage_start) for i in items] == [
            ({"uuid": "u1", "a": "x"}, b"abc", 10, 9), ({"uuid": "u2"}, b"", 11, 8)]
    good = encode_batch("c1", "DO_NOT_COMPRESS", batch, [b"abc", b""])
    for bad, words in [({**good, "compression": "LZ"}, "transfer.compression"),
                       ({**good, "content": b"ab"}, "transfer.content"),
                       ({**good, "content": b"abcd"}, "left over"),
                       ({**good, "connection": ""}, "transfer.connection"),
                       ({**good, "meta": b"\x91\x01"}, "transfer.meta[0]")]:
        with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
            decode_batch(bad)


async def test_round_robin_reroutes_what_waits_for_a_node_that_left() -> None:
    total = 1200
    flows = [make_flow(total)] + [make_flow(0) for _ in range(2)]
    async with cluster(flows) as nodes:
        a, b, c = nodes
        a.scope.cancel()  # hold A's senders while it queues
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        assert a.engine.queues["c1"].partitions["n3"].count == total // 3
        a.node.peers = [p for p in a.node.peers if p.node_id != "n3"]  # n3 is no longer connected
        async with trio.open_nursery() as nursery:
            await start_balancer(nursery, a)
            await wait_for(lambda: settled([a, b], total))
            nursery.cancel_scope.cancel()
        assert local(c.engine.queues["c1"]) == []
        seen = Counter(int(ff[1]["seq"]) for n in (a, b) for ff in local(n.engine.queues["c1"]))
        assert seen == Counter(range(total))
        for n in (a, b):
            check_content(n, local(n.engine.queues["c1"]))


async def test_partition_by_attribute_keeps_what_waits_for_a_node_that_left() -> None:
    total = 700
    flows = [make_flow(total, "PARTITION_BY_ATTRIBUTE", attribute="group") for _ in range(2)]
    async with cluster(flows) as nodes:
        a, b = nodes
        a.scope.cancel()
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        waiting = a.engine.queues["c1"].partitions["n2"].count
        assert waiting
        a.node.others, a.node.peers = a.node.peers, []  # n2 is still a member, not connected
        async with trio.open_nursery() as nursery:
            await start_balancer(nursery, a)
            await wait_for(lambda: a.lb.waits >= 5)  # several rounds: nothing may move while n2 is away
            assert a.engine.queues["c1"].partitions["n2"].count == waiting
            a.node.peers = [SimpleNamespace(node_id="n2", address=b.node.config.address)]
            await wait_for(lambda: settled(nodes, total))
            nursery.cancel_scope.cancel()
        assert len(local(b.engine.queues["c1"])) == waiting


async def test_a_sender_restarted_from_its_repository_resends_only_the_unconfirmed_batch(tmp_path: Any) -> None:
    """A crash of the sender between the receiver's commit and its own removal
    (here: its balancer cancelled there, its engine stopped and reopened from
    RocksDB): the partitions come back from disk, nothing is lost, and the batch
    sent again has the same id: the receiver answers it without a second copy."""
    total, batch = 1000, 150
    async with cluster([make_flow(0)], batch_count=batch) as (b,):
        original = b.lb.routes()["/lb/v1/transfer"]
        commits = [0]
        holder: list[trio.CancelScope] = []

        async def cut(payload: Any, peer: str) -> Any:
            reply = await original(payload, peer)
            commits[0] += 1
            if commits[0] == 3:
                holder[0].cancel()  # "killed" after n2 committed its third batch, before n1 removes it
            return reply

        async with trio.open_nursery() as nursery:
            address = await nursery.start(b.channel.serve, {"/lb/v1/transfer": cut}, "127.0.0.1:0")
            peers = [SimpleNamespace(node_id="n1", address=address)]  # the receiver is n1; the sender n9
            for attempt in range(2):
                repos = Repositories.open(tmp_path / "n9")
                engine = Engine(make_flow(total), repos, registry=REGISTRY)
                fake = FakeNode("n9")
                fake.config.address = "127.0.0.1:1"
                fake.peers = peers
                engine.partitioner = ClusterPartitioner(fake, refresh_seconds=0)  # type: ignore[arg-type]
                channel = NodeChannel("n9", KEYS)
                lb = LoadBalancer(engine, channel, fake, batch_count=batch, retry_first=0.01)  # type: ignore[arg-type]
                await nursery.start(engine.run)
                queue = engine.queues["c1"]
                if attempt == 0:
                    scope = trio.CancelScope()
                    holder.append(scope)
                    lb.balancing.configure()
                    engine.start_processor("src")
                    await wait_for(lambda q=queue: q.count == total)
                    with scope:
                        await lb.run()
                    assert commits[0] == 3 and queue.partitions["n1"].count == total // 2 - 2 * batch
                else:
                    # the partition was taken back at recovery, not left aside
                    assert queue.partitions["n1"].count == total // 2 - 2 * batch and not engine.orphaned_queues
                    async with trio.open_nursery() as inner:
                        await inner.start(lb.run)  # takes the partition back and sends it
                        await wait_for(lambda q=queue: q.count == total // 2 and not q.partitions["n1"].count)
                        inner.cancel_scope.cancel()
                    local_a = local(queue)
                engine.request_stop()
                await engine.finished.wait()
                await channel.aclose()
                repos.close()
            nursery.cancel_scope.cancel()
        seen = Counter(int(ff[1]["seq"]) for ff in local_a + local(b.engine.queues["c1"]))
        assert seen == Counter(range(total))
        assert b.lb.repeats == 1 and b.lb.received[0] == total // 2  # the repeat was answered, not committed


@pytest.mark.parametrize("strategy", ["PARTITION_BY_ATTRIBUTE", "SINGLE_NODE"])
async def test_what_waits_for_a_removed_node_is_routed_again(strategy: str) -> None:
    total = 700
    flows = [make_flow(total, strategy, attribute="group") for _ in range(3)]
    async with cluster(flows) as nodes:
        a = nodes[0]
        a.scope.cancel()
        a.node.config.address = "~"  # SINGLE_NODE: another node is the first by address (the others still reach n1)
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        parts = a.engine.queues["c1"].partitions
        gone = max(parts, key=lambda n: parts[n].count)  # a node something waits for
        waiting = parts[gone].count
        assert waiting
        keep = [p for p in a.node.peers if p.node_id != gone]
        a.node.others, a.node.peers = list(a.node.peers), keep  # disconnected, still a member: it waits
        async with trio.open_nursery() as nursery:
            await start_balancer(nursery, a)
            await wait_for(lambda: a.lb.waits >= 3)
            assert parts[gone].count == waiting
            a.node.others = keep  # removed from the cluster: routed again to the connected nodes
            rest = [n for n in nodes if n.node.config.node_id != gone]
            await wait_for(lambda: not parts[gone].count and settled(rest, total))
            nursery.cancel_scope.cancel()
        seen = Counter(int(ff[1]["seq"]) for n in nodes for ff in local(n.engine.queues["c1"]))
        assert seen == Counter(range(total))
        assert not [n for n in nodes if n.node.config.node_id == gone and local(n.engine.queues["c1"])]


async def test_a_receiver_that_commits_after_the_sender_timed_out_makes_no_duplicate() -> None:
    """The receiver takes longer than the sender's timeout for the first try of
    each batch: the sender sends the batch again under the same id, and the
    receiver answers it with the earlier figures instead of a second copy."""
    total, batch = 300, 100
    async with cluster([make_flow(total), make_flow(0)], batch_count=batch, timeout=0.5) as (a, b):
        a.scope.cancel()
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        original = b.lb.routes()["/lb/v1/transfer"]
        calls: Counter[str] = Counter()

        async def slow(payload: Any, peer: str) -> Any:
            calls[payload["batch"]] += 1
            if calls[payload["batch"]] == 1:
                await trio.sleep(0.8)  # commits after the sender gave up
            return await original(payload, peer)

        async with trio.open_nursery() as nursery:
            address = await nursery.start(b.channel.serve, {"/lb/v1/transfer": slow}, "127.0.0.1:0")
            a.node.peers = [SimpleNamespace(node_id="n2", address=address)]
            await start_balancer(nursery, a)
            await wait_for(lambda: not a.engine.queues["c1"].partitions["n2"].count)
            nursery.cancel_scope.cancel()
        seen = Counter(int(ff[1]["seq"]) for ff in local(b.engine.queues["c1"]))
        assert sum(seen.values()) == total - total // 2 and max(seen.values()) == 1
        assert a.lb.failures >= 2 and b.lb.repeats >= 1 and len(calls) == 2  # two batches, each sent again
        received = list(b.engine.repositories.provenance.search(event_type=ProvenanceEventType.RECEIVE))
        assert len(received) == total - total // 2  # one RECEIVE per flowfile: the repeats recorded nothing


async def test_a_receiver_not_connected_refuses_and_keeps_nothing() -> None:
    total = 200
    async with cluster([make_flow(total), make_flow(0)]) as (a, b):
        b.node.state = NodeState.OFFLOADING
        a.engine.start_processor("src")
        await wait_for(lambda: a.lb.failures >= 3)
        assert local(b.engine.queues["c1"]) == [] and "OFFLOADING" in a.lb.last_error
        b.node.state = NodeState.CONNECTED
        await wait_for(lambda: settled([a, b], total))


async def test_offload_stops_the_processors_and_resume_starts_those_the_flow_runs() -> None:
    total = 300
    async with cluster([make_flow(total, sink="RUNNING"), make_flow(0)]) as (a, b):
        a.scope.cancel()
        await a.engine.stop_processor("sink")
        a.engine.start_processor("src")  # started by hand: the flow says STOPPED
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        a.engine.start_processor("sink")
        b.node.peers = []
        a.node.state = NodeState.OFFLOADING
        await a.lb.offload()
        assert not any(p.running for p in a.engine.nodes.values())
        assert set(a.lb.stopped_by_offload) == {"src", "tag", "sink"}
        assert sorted(a.lb.resume_processors()) == ["sink", "tag"]  # the flow marks them RUNNING
        assert a.engine.nodes["sink"].running and not a.engine.nodes["src"].running
        assert a.lb.stopped_by_offload == [] and a.lb.resume_processors() == []


async def test_offload_gives_up_after_failed_transfers_naming_the_last_failure() -> None:
    async with cluster([make_flow(50), make_flow(0)], offload_attempts=3) as (a, b):
        a.scope.cancel()
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == 50)
        b.node.state = NodeState.OFFLOADED  # refuses every batch
        with pytest.raises(OffloadError, match=r"after 3 failed transfers in a row .*n2.*OFFLOADED"):
            await a.lb.offload()
        assert a.engine.queues["c1"].count == 50 and not a.lb.offloading  # nothing lost, the senders may resume


class OffloadingNode:
    """What ClusterParts._offload_when_asked uses of ClusterNode: its state, changes, set_state."""

    def __init__(self) -> None:
        self.state = NodeState.CONNECTED
        self.reason = ""
        self.version = 0
        self._changed = trio.Event()

    def go(self, state: NodeState, reason: str = "") -> None:
        self.state, self.reason = state, reason
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()

    async def changed(self, after: int) -> int:
        while self.version <= after:
            await self._changed.wait()
        return self.version

    async def set_state(self, state: NodeState, reason: str) -> None:
        self.go(state, reason)


class OffloadingBalancer:
    def __init__(self) -> None:
        self.stopped_by_offload: list[str] = []
        self.resumed = 0
        self.fail = False
        self.release = trio.Event()
        self.started = 0

    async def offload(self) -> dict[str, int]:
        self.started += 1
        self.stopped_by_offload = ["p"]
        if self.fail:
            raise OffloadError("no other node is connected")
        await self.release.wait()
        return {"count": 5, "bytes": 50}

    def resume_processors(self) -> list[str]:
        self.resumed += 1
        self.stopped_by_offload = []
        return ["p"]


async def test_the_node_offloads_when_asked_stops_when_connected_and_resumes_its_processors() -> None:
    from flowyard.bootstrap.cluster import ClusterParts

    node, balancer = OffloadingNode(), OffloadingBalancer()
    parts = ClusterParts(None, None, node, None, None, balancer, None)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(parts._offload_when_asked)
        node.go(NodeState.OFFLOADING)
        await wait_for(lambda: balancer.started == 1, 10)
        node.go(NodeState.CONNECTING)  # connect: the offload in progress stops, the processors start again
        await wait_for(lambda: balancer.resumed == 1, 10)
        assert node.state is NodeState.CONNECTING
        node.go(NodeState.OFFLOADING)
        await wait_for(lambda: balancer.started == 2, 10)
        balancer.release.set()
        await wait_for(lambda: node.state is NodeState.OFFLOADED, 10)
        assert node.reason.startswith("offloaded: 5 flowfiles (50 bytes)")
        node.go(NodeState.CONNECTING)
        await wait_for(lambda: balancer.resumed == 2, 10)
        balancer.fail = True
        node.go(NodeState.OFFLOADING)
        await wait_for(lambda: node.reason.startswith("offload stopped: no other node"), 10)
        assert node.state is NodeState.OFFLOADING
        node.go(NodeState.OFFLOADING, node.reason)  # another change: not offloaded again until it left the state
        await trio.sleep(0.05)
        assert balancer.started == 3
        node.go(NodeState.CONNECTING)
        await wait_for(lambda: balancer.resumed == 3, 10)
        nursery.cancel_scope.cancel()


async def test_an_offload_batch_that_timed_out_goes_to_the_same_node_again_and_is_not_duplicated() -> None:
    total, batch = 600, 100
    flows = [make_flow(total)] + [make_flow(0) for _ in range(2)]
    async with cluster(flows, batch_count=batch, timeout=0.5) as nodes:
        a, b, c = nodes
        a.scope.cancel()
        a.engine.start_processor("src")
        await wait_for(lambda: a.engine.queues["c1"].count == total)
        for n in (b, c):
            n.node.peers = [p for p in n.node.peers if p.node_id != "n1"]
        tried: Counter[str] = Counter()
        async with trio.open_nursery() as nursery:
            peers = []
            for n in (b, c):
                original = n.lb.routes()["/lb/v1/offload"]

                async def slow(payload: Any, peer: str, original: Any = original) -> Any:
                    tried[payload["batch"]] += 1
                    if tried[payload["batch"]] == 1:
                        await trio.sleep(0.8)  # committed after the sender gave up on it
                    return await original(payload, peer)

                address = await nursery.start(n.channel.serve, {"/lb/v1/offload": slow}, "127.0.0.1:0")
                peers.append(SimpleNamespace(node_id=n.node.config.node_id, address=address))
            a.node.peers = peers
            report = await a.lb.offload()
            nursery.cancel_scope.cancel()
        assert report["count"] == total and a.engine.queues["c1"].count == 0
        await wait_for(lambda: settled([b, c], total))
        seen = Counter(int(ff[1]["seq"]) for n in (b, c) for ff in local(n.engine.queues["c1"]))
        assert seen == Counter(range(total))  # every batch once, though each was sent twice
        assert b.lb.repeats + c.lb.repeats >= 1 and max(tried.values()) >= 2
