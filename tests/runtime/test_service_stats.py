"""Statistics and status history through the runtime facade, with a running
GenerateFlowFile → LogAttribute flow (trio's MockClock): the documented JSON
shapes, the live stream's fields, and errors for unknown ids and resolutions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowService, UnknownComponentError

BATCH, SIZE = 5, 100
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
    {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 sec",
     "properties": {"Batch Size": str(BATCH), "File Size": f"{SIZE} B"}},
    {"identifier": "log", "type": "LogAttribute", "autoTerminatedRelationships": ["success"]},
], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                    "selectedRelationships": ["success"]}]}}
RATE_FIELDS = {f"{n}Rate{w}" for n in ("flowFilesIn", "bytesIn", "flowFilesOut", "bytesOut") for w in ("1s", "10s")}


@pytest.fixture
def service(tmp_path: Path) -> FlowService:
    return FlowService(flow_from_dict(FLOW), Repositories.in_memory(), tmp_path, discover_processors())


async def test_statistics_history_and_stream_fields_of_a_running_flow(service: FlowService,
                                                                     patient_clock: Any) -> None:
    before = service.component_statistics("gen")
    assert before["timestamp"] == 0 and set(before["totals"].values()) == {0}, "zeros before the first sample"
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        await wait_for(lambda: service.component_statistics("log")["totals"]["flowFilesIn"] >= 3 * BATCH)
        await service.set_run_state("gen", "STOPPED")
        # once everything generated has been logged and sampled, the figures stand still
        await wait_for(lambda: service.component_statistics("log")["totals"]["flowFilesIn"]
                       == service.component_statistics("gen")["totals"]["flowFilesOut"]
                       == service.engine.nodes["gen"].stats.flowfiles_out)
        produced = service.engine.nodes["gen"].stats.flowfiles_out

        gen = service.component_statistics("gen")
        assert set(gen) == {"id", "kind", "timestamp", "windowMillis", "totals", "rates", "sinceStart", "current"}
        assert (gen["id"], gen["kind"]) == ("gen", "processor")
        assert gen["totals"]["bytesOut"] == gen["totals"]["bytesWritten"] == produced * SIZE
        assert gen["totals"] == gen["sinceStart"], "less than 5 minutes in"
        assert set(gen["rates"]) == {"1s", "10s"}
        assert set(gen["rates"]["1s"]) == set(gen["totals"]) == {
            "flowFilesIn", "bytesIn", "flowFilesOut", "bytesOut", "bytesRead", "bytesWritten",
            "flowFilesRemoved", "taskCount", "tasksDurationNanos"}
        assert gen["current"] == {"activeThreadCount": 0}
        assert 0 < gen["windowMillis"] <= 300_000
        c1 = service.component_statistics("c1")
        assert c1["kind"] == "connection"
        assert c1["totals"] == {"flowFilesIn": produced, "bytesIn": produced * SIZE,
                                "flowFilesOut": produced, "bytesOut": produced * SIZE}
        assert c1["current"] == {"queuedCount": 0, "queuedBytes": 0}

        history = service.status_history("gen")
        assert history["resolution"] == "1s" and history["intervalMillis"] == 1000
        fields = [d["field"] for d in history["fieldDescriptors"]]
        assert fields == [*gen["totals"], "activeThreadCount"]
        assert {d["type"] for d in history["fieldDescriptors"]} == {"counter", "gauge"}
        assert set(history["series"]) == set(fields)
        assert all(len(v) == len(history["timestamps"]) for v in history["series"].values())
        assert sum(history["series"]["flowFilesOut"]) == produced
        json.dumps(history)  # plain JSON

        entries = service.status_entries()
        assert set(entries["gen"]) >= RATE_FIELDS and set(entries["c1"]) >= RATE_FIELDS
        assert entries["gen"]["flowFilesOut"] == produced
        assert entries["c1"]["flowFilesIn"] == produced
        assert service.status()["processors"]["log"]["flowFilesIn"] == produced

        group = service.aggregate_statistics(["gen", "log", "c1"])
        assert group["componentCount"] == 3
        assert group["processors"]["count"] == 2 and group["connections"]["count"] == 1
        assert group["processors"]["totals"]["flowFilesIn"] == produced, "only log takes flowfiles in"
        assert group["processors"]["totals"]["flowFilesRemoved"] == produced
        assert group["connections"]["totals"] == c1["totals"]

        await trio.sleep(2 * 60)
        minutes = service.status_history("c1", resolution="1m")
        assert minutes["intervalMillis"] == 60_000 and minutes["timestamps"]
        assert sum(minutes["series"]["flowFilesIn"]) == produced
        service.request_stop()


def test_unknown_component_and_resolution(service: FlowService) -> None:
    with pytest.raises(UnknownComponentError, match="nope"):
        service.component_statistics("nope")
    with pytest.raises(UnknownComponentError):
        service.status_history("nope")
    with pytest.raises(UnknownComponentError):
        service.aggregate_statistics(["gen", "nope"])
    with pytest.raises(FlowyardError, match="resolution"):
        service.status_history("gen", resolution="5m")
    assert service.status_history("gen", resolution="1m")["timestamps"] == [], "nothing sampled yet"
