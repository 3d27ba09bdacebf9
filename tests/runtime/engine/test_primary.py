"""Primary-node-only processors (``executionNode: PRIMARY``): triggered only while
the engine is the cluster's primary node (``Engine.set_primary``); processors that
run on ALL nodes are unaffected; the status says which are waiting; a flow edit
that changes the execution node is honoured."""

from __future__ import annotations

from typing import Any

import trio
from trio_wait import wait_for

from flowyard.runtime.engine import Engine, plan, reconcile
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    SchedulingDefaults,
)


class Tick(Processor):
    """One flowfile per trigger, once a second."""

    blocking = False
    spec = ProcessorSpec(description="ticks", relationships=(Relationship("success"),),
                         input_requirement=InputRequirement.FORBIDDEN,
                         scheduling=SchedulingDefaults(period="1 sec"))

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        session.transfer(session.create(), "success")


class SlowTick(Tick):
    """A tick whose trigger takes 5 s (virtual), to lose the role in the middle of it."""

    entered: trio.Event

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:  # type: ignore[override]
        ff = session.create()
        SlowTick.entered.set()
        await trio.sleep(5)
        session.transfer(ff, "success")


REGISTRY: dict[str, type[Processor]] = {"Tick": Tick, "SlowTick": SlowTick}


def _doc(primary_type: str = "Tick", execution: str = "PRIMARY") -> dict[str, Any]:
    processors = [
        {"identifier": "p", "type": primary_type, "executionNode": execution, "schedulingPeriod": "1 sec"},
        {"identifier": "a", "type": "Tick", "schedulingPeriod": "1 sec"},
    ]
    connections = [
        {"identifier": f"c{n}", "source": {"id": n}, "destination": {"id": "sink"},
         "selectedRelationships": ["success"]} for n in ("p", "a")
    ]
    sink = {"identifier": "sink", "type": "Tick", "scheduledState": "STOPPED"}
    return {"flowyardFlowVersion": 1,
            "rootGroup": {"processors": [*processors, sink], "connections": connections, "funnels": []}}


def _engine(doc: dict[str, Any] | None = None) -> Engine:
    return Engine(flow_from_dict(doc or _doc()), Repositories.in_memory(), registry=REGISTRY)


async def test_a_single_node_is_primary_and_runs_primary_only_processors(autojump_clock: Any) -> None:
    engine = _engine()
    assert engine.primary and engine.nodes["p"].execution_node == "PRIMARY"
    assert engine.nodes["a"].execution_node == "ALL"
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["cp"].count >= 3)
        status = engine.status()
        assert status.primary and status.waiting_for_primary == 0
        engine.request_stop()


async def test_not_primary_the_primary_only_processor_waits_and_all_runs(autojump_clock: Any) -> None:
    engine = _engine()
    engine.set_primary(False)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: engine.queues["ca"].count >= 5)
        assert engine.queues["cp"].count == 0
        node = engine.nodes["p"]
        assert node.running and node.state == "RUNNING"  # scheduled, as on every node
        assert node.waiting_for_primary and not engine.nodes["a"].waiting_for_primary
        assert node.stats.tasks == 0
        status = engine.status()
        assert not status.primary and status.waiting_for_primary == 1
        engine.request_stop()


async def test_set_primary_starts_and_stops_triggering(autojump_clock: Any) -> None:
    engine = _engine()
    engine.set_primary(False)
    cp, ca = engine.queues["cp"], engine.queues["ca"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await trio.sleep(10)
        assert cp.count == 0
        engine.set_primary(True)
        await wait_for(lambda: cp.count >= 1)
        assert trio.current_time() - 10 < 0.5  # at once, not at the next poll
        await trio.sleep(5)
        engine.set_primary(False)
        engine.set_primary(False)  # idempotent
        stopped_at, all_at = cp.count, ca.count
        await trio.sleep(20)
        assert cp.count == stopped_at
        assert ca.count >= all_at + 19
        engine.set_primary(True)
        await wait_for(lambda: cp.count > stopped_at)
        engine.request_stop()


async def test_losing_the_role_lets_a_trigger_in_progress_finish_and_commit(autojump_clock: Any) -> None:
    SlowTick.entered = trio.Event()
    engine = _engine(_doc("SlowTick"))
    cp = engine.queues["cp"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await SlowTick.entered.wait()
        SlowTick.entered = trio.Event()
        engine.set_primary(False)
        await wait_for(lambda: cp.count == 1)
        await trio.sleep(30)
        assert cp.count == 1 and not SlowTick.entered.is_set()
        engine.request_stop()


async def test_a_primary_only_processor_stopped_and_started_on_a_non_primary_node_waits(autojump_clock: Any) -> None:
    engine = _engine()
    engine.set_primary(False)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await engine.stop_processor("p")
        engine.start_processor("p")
        await trio.sleep(10)
        assert engine.queues["cp"].count == 0
        engine.set_primary(True)
        await wait_for(lambda: engine.queues["cp"].count >= 1)
        engine.request_stop()


async def test_a_processor_added_while_not_primary_knows_it(autojump_clock: Any) -> None:
    engine = _engine(_doc(execution="ALL"))
    engine.set_primary(False)
    doc = _doc()
    doc["rootGroup"]["processors"].append({"identifier": "q", "type": "Tick", "executionNode": "PRIMARY",
                                           "schedulingPeriod": "1 sec",
                                           "autoTerminatedRelationships": ["success"]})
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await reconcile(engine, plan(engine, flow_from_dict(doc)))
        await trio.sleep(10)
        assert engine.nodes["q"].waiting_for_primary and engine.nodes["q"].stats.tasks == 0
        engine.set_primary(True)
        await wait_for(lambda: engine.nodes["q"].stats.tasks >= 1)
        engine.request_stop()


async def test_reconcile_honours_a_changed_execution_node(autojump_clock: Any) -> None:
    engine = _engine(_doc(execution="ALL"))
    engine.set_primary(False)
    cp = engine.queues["cp"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: cp.count >= 2)
        await reconcile(engine, plan(engine, flow_from_dict(_doc(execution="PRIMARY"))))
        assert engine.nodes["p"].running and engine.nodes["p"].waiting_for_primary
        before = cp.count
        await trio.sleep(10)
        assert cp.count == before
        await reconcile(engine, plan(engine, flow_from_dict(_doc(execution="ALL"))))
        await wait_for(lambda: cp.count > before)
        engine.request_stop()
