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
from pathlib import Path

from bench_engine import chain5, chain5_rate, run

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
    with tempfile.TemporaryDirectory() as tmp:
        rate = run(chain5_in_stateless_group(), Path(tmp), chain5_rate)
    print(f"BENCH chain5_stateless {rate:.0f} flowfiles/s")


BENCHMARKS = {"chain5_stateless": chain5_stateless}
