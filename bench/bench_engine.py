"""Engine benchmarks with the standard processors on real RocksDB repositories
(durability ``os``, as by default).

- ``chain5_small``: GenerateFlowFile (0 B, batches) → UpdateAttribute →
  RouteOnAttribute → UpdateAttribute → UpdateAttribute → auto-terminate:
  flowfiles/s arriving at the end, measured over a steady-state window.
- ``large_1mib``: 1 MiB files GetFile → UpdateAttribute → PutFile: MB/s.
- ``recovery_1m``: seconds to restart with 1,000,000 queued flowfiles (open, checks and recovery).
- ``recovery_10m``: the same with 10,000,000 queued flowfiles in one connection, the repository
  written directly in the record format (batches of 100,000, a few minutes), the restart measured
  in a fresh process: seconds (``recovery_10m``) and that process's peak resident memory
  (``queued_10m_rss``, imports and the processor registry included).
"""

from __future__ import annotations

import dataclasses
import os
import struct
import subprocess
import sys
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


async def chain5_rate(engine: Engine) -> float:
    """Flowfiles/s auto-terminated by chain5's last processor over 8 s, after 2 s of warm-up."""
    sink = engine.nodes["u3"].stats
    await trio.sleep(2.0)  # warm-up
    n0, t0 = sink.flowfiles_removed, time.perf_counter()
    await trio.sleep(8.0)
    return (sink.flowfiles_removed - n0) / (time.perf_counter() - t0)


def chain5_small() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rate = run(chain5(), Path(tmp), chain5_rate)
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
        flow = recovery_flow(count)

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


def recovery_flow(count: int) -> FlowDef:
    """chain5 with ``u1`` stopped, so everything GenerateFlowFile made waits in ``c1``."""
    flow = chain5(batch=10_000)
    procs, conns = flow.processors, flow.connections
    return dataclasses.replace(
        flow, processors=(procs[0], dataclasses.replace(procs[1], scheduled_state="STOPPED"), *procs[2:]),
        connections=(dataclasses.replace(conns[0], back_pressure_object_threshold=count), *conns[1:]))


def fill_directly(repo_dir: Path, connection: str, count: int, *, batch: int = 100_000) -> None:
    """Write ``count`` queued flowfiles (0 B, GenerateFlowFile's attributes) into
    ``connection``'s queue as committed records, with the queue's count, as
    ``Repositories.write`` would leave them, without sessions or provenance."""
    from flowyard.runtime.repository._codec import _FF_HEADER, FLOWFILE_FORMAT, flowfile_key, pack_attrs

    repos = Repositories.open(repo_dir)
    try:
        flowfiles, store = repos.flowfiles, repos.store
        qid, cf = flowfiles.queue_id(connection), flowfiles.cf
        first_id, first_seq = flowfiles.ids.take(count), flowfiles.seqs.take(count)
        now = int(time.time() * 1000)
        header = _FF_HEADER.pack
        for start in range(0, count, batch):
            n = min(batch, count - start)
            wb = store.batch()
            put = wb.put
            hexes = os.urandom(16 * n).hex()
            for i in range(start, start + n):
                h = hexes[(i - start) * 32:(i - start + 1) * 32]
                attrs = {"path": "./", "filename": f"{first_id + i}",
                         "uuid": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"}
                put(cf, flowfile_key(qid, first_seq + i),
                    header(FLOWFILE_FORMAT, first_id + i, now, now, 0, 0, 0, 0) + pack_attrs(attrs))
            counts = flowfiles.stage_counts(wb, {struct.pack(">I", qid): n})
            store.write(wb)
            flowfiles.apply_counts(counts)
    finally:
        repos.close()


def measure_recovery(repo_dir: Path, count: int) -> tuple[float, float]:
    """Open and recover ``repo_dir`` with ``recovery_flow``: ``(seconds, peak RSS in MiB)``
    of this process. Meant for a fresh process (``recovery_10m`` runs it in one)."""
    start = time.perf_counter()
    repos = Repositories.open(repo_dir)
    engine = Engine(recovery_flow(count), repos, registry=REGISTRY)
    engine._recover()
    elapsed = time.perf_counter() - start
    recovered = engine.queues["c1"].count
    repos.close()
    assert recovered == count, recovered
    with open("/proc/self/status") as status:
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return elapsed, peak / 1024


def recovery_10m() -> None:
    count = 10_000_000
    with tempfile.TemporaryDirectory() as tmp:
        fill_directly(Path(tmp), "c1", count)
        code = ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
                "from bench_engine import measure_recovery; "
                "print(*measure_recovery(Path(sys.argv[2]), int(sys.argv[3])))")
        out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), tmp, str(count)],
                             check=True, capture_output=True, text=True).stdout.split()
    print(f"BENCH recovery_10m {float(out[0]):.2f} s")
    print(f"BENCH queued_10m_rss {float(out[1]):.0f} MiB")


BENCHMARKS = {"chain5_small": chain5_small, "large_1mib": large_1mib, "recovery_1m": recovery_1m,
              "recovery_10m": recovery_10m}
