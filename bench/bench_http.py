"""Benchmarks of the http processors (issue 12); each prints ``BENCH <name> <value> <unit>``.

All three are measured on loopback with the same bounded load: 8 keep-alive
connections sending 3,000 small POSTs (100 bytes) in all, from a load
generator in a separate process (raw HTTP/1.1 over trio sockets, so the
client costs little and does not share the server's interpreter).

- ``starlette_echo_rps``: the ceiling — a minimal starlette app echoing the
  body, served by hypercorn (trio) in its own process.
- ``listenhttp_rps``: ListenHTTP in a real engine (in-memory repositories,
  success auto-terminated): every answer waits for its FlowFile's commit.
- ``invokehttp_rps``: InvokeHTTP in a real engine, 8 concurrent tasks, POSTing
  GenerateFlowFile's FlowFiles to the starlette echo server; requests per
  second over 3,000 FlowFiles after a warm-up of 300.

Run one: ``python bench/run.py listenhttp_rps``. This file is also the load
generator (``--load``) and the echo server (``--echo-server``) it starts.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

REQUESTS = 3000
CONNECTIONS = 8
BODY = b"x" * 100
_HERE = Path(__file__).resolve()


# -- the load generator (runs in its own process) -------------------------------------------

async def _worker(host: str, port: int, path: str, share: list[int], statuses: dict[int, int]) -> None:
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/octet-stream\r\n"
               f"Content-Length: {len(BODY)}\r\n\r\n").encode() + BODY
    stream: trio.SocketStream | None = None
    buffer = b""
    while share[0] > 0:
        share[0] -= 1
        if stream is None:
            stream = await trio.open_tcp_stream(host, port)
            buffer = b""
        await stream.send_all(request)
        while b"\r\n\r\n" not in buffer:
            data = await stream.receive_some(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            buffer += data
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(buffer) < length:
            data = await stream.receive_some(65536)
            if not data:
                raise ConnectionError("the server closed the connection inside a body")
            buffer += data
        buffer = buffer[length:]
        statuses[status] = statuses.get(status, 0) + 1
        if close:
            await stream.aclose()
            stream = None
    if stream is not None:
        await stream.aclose()


async def _load(host: str, port: int, path: str, count: int, connections: int) -> dict[str, Any]:
    share = [count]
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    with trio.fail_after(300):
        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(_worker, host, port, path, share, statuses)
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "statuses": statuses}


def _run_load(port: int, path: str, count: int = REQUESTS, connections: int = CONNECTIONS) -> dict[str, Any]:
    """Run the load generator process against 127.0.0.1:``port`` and return its report."""
    out = subprocess.run(
        [sys.executable, str(_HERE), "--load", str(port), path, str(count), str(connections)],
        capture_output=True, text=True, timeout=600, check=True,
    )
    report: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return report


# -- the starlette echo server (runs in its own process) -----------------------------------------

async def _echo_server() -> None:
    from hypercorn.config import Config
    from hypercorn.trio import serve
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/octet-stream")

    app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
    config = Config()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(serve, app, config)
        print(binds[0].rsplit(":", 1)[1], flush=True)


class _EchoServer:
    """The starlette echo server in a child process, for the duration of a ``with``."""

    def __enter__(self) -> int:
        self.process = subprocess.Popen([sys.executable, str(_HERE), "--echo-server"], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.strip():
            self.process.kill()
            raise RuntimeError("the echo server did not start")
        return int(line)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _rps(report: dict[str, Any], ok: int = 200) -> float:
    good = report["statuses"].get(str(ok), report["statuses"].get(ok, 0))
    assert good == REQUESTS, f"not every request was answered {ok}: {report['statuses']}"
    return REQUESTS / float(report["elapsed"])


def starlette_echo_rps() -> None:
    """The ceiling: a minimal starlette echo server under the same load."""
    with _EchoServer() as port:
        _run_load(port, "/echo", 300)  # warm-up
        rps = _rps(_run_load(port, "/echo"))
    print(f"BENCH starlette_echo_rps {rps:.0f} requests/s")


# -- the engine benchmarks ------------------------------------------------------------------

def _engine(flow: dict[str, Any]) -> Any:
    from flowyard.processors import PROCESSORS
    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    return Engine(flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": flow}), Repositories.in_memory(),
                  registry=PROCESSORS)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def listenhttp_rps() -> None:
    """ListenHTTP in the engine, answering each POST after its commit."""
    port = _free_port()
    engine = _engine({"processors": [
        {"identifier": "listen", "type": "ListenHTTP", "properties": {"Listening Port": str(port)},
         "autoTerminatedRelationships": ["success"]}], "connections": []})
    report: dict[str, Any] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            await trio.to_thread.run_sync(_wait_port, port)
            await trio.to_thread.run_sync(_run_load, port, "/contentListener", 300)
            report.update(await trio.to_thread.run_sync(_run_load, port, "/contentListener"))
            engine.request_stop()

    trio.run(main)
    print(f"BENCH listenhttp_rps {_rps(report):.0f} requests/s")


def invokehttp_rps() -> None:
    """InvokeHTTP in the engine (8 concurrent tasks) against the starlette echo server."""
    warmup = 300
    with _EchoServer() as port:
        engine = _engine({
            "processors": [
                {"identifier": "gen", "type": "GenerateFlowFile",
                 "properties": {"Custom Text": BODY.decode(), "Data Format": "Text", "Batch Size": "100"}},
                {"identifier": "invoke", "type": "InvokeHTTP", "concurrentlySchedulableTaskCount": CONNECTIONS,
                 "properties": {"HTTP Method": "POST", "HTTP URL": f"http://127.0.0.1:{port}/echo",
                                "Request Date Header Enabled": "False",
                                "Socket Idle Connections": str(CONNECTIONS)},
                 "autoTerminatedRelationships": ["Original", "Response", "Retry", "No Retry", "Failure"]},
            ],
            "connections": [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "invoke"},
                             "selectedRelationships": ["success"], "backPressureObjectThreshold": 1000}],
        })
        node = engine.nodes["invoke"]
        timing: dict[str, float] = {}

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                await nursery.start(engine.run)
                with trio.fail_after(600):
                    while node.stats.flowfiles_in < warmup:
                        await trio.sleep(0.001)
                    start_count, started = node.stats.flowfiles_in, time.perf_counter()
                    while node.stats.flowfiles_in < start_count + REQUESTS:
                        await trio.sleep(0.001)
                    timing["rps"] = (node.stats.flowfiles_in - start_count) / (time.perf_counter() - started)
                engine.request_stop()

        trio.run(main)
        assert node.stats.errors == 0, "InvokeHTTP failed during the benchmark"
    print(f"BENCH invokehttp_rps {timing['rps']:.0f} requests/s")


BENCHMARKS: dict[str, Callable[[], None]] = {
    "starlette_echo_rps": starlette_echo_rps,
    "listenhttp_rps": listenhttp_rps,
    "invokehttp_rps": invokehttp_rps,
}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        port_text, path, count, connections = sys.argv[2:6]
        result = trio.run(_load, "127.0.0.1", int(port_text), path, int(count), int(connections))
        print(json.dumps(result))
    elif sys.argv[1:2] == ["--echo-server"]:
        trio.run(_echo_server)
