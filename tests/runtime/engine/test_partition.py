"""Load-balanced connections, the engine's side (runtime/engine/_balance.py): the
flowfiles a partitioner gives other nodes wait durably in the connection's
partitions, counted in its figures and never handed to the destination; a
sender takes, gives back and confirms batches; a receiver commits a batch
into the local part in one transaction."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_wait

from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._balance import (
    PartitionQueue,
    balancing,
    confirm_sent,
    drop_lost,
    drop_orphaned_partitions,
    empty_partitions,
    expire_batch,
    give_back,
    read_contents,
    rebalance,
    take_batch,
)
from flowyard.runtime.engine._balance_receive import (
    RECEIVED_KEEP,
    Received,
    batch_id,
    committed_batch,
    receive_batch,
    received_key,
)
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk._flowfile import ContentClaim, make_flowfile

from flowyard_test_processors import PROCESSORS, expected_content


async def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    await trio_wait.wait_for(condition, timeout, step=0.01)


class CyclePartitioner:
    """n2, local, n3, n2, local, n3 ... (a fake of the cluster's round robin)."""

    def __init__(self, nodes: tuple[str | None, ...] = ("n2", None, "n3")) -> None:
        self.cycle = itertools.cycle(nodes)
        self.calls: list[tuple[str, str, str | None]] = []

    def node_for(self, connection_id: str, strategy: str, attribute: str | None) -> str | None:
        self.calls.append((connection_id, strategy, attribute))
        return next(self.cycle)


def make_flow(count: int = 90, strategy: str = "ROUND_ROBIN", **conn: Any) -> Any:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
             "properties": {"Count": str(count), "Batch Size": "30", "Content Size": "10"}},
            {"identifier": "sink", "type": "AsyncSlow", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success"]}],
        "connections": [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "sink"},
                         "selectedRelationships": ["success"], "loadBalanceStrategy": strategy, **conn}]}})


def seqs(flowfiles: list[Any]) -> list[int]:
    return sorted(int(ff[1]["seq"]) for ff in flowfiles)


async def test_flowfiles_for_other_nodes_wait_in_their_partitions_counted_and_recovered(tmp_path: Path) -> None:
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(make_flow(), repos, registry=PROCESSORS)
    engine.partitioner = partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        queue = engine.queues["c1"]
        await wait_for(lambda: queue.count == 90)
        await engine.stop_processor("src")
        assert set(queue.partitions) == {"n2", "n3"}
        assert all(isinstance(p, PartitionQueue) for p in queue.partitions.values())
        assert queue.partitions["n2"].count == 30 and queue.partitions["n3"].count == 30
        assert queue.local_figures() == (30, 300)
        assert (queue.count, queue.size) == (90, 900)  # the whole connection: back pressure and status see it
        assert engine.status().queued_count == 90
        assert {c[1] for c in partitioner.calls} == {"ROUND_ROBIN"}
        # the destination gets only this node's part
        taken, _ = queue.poll(1000, engine.clock())
        assert seqs(taken) == list(range(1, 90, 3))
        queue.requeue(taken)
        local = seqs(queue.listing(1000))
        engine.request_stop()
    repos.close()

    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(make_flow(), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        queue = engine.queues["c1"]
        assert engine.orphaned_queues == {}
        assert (queue.count, queue.size) == (90, 900)
        assert seqs(queue.listing(1000)) == local
        assert seqs(queue.partitions["n2"].listing(1000)) == list(range(0, 90, 3))
        assert seqs(queue.partitions["n3"].listing(1000)) == list(range(2, 90, 3))
        engine.request_stop()
    repos.close()


async def test_no_partitioner_or_no_strategy_leaves_the_queue_alone() -> None:
    engine = Engine(make_flow(strategy="DO_NOT_LOAD_BALANCE"), Repositories.in_memory(), registry=PROCESSORS)
    engine.partitioner = partitioner = CyclePartitioner()
    balancing(engine).configure()
    assert engine.queues["c1"].route is None
    engine2 = Engine(make_flow(), Repositories.in_memory(), registry=PROCESSORS)
    balancing(engine2).configure()
    assert engine2.queues["c1"].route is None
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.start_processor("src")
        await wait_for(lambda: engine.queues["c1"].count == 90)
        engine.request_stop()
    assert partitioner.calls == [] and engine.queues["c1"].partitions == {}


async def test_sender_batches_give_back_and_confirm_in_one_commit_with_nifi_events() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=300, backPressureObjectThreshold=250), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner(("n2",))
    space: list[int] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        queue = engine.queues["c1"]
        queue.on_space.append(lambda: space.append(queue.count))
        engine.start_processor("src")
        await wait_for(lambda: queue.count >= 250)
        assert queue.is_full() and not queue.is_local_full()  # the partition counts for the source's back pressure
        part = queue.partitions["n2"]
        batch = take_batch(part, 100, 1_000_000)
        assert len(batch) == 100 and part.in_flight == 100
        give_back(part, batch)
        assert part.in_flight == 0 and seqs(part.listing(100)) == seqs(batch)
        small = take_batch(part, 100, 95)  # bytes bound: 10 bytes each, at least one
        assert len(small) == 9
        assert read_contents(engine, small) == [expected_content(int(ff[1]["seq"]), 10) for ff in small]
        give_back(part, small)
        batch = take_batch(part, 100, 1_000_000)
        before = part.count
        await confirm_sent(engine, part, batch, "127.0.0.1:9443")
        assert part.count == before - 100 and queue.count == before - 100
        assert space, "the source was woken when the connection dropped below its threshold"
        events = list(repos.provenance.events())
        sent = [e for e in events if e.event_type == ProvenanceEventType.SEND]
        assert len(sent) == 100 and sent[0].transit_uri == "nifi://127.0.0.1:9443/loadbalance/c1"
        assert sent[0].component_id == "c1"
        assert sum(e.event_type == ProvenanceEventType.DROP for e in events) == 100
        await engine.stop_processor("src")
        engine.request_stop()


async def test_receiver_commits_a_batch_into_the_local_part_in_one_transaction() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=0, backPressureObjectThreshold=3), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner(("n2",))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        queue = engine.queues["c1"]
        big = bytes(range(256)) * 8192  # 2 MiB: streamed content
        items = [Received({"uuid": "remote-1", "k": "a"}, b"hello", 1000, 900),
                 Received({"uuid": "remote-2", "k": "b"}, b"", 1001, 901),
                 Received({"uuid": "remote-3", "k": "c"}, big, 1002, 902)]
        batches = repos.batches_written
        assert await receive_batch(engine, "c1", items, peer="n2") == (3, 5 + len(big))
        assert repos.batches_written == batches + 1
        assert queue.partitions == {} and queue.count == 3 and queue.is_local_full()
        got = sorted(queue.listing(10), key=lambda f: f[1]["k"])
        assert [f[1]["k"] for f in got] == ["a", "b", "c"]
        assert all(f[1]["uuid"] not in ("remote-1", "remote-2", "remote-3") for f in got)  # a new uuid, as NiFi
        assert [(f[4], f[5]) for f in got] == [(1000, 900), (1001, 901), (1002, 902)]
        assert [repos.content.read_bytes(f[2]) for f in got] == [b"hello", b"", big]
        received = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.RECEIVE]
        assert len(received) == 3 and received[0].transit_uri == "nifi://n2/loadbalance/c1"
        try:
            await receive_batch(engine, "nope", items, peer="n2")
        except LookupError as exc:
            assert "nope" in str(exc)
        else:
            raise AssertionError("an unknown connection must be refused")
        # an offload goes through the connection's routing: here everything belongs to n2
        await receive_batch(engine, "c1", items[:1], peer="n3", offload=True)
        assert queue.partitions["n2"].count == 1 and queue.count == 4
        engine.request_stop()


async def test_rebalance_routes_a_partition_again_in_one_commit() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        queue = engine.queues["c1"]
        engine.start_processor("src")
        await wait_for(lambda: queue.count == 90)
        await engine.stop_processor("src")
        part = queue.partitions["n2"]
        engine.partitioner = CyclePartitioner(("n3",))
        balancing(engine).configure()  # the partitioner changed: a new routing
        assert await rebalance(engine, part) == 30
        assert part.count == 0 and queue.partitions["n3"].count == 60 and queue.count == 90
        engine.partitioner = None
        balancing(engine).configure()  # no longer load-balanced: everything back to the local part
        assert queue.route is None
        assert await rebalance(engine, queue.partitions["n3"]) == 60
        assert queue.local_figures() == (90, 900) and queue.count == 90
        ffs = queue.listing(1000)
        assert seqs(ffs) == list(range(90))
        assert [repos.content.read_bytes(f[2]) for f in ffs] == [expected_content(int(f[1]["seq"]), 10) for f in ffs]
        assert all(repos.content.counts.get(f[2][0], 0) > 0 for f in ffs)  # the claims moved along
        assert not [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.SEND]
        engine.request_stop()


async def test_read_contents_reads_a_shared_resource_once_and_slices_it() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=0), repos, registry=PROCESSORS)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        items = [Received({"n": str(i)}, bytes([i]) * (i + 1), 1, 1) for i in range(5)]
        await receive_batch(engine, "c1", items, peer="n2")  # one resource for the batch
        ffs = engine.queues["c1"].listing(10)
        assert len({f[2][0] for f in ffs}) == 1
        reads: list[Any] = []
        original = repos.content.read_bytes
        repos.content.read_bytes = lambda claim, overlay=None: reads.append(claim) or original(claim)  # type: ignore[method-assign]
        got = read_contents(engine, [ffs[3], ffs[0], ffs[4]])
        assert got == [bytes([3]) * 4, b"\0", bytes([4]) * 5] and len(reads) == 1
        engine.request_stop()


async def test_flowfiles_whose_content_is_gone_are_dropped_not_sent() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=30), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner(("n2",))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        part = await _partition_of(engine, "n2", 30)
        batch = take_batch(part, 5, 1 << 20)
        gone = make_flowfile(1 << 40, {"uuid": "x"}, ContentClaim(1 << 40, 0, 5), 5, 1, 1)
        assert read_contents(engine, [batch[0], gone]) == [expected_content(int(batch[0][1]["seq"]), 10), None]
        await drop_lost(engine, part, batch[:2])
        give_back(part, batch[2:])
        assert part.count == 28 and engine.queues["c1"].count == 28
        drops = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.DROP]
        assert len(drops) == 2 and drops[0].details == "Content Not Found"
        engine.request_stop()


async def _partition_of(engine: Engine, node: str, count: int) -> Any:
    queue = engine.queues["c1"]
    await wait_for(lambda: queue.count == count)
    await engine.stop_processor("src")
    return queue.partitions[node]


async def test_empty_partitions_drops_what_waits_for_other_nodes() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=90), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        part = await _partition_of(engine, "n2", 90)
        in_flight = take_batch(part, 5, 1 << 20)  # a sender's batch is left alone
        assert await empty_partitions(engine, engine.queues["c1"], batch=20) == 55
        give_back(part, in_flight)
        queue = engine.queues["c1"]
        assert queue.partitions["n2"].count == 5 and queue.partitions["n3"].count == 0
        assert queue.count == 35 and queue.local_figures() == (30, 300)
        drops = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.DROP]
        assert len(drops) == 55 and {e.details for e in drops} == {"FlowFile Queue emptied by user"}
        engine.request_stop()


async def test_flowfiles_expired_while_waiting_for_their_node_are_expired_not_sent() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=0, flowFileExpiration="1 hour"), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner(("n2",))
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        now = engine.clock()
        items = [Received({"k": str(i)}, b"x", now if i % 2 else 1, 1) for i in range(6)]
        await receive_batch(engine, "c1", items, peer="n3", offload=True)  # routed: all for n2
        part = engine.queues["c1"].partitions["n2"]
        batch = take_batch(part, 10, 1 << 20)
        assert len(batch) == 6
        fresh = await expire_batch(engine, part, batch)
        assert sorted(f[1]["k"] for f in fresh) == ["1", "3", "5"]
        assert part.count == 3 and part.in_flight == 3 and engine.queues["c1"].count == 3
        give_back(part, fresh)
        expired = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.EXPIRE]
        assert len(expired) == 3 and expired[0].component_id == "c1"
        engine.request_stop()


async def test_empty_queue_empties_the_partitions_and_removing_the_connection_leaves_none() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=90), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        queue = engine.queues["c1"]
        await wait_for(lambda: queue.count == 90)
        assert await engine.empty_queue("c1") == 90  # NiFi's "Empty queue": every node's part
        assert queue.count == 0 and all(not p.count for p in queue.partitions.values())
        drops = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.DROP]
        assert len(drops) == 90
        engine.request_stop()

    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=90), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        part = await _partition_of(engine, "n2", 90)
        await engine.stop_processor("src")
        in_flight = take_batch(part, 4, 1 << 20)  # a sender's batch, sent while the connection goes
        assert await engine.remove_connection("c1", drop=True) == 86
        flowfiles = repos.flowfiles
        assert flowfiles.count_queue(flowfiles.queue_ids["c1#lb:n3"]) == (0, 0)
        give_back(part, in_flight)  # the transfer failed: back in a partition whose connection is gone
        assert await drop_orphaned_partitions(engine) == 4
        assert flowfiles.count_queue(flowfiles.queue_ids["c1#lb:n2"]) == (0, 0)
        assert balancing(engine).made == {}
        assert [b.message for b in engine.bulletins] == [
            "4 flowfile(s) waiting in connection 'c1' for node 'n2' were dropped: the connection is no longer "
            "in the flow"]
        assert await drop_orphaned_partitions(engine) == 0  # idempotent
        engine.request_stop()


async def test_partitions_whose_connection_is_gone_at_recovery_are_dropped_with_events(tmp_path: Path) -> None:
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(make_flow(), repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        balancing(engine).configure()
        engine.start_processor("src")
        await wait_for(lambda: engine.queues["c1"].count == 90)
        engine.request_stop()
    repos.close()

    without_c1 = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED", "properties": {"Count": "1"}}]}})
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(without_c1, repos, registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        flowfiles = repos.flowfiles
        parts = [flowfiles.queue_ids[f"c1#lb:{n}"] for n in ("n2", "n3")]
        assert set(parts) <= set(engine.orphaned_queues)
        assert await drop_orphaned_partitions(engine) == 60
        assert all(flowfiles.count_queue(qid) == (0, 0) for qid in parts)
        assert set(engine.orphaned_queues) == {flowfiles.queue_ids["c1"]}  # the local part: kept, as before
        drops = [e for e in repos.provenance.events() if e.event_type == ProvenanceEventType.DROP]
        assert len(drops) == 60 and {e.details for e in drops} == {"Connection removed from the flow"}
        assert len(engine.bulletins) == 2 and all(b.level == "WARNING" for b in engine.bulletins)
        engine.request_stop()
    repos.close()


async def test_a_receiver_commits_a_named_batch_once_and_remembers_the_last_ones() -> None:
    repos = Repositories.in_memory()
    engine = Engine(make_flow(count=0), repos, registry=PROCESSORS)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        items = [Received({"uuid": "r1"}, b"abc", 1, 1), Received({"uuid": "r2"}, b"de", 2, 2)]
        assert committed_batch(engine, "n2", "c1", "b0") is None
        batches = repos.batches_written
        assert await receive_batch(engine, "c1", items, peer="n2", batch="b0") == (2, 5)
        assert repos.batches_written == batches + 1  # the id is in the commit of the flowfiles
        assert committed_batch(engine, "n2", "c1", "b0") == (2, 5)
        assert committed_batch(engine, "n3", "c1", "b0") is None  # per sender
        for i in range(1, RECEIVED_KEEP + 1):
            await receive_batch(engine, "c1", items[:1], peer="n2", batch=f"b{i}")
        assert committed_batch(engine, "n2", "c1", "b0") is None  # the oldest is forgotten
        assert committed_batch(engine, "n2", "c1", f"b{RECEIVED_KEEP}") == (1, 3)
        assert len(repos.state.get(received_key("n2", "c1")).values) == RECEIVED_KEEP
        engine.request_stop()


def test_a_batch_id_names_the_same_flowfiles_alike_and_others_not() -> None:
    ffs = [make_flowfile(i, {"uuid": f"u{i}"}, None, 0, 0, 0, 0, 10 + i) for i in range(4)]
    assert batch_id("n1", 7, ffs[:3]) == batch_id("n1", 7, list(reversed(ffs[:3])))
    assert batch_id("n1", 7, ffs[:3]) != batch_id("n1", 7, ffs[:2])
    assert batch_id("n1", 7, ffs[:3]) != batch_id("n1", 7, [*ffs[:2], ffs[3]])
    assert batch_id("n1", 7, ffs[:3]).startswith("n1:7:10-12:3:")
    with pytest.raises(ValueError, match="at least one"):
        batch_id("n1", 7, [])


async def test_a_changed_strategy_applies_when_the_connection_is_reconfigured() -> None:
    engine = Engine(make_flow(strategy="DO_NOT_LOAD_BALANCE"), Repositories.in_memory(), registry=PROCESSORS)
    engine.partitioner = CyclePartitioner()
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        queue = engine.queues["c1"]
        assert queue.route is None
        balanced = next(c for g in make_flow(strategy="PARTITION_BY_ATTRIBUTE", partitioningAttribute="k").walk()
                        for c in g.connections)
        engine.reconfigure_connection(balanced)  # what reconcile calls: no wait for the next rescan
        assert queue.route is not None and getattr(queue.route, "attribute", None) == "k"
        plain = next(c for g in make_flow(strategy="DO_NOT_LOAD_BALANCE").walk() for c in g.connections)
        engine.reconfigure_connection(plain)
        assert queue.route is None
        engine.request_stop()
