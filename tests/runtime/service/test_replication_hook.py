"""The service's replication hook (``FlowService.replicator``) without etcd:
services wired to an in-memory cluster that plays the coordinator's part
(re-check, validate on every node, commit, apply everywhere in seq order), so
the service side is tested on its own — equal flows and revisions, stale
revisions refused by the coordinator, undo on another node, applying without
the edit lock, taking the cluster's flow — and the records travel as msgpack."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
import trio
import trio_wait

from flowyard.bootstrap import compose
from flowyard.runtime.engine import ReconcileRefused
from flowyard.runtime.flow import FunnelDef, flow_to_dict
from flowyard.runtime.flow.edits import Batch, CreateComponent, DeleteComponent, EditRefused, edit_to_dict
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError
from flowyard.runtime.service import FlowService, RevisionConflict
from flowyard.runtime.service._replication import (
    Entry,
    NotConnected,
    Proposal,
    error_from_dict,
    error_to_dict,
)

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "tag", "type": "UpdateAttribute", "properties": {"color": "red"}, "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
    {"identifier": "gen", "type": "GenerateFlowFile", "scheduledState": "STOPPED", "schedulingPeriod": "10 ms",
     "properties": {"Batch Size": "3"}},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "tag"}, "selectedRelationships": ["success"]},
]}}

NOTHING = edit_to_dict(Batch(()))

async def wait_for(condition: Callable[[], bool], *, timeout: float = 30.0) -> None:
    await trio_wait.wait_for(condition, timeout, step=0.01)


def open_node(tmp_path: Path, name: str, flow: dict[str, Any] = FLOW) -> FlowService:
    initial = tmp_path / f"{name}-initial.json"
    initial.write_text(json.dumps(flow))
    return compose.open_service(tmp_path / name, initial_flow=initial)


class FakeCluster:
    """The coordinator's part in memory: one proposal at a time, checked on the
    first node (the coordinator) then on every node, committed to ``log``; each
    node's apply task applies the log in order (``paused`` holds a node's)."""

    def __init__(self, services: list[FlowService]) -> None:
        self.services = services
        self.log: list[Entry] = []
        self.lock = trio.Lock()
        self.changed = trio.Event()
        self.paused: set[int] = set()
        self.failed: dict[int, str] = {}
        self.submitted = 0
        for i, service in enumerate(services):
            service.replicator = Replica(self, i)

    def notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def submit(self, node: int, proposal: Proposal) -> int:
        self.submitted += 1
        async with self.lock:
            coordinator = self.services[0]
            await wait_for(lambda: (coordinator.cluster_seq or 0) == len(self.log))
            entry = coordinator.check_entry(Entry(len(self.log) + 1, proposal))
            for i, service in enumerate(self.services[1:], 1):
                if i not in self.paused and i not in self.failed:
                    service.check_entry(entry)
            self.log.append(entry)
            self.notify()
        await wait_for(lambda: (self.services[node].cluster_seq or 0) >= entry.seq or node in self.failed)
        if node in self.failed:
            raise NotConnected(self.failed[node])
        return entry.seq

    async def apply_loop(self, node: int) -> None:
        service = self.services[node]
        while True:
            applied = service.cluster_seq or 0
            if node in self.paused or applied >= len(self.log):
                await self.changed.wait()
                continue
            try:
                await service.apply_entry(self.log[applied])
            except FlowyardError as exc:
                self.failed[node] = str(exc)
                self.notify()
                return

    def resume(self, node: int) -> None:
        self.paused.discard(node)
        self.notify()


class Replica:
    def __init__(self, cluster: FakeCluster, node: int) -> None:
        self.cluster, self.node = cluster, node

    async def submit(self, proposal: Proposal) -> int:
        wire = msgpack.unpackb(msgpack.packb(proposal.to_dict()))  # what travels must survive the wire
        return await self.cluster.submit(self.node, Proposal.from_dict(wire))


async def start(tmp_path: Path, count: int, nursery: trio.Nursery) -> tuple[FakeCluster, list[FlowService]]:
    """``count`` nodes on one flow taken from the first (as a cold start would)."""
    services = [open_node(tmp_path, f"n{i}") for i in range(count)]
    seq, doc, revisions = services[0].snapshot()
    for service in services:
        await service.take_flow(seq, doc, revisions)
    cluster = FakeCluster(services)
    for i in range(count):
        nursery.start_soon(cluster.apply_loop, i)
    return cluster, services


def close(services: list[FlowService]) -> None:
    for service in services:
        service.close()


def same(services: list[FlowService]) -> None:
    first = services[0]
    for other in services[1:]:
        assert other.flow == first.flow  # the file's bookkeeping (editSeq) aside
        assert other.revisions == first.revisions
        assert other.cluster_seq == first.cluster_seq


async def test_an_edit_on_any_node_is_applied_on_every_node(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 3, nursery)
        try:
            answer = await services[2].update("processor", "tag", 0, {"properties": {"color": "blue"}}, user="ann")
            assert answer["revision"] == 1 and answer["properties"]["color"] == "blue", "answered with the edit in"
            await services[1].create("funnel", {"identifier": "f1"}, user="bob")
            await wait_for(lambda: all(s.cluster_seq == 2 for s in services))
            same(services)
            assert services[0].processor("tag")["properties"]["color"] == "blue"
            for service in services:
                assert [service.log.entry(e["seq"]).cluster for e in service.history("ann")["entries"]] == [2, 1, 0]
                assert service.history("ann")["undo"] == ["Update processor 'UpdateAttribute' (properties)"]
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_a_stale_revision_is_refused_by_the_coordinator(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        cluster, services = await start(tmp_path, 2, nursery)
        try:
            cluster.paused.add(1)  # node 1 lags: its own copy still says revision 0
            await services[0].update("processor", "tag", 0, {"properties": {"color": "blue"}})
            assert services[1].revisions["tag"] == 0
            with pytest.raises(RevisionConflict, match="revision 1, not 0") as caught:
                await services[1].update("processor", "tag", 0, {"properties": {"color": "green"}})
            assert caught.value.current["properties"]["color"] == "blue", "the component as the coordinator has it"
            cluster.resume(1)
            await wait_for(lambda: services[1].cluster_seq == 1)
            with pytest.raises(RevisionConflict):  # and by its own copy, now that it has caught up
                await services[1].update("processor", "tag", 0, {"properties": {"color": "green"}})
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_applying_needs_no_edit_lock(tmp_path: Path) -> None:
    """The proposer holds its edit lock while the cluster commits; its own apply
    task applies the entry (and others' entries before it) without that lock."""
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 2, nursery)
        try:
            with trio.fail_after(30):
                async with trio.open_nursery() as requests:
                    for i in range(4):
                        requests.start_soon(lambda i=i: services[1].create("funnel", {"identifier": f"a{i}"}))
                        requests.start_soon(lambda i=i: services[0].create("funnel", {"identifier": f"b{i}"}))
                    requests.start_soon(lambda: services[1].set_run_state("gen", "DISABLED"))
            await wait_for(lambda: all(s.cluster_seq == 9 for s in services))
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_an_entry_applied_while_a_request_waits_makes_its_revision_stale_here(tmp_path: Path) -> None:
    """The proposer builds its proposal under the apply lock: an entry applied
    while it waited for that lock is seen (409 at once, nothing sent)."""
    async with trio.open_nursery() as nursery:
        cluster, services = await start(tmp_path, 2, nursery)
        try:
            cluster.paused.add(1)
            await services[0].update("processor", "tag", 0, {"properties": {"color": "blue"}})
            release = trio.Event()

            async def hold(task_status: trio.TaskStatus[None]) -> None:
                async with services[1]._applying():
                    task_status.started()
                    await release.wait()
            await nursery.start(hold)
            lock = services[1]._apply_lock
            assert lock is not None
            cluster.resume(1)
            await wait_for(lambda: lock.statistics().tasks_waiting == 1)  # the entry, first in line
            caught: list[BaseException] = []

            async def request() -> None:
                try:
                    await services[1].update("processor", "tag", 0, {"properties": {"color": "green"}})
                except RevisionConflict as exc:
                    caught.append(exc)
            nursery.start_soon(request)
            await wait_for(lambda: lock.statistics().tasks_waiting == 2)  # checked revision 0, then waits
            sent = cluster.submitted
            release.set()
            await wait_for(lambda: bool(caught))
            assert "revision 1, not 0" in str(caught[0]) and cluster.submitted == sent, "refused here, not sent"
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_undo_on_another_node(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 2, nursery)
        try:
            await services[0].update("processor", "tag", 0, {"properties": {"color": "blue"}}, user="ann")
            await wait_for(lambda: services[1].cluster_seq == 1)
            assert await services[1].undo("ann") == "Update processor 'UpdateAttribute' (properties)"
            await wait_for(lambda: services[0].cluster_seq == 2)
            same(services)
            assert services[0].processor("tag")["properties"]["color"] == "red"
            for service in services:
                assert service.history("ann")["undo"] == [] and service.history("ann")["redo"] == [
                    "Update processor 'UpdateAttribute' (properties)"]
            await services[0].redo("ann")
            await wait_for(lambda: services[1].cluster_seq == 3)
            assert services[1].processor("tag")["properties"]["color"] == "blue"
            with pytest.raises(FlowyardError, match="nothing to redo"):
                await services[1].redo("ann")
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_a_refusal_on_a_node_refuses_the_edit(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 2, nursery)
        try:
            await nursery.start(services[1].run)
            await services[1].engine.run_once("gen")  # flowfiles queued in c1 on node 1 only
            await wait_for(lambda: services[1].engine.queues["c1"].count > 0)
            with pytest.raises(ReconcileRefused, match="c1"):
                await services[0].delete("connection", "c1", 0)
            assert services[0].cluster_seq == 0 and "c1" in services[0].revisions, "nothing committed"
            await services[0].delete("connection", "c1", 0, drop=True)  # dropping is allowed
            await wait_for(lambda: services[1].cluster_seq == 1)
            assert "c1" not in services[1].engine.queues
            services[1].request_stop()
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


async def test_a_node_that_cannot_apply_an_entry_is_left_as_it_was(tmp_path: Path) -> None:
    services = [open_node(tmp_path, "n0")]
    try:
        service = services[0]
        seq, doc, revisions = service.snapshot()
        await service.take_flow(seq, doc, revisions)
        bad = Entry(1, Proposal(edit_to_dict(DeleteComponent("processor", "nope")), NOTHING, "ann", "Delete", (),
                                False))
        before = flow_to_dict(service.flow)
        with pytest.raises(FlowDefinitionError):
            await service.apply_entry(bad)
        assert flow_to_dict(service.flow) == before and service.cluster_seq == 0
        good = Entry(1, Proposal(edit_to_dict(CreateComponent("funnel", "root", FunnelDef("f1"))), NOTHING, "ann",
                                 "Create funnel", ("f1",), False))
        await service.apply_entry(good)
        assert service.cluster_seq == 1 and service.revisions["f1"] == 0
        with pytest.raises(FlowyardError, match="applied here already"):
            await service.apply_entry(good)
    finally:
        close(services)


async def test_take_flow_replaces_flow_and_revisions_and_is_remembered(tmp_path: Path) -> None:
    cluster_flow = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "funnels": [{"identifier": "f9"}]}}
    source = open_node(tmp_path, "src", cluster_flow)
    node = open_node(tmp_path, "n1")
    try:
        source.revisions["f9"] = 7
        assert node.cluster_seq is None, "a flow not had from a cluster"
        await node.take_flow(41, *source.snapshot()[1:])
        assert node.flow == source.flow
        assert node.revisions == {"root": 0, "f9": 7}
        assert node.cluster_seq == 41
        assert node.history("x")["entries"][0]["description"] == "Took the cluster's flow"
    finally:
        close([node, source])
    node = open_node(tmp_path, "n1")
    try:
        assert node.cluster_seq == 41, "recovered at open from the log entry at editSeq"
        assert node.log.last_seq == 41
    finally:
        node.close()


async def test_take_flow_refuses_to_remove_a_connection_holding_flowfiles(tmp_path: Path) -> None:
    empty = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root"}}
    source = open_node(tmp_path, "src", empty)
    node = open_node(tmp_path, "n1")
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(node.run)
            await node.engine.run_once("gen")
            await wait_for(lambda: node.engine.queues["c1"].count > 0)
            with pytest.raises(ReconcileRefused, match="c1"):
                await node.take_flow(3, *source.snapshot()[1:])
            assert node.cluster_seq is None and "gen" in node.revisions, "nothing changed"
            node.request_stop()
    finally:
        close([node, source])


async def test_no_change_moves_no_revision_in_a_cluster(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 2, nursery)
        try:
            assert (await services[1].update("processor", "tag", 0, {"properties": {"color": "red"}}))["revision"] == 0
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)


def test_records_and_errors_survive_msgpack() -> None:
    proposal = Proposal(NOTHING, NOTHING, "ann", "d", ("a", "b"),
                        True, 3, None, {"a": 2}, 5)
    entry = Entry(6, proposal)
    assert Entry.from_dict(msgpack.unpackb(msgpack.packb(entry.to_dict()))) == entry
    with pytest.raises(ValueError, match=r"revisions\.a"):
        Proposal.from_dict({**proposal.to_dict(), "revisions": {"a": "x"}})
    with pytest.raises(ValueError, match="seq"):
        Entry.from_dict({**entry.to_dict(), "seq": 0})
    for exc in (RevisionConflict("stale", {"identifier": "a"}), NotConnected("lease lost"),
                EditRefused("create processor 'x'", "bad", where="component.type"),
                ReconcileRefused("c1 holds 3", {"c1": 3}), FlowyardError("plain")):
        back = error_from_dict(msgpack.unpackb(msgpack.packb(error_to_dict(exc))), node="n2")
        assert type(back) is type(exc)
        assert str(exc) in str(back) or isinstance(exc, EditRefused)
    refused = error_from_dict(error_to_dict(EditRefused("create processor 'x'", "bad", where="type")), node="n2")
    assert str(refused) == "node n2, create processor 'x': type: bad"


def test_the_edit_log_takes_cluster_seqs_with_gaps(tmp_path: Path) -> None:
    service = open_node(tmp_path, "n0")
    try:
        log = service.log
        first = log.append(user="a", description="one", components=(), edit=NOTHING, inverse=NOTHING, seq=5,
                           cluster=5)
        assert (first.seq, first.cluster, log.last_seq, log.last_cluster_seq) == (5, 5, 5, 5)
        with pytest.raises(ValueError, match="past 5"):
            log.append(user="a", description="two", components=(), edit=NOTHING, inverse=NOTHING, seq=5)
        local = log.append(user="a", description="local", components=(), edit=NOTHING, inverse=NOTHING)
        assert (local.seq, local.cluster, log.last_cluster_seq) == (6, None, None)
        assert log.seq_of_cluster(5) == 5 and log.seq_of_cluster(4) is None
        log.discard(6)
        assert log.last_seq == 5 and log.last_cluster_seq == 5
    finally:
        service.close()


async def test_revisions_checked_by_a_failed_request_are_not_sent_with_the_next(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        _cluster, services = await start(tmp_path, 2, nursery)
        try:
            with pytest.raises(FlowyardError, match="expected a JSON object"):
                await services[1].update("processor", "tag", 0, "not an object")  # checked tag at 0, then failed
            await services[0].update("processor", "tag", 0, {"properties": {"color": "blue"}})
            await wait_for(lambda: services[1].cluster_seq == 1)
            await services[1].update("processor", "gen", 0, {"name": "gen"})  # tag's old revision is not part of it
            await wait_for(lambda: services[0].cluster_seq == 2)
            same(services)
        finally:
            nursery.cancel_scope.cancel()
    close(services)
