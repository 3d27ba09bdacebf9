"""A sender node killed -9 between the receiver's commit and its own removal:
after it restarts from its data directory, every flowfile is accounted for and
none arrives twice: the batch it had in flight is sent again under the same id,
and the receiver answers it without committing it again. The sender runs in a child
process (engine on RocksDB, NodeChannel, LoadBalancer); the receiver in the
test's trio run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import trio

from flowyard.clusters._members import NodeState
from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.loadbalance import LoadBalancer
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS, expected_content

SUPPORT = Path(__file__).resolve().parents[1] / "support"
SECRET = b"kill-test-secret" * 2
TOTAL, BATCH, SIZE = 4000, 250, 16

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "processors": [
        {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
         "properties": {"Count": str(TOTAL), "Batch Size": "500", "Content Size": str(SIZE)}},
        {"identifier": "sink", "type": "AsyncSlow", "scheduledState": "STOPPED"}],
    "connections": [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "sink"},
                     "selectedRelationships": ["success"], "loadBalanceStrategy": "ROUND_ROBIN"}]}}

CHILD = """
import json, sys
from types import SimpleNamespace
import trio
sys.path.insert(0, sys.argv[1])
from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.loadbalance import ClusterPartitioner, LoadBalancer
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard_test_processors import PROCESSORS

support, data, peer, flow_file, batch = sys.argv[1:6]

class Node:
    config = SimpleNamespace(node_id="n1", address="127.0.0.1:1")
    def connected_peers(self):
        return [SimpleNamespace(node_id="n2", address=peer)]

async def main():
    repos = Repositories.open(data)
    engine = Engine(flow_from_dict(json.load(open(flow_file))), repos, registry=PROCESSORS)
    node = Node()
    engine.partitioner = ClusterPartitioner(node)
    channel = NodeChannel("n1", derive_keys(bytes.fromhex(sys.argv[6])))
    lb = LoadBalancer(engine, channel, node, batch_count=int(batch), retry_first=0.01, retry_max=0.2)
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        lb.balancing.configure()
        engine.start_processor("src")  # after a restart its state says it is done
        await nursery.start(lb.run)
        queue = engine.queues["c1"]
        while True:
            part = queue.partitions.get("n2")
            print("status", queue.count, part.count if part is not None else -1, lb.sent[0], flush=True)
            await trio.sleep(0.05)

trio.run(main)
"""


class Child:
    """The sender process and the last status line it printed."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.status: list[int] = []

    async def read(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        async for chunk in self.process.stdout:
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"status "):
                    self.status = [int(x) for x in line.split()[1:]]


async def start_child(nursery: trio.Nursery, tmp: Path, peer: str) -> Child:
    script = tmp / "child.py"
    script.write_text(CHILD)
    flow_file = tmp / "flow.json"
    flow_file.write_text(json.dumps(FLOW))
    process = await trio.lowlevel.open_process(
        [sys.executable, str(script), str(SUPPORT), str(tmp / "n1"), peer, str(flow_file), str(BATCH), SECRET.hex()],
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    child = Child(process)
    nursery.start_soon(child.read)
    return child


async def wait_for(condition: Any, what: str, timeout: float = 120) -> None:
    with trio.move_on_after(timeout):
        while not condition():
            await trio.sleep(0.02)
        return
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


async def test_sender_killed_9_after_the_receiver_committed_loses_nothing(tmp_path: Path) -> None:
    engine = Engine(flow_from_dict(FLOW), Repositories.in_memory(), registry=PROCESSORS)
    channel = NodeChannel("n2", derive_keys(SECRET))

    class Node:
        config = type("C", (), {"node_id": "n2", "address": "127.0.0.1:0"})()
        state = NodeState.CONNECTED

        def connected_peers(self) -> list[Any]:
            return []

        def members(self) -> list[Any]:
            return []

    lb = LoadBalancer(engine, channel, Node())  # type: ignore[arg-type]
    transfer = lb.routes()["/lb/v1/transfer"]
    commits = [0]
    children: list[Child] = []

    async def kill_after_third_commit(payload: Any, peer: str) -> Any:
        reply = await transfer(payload, peer)
        commits[0] += 1
        if commits[0] == 3:  # committed here, and the sender dies before it hears so
            children[0].process.send_signal(signal.SIGKILL)
        return reply

    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            address = await nursery.start(channel.serve, {"/lb/v1/transfer": kill_after_third_commit},
                                          "127.0.0.1:0")
            children.append(await start_child(nursery, tmp_path, address))
            with trio.fail_after(120):
                assert await children[0].process.wait() == -signal.SIGKILL
            assert lb.received[0] == 3 * BATCH
            children.append(await start_child(nursery, tmp_path, address))  # restarted on the same data directory
            expected = TOTAL // 2  # n2's half; the batch n1 sent again was answered, not committed
            await wait_for(lambda: lb.received[0] == expected and children[1].status[1:2] == [0],
                           f"{expected} flowfiles received and n1's partition empty")
            children[1].process.send_signal(signal.SIGKILL)
            await children[1].process.wait()
            engine.request_stop()
            await engine.finished.wait()
            await channel.aclose()
            nursery.cancel_scope.cancel()
    finally:
        for child in children:
            if child.process.returncode is None:
                child.process.kill()

    repos = Repositories.open(tmp_path / "n1")
    try:
        qid = repos.flowfiles.queue_ids["c1"]
        kept = repos.flowfiles.read_range(qid, 0, 1 << 62, 1 << 30)
        kept_content = [repos.content.read_bytes(ff[2]) for ff in kept]
    finally:
        repos.close()
    received = engine.queues["c1"].listing(1 << 30)
    seen = Counter(int(ff[1]["seq"]) for ff in kept + received)
    assert set(seen) == set(range(TOTAL)), "flowfiles were lost"
    assert sum(seen.values()) == TOTAL, "a flowfile arrived twice"
    assert lb.repeats == 1  # the batch in flight at the kill, recognised
    assert len(kept) == TOTAL // 2
    assert kept_content == [expected_content(int(ff[1]["seq"]), SIZE) for ff in kept]
    assert all(engine.repositories.content.read_bytes(ff[2]) == expected_content(int(ff[1]["seq"]), SIZE)
               for ff in received)
