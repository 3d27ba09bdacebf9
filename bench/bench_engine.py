"""Engine benchmarks on real RocksDB repositories (durability ``os``).

- ``chain5_small``: flowfiles/s through a source and four pass-through
  processors (100-byte content, attributes changed at every step).
- ``large_1mib``: MB/s of 1 MiB flowfiles through the same chain.
- ``recovery_1m``: seconds to recover 1,000,000 queued flowfiles at start.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef, flow_from_dict
from flowyard.runtime.repository import Repositories
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
)

SUCCESS = Relationship("success")


class CountedSource(Processor):
    """Emits ``Count`` flowfiles of ``Size`` bytes, ``Batch`` per trigger."""

    blocking = False
    spec = ProcessorSpec(
        description="benchmark source",
        properties=(PropertySpec("count", "Count"), PropertySpec("size", "Size"), PropertySpec("batch", "Batch")),
        relationships=(SUCCESS,), input_requirement=InputRequirement.FORBIDDEN,
    )

    def on_scheduled(self, context: ProcessContext) -> None:
        self.left = int(context.property("count").as_str())
        self.payload = b"x" * int(context.property("size").as_str())
        self.batch = int(context.property("batch").as_str())

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        n = min(self.batch, self.left)
        if n <= 0:
            context.yield_()
            return
        self.left -= n
        for ff in session.create_batch(n):  # type: ignore[attr-defined]
            session.transfer(session.write(ff, self.payload), SUCCESS)


class Tag(Processor):
    """Sets one attribute on every flowfile, in batches."""

    blocking = False
    spec = ProcessorSpec(description="benchmark step", relationships=(SUCCESS,),
                         input_requirement=InputRequirement.REQUIRED)

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        cid = context.component_id
        for ff in session.get_batch(1000):
            session.transfer(session.put_attribute(ff, "step", cid), SUCCESS)


REGISTRY: dict[str, type[Processor]] = {"CountedSource": CountedSource, "Tag": Tag}


def chain(count: int, size: int, batch: int, *, sink_running: bool = True) -> FlowDef:
    procs = [{"identifier": "src", "type": "CountedSource",
              "properties": {"Count": str(count), "Size": str(size), "Batch": str(batch)}}]
    conns = []
    prev = "src"
    for i in range(4):
        ident = f"step{i}"
        last = i == 3
        procs.append({"identifier": ident, "type": "Tag",
                      "autoTerminatedRelationships": ["success"] if last else [],
                      "scheduledState": "RUNNING" if sink_running or not last else "STOPPED"})
        conns.append({"identifier": f"c{i}", "source": {"id": prev}, "destination": {"id": ident},
                      "selectedRelationships": ["success"], "backPressureObjectThreshold": 10_000})
        prev = ident
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": procs, "connections": conns}})


def run_until(flow: FlowDef, repo_dir: Path, done: Callable[[Engine], bool]) -> tuple[float, Engine]:
    repos = Repositories.open(repo_dir)
    engine = Engine(flow, repos, registry=REGISTRY)

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            start = time.perf_counter()
            while not done(engine):
                await trio.sleep(0.01)
            elapsed = time.perf_counter() - start
            engine.request_stop()
        return elapsed

    try:
        return trio.run(main), engine
    finally:
        repos.close()


def _sunk(count: int) -> Callable[[Engine], bool]:
    return lambda e: e.nodes["step3"].stats.flowfiles_removed >= count


def chain5_small() -> None:
    count = 200_000
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, _ = run_until(chain(count, 100, 1000), Path(tmp), _sunk(count))
    print(f"BENCH chain5_small {count / elapsed:,.0f} flowfiles/s".replace(",", ""))


def large_1mib() -> None:
    count = 1000
    with tempfile.TemporaryDirectory() as tmp:
        elapsed, _ = run_until(chain(count, 1 << 20, 10), Path(tmp), _sunk(count))
    print(f"BENCH large_1mib {count / elapsed:.0f} MiB/s")


def recovery_1m() -> None:
    count = 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        flow = chain(count, 0, 5000)
        flow.processors[1].scheduled_state = "STOPPED"
        for c in flow.connections:
            c.back_pressure_object_threshold = 0
        run_until(flow, Path(tmp), lambda e: e.queues["c0"].count >= count)
        repos = Repositories.open(Path(tmp))
        start = time.perf_counter()
        engine = Engine(flow, repos, registry=REGISTRY)
        engine._recover()
        elapsed = time.perf_counter() - start
        recovered = engine.queues["c0"].count
        repos.close()
    assert recovered == count, recovered
    print(f"BENCH recovery_1m {elapsed:.2f} s")


BENCHMARKS = {"chain5_small": chain5_small, "large_1mib": large_1mib, "recovery_1m": recovery_1m}
