"""Stateless process groups (issue 16).

- ``chain5_stateless``: the flow of ``chain5_small`` (GenerateFlowFile 0 B in
  batches of 1,000 → UpdateAttribute → RouteOnAttribute → UpdateAttribute →
  UpdateAttribute → auto-terminate) inside one process group whose execution
  engine is STATELESS, on real RocksDB repositories (durability ``os``): each
  invocation runs a batch through all five processors in memory and commits
  once, with every processor's provenance events. Flowfiles/s arriving at the
  end, over a steady-state window.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import trio
from bench_engine import chain5, run

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import FlowDef, flow_from_dict, flow_to_dict


def chain5_in_stateless_group(batch: int = 1000) -> FlowDef:
    """``chain5`` moved into a child group run by the stateless engine."""
    root = flow_to_dict(chain5(batch=batch))
    inner = root["rootGroup"]
    group = {"identifier": "stateless", "name": "chain5", "executionEngine": "STATELESS",
             "processors": inner["processors"], "connections": inner["connections"]}
    root["rootGroup"] = {"identifier": "root", "name": "Flow", "processGroups": [group]}
    return flow_from_dict(root)


def chain5_stateless() -> None:
    async def measure(engine: Engine) -> float:
        sink = engine.nodes["u3"].stats
        await trio.sleep(2.0)  # warm-up
        n0, t0 = sink.flowfiles_removed, time.perf_counter()
        await trio.sleep(8.0)
        return (sink.flowfiles_removed - n0) / (time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as tmp:
        rate = run(chain5_in_stateless_group(), Path(tmp), measure)
    print(f"BENCH chain5_stateless {rate:.0f} flowfiles/s")


BENCHMARKS = {"chain5_stateless": chain5_stateless}
