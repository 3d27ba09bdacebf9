"""Load-balanced transfer between two nodes in one process (issue 15); prints
``BENCH lb_transfer <flowfiles/s> flowfiles/s`` and ``BENCH lb_transfer_mb <MB/s> MB/s``.

Two engines on RocksDB repositories (as the CLI runs them), each with a
NodeChannel on a loopback port. Node n1 first queues the flowfiles in its
partition for n2 (GenerateFlowFile into a load-balanced connection whose
destination is stopped); then its LoadBalancer is started and the time until
n2 has committed every one is measured: reading content, encoding, the signed
HTTP call, n2's commit (content, records, RECEIVE events) and n1's removal
(SEND and DROP events). Small flowfiles (1 KB) give the flowfiles/s figure,
large ones (512 KB) the MB/s one.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio

from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.loadbalance import LoadBalancer
from flowyard.clusters.node import NodeState
from flowyard.runtime.engine import Engine
from flowyard.runtime.engine._balance import balancing
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories

REGISTRY = discover_processors()


class _ToN2:
    """Every flowfile of a load-balanced connection belongs to n2."""

    def node_for(self, connection_id: str, strategy: str, attribute: str | None) -> str | None:
        return "n2"


class _Node:
    def __init__(self, node_id: str) -> None:
        self.config = SimpleNamespace(node_id=node_id, address="")
        self.peers: list[Any] = []
        self.state = NodeState.CONNECTED  # a receiver takes batches only while CONNECTED

    def connected_peers(self) -> list[Any]:
        return self.peers

    def members(self) -> list[Any]:
        return [SimpleNamespace(node_id=self.config.node_id, address=self.config.address), *self.peers]


def _flow(size: str, batch: int) -> FlowDef:
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "type": "GenerateFlowFile", "scheduledState": "STOPPED",
             "properties": {"File Size": size, "Batch Size": str(batch), "Unique FlowFiles": "true"}},
            {"identifier": "sink", "type": "UpdateAttribute", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["success"]}],
        "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "sink"},
                         "selectedRelationships": ["success"], "loadBalanceStrategy": "ROUND_ROBIN",
                         "backPressureObjectThreshold": 0, "backPressureDataSizeThreshold": "0 B"}]}})


def _measure(count: int, size: str, batch: int) -> tuple[int, int, float]:
    """Queue ``count`` flowfiles of ``size`` on n1 for n2, then transfer them:
    (flowfiles, bytes, seconds)."""
    keys = derive_keys(b"bench-secret-" * 4)
    with tempfile.TemporaryDirectory() as tmp:
        repos = [Repositories.open(Path(tmp) / name) for name in ("n1", "n2")]
        engines = [Engine(_flow(size, batch), r, registry=REGISTRY) for r in repos]
        engines[0].partitioner = _ToN2()
        nodes = [_Node("n1"), _Node("n2")]
        channels = [NodeChannel(n.config.node_id, keys) for n in nodes]
        balancers = [LoadBalancer(e, c, n) for e, c, n in zip(engines, channels, nodes, strict=True)]  # type: ignore[arg-type]
        result: list[Any] = []

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                for e, c, n, lb in zip(engines, channels, nodes, balancers, strict=True):
                    n.config.address = await nursery.start(c.serve, lb.routes(), "127.0.0.1:0")
                    await nursery.start(e.run)
                nodes[0].peers = [SimpleNamespace(node_id="n2", address=nodes[1].config.address)]
                balancing(engines[0]).configure()
                queue, received = engines[0].queues["c1"], engines[1].queues["c1"]
                engines[0].start_processor("gen")
                while queue.count < count:
                    await trio.sleep(0.01)
                await engines[0].stop_processor("gen")
                total, total_bytes = queue.count, queue.size
                started = time.perf_counter()
                nursery.start_soon(balancers[0].run)
                while received.count < total:
                    await trio.sleep(0.005)
                result.append((total, total_bytes, time.perf_counter() - started))
                for e in engines:
                    e.request_stop()
                for e in engines:
                    await e.finished.wait()
                for c in channels:
                    await c.aclose()
                nursery.cancel_scope.cancel()

        try:
            trio.run(main)
        finally:
            for r in repos:
                r.close()
    return result[0]  # type: ignore[no-any-return]


def lb_transfer() -> None:
    n, _, seconds = _measure(20_000, "1 KB", 1000)
    print(f"BENCH lb_transfer {n / seconds:.0f} flowfiles/s")
    sys.stdout.flush()
    _, size, seconds = _measure(200, "512 KB", 20)
    print(f"BENCH lb_transfer_mb {size / seconds / 1e6:.1f} MB/s")


BENCHMARKS: dict[str, Callable[[], None]] = {"lb_transfer": lb_transfer}


if __name__ == "__main__":
    lb_transfer()
