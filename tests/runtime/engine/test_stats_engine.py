"""Statistics of a running engine on trio's MockClock: a source → sink flow
fills the 5-minute totals and the status history, which empty again as
the figures age out."""

from __future__ import annotations

from typing import Any

import trio
from trio_wait import wait_for

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

COUNT, BATCH, SIZE = 40, 2, 64


def source_to_sink() -> Any:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "src", "type": "SequenceSource", "schedulingPeriod": "1 sec",
         "properties": {"Count": str(COUNT), "Batch Size": str(BATCH), "Content Size": str(SIZE)}},
        {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "1 ms"},
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "sink"},
                        "selectedRelationships": ["success"]}]}})


async def test_running_flow_fills_totals_and_history_then_ages_out(autojump_clock: Any) -> None:
    engine = Engine(source_to_sink(), Repositories.in_memory(), registry=dict(TEST_PROCESSORS))
    stats = engine.statistics
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        await wait_for(lambda: stats.statistics(["sink"], "processor").totals["flowFilesRemoved"] == COUNT)

        src = stats.statistics(["src"], "processor")
        assert src.totals["flowFilesOut"] == COUNT
        assert src.totals["bytesOut"] == src.totals["bytesWritten"] == COUNT * SIZE
        assert src.totals["taskCount"] >= COUNT // BATCH
        assert src.since_start == src.totals, "less than 5 minutes in: the window holds everything"
        sink = stats.statistics(["sink"], "processor")
        assert sink.totals["flowFilesIn"] == COUNT and sink.totals["bytesIn"] == COUNT * SIZE
        # each trigger sleeps 1 ms (the clock is float seconds: allow a rounding error)
        assert sink.totals["tasksDurationNanos"] >= COUNT * 999_000
        c1 = stats.statistics(["c1"], "connection")
        assert c1.totals == {"flowFilesIn": COUNT, "bytesIn": COUNT * SIZE,
                             "flowFilesOut": COUNT, "bytesOut": COUNT * SIZE}
        assert c1.gauges["queuedCount"] == 0

        history = stats.history(["src"], "processor", "1s")
        assert sum(history.series["flowFilesOut"]) == COUNT
        assert max(history.series["flowFilesOut"]) == BATCH, "one batch a second"
        assert len(history.timestamps) >= COUNT // BATCH
        steps = {b - a for a, b in zip(history.timestamps, history.timestamps[1:])}
        assert steps == {1000}, "one sample a second, on a fixed grid"

        await trio.sleep(6 * 60)  # everything is now more than 5 minutes old
        assert stats.statistics(["src"], "processor").totals["flowFilesOut"] == 0
        assert stats.statistics(["c1"], "connection").totals["flowFilesIn"] == 0
        assert stats.statistics(["src"], "processor").since_start["flowFilesOut"] == COUNT
        assert len(stats.history(["src"], "processor", "1s").timestamps) == 300, "the ring is full"
        minutes = stats.history(["src"], "processor", "1m")
        assert len(minutes.timestamps) >= 5
        assert all(t % 60_000 == 0 for t in minutes.timestamps), "minutes end on the wall-clock minute"
        assert sum(minutes.series["flowFilesOut"]) == COUNT
        assert sum(stats.history(["c1"], "connection", "1m").series["flowFilesIn"]) == COUNT
        engine.request_stop()
