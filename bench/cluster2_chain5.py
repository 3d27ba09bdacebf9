"""chain5 on a two-node cluster against one node, same machine, same run (issue 15);
prints ``BENCH cluster2_chain5_ratio <ratio> x`` (the issue's goal: at least 1.6 on
this 2-core machine) and the figures behind it.

The flow is bench_engine's chain5 (GenerateFlowFile, 0 B, batches of 1,000 →
UpdateAttribute → RouteOnAttribute → UpdateAttribute → UpdateAttribute →
auto-terminate). It has three generators, all stopped at start, each with its
own connection into the first UpdateAttribute; a window starts one of them:

- ``gen_all`` (execution node ALL) into a ROUND_ROBIN connection: every node
  generates and sends every other flowfile to the other node. Both nodes do the
  same work (``cluster2_chain5_balanced_ratio``).
- ``gen_primary`` (execution node PRIMARY) into a ROUND_ROBIN connection: only
  the primary generates and balances, the other node only receives
  (``cluster2_chain5_primary_ratio``). The primary carries the whole source, half
  the chain and the sending, so this measures that layout's imbalance as much as
  the cluster.
- ``gen_local`` (execution node ALL) into a connection that is not load-balanced:
  each node runs its own copy of chain5, as two sharded engines would, with the
  cluster's own work (heartbeats, etcd, status) and no transfers: the headline
  ratio (``cluster2_chain5_ratio``, issue 16), the layout docs/cluster.md
  documents for using both cores of one machine; the difference from the first
  is what load balancing costs.
- ``processes``: no cluster at all: two plain ``flowyard serve`` processes, each
  running chain5 (``gen_local``) at the same time, the issue's "two sharded
  engine processes" measured in the same run (``cluster2_chain5_processes_ratio``).

One plain ``flowyard serve`` (no cluster) runs the same flow with ``gen_all``
(on a single node the load-balance strategy changes nothing). The single node,
a second plain one (for ``processes``) and the cluster (etcd and two
``flowyard serve`` nodes from ``tests/support/cluster_harness.py``) are started
once and stay up; windows alternate between them (single, the three cluster
windows, the two processes) for ``ROUNDS`` rounds, only one flow generating at
a time. A window starts the generator
(``PUT /api/processors/<id>/run-state``), waits ``WARMUP_S``, then counts the
flowfiles auto-terminated by the last UpdateAttribute (``removed`` of ``u3``
in ``GET /api/status``, summed over the nodes by the cluster) over ``WINDOW_S``
seconds; then it stops the generator and waits (bounded) until every queue is
empty. Each round's ratio is the cluster's rate over the single node's of that
round; the printed ratios are the medians over the rounds.

The processes' CPU time in each window (the nodes and etcd for the cluster)
gives flowfiles per CPU-second, and ``cluster2_chain5_cpu_ratio`` is the
cluster's figure over the single node's: how much more CPU a flowfile costs in
the cluster; ``..._cores`` is the CPU the processes got (1.0 = one core). Each
node's event-loop thread is CPU-bound, so on a machine shared with other work
the throughput ratio mostly says how the scheduler shared the cores; the
per-CPU-second figures do not depend on that.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "support"))
sys.path.insert(0, str(HERE))

from bench_hardening import _logged_in, _server  # noqa: E402
from cluster_harness import PASSWORD, USERNAME, cluster  # noqa: E402

ROUNDS = 3
WARMUP_S, WINDOW_S = 3.0, 8.0
DRAIN_TIMEOUT_S = 120.0
LEASE_TTL = 10  # generous: both cores are saturated during a window; a late keepalive must not disconnect a node
GOAL = 1.6
#: The windows of a round: (name, generator started).
WINDOWS = (("single", "gen_all"), ("cluster", "gen_all"), ("primary", "gen_primary"), ("sharded", "gen_local"),
           ("processes", "gen_local"))


def _connect(ident: str, src: str, dst: str, rel: str = "success", **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": [rel], **kw}


def flow() -> dict[str, Any]:
    """chain5 with three stopped generators: ALL and PRIMARY, each into u1 round
    robin, and ALL into u1 without load balancing."""
    def generator(ident: str, execution_node: str) -> dict[str, Any]:
        return {"identifier": ident, "type": "GenerateFlowFile", "executionNode": execution_node,
                "scheduledState": "STOPPED", "properties": {"File Size": "0 B", "Batch Size": "1000"}}
    return {"flowyardFlowVersion": 1, "rootGroup": {"name": "chain5", "processors": [
        generator("gen_all", "ALL"), generator("gen_primary", "PRIMARY"), generator("gen_local", "ALL"),
        {"identifier": "u1", "type": "UpdateAttribute", "properties": {"step": "1"}},
        {"identifier": "route", "type": "RouteOnAttribute", "properties": {"go": "${literal('go'):equals('go')}"},
         "autoTerminatedRelationships": ["unmatched"]},
        {"identifier": "u2", "type": "UpdateAttribute", "properties": {"step": "2"}},
        {"identifier": "u3", "type": "UpdateAttribute", "properties": {"step": "3"},
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [
        _connect("c1", "gen_all", "u1", loadBalanceStrategy="ROUND_ROBIN"),
        _connect("c1p", "gen_primary", "u1", loadBalanceStrategy="ROUND_ROBIN"),
        _connect("c1l", "gen_local", "u1"),
        _connect("c2", "u1", "route"), _connect("c3", "route", "u2", "go"), _connect("c4", "u2", "u3")]}}


class Window:
    """One measured window: flowfiles/s out of the chain, CPU seconds, per-node split."""

    def __init__(self, rate: float, cpu_s: float, seconds: float, per_node: dict[str, int]) -> None:
        self.rate, self.cpu_s, self.seconds, self.per_node = rate, cpu_s, seconds, per_node

    @property
    def per_cpu_second(self) -> float:
        return self.rate * self.seconds / self.cpu_s if self.cpu_s else 0.0


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _sink(client: httpx.Client) -> tuple[int, dict[str, int]]:
    entry = client.get("/api/status").json()["processors"]["u3"]
    per_node = {n["nodeId"]: int(n["removed"]) for n in entry.get("nodes", [])}
    return int(entry["removed"]), per_node


def _run_state(client: httpx.Client, ident: str, state: str) -> None:
    answer = client.put(f"/api/processors/{ident}/run-state", json={"state": state})
    if answer.status_code != 200:
        raise AssertionError(f"{ident} → {state}: {answer.status_code} {answer.text}")


def window(clients: list[httpx.Client], generator: str, pids: list[int]) -> Window:
    """Run ``generator`` (on each of ``clients``' servers at once) for a warm-up
    and a measured window; stop it and drain."""
    def sink() -> tuple[int, dict[str, int]]:
        total, split = 0, {}
        for k, client in enumerate(clients):
            n, per_node = _sink(client)
            total += n
            split.update(per_node or ({f"process {k + 1}": n} if len(clients) > 1 else {}))
        return total, split

    try:
        for client in clients:
            _run_state(client, generator, "RUNNING")
        time.sleep(WARMUP_S)
        (n0, split0), c0, t0 = sink(), _cpu(pids), time.perf_counter()
        time.sleep(WINDOW_S)
        (n1, split1), c1, t1 = sink(), _cpu(pids), time.perf_counter()
    finally:
        for client in clients:
            _run_state(client, generator, "STOPPED")
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while any(client.get("/api/status").json()["queuedCount"] for client in clients):
        if time.monotonic() > deadline:
            raise AssertionError(f"queues not empty {DRAIN_TIMEOUT_S} s after {generator} stopped")
        time.sleep(0.2)
    return Window((n1 - n0) / (t1 - t0), c1 - c0, t1 - t0, {k: split1[k] - split0.get(k, 0) for k in split1})


@contextmanager
def _cluster_client(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=120) as client:
        token = client.post("/api/login", json={"username": USERNAME, "password": PASSWORD}).json()["token"]
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def _etcd_pid(harness: Any) -> list[int]:
    proc = getattr(harness.etcd, "_process", None)  # EtcdServer does not expose its process
    return [proc.pid] if proc is not None else []


def measure(rounds: int = ROUNDS) -> dict[str, list[Window]]:
    """``rounds`` alternations of the windows of ``WINDOWS``."""
    results: dict[str, list[Window]] = {name: [] for name, _ in WINDOWS}
    with tempfile.TemporaryDirectory() as tmp:
        flow_path = Path(tmp) / "flow.json"
        flow_path.write_text(json.dumps(flow()))
        with _server(flow()) as (single_url, single_pid), _logged_in(single_url) as single, \
                _server(flow()) as (second_url, second_pid), _logged_in(second_url) as second, \
                cluster(Path(tmp) / "c", 2, flow_path, lease_ttl=LEASE_TTL) as harness, \
                _cluster_client(harness.node("n1").url) as via:
            node_pids = [n.proc.pid for n in harness.nodes.values() if n.proc is not None]
            cluster_pids = node_pids + _etcd_pid(harness)
            for r in range(rounds):
                for name, generator in WINDOWS:
                    clients, pids = {"single": ([single], [single_pid]),
                                     "processes": ([single, second], [single_pid, second_pid])
                                     }.get(name, ([via], cluster_pids))
                    w = window(clients, generator, pids)
                    results[name].append(w)
                    print(f"# round {r + 1} {name}: {w.rate:,.0f} flowfiles/s, {w.per_cpu_second:,.0f} per "
                          f"CPU-second, CPU {w.cpu_s / w.seconds:.2f} cores, per node {w.per_node}, "
                          f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
            states = {m["nodeId"]: m["state"] for m in harness.node("n1").overview()["nodes"]}
            if any(s != "CONNECTED" for s in states.values()):
                raise AssertionError(f"a node left the cluster during the run: {states}")
    return results


def cluster2_chain5() -> None:
    results = measure()
    single = results["single"]

    def ratio(windows: list[Window], figure: Callable[[Window], float]) -> float:
        return statistics.median(figure(w) / figure(s) for w, s in zip(windows, single, strict=True))

    # The headline is the layout docs/cluster.md documents for using both cores of one machine:
    # a source on every node, the hot path not load-balanced (issue 16).
    print(f"BENCH cluster2_chain5_ratio {ratio(results['sharded'], lambda w: w.rate):.2f} x")
    print(f"BENCH cluster2_chain5_balanced_ratio {ratio(results['cluster'], lambda w: w.rate):.2f} x")
    print(f"BENCH cluster2_chain5_primary_ratio {ratio(results['primary'], lambda w: w.rate):.2f} x")
    print(f"BENCH cluster2_chain5_cpu_ratio {ratio(results['cluster'], lambda w: w.per_cpu_second):.2f} x")
    print(f"BENCH cluster2_chain5_sharded_cpu_ratio {ratio(results['sharded'], lambda w: w.per_cpu_second):.2f} x")
    print(f"BENCH cluster2_chain5_processes_ratio {ratio(results['processes'], lambda w: w.rate):.2f} x")
    print(f"BENCH cluster2_chain5_processes_cpu_ratio "
          f"{ratio(results['processes'], lambda w: w.per_cpu_second):.2f} x")
    for name, windows in results.items():
        print(f"BENCH cluster2_chain5_{name} {statistics.median(w.rate for w in windows):.0f} flowfiles/s")
        print(f"BENCH cluster2_chain5_{name}_per_cpu_s "
              f"{statistics.median(w.per_cpu_second for w in windows):.0f} flowfiles/CPU-s")
        print(f"BENCH cluster2_chain5_{name}_cores {statistics.median(w.cpu_s / w.seconds for w in windows):.2f} cores")
    print(f"# goal: cluster2_chain5_ratio >= {GOAL}", file=sys.stderr)


BENCHMARKS: dict[str, Callable[[], None]] = {"cluster2_chain5_ratio": cluster2_chain5}


if __name__ == "__main__":
    cluster2_chain5()
