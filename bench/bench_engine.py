"""Engine benchmarks with the standard processors on real RocksDB repositories
(durability ``os``, as by default).

- ``chain5_small``: GenerateFlowFile (0 B, batches) → UpdateAttribute →
  RouteOnAttribute → UpdateAttribute → UpdateAttribute → auto-terminate:
  flowfiles/s arriving at the end, measured over a steady-state window.
- ``large_1mib``: 1 MiB files GetFile → UpdateAttribute → PutFile: MB/s.
- ``recovery_1m``: seconds to restart with 1,000,000 queued flowfiles (open, checks and recovery).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories

REGISTRY = discover_processors()


def connect(ident: str, src: str, dst: str, rel: str = "success", **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": [rel], **kw}


def make_flow(processors: list[dict[str, Any]], connections: list[dict[str, Any]]) -> FlowDef:
    return flow_from_dict({"flowyardFlowVersion": 1,
                           "rootGroup": {"processors": processors, "connections": connections}})


def chain5(*, last_running: bool = True, batch: int = 1000) -> FlowDef:
    return make_flow([
        {"identifier": "gen", "type": "GenerateFlowFile",
         "properties": {"File Size": "0 B", "Batch Size": str(batch)}},
        {"identifier": "u1", "type": "UpdateAttribute", "properties": {"step": "1"}},
        {"identifier": "route", "type": "RouteOnAttribute", "properties": {"go": "${literal('go'):equals('go')}"},
         "autoTerminatedRelationships": ["unmatched"]},
        {"identifier": "u2", "type": "UpdateAttribute", "properties": {"step": "2"}},
        {"identifier": "u3", "type": "UpdateAttribute", "properties": {"step": "3"},
         "autoTerminatedRelationships": ["success"],
         "scheduledState": "RUNNING" if last_running else "STOPPED"},
    ], [connect("c1", "gen", "u1"), connect("c2", "u1", "route"), connect("c3", "route", "u2", "go"),
        connect("c4", "u2", "u3")])


def run(flow: FlowDef, repo_dir: Path, body: Callable[[Engine], Any]) -> Any:
    """Run ``flow`` and call ``body(engine)`` (an async function) while it runs."""
    repos = Repositories.open(repo_dir)
    engine = Engine(flow, repos, registry=REGISTRY, freeze_heap=True)  # as the CLI runs it

    async def main() -> Any:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            result = await body(engine)
            engine.request_stop()
        return result

    try:
        return trio.run(main)
    finally:
        repos.close()


def chain5_small() -> None:
    async def measure(engine: Engine) -> float:
        sink = engine.nodes["u3"].stats
        await trio.sleep(2.0)  # warm-up
        n0, t0 = sink.flowfiles_removed, time.perf_counter()
        await trio.sleep(8.0)
        return (sink.flowfiles_removed - n0) / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        rate = run(chain5(), Path(tmp), measure)
    print(f"BENCH chain5_small {rate:.0f} flowfiles/s")


def large_1mib() -> None:
    count, mib = 300, 1 << 20
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        block = os.urandom(mib)
        for i in range(count):
            (src / f"f{i:05d}.bin").write_bytes(block)
        flow = make_flow([
            {"identifier": "get", "type": "GetFile", "properties": {"Input Directory": str(src),
                                                                           "Polling Interval": "0 sec"}},
            {"identifier": "tag", "type": "UpdateAttribute", "properties": {"seen": "yes"}},
            {"identifier": "put", "type": "PutFile", "properties": {"Directory": str(out)},
             "autoTerminatedRelationships": ["success", "failure"]},
        ], [connect("c1", "get", "tag"), connect("c2", "tag", "put")])

        async def measure(engine: Engine) -> float:
            t0 = time.perf_counter()
            while engine.nodes["put"].stats.flowfiles_removed < count:
                await trio.sleep(0.01)
            return count * mib / (time.perf_counter() - t0) / 1e6

        rate = run(flow, Path(tmp) / "repo", measure)
    print(f"BENCH large_1mib {rate:.0f} MB/s")


def recovery_1m() -> None:
    count = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        flow = chain5(batch=10_000)
        procs, conns = flow.processors, flow.connections
        flow = dataclasses.replace(
            flow, processors=(procs[0], dataclasses.replace(procs[1], scheduled_state="STOPPED"), *procs[2:]),
            connections=(dataclasses.replace(conns[0], back_pressure_object_threshold=count), *conns[1:]))

        async def fill(engine: Engine) -> None:
            while engine.queues["c1"].count < count:
                await trio.sleep(0.05)
            await engine.stop_processor("gen")

        run(flow, Path(tmp), fill)
        start = time.perf_counter()  # the open verifies the repository (issue 11): part of a start
        repos = Repositories.open(Path(tmp))
        engine = Engine(flow, repos, registry=REGISTRY)
        engine._recover()
        elapsed = time.perf_counter() - start
        recovered = engine.queues["c1"].count
        repos.close()
    assert recovered >= count, recovered
    print(f"BENCH recovery_1m {elapsed:.2f} s")


BENCHMARKS = {"chain5_small": chain5_small, "large_1mib": large_1mib, "recovery_1m": recovery_1m}
