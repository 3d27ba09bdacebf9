"""The API's responsiveness while a flow commits in ``sync`` durability (issue 16).

``sync_health``: ``flowyard serve --durability sync`` (a separate process, so
the client shares neither its GIL nor its event loop) runs the five-processor
chain of ``bench_engine.chain5``; after a warm-up a client asks
``GET /api/health`` every ~10 ms for ~10 s and prints the latency's p99 and
p50 (``sync_health_p99``, ``sync_health_p50``, ms) and the flowfiles that
reached the end of the chain per second in that window (``sync_chain5``,
read from ``GET /api/status``: the last processor's ``removed``).

Before issue 16 every fsync of a synced group froze the server's event loop
(rocksdict holds the GIL during ``Rdict.write``). The bench imports nothing
from flowyard: with ``PYTHONPATH`` pointing at another checkout's parent
directory it measures that build, for old-against-new runs in one sitting
(``PYTHONPATH=/tmp/old python bench/bench_sync_health.py``, where
``/tmp/old/flowyard`` is a ``git worktree`` of the old commit).
``python bench/bench_sync_health.py os`` runs the same in ``os`` durability,
a reference for what the flow's own work on the event loop costs the API.
The figures depend on the CPU left to the server: on a shared, loaded machine
compare only runs of one sitting, alternated.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

WARMUP_S = 3.0
WINDOW_S = 10.0
PERIOD_S = 0.010
USER, PASSWORD = "bench", "bench-password"


def _chain5_flow() -> dict[str, Any]:
    def connect(ident: str, src: str, dst: str, rel: str = "success") -> dict[str, Any]:
        return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
                "selectedRelationships": [rel]}

    return {"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "properties": {"File Size": "0 B", "Batch Size": "1000"}},
        {"identifier": "u1", "type": "UpdateAttribute", "properties": {"step": "1"}},
        {"identifier": "route", "type": "RouteOnAttribute", "properties": {"go": "${literal('go'):equals('go')}"},
         "autoTerminatedRelationships": ["unmatched"]},
        {"identifier": "u2", "type": "UpdateAttribute", "properties": {"step": "2"}},
        {"identifier": "u3", "type": "UpdateAttribute", "properties": {"step": "3"},
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [connect("c1", "gen", "u1"), connect("c2", "u1", "route"), connect("c3", "route", "u2", "go"),
                       connect("c4", "u2", "u3")]}}


def _removed(status: Any, ident: str) -> int:
    """Flowfiles the processor ``ident`` dropped or auto-terminated since the
    start, from a ``GET /api/status`` answer."""
    try:
        return int(status["processors"][ident]["removed"])
    except (KeyError, TypeError):
        raise RuntimeError(f"GET /api/status has no figure 'removed' for processor {ident!r}") from None


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(durability: str = "sync") -> tuple[float, float, float]:
    """(p99 ms, p50 ms, flowfiles/s) of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        flow = Path(tmp) / "flow.json"
        flow.write_text(json.dumps(_chain5_flow()))
        env = {**os.environ, "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD}
        proc = subprocess.Popen(
            [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", f"{tmp}/data", "--flow",
             str(flow), "--port", "0", "--durability", durability],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            assert proc.stdout is not None
            url = None
            for line in proc.stdout:
                m = re.search(r"serving (http://\S+?)[ ,]", line)
                if m:
                    url = m.group(1)
                    break
            if url is None:
                raise RuntimeError("the server did not report its address")
            with httpx.Client(base_url=url, timeout=30) as client:
                token = client.post("/api/login", json={"username": USER, "password": PASSWORD}).json()["token"]
                auth = {"Authorization": f"Bearer {token}"}
                time.sleep(WARMUP_S)
                n0, t0 = _removed(client.get("/api/status", headers=auth).json(), "u3"), time.perf_counter()
                latencies: list[float] = []
                next_at = t0
                while next_at - t0 < WINDOW_S:
                    start = time.perf_counter()
                    response = client.get("/api/health")
                    latencies.append(time.perf_counter() - start)
                    response.raise_for_status()
                    next_at += PERIOD_S
                    pause = next_at - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    else:
                        next_at = time.perf_counter()  # behind: no burst to catch up
                n1, t1 = _removed(client.get("/api/status", headers=auth).json(), "u3"), time.perf_counter()
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return _percentile(latencies, 0.99) * 1000, _percentile(latencies, 0.50) * 1000, (n1 - n0) / (t1 - t0)


def sync_health() -> None:
    p99, p50, rate = measure("sync")
    print(f"BENCH sync_health_p99 {p99:.1f} ms")
    print(f"BENCH sync_health_p50 {p50:.1f} ms")
    print(f"BENCH sync_chain5 {rate:.0f} flowfiles/s")


BENCHMARKS = {"sync_health": sync_health}

if __name__ == "__main__":
    if sys.argv[1:] == ["os"]:  # the same run in ``os`` durability, as a reference
        p99, p50, rate = measure("os")
        print(f"BENCH os_health_p99 {p99:.1f} ms\nBENCH os_health_p50 {p50:.1f} ms")
        print(f"BENCH os_chain5 {rate:.0f} flowfiles/s")
    else:
        sync_health()
