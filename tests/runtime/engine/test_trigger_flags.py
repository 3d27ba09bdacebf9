"""The engine's trigger flags: ``ProcessorSpec.trigger_when_empty`` (triggered
while the input queue is empty, NiFi's @TriggerWhenEmpty) and
``trigger_when_any_destination_available`` (triggered while any relationship
has room, NiFi's @TriggerWhenAnyDestinationAvailable), with
``session.available_relationships()``."""

from __future__ import annotations

from typing import Any

import trio
from trio_wait import wait_for

from flowyard.processors.distribute_load import DistributeLoad
from flowyard.processors.monitor_activity import MonitorActivity
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**TEST_PROCESSORS, "MonitorActivity": MonitorActivity, "DistributeLoad": DistributeLoad}


def _flow() -> Any:
    processors = [
        {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "3", "Batch Size": "3"}},
        {"identifier": "monitor", "type": "MonitorActivity",
         "properties": {"Threshold Duration": "2 sec", "Inactivity Message": "idle"},
         "autoTerminatedRelationships": ["success", "activity.restored"]},
    ]
    connections = [
        {"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "monitor"},
         "selectedRelationships": ["success"]},
        {"identifier": "c2", "source": {"id": "monitor"}, "destination": {"id": "src"},
         "selectedRelationships": ["inactive"]},
    ]
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": processors,
                                                                    "connections": connections, "funnels": []}})


async def test_monitor_activity_reports_inactivity_with_an_empty_queue(patient_clock: Any) -> None:
    engine = Engine(_flow(), Repositories.in_memory(), registry=REGISTRY)
    inactive = engine.queues["c2"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: inactive.count >= 1)
        assert engine.queues["c1"].count == 0  # it was triggered with nothing queued
        engine.request_stop()
    assert inactive.count == 1  # once: Continually Send Messages is false


def test_the_flags_default_to_false() -> None:
    assert MonitorActivity.spec.trigger_when_empty
    assert DistributeLoad.spec.trigger_when_any_destination_available
    spec = TEST_PROCESSORS["SequenceSource"].spec
    assert not spec.trigger_when_empty and not spec.trigger_when_any_destination_available


def _distribute(strategy: str) -> Any:
    processors = [
        {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "60", "Batch Size": "5"}},
        {"identifier": "dl", "type": "DistributeLoad",
         "properties": {"Number of Relationships": "3", "Distribution Strategy": strategy}},
        *({"identifier": f"sink{n}", "type": "AsyncSlow", "scheduledState": "STOPPED",
           "autoTerminatedRelationships": ["success"]} for n in (1, 2, 3)),
    ]
    connections = [
        {"identifier": "in", "source": {"id": "src"}, "destination": {"id": "dl"},
         "selectedRelationships": ["success"]},
        *({"identifier": f"c{n}", "source": {"id": "dl"}, "destination": {"id": f"sink{n}"},
           "selectedRelationships": [str(n)], "backPressureObjectThreshold": threshold}
          for n, threshold in ((1, 10), (2, 20), (3, 10_000))),
    ]
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": processors,
                                                                    "connections": connections, "funnels": []}})


async def test_overflow_fills_each_relationship_up_to_its_back_pressure(patient_clock: Any) -> None:
    engine = Engine(_distribute("overflow"), Repositories.in_memory(), registry=REGISTRY)
    queues = [engine.queues[f"c{n}"] for n in (1, 2, 3)]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: sum(q.count for q in queues) == 60)
        engine.request_stop()
    assert [q.count for q in queues] == [10, 20, 30]


async def test_next_available_skips_full_relationships(patient_clock: Any) -> None:
    engine = Engine(_distribute("next available"), Repositories.in_memory(), registry=REGISTRY)
    queues = [engine.queues[f"c{n}"] for n in (1, 2, 3)]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: sum(q.count for q in queues) == 60)
        engine.request_stop()
    assert [q.count for q in queues] == [10, 20, 30]


async def test_round_robin_stops_when_one_relationship_is_full(patient_clock: Any) -> None:
    engine = Engine(_distribute("round robin"), Repositories.in_memory(), registry=REGISTRY)
    queues = [engine.queues[f"c{n}"] for n in (1, 2, 3)]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: queues[0].count >= 10)
        await trio.sleep(30)  # virtual time: it yields and retries, but routes nothing more
        engine.request_stop()
    counts = [q.count for q in queues]
    assert counts[0] >= 10 and max(counts) - min(counts) <= 1
    assert engine.queues["in"].count == 60 - sum(counts)
