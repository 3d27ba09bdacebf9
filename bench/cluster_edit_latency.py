"""How long an edit made on one node of a cluster takes to show on every node
(issue 15); prints ``BENCH cluster_edit_latency <median> ms`` and
``BENCH cluster_edit_latency_p95 <p95> ms``.

A real cluster on loopback, started by ``tests/support/cluster_harness.py``:
etcd and three ``flowyard serve`` processes with a small flow (a stopped
generator into a stopped sink). ``EDITS`` renames of the generator
(``PUT /api/processors/gen`` with the revision and a new name) are sent
through n1, n2, n3 in turn, one at a time. For each, the clock starts when the
request is sent and stops when the new name is answered by
``GET /api/processors/gen`` on all three nodes: a thread per node polls its
node every ``POLL_S`` seconds over a kept-alive connection from the moment
the request is sent, so the figure includes the proposal, the coordinator's
checks and fenced commit into etcd, the watches and every node's apply, and
at most one polling period. Each edit must show everywhere within
``EDIT_TIMEOUT_S`` or the benchmark fails naming the edit and the node.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

SUPPORT = Path(__file__).resolve().parent.parent / "tests" / "support"
sys.path.insert(0, str(SUPPORT))

from cluster_harness import PASSWORD, USERNAME, cluster  # noqa: E402

EDITS = 30
POLL_S = 0.002
EDIT_TIMEOUT_S = 20.0
LEASE_TTL = 10  # generous: the machine is shared, a missed keepalive must not disconnect a node mid-run


def _flow(path: Path) -> Path:
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "name": "Generate", "type": "GenerateFlowFile", "scheduledState": "STOPPED"},
            {"identifier": "sink", "name": "Sink", "type": "UpdateAttribute", "scheduledState": "STOPPED"}],
        "connections": [{"identifier": "q", "source": {"id": "gen"}, "destination": {"id": "sink"},
                         "selectedRelationships": ["success"]}]}}))
    return path


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    token = client.post("/api/login", json={"username": USERNAME, "password": PASSWORD}).json()["token"]
    client.cookies.clear()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _poll_until(client: httpx.Client, name: str, deadline: float, seen: list[float], index: int) -> None:
    """Poll ``client`` until the generator is called ``name``; store the time in ``seen[index]``."""
    while time.perf_counter() < deadline:
        answer = client.get("/api/processors/gen")
        if answer.status_code == 200 and answer.json()["name"] == name:
            seen[index] = time.perf_counter()
            return
        time.sleep(POLL_S)


def measure(edits: int = EDITS) -> list[float]:
    """Latencies in ms of ``edits`` edits, each through the next node in turn."""
    with tempfile.TemporaryDirectory() as tmp, \
            cluster(Path(tmp) / "c", 3, _flow(Path(tmp) / "flow.json"), lease_ttl=LEASE_TTL) as harness:
        nodes = list(harness.nodes.values())
        clients = [_client(n.url) for n in nodes]
        pollers = [_client(n.url) for n in nodes]
        try:
            revision = int(clients[0].get("/api/processors/gen").json()["revision"])
            latencies: list[float] = []
            for i in range(edits):
                name = f"Generate, edit {i}"
                seen = [0.0] * len(nodes)
                start = time.perf_counter()
                deadline = start + EDIT_TIMEOUT_S
                threads = [threading.Thread(target=_poll_until, args=(p, name, deadline, seen, k))
                           for k, p in enumerate(pollers)]
                for t in threads:
                    t.start()
                via = clients[i % len(clients)]
                answer = via.put("/api/processors/gen", json={"revision": revision, "name": name})
                for t in threads:
                    t.join()
                if answer.status_code != 200:
                    raise AssertionError(f"edit {i} through {nodes[i % len(nodes)].node_id}: "
                                         f"{answer.status_code} {answer.text}")
                missing = [n.node_id for n, at in zip(nodes, seen, strict=True) if not at]
                if missing:
                    raise AssertionError(f"edit {i} not shown on {', '.join(missing)} within {EDIT_TIMEOUT_S} s")
                revision = int(answer.json()["revision"])
                latencies.append((max(seen) - start) * 1000)
            return latencies
        finally:
            for c in clients + pollers:
                c.close()


def cluster_edit_latency() -> None:
    latencies = measure()
    p95 = statistics.quantiles(latencies, n=20)[-1]
    print(f"BENCH cluster_edit_latency {statistics.median(latencies):.1f} ms")
    print(f"BENCH cluster_edit_latency_p95 {p95:.1f} ms")
    print(f"# cluster_edit_latency: {len(latencies)} edits, min {min(latencies):.1f} ms, "
          f"max {max(latencies):.1f} ms", file=sys.stderr)


BENCHMARKS: dict[str, Callable[[], None]] = {"cluster_edit_latency": cluster_edit_latency}


if __name__ == "__main__":
    cluster_edit_latency()
