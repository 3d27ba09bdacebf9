"""``ProcessorSpec.trigger_when_empty``: the engine triggers such a processor
while its input queue is empty (NiFi's @TriggerWhenEmpty); others wait for data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from flowyard.processors.monitor_activity import MonitorActivity
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**TEST_PROCESSORS, "MonitorActivity": MonitorActivity}


async def wait_for(condition: Callable[[], bool], *, timeout: float = 600.0) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.05)


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


async def test_monitor_activity_reports_inactivity_with_an_empty_queue(autojump_clock: Any) -> None:
    engine = Engine(_flow(), Repositories.in_memory(), registry=REGISTRY)
    inactive = engine.queues["c2"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: inactive.count >= 1)
        assert engine.queues["c1"].count == 0  # it was triggered with nothing queued
        engine.request_stop()
    assert inactive.count == 1  # once: Continually Send Messages is false


def test_the_flag_defaults_to_false() -> None:
    assert MonitorActivity.spec.trigger_when_empty
    assert not TEST_PROCESSORS["SequenceSource"].spec.trigger_when_empty
