"""Cluster-scoped processor state (``Processor.state_scope`` = "CLUSTER") with an
``Engine.cluster_state`` store: read from the store before each trigger, written
with ``replace`` when the session commits (not into the repository); a version
that moved rolls the session back without losing flowfiles and the processor
yields; without a store (a single node) state stays in the repository."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors.generate_table_fetch import GenerateTableFetch
from flowyard.processors.list_database_tables import ListDatabaseTables
from flowyard.processors.list_file import ListFile
from flowyard.processors.query_database_table import QueryDatabaseTable, QueryDatabaseTableRecord
from flowyard.processors.tail_file import TailFile
from flowyard.processors.update_attribute import UpdateAttribute
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import (
    FlowyardError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    SchedulingDefaults,
)
from flowyard.runtime.sdk.testing import ProcessorRunner

SUCCESS = Relationship("success")


class Tick(Processor):
    """One flowfile per trigger, once a second (local state: none)."""

    blocking = False
    spec = ProcessorSpec(description="ticks", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.FORBIDDEN,
                         scheduling=SchedulingDefaults(period="1 sec"))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        session.transfer(session.create(), "success")


class Stamp(Processor):
    """Takes one flowfile, stamps it with the counter ``n`` kept in cluster state and
    counts on."""

    blocking = False
    scope = "CLUSTER"
    spec = ProcessorSpec(description="stamps", relationships=(SUCCESS,), stateful=True)

    def state_scope(self, context: ProcessContext) -> str:
        return self.scope

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        ff = session.get()
        if ff is None:
            return
        state = session.get_state()
        n = int(state.get("n", "0"))
        session.transfer(session.put_attribute(ff, "n", str(n)), "success")
        session.set_state({"n": str(n + 1)})


class LocalStamp(Stamp):
    scope = "LOCAL"


class FakeStore:
    """A ``ClusterStateStore`` in memory; ``interfere`` runs inside ``replace``
    before the version check (another node writing meanwhile)."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[dict[str, str], int]] = {}
        self.gets = 0
        self.replaced: list[tuple[str, int, dict[str, str]]] = []
        self.refused = 0
        self.interfere: Callable[[str], None] | None = None
        self.fail_get: Exception | None = None
        self.fail_replace: Exception | None = None

    def write(self, component_id: str, values: dict[str, str]) -> None:
        version = self.data.get(component_id, ({}, 0))[1]
        self.data[component_id] = (dict(values), version + 1)

    async def get(self, component_id: str) -> tuple[dict[str, str], int]:
        await trio.lowlevel.checkpoint()
        if self.fail_get is not None:
            raise self.fail_get
        self.gets += 1
        values, version = self.data.get(component_id, ({}, 0))
        return dict(values), version

    async def replace(self, component_id: str, version: int, values: dict[str, str]) -> bool:
        await trio.lowlevel.checkpoint()
        if self.fail_replace is not None:
            raise self.fail_replace
        if self.interfere is not None:
            interfere, self.interfere = self.interfere, None
            interfere(component_id)
        if self.data.get(component_id, ({}, 0))[1] != version:
            self.refused += 1
            return False
        self.replaced.append((component_id, version, dict(values)))
        self.data[component_id] = (dict(values), version + 1)
        return True

    async def clear(self, component_id: str) -> None:
        self.write(component_id, {})


REGISTRY: dict[str, type[Processor]] = {"Tick": Tick, "Stamp": Stamp, "LocalStamp": LocalStamp}


def _engine(stamp: str = "Stamp", stamp_state: str = "RUNNING") -> Engine:
    processors = [
        {"identifier": "tick", "type": "Tick", "schedulingPeriod": "1 sec"},
        {"identifier": "stamp", "type": stamp, "scheduledState": stamp_state, "schedulingPeriod": "0 sec"},
        {"identifier": "sink", "type": "Tick", "scheduledState": "STOPPED"},
    ]
    connections = [
        {"identifier": "in", "source": {"id": "tick"}, "destination": {"id": "stamp"},
         "selectedRelationships": ["success"]},
        {"identifier": "out", "source": {"id": "stamp"}, "destination": {"id": "sink"},
         "selectedRelationships": ["success"]},
    ]
    doc = {"flowyardFlowVersion": 1,
           "rootGroup": {"processors": processors, "connections": connections, "funnels": []}}
    return Engine(flow_from_dict(doc), Repositories.in_memory(), registry=REGISTRY)


def stamps(engine: Engine) -> list[int]:
    return [int(ff.attributes["n"]) for ff in engine.list_queue("out", limit=1000)]


async def test_without_a_store_cluster_state_lives_in_the_repository(autojump_clock: Any) -> None:
    engine = _engine()
    assert engine.nodes["stamp"].state_scope == "CLUSTER"
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["out"].count >= 3)
        engine.request_stop()
    assert stamps(engine)[:3] == [0, 1, 2]
    assert engine.repositories.state.get("stamp").values == {"n": str(engine.queues["out"].count)}


async def test_with_a_store_state_is_read_from_it_and_written_on_commit(autojump_clock: Any) -> None:
    engine = _engine()
    store = FakeStore()
    store.write("stamp", {"n": "40"})
    engine.cluster_state = store
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["out"].count >= 3)
        engine.request_stop()
    count = engine.queues["out"].count
    assert stamps(engine) == list(range(40, 40 + count))
    assert store.data["stamp"] == ({"n": str(40 + count)}, 1 + count)
    assert [version for _, version, _ in store.replaced] == list(range(1, 1 + count))
    assert engine.repositories.state.get("stamp").version == 0  # never in the repository
    assert store.gets >= count


async def test_a_moved_version_rolls_back_without_losing_flowfiles_and_yields(autojump_clock: Any) -> None:
    engine = _engine(stamp_state="STOPPED")
    store = FakeStore()
    engine.cluster_state = store
    node = engine.nodes["stamp"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["in"].count >= 3)
        store.interfere = lambda cid: store.write(cid, {"n": "100"})  # another primary wrote
        engine.start_processor("stamp")
        await wait_for(lambda: store.refused == 1)
        await wait_for(lambda: engine.queues["out"].count >= 3)
        await engine.stop_processor("stamp")
        await engine.stop_processor("tick")
        engine.request_stop()
    produced = engine.nodes["tick"].stats.flowfiles_out
    assert engine.queues["in"].count + engine.queues["out"].count == produced  # none lost
    assert stamps(engine)[0] == 100  # continued from what the other node wrote
    assert stamps(engine) == list(range(100, 100 + engine.queues["out"].count))
    assert any("cluster state could not be replaced" in b.message for b in node.bulletins)
    assert node.stats.errors == 0


async def test_an_unreachable_store_skips_the_trigger_and_a_failed_write_rolls_back(autojump_clock: Any) -> None:
    engine = _engine(stamp_state="STOPPED")
    store = FakeStore()
    engine.cluster_state = store
    node = engine.nodes["stamp"]
    node.admin_yield_seconds = 5
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["in"].count >= 2)
        store.fail_get = OSError("etcd down")
        engine.start_processor("stamp")
        await wait_for(lambda: node.stats.errors >= 1)
        assert node.stats.tasks == 0 and engine.queues["out"].count == 0
        assert "could not read the cluster state" in node.bulletins[-1].message
        store.fail_get = None
        store.fail_replace = OSError("etcd down")
        await wait_for(lambda: node.stats.errors >= 2)
        assert "could not write the cluster state" in node.bulletins[-1].message
        assert engine.queues["out"].count == 0
        store.fail_replace = None
        await wait_for(lambda: engine.queues["out"].count >= 2)
        await engine.stop_processor("tick")
        await engine.stop_processor("stamp")
        engine.request_stop()
    produced = engine.nodes["tick"].stats.flowfiles_out
    assert engine.queues["in"].count + engine.queues["out"].count == produced
    assert stamps(engine) == list(range(engine.queues["out"].count))


async def test_a_failed_repository_commit_puts_the_cluster_state_back(autojump_clock: Any) -> None:
    engine = _engine(stamp_state="STOPPED")
    store = FakeStore()
    engine.cluster_state = store
    repositories = engine.repositories
    write = repositories.write
    broken = [True]

    def write_once_broken(txns: Any, now_ms: int) -> Any:
        if broken[0]:
            broken[0] = False
            raise OSError("the disk is broken")
        return write(txns, now_ms)

    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["in"].count >= 3)
        await engine.stop_processor("tick")
        repositories.write = write_once_broken  # type: ignore[method-assign]
        engine.start_processor("stamp")
        await wait_for(lambda: engine.queues["out"].count == 3)
        engine.request_stop()
    assert not broken[0]
    assert stamps(engine) == [0, 1, 2]  # the failed trigger's number was handed out again
    assert engine.queues["in"].count == 0
    assert [values for _, _, values in store.replaced] == [{"n": "1"}, {}, {"n": "1"}, {"n": "2"}, {"n": "3"}]
    assert store.data["stamp"] == ({"n": "3"}, 5)


async def test_local_scope_ignores_the_store(autojump_clock: Any) -> None:
    engine = _engine("LocalStamp")
    store = FakeStore()
    engine.cluster_state = store
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["out"].count >= 2)
        engine.request_stop()
    assert store.gets == 0 and not store.replaced
    assert engine.repositories.state.get("stamp").values == {"n": str(engine.queues["out"].count)}


@pytest.mark.parametrize(("processor", "properties", "scope"), [
    (ListFile, {}, "LOCAL"),
    (ListFile, {"Input Directory Location": "Local"}, "LOCAL"),
    (ListFile, {"Input Directory Location": "Remote"}, "CLUSTER"),
    (TailFile, {}, "LOCAL"),
    (TailFile, {"State Location": "Remote"}, "CLUSTER"),
    (TailFile, {"File Location": "Remote"}, "CLUSTER"),  # NiFi's legacy name
    (TailFile, {"Tailing Mode": "Multiple files", "State Location": "Remote"}, "CLUSTER"),
    (QueryDatabaseTable, {}, "CLUSTER"),
    (QueryDatabaseTableRecord, {}, "CLUSTER"),
    (GenerateTableFetch, {}, "CLUSTER"),
    (ListDatabaseTables, {}, "CLUSTER"),
    (UpdateAttribute, {}, "LOCAL"),
])
def test_processors_choose_their_state_scope(processor: type[Processor], properties: dict[str, str],
                                             scope: str) -> None:
    runner = ProcessorRunner(processor)
    for name, value in properties.items():
        runner.set_property(name, value)
    assert runner.processor.state_scope(runner.context) == scope


def test_list_file_remote_lists_into_the_runner_state_as_before(tmp_path: Any) -> None:
    (tmp_path / "a.txt").write_text("a")
    past = (int(time.time()) - 3600) * 1_000_000_000 + 123_000_000  # an hour ago: past the listing lag
    os.utime(tmp_path / "a.txt", ns=(past, past))
    runner = ProcessorRunner(ListFile)
    runner.set_property("Input Directory", str(tmp_path))
    runner.set_property("Input Directory Location", "Remote")
    runner.assert_valid()
    runner.run()
    runner.assert_all_transferred("success", 1)
    assert "listing.timestamp" in runner.state()  # a single node keeps cluster state in its repository


@pytest.mark.parametrize("with_store", [True, False])
async def test_view_and_clear_state_where_it_lives(autojump_clock: Any, with_store: bool) -> None:
    engine = _engine()
    store = FakeStore()
    if with_store:
        engine.cluster_state = store
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["out"].count >= 2)
        with pytest.raises(FlowyardError, match="running; stop it before clearing"):
            await engine.clear_state("stamp")
        await engine.stop_processor("stamp")
        count = engine.queues["out"].count
        scope, values, version = await engine.component_state("stamp")
        assert (scope, values) == ("CLUSTER", {"n": str(count)})
        assert version == count  # one write per stamp, from version 0
        await engine.clear_state("stamp")
        assert await engine.component_state("stamp") == ("CLUSTER", {}, count + 1)
        engine.start_processor("stamp")
        await wait_for(lambda: engine.queues["out"].count >= count + 1)
        with pytest.raises(FlowyardError, match="no processor has id 'nope'"):
            await engine.component_state("nope")
        engine.request_stop()
    assert stamps(engine)[count] == 0  # counting starts again
    if with_store:
        assert engine.repositories.state.get("stamp").version == 0
    else:
        assert not store.gets
