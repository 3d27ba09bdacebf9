"""Swapped queues across restarts (issue 16): beyond the swap threshold only a
queue's head is in memory; after a restart, kill -9 included, its count and
bytes are exact, it drains in entry order, lists its head, and empties whole.
A prioritized queue orders its in-memory part only, as NiFi does."""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._queue import FlowFileQueue
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk._flowfile import FlowFile, make_flowfile

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = dict(TEST_PROCESSORS)
SUPPORT = Path(__file__).parents[2] / "support"
CONTENT = 16


def held_flow(count: int, *, source: str = "RUNNING") -> dict[str, Any]:
    """SequenceSource → c1 → a stopped processor: everything made waits in ``c1``."""
    return {"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "src", "type": "SequenceSource", "scheduledState": source,
             "properties": {"Count": str(count), "Batch Size": "100", "Content Size": str(CONTENT)}},
            {"identifier": "held", "type": "AsyncSlow", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success"]}],
        "connections": [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "held"},
                         "selectedRelationships": ["success"], "backPressureObjectThreshold": 0}]}}


async def run_engine(path: Path, flow: dict[str, Any], swap: int, body: Any) -> Any:
    repos = Repositories.open(path)
    try:
        engine = Engine(flow_from_dict(flow), repos, registry=REGISTRY, swap_threshold=swap)
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            result = await body(engine, repos)
            engine.request_stop()
        return result
    finally:
        repos.close()


def drain_in_flight(queue: FlowFileQueue, now: int) -> list[FlowFile]:
    """Take everything (left in flight, never acknowledged: the records stay)."""
    taken: list[FlowFile] = []
    while queue.has_available(now):
        taken += queue.poll(1000, now)[0]
    return taken


# -- kill -9 ----------------------------------------------------------------------------------

CHILD = """
import json, sys
from pathlib import Path
import trio
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard_test_processors import PROCESSORS

repos = Repositories.open(Path(sys.argv[1]))
engine = Engine(flow_from_dict(json.loads(sys.argv[2])), repos, registry=dict(PROCESSORS),
                swap_threshold=int(sys.argv[3]))

async def main():
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        while not engine.queues["c1"].status().swapped:
            await trio.sleep(0.005)
        print("SWAPPED", flush=True)
        await trio.sleep_forever()

trio.run(main)
"""


def run_and_kill(path: Path, flow: dict[str, Any], swap: int, rng: random.Random) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT), env.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), json.dumps(flow), str(swap)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 120)
        line = child.stdout.readline() if ready else b""
        assert line == b"SWAPPED\n", (line, child.stderr.read() if child.poll() is not None else b"")  # type: ignore[union-attr]
        time.sleep(rng.uniform(0.02, 0.4))  # a random moment to kill at, not a wait for a result
        child.send_signal(signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.integration
def test_a_swapped_queue_comes_back_whole_and_in_order_after_kill9(tmp_path: Path) -> None:
    path, swap, total = tmp_path / "repo", 300, 200_000
    rng = random.Random(20261207)
    made = []
    for _ in range(3):
        run_and_kill(path, held_flow(total), swap, rng)

        async def check(engine: Engine, repos: Repositories) -> int:
            committed = int(repos.state.get("src").values["next"])  # written with the flowfiles it made
            queue = engine.queues["c1"]
            assert (queue.count, queue.size) == (committed, committed * CONTENT)
            assert queue.status().swapped == max(0, committed - swap)
            assert [int(ff.attributes["seq"]) for ff in engine.list_queue("c1", 10)] == list(range(min(10, committed)))
            taken = drain_in_flight(queue, engine.clock())
            assert [int(ff.attributes["seq"]) for ff in taken] == list(range(committed)), "each once, in order"
            assert sum(ff.size for ff in taken) == queue.size
            return committed

        made.append(trio.run(run_engine, path, held_flow(total, source="STOPPED"), swap, check))
    assert made == sorted(made) and made[0] > swap, made
    assert made[-1] < total, "every kill came after the source had finished; raise the count"


# -- restarts in-process --------------------------------------------------------------------


async def test_a_recovered_swapped_queue_lists_its_head_and_empties_whole(tmp_path: Path,
                                                                          autojump_clock: Any) -> None:
    path = tmp_path / "repo"

    async def fill(engine: Engine, repos: Repositories) -> None:
        await wait_for(lambda: engine.queues["c1"].count == 500)

    await run_engine(path, held_flow(500), 120, fill)

    async def empty(engine: Engine, repos: Repositories) -> None:
        queue = engine.queues["c1"]
        assert (queue.count, queue.size, queue.status().swapped) == (500, 500 * CONTENT, 380)
        listed = engine.list_queue("c1", 1000)
        assert [int(ff.attributes["seq"]) for ff in listed] == list(range(120)), "the head, swapped ones not listed"
        assert await engine.empty_queue("c1") == 500
        assert (queue.count, queue.size, queue.status().swapped) == (0, 0, 0)
        assert repos.flowfiles.count_queue(repos.flowfiles.queue_id("c1")) == (0, 0)

    await run_engine(path, held_flow(500, source="STOPPED"), 120, empty)

    async def after(engine: Engine, repos: Repositories) -> None:
        assert engine.queues["c1"].count == 0

    await run_engine(path, held_flow(500, source="STOPPED"), 120, after)


async def test_a_drained_recovered_queue_swaps_in_every_batch_and_its_figures_reach_zero(
        tmp_path: Path, autojump_clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.runtime.engine import _queue
    monkeypatch.setattr(_queue, "SWAP_BATCH", 70)
    path = tmp_path / "repo"

    async def fill(engine: Engine, repos: Repositories) -> None:
        await wait_for(lambda: engine.queues["c1"].count == 1000)

    await run_engine(path, held_flow(1000), 50, fill)

    async def drain(engine: Engine, repos: Repositories) -> None:
        queue, now = engine.queues["c1"], engine.clock()
        seen: list[int] = []
        while queue.has_available(now):
            batch = queue.poll(33, now)[0]
            in_memory = queue.active_count + len(batch)
            assert in_memory <= 50 + 70, f"{in_memory} flowfiles in memory"
            queue.acknowledge(batch)
            seen += [int(ff.attributes["seq"]) for ff in batch]
            assert (queue.count, queue.size) == (1000 - len(seen), (1000 - len(seen)) * CONTENT)
        assert seen == list(range(1000))
        assert queue.status().swapped == 0

    await run_engine(path, held_flow(1000, source="STOPPED"), 50, drain)


# -- prioritizers ---------------------------------------------------------------------------


def test_prioritizers_order_the_in_memory_part_only() -> None:
    """NiFi prioritizes the active queue only: a swapped flowfile of higher
    priority waits until it is swapped in, then takes its place there."""
    ffs = [make_flowfile(seq, {"priority": str(10 - seq)}, None, seq, 0, 0, 0, seq) for seq in range(1, 10)]
    disk = {ff[7]: ff for ff in ffs}

    def loader(queue_id: int, after: int, upto: int, limit: int) -> list[FlowFile]:
        return [disk[s] for s in sorted(disk) if after < s <= upto][:limit]

    queue = FlowFileQueue("c", 1, swap_threshold=4, loader=loader, prioritizers=["PriorityAttributePrioritizer"])
    queue.put_all(ffs, 0)
    assert (queue.count, queue.size, queue.status().swapped) == (9, 45, 5)
    first = queue.poll(4, 0)[0]
    assert [ff[7] for ff in first] == [4, 3, 2, 1], "the head, by priority; seq 9 (priority 1) is swapped"
    rest = queue.poll(10, 0)[0]
    assert [ff[7] for ff in rest] == [9, 8, 7, 6, 5], "swapped in, then by priority"
    queue.acknowledge(first + rest)
    assert (queue.count, queue.size) == (0, 0)
