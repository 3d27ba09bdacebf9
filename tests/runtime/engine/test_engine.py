"""The engine in-process on trio's MockClock: scheduling, back pressure, faults,
recovery, shutdown. Real repositories (RocksDB on tmp_path) where durability matters."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import MemoryStore, Repositories
from flowyard.runtime.sdk import FlowDefinitionError, FlowyardError

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS
from flowyard_test_processors import SequenceSource

REGISTRY = dict(TEST_PROCESSORS)


def proc(ident: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "type": type_, **kw}


def conn(ident: str, src: str, dst: str, rels: tuple[str, ...] = ("success",), **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": list(rels), **kw}


def flow(processors: list[dict[str, Any]], connections: list[dict[str, Any]], funnels: Any = ()) -> Any:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": processors, "connections": connections, "funnels": list(funnels)}})


def produced(node: Any) -> int:
    """Flowfiles a processor emitted: queued downstream or auto-terminated."""
    return int(node.stats.flowfiles_out + node.stats.flowfiles_removed)


async def test_flow_runs_source_to_sink_and_stops_cleanly(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "1000", "Batch Size": "50"}),
              proc("slow", "AsyncSlow", properties={"Delay": "1 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "slow")])
    repos = Repositories.in_memory()
    engine = Engine(f, repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.status().flowfiles_out == 1000)
        engine.request_stop()
    assert engine.finished.is_set()
    assert engine.status().queued_count == 0
    assert repos.state.get("src").values == {"next": "1000"}
    assert not any(n.running for n in engine.nodes.values())


async def test_back_pressure_bounds_queue_and_source_is_not_triggered_while_full(autojump_clock: Any) -> None:
    threshold, batch = 200, 30
    f = flow([proc("src", "SequenceSource", properties={"Count": "2000", "Batch Size": str(batch)}),
              proc("slow", "AsyncSlow", properties={"Delay": "5 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "slow", backPressureObjectThreshold=threshold)])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    queue = engine.queues["c1"]
    peak = [0]
    queue.on_data.append(lambda: peak.__setitem__(0, max(peak[0], queue.count)))
    triggered_while_full = []
    src_node = engine.nodes["src"]
    original = SequenceSource.on_trigger

    def watched(self: SequenceSource, context: Any, session: Any) -> None:
        triggered_while_full.append(queue.is_full())
        original(self, context, session)

    src_node.configured.processor.on_trigger = watched.__get__(src_node.configured.processor)  # type: ignore[method-assign]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.status().flowfiles_out == 2000)
        engine.request_stop()
    assert peak[0] >= threshold, "the test never filled the queue"
    assert peak[0] <= threshold + batch
    assert triggered_while_full and not any(triggered_while_full)


async def test_processor_that_raises_returns_input_penalized_with_bulletin(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "10", "Batch Size": "10"}),
              proc("boom", "Boom"),
              proc("ok", "AsyncSlow", properties={"Delay": "1 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "boom"), conn("c2", "boom", "ok"),
              conn("c3", "src", "ok")])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        # the healthy branch keeps flowing while Boom fails
        await wait_for(lambda: engine.nodes["ok"].stats.flowfiles_in == 10)
        await wait_for(lambda: engine.nodes["boom"].stats.errors >= 1)
        boom = engine.nodes["boom"]
        assert boom.bulletins and boom.bulletins[-1].level == "ERROR"
        assert "boom: simulated bug" in boom.bulletins[-1].message
        queue = engine.queues["c1"]
        assert queue.count == 10, "nothing lost: the failed flowfile went back to its queue"
        assert queue.status().penalized == 1
        assert boom.yield_until > trio.current_time(), "administrative yield after an unexpected error"
        engine.request_stop()


async def test_recovery_restores_every_queued_flowfile_in_order(tmp_path: Any, autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "500", "Batch Size": "100"}),
              proc("slow", "AsyncSlow", scheduledState="STOPPED", autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "slow", backPressureObjectThreshold=0)])
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(f, repos, registry=REGISTRY, swap_threshold=120)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["c1"].count == 500)
        engine.request_stop()
    repos.close()

    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(f, repos, registry=REGISTRY, swap_threshold=120)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        queue = engine.queues["c1"]
        assert queue.count == 500
        assert queue.status().swapped == 500 - 120
        taken, _ = queue.poll(1000, engine.clock())
        seqs = [int(ff.attributes["seq"]) for ff in taken]
        while queue.count - queue.in_flight:
            more, _ = queue.poll(1000, engine.clock())
            seqs.extend(int(ff.attributes["seq"]) for ff in more)
        assert seqs == list(range(500))
        engine.request_stop()
    repos.close()


@pytest.mark.parametrize(
    ("strategy", "period", "seconds", "expected"),
    [
        ("TIMER_DRIVEN", "10 sec", 55, 6),  # t = 0, 10, ..., 50
        ("CRON_DRIVEN", "0/15 * * * * ?", 60, 4),
    ],
)
async def test_timer_and_cron_scheduling(autojump_clock: Any, strategy: str, period: str, seconds: float,
                                         expected: int) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "1000", "Batch Size": "1"},
                   schedulingStrategy=strategy, schedulingPeriod=period,
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(seconds)
        n = produced(engine.nodes["src"])
        engine.request_stop()
    if strategy == "CRON_DRIVEN":
        assert expected - 1 <= n <= expected  # depends on where in the minute the wall clock starts
    else:
        assert n == expected


async def test_source_yields_when_it_has_nothing_to_do(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "0"}, yieldDuration="2 sec",
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(10.5)
        tasks = engine.nodes["src"].stats.tasks
        engine.request_stop()
    assert tasks == 6  # t = 0, 2, 4, 6, 8, 10


async def test_start_stop_and_run_once(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "100", "Batch Size": "10"},
                   scheduledState="STOPPED", autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        node = engine.nodes["src"]
        await trio.sleep(1)
        assert produced(node) == 0
        await engine.run_once("src")
        assert produced(node) == 10
        engine.start_processor("src")
        await wait_for(lambda: produced(node) == 100)
        await engine.stop_processor("src")
        assert not node.running and node.state == "STOPPED"
        engine.request_stop()


async def test_funnel_merges_connections(autojump_clock: Any) -> None:
    f = flow([proc("a", "SequenceSource", properties={"Count": "30"}),
              proc("b", "SequenceSource", properties={"Count": "20"}),
              proc("sink", "AsyncSlow", properties={"Delay": "0 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "a", "f"), conn("c2", "b", "f"), conn("c3", "f", "sink", rels=())],
             funnels=[{"identifier": "f"}])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["sink"].stats.flowfiles_in == 50)
        engine.request_stop()


def test_invalid_processor_is_not_started_and_says_why() -> None:
    f = flow([proc("src", "SequenceSource")], [])  # Count missing, success unrouted
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    reasons = " ".join(map(str, engine.nodes["src"].validation))
    assert "'Count' is invalid" in reasons
    assert "relationship 'success' is not connected" in reasons
    with pytest.raises(FlowyardError, match="is invalid"):
        engine.start_processor("src")


@pytest.mark.parametrize(
    ("processors", "connections", "where", "message"),
    [
        ([proc("x", "NoSuchThing")], [], "rootGroup.processors[0].type", "unknown processor type 'NoSuchThing'"),
        ([proc("s", "SequenceSource", properties={"Count": "1"}), proc("t", "AsyncSlow")],
         [conn("c", "s", "t", rels=("nope",))], "rootGroup.connections[0].selectedRelationships",
         "has no relationship 'nope'"),
    ],
)
def test_bad_flow_definitions_name_the_place(processors: Any, connections: Any, where: str, message: str) -> None:
    f = flow(processors, connections)
    with pytest.raises(FlowDefinitionError, match=message) as info:
        Engine(f, Repositories.in_memory(), registry=REGISTRY)
    assert info.value.where == where


async def test_list_and_empty_queue_drop_everything_waiting_with_events(tmp_path: Any, autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "500", "Batch Size": "100", "Content Size": "10"}),
              proc("held", "AsyncSlow", scheduledState="STOPPED", autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "held", backPressureObjectThreshold=0, flowFileExpiration="1 hour")])
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(f, repos, registry=REGISTRY, swap_threshold=120)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["c1"].count == 500)
        assert [ff.attributes["seq"] for ff in engine.list_queue("c1", 3)] == ["0", "1", "2"]
        assert await engine.empty_queue("c1") == 500
        assert engine.queues["c1"].count == 0
        engine.request_stop()
    drops = [e for e in repos.provenance.events() if e.component_id == "c1"]
    assert len(drops) == 500 and {e.event_type.name for e in drops} == {"DROP"}
    qid = repos.flowfiles.queue_id("c1")
    assert repos.flowfiles.count_queue(qid) == (0, 0), "no record left behind"
    assert repos.content.counts == {} or all(v == 0 for v in repos.content.counts.values())
    repos.close()


async def test_run_duration_batches_many_triggers_into_one_commit(autojump_clock: Any) -> None:
    def build(run_duration: str) -> Engine:
        f = flow([proc("src", "SequenceSource", properties={"Count": "200", "Batch Size": "200"}),
                  proc("slow", "AsyncSlow", properties={"Delay": "1 ms"}, runDuration=run_duration,
                       autoTerminatedRelationships=["success"])],
                 [conn("c1", "src", "slow")])
        return Engine(f, Repositories.in_memory(), registry=REGISTRY)

    commits = {}
    for run_duration in ("0 ms", "100 ms"):
        engine = build(run_duration)
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            await wait_for(lambda e=engine: e.status().flowfiles_out == 200)  # type: ignore[misc]
            engine.request_stop()
        commits[run_duration] = engine.committer.commits_written
    assert commits["0 ms"] >= 200  # one commit per flowfile, plus the source's
    assert commits["100 ms"] <= 10  # ~100 triggers per session


def test_event_driven_without_incoming_connection_is_invalid() -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "1"}, schedulingStrategy="EVENT_DRIVEN",
                   autoTerminatedRelationships=["success"])], [])
    engine = Engine(f, Repositories.in_memory(), registry=REGISTRY)
    assert "event-driven scheduling needs an incoming connection" in str(engine.nodes["src"].validation)


class FlakyStore(MemoryStore):
    """A MemoryStore whose batch writes fail while ``failing`` is set (a full disk, say)."""

    failing = False

    def write(self, batch: Any, *, sync: bool = False) -> None:
        if self.failing:
            raise OSError(28, "No space left on device")
        super().write(batch, sync=sync)


async def test_a_failing_store_loses_nothing_and_the_flow_resumes(autojump_clock: Any) -> None:
    f = flow([proc("src", "SequenceSource", properties={"Count": "300", "Batch Size": "100"}),
              proc("slow", "AsyncSlow", properties={"Delay": "1 ms"}, autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "slow")])
    store = FlakyStore()
    repos = Repositories(store)
    engine = Engine(f, repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.nodes["slow"].stats.flowfiles_in >= 10)
        store.failing = True
        await wait_for(lambda: engine.nodes["slow"].stats.errors >= 1)
        warning = engine.nodes["slow"].bulletins[-1]
        assert "No space left on device" in warning.message
        assert engine.queues["c1"].status().penalized >= 1, "the input went back, penalized"
        store.failing = False
        await wait_for(lambda: engine.status().flowfiles_out == 300)
        engine.request_stop()
    assert repos.state.get("src").values == {"next": "300"}
    assert repos.flowfiles.count_queue(repos.flowfiles.queue_id("c1")) == (0, 0)


async def test_shutdown_does_not_wait_forever_for_a_stuck_blocking_processor(tmp_path: Any) -> None:
    from flowyard.processors.testing import TEST_PROCESSORS, release_hold

    registry = {**REGISTRY, **TEST_PROCESSORS}
    f = flow([proc("src", "SequenceSource", properties={"Count": "50", "Batch Size": "50"}),
              proc("hold", "Hold", properties={"Hold Key": "shutdown-test", "Maximum Hold Time": "1 min"},
                   autoTerminatedRelationships=["success"])],
             [conn("c1", "src", "hold")])
    repos = Repositories.open(tmp_path / "repo")
    engine = Engine(f, repos, registry=registry, grace_seconds=0.2)
    holder = engine.nodes["hold"].configured.processor
    try:
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                await nursery.start(engine.run)
                await trio.to_thread.run_sync(holder.hold_started.wait)  # type: ignore[attr-defined]
                engine.request_stop()
        assert engine.finished.is_set()
    finally:
        release_hold("shutdown-test")
    repos.close()
    repos = Repositories.open(tmp_path / "repo")
    again = Engine(f, repos, registry=registry)
    again._recover()
    assert again.queues["c1"].count == 50, "the held, uncommitted flowfiles are back in their queue"
    repos.close()


async def test_sync_durability_group_commits_share_fsyncs(tmp_path: Any) -> None:
    sources = [proc(f"s{i}", "SequenceSource", properties={"Count": "200", "Batch Size": "5"},
                    autoTerminatedRelationships=["success"]) for i in range(6)]
    repos = Repositories.open(tmp_path / "repo", durability="sync")
    engine = Engine(flow(sources, []), repos, registry=REGISTRY)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        with trio.fail_after(120):
            while engine.status().flowfiles_out < 1200:
                await trio.sleep(0.01)
        engine.request_stop()
    committer = engine.committer
    assert committer.commits_written >= 240  # 6 sources x 40 batches
    assert committer.groups_written < committer.commits_written, "sessions waiting together share one fsync"
    assert all(repos.state.get(f"s{i}").values == {"next": "200"} for i in range(6))
    repos.close()
