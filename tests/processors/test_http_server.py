"""The listening processors' HTTP server and intake on their own: keep-alive,
HEAD, limits, bad requests, the connection limit as back pressure, stop."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest
import trio

from flowyard.processors._http_intake import Intake
from flowyard.processors._http_server import HttpServer, Request, Response

pytestmark = pytest.mark.integration


def _raw(port: int, data: bytes, *, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if not read:
            return b""
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


class Echo:
    """A handler that echoes the body and can be told to wait or fail."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.hold = False
        self.entered = 0
        self.errors: list[BaseException] = []

    async def __call__(self, request: Request, read_body: Any) -> Response:
        self.entered += 1
        if request.path == "/boom":
            raise RuntimeError("handler bug")
        if self.hold:
            await trio.to_thread.run_sync(self.release.wait)
        body: IO[bytes] = await read_body()
        return Response(200, [("X-Path", request.path)], body.read())


@pytest.fixture
def echo() -> Iterator[tuple[Echo, HttpServer]]:
    handler = Echo()
    server = HttpServer(handler, max_connections=2, max_header_size=1024, on_error=handler.errors.append)
    server.start()
    yield handler, server
    handler.release.set()
    server.stop()


def test_keep_alive_serves_several_requests_on_one_connection(echo: tuple[Echo, HttpServer]) -> None:
    _, server = echo
    with httpx.Client() as client:
        for i in range(3):
            response = client.post(f"http://127.0.0.1:{server.bound_ports[0]}/r{i}", content=f"body {i}")
            assert (response.status_code, response.text, response.headers["X-Path"]) == (200, f"body {i}", f"/r{i}")
        assert response.http_version == "HTTP/1.1"


def test_head_answers_have_a_length_but_no_body(echo: tuple[Echo, HttpServer]) -> None:
    _, server = echo
    answer = _raw(server.bound_ports[0], b"HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"NONSENSE\r\n\r\n", b"400"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 2000 + b"\r\n\r\n", b"431"),
])
def test_bad_and_oversized_requests(echo: tuple[Echo, HttpServer], request_bytes: bytes, status: bytes) -> None:
    _, server = echo
    answer = _raw(server.bound_ports[0], request_bytes)
    assert answer.split(b" ")[1] == status


def test_a_handler_bug_costs_one_connection_not_the_server(echo: tuple[Echo, HttpServer]) -> None:
    handler, server = echo
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"http://127.0.0.1:{server.bound_ports[0]}/boom", timeout=5)
    assert httpx.get(f"http://127.0.0.1:{server.bound_ports[0]}/fine", timeout=5).status_code == 200
    assert [str(e) for e in handler.errors] == ["handler bug"]


def test_beyond_the_connection_limit_clients_wait_to_be_accepted(echo: tuple[Echo, HttpServer]) -> None:
    handler, server = echo
    handler.hold = True
    url = f"http://127.0.0.1:{server.bound_ports[0]}/"
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(httpx.get(url, timeout=10).status_code))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for _ in range(500):  # both connection slots busy
        if handler.entered >= 2:
            break
        handler.release.wait(0.01)
    assert not handler.release.wait(0.2)
    assert handler.entered == 2, "a third connection was served beyond the limit"
    handler.release.set()
    for thread in threads:
        thread.join(10)
    assert results == [200, 200, 200]


def test_stop_releases_the_port() -> None:
    server = HttpServer(Echo())
    server.start()
    port = server.bound_ports[0]
    server.stop()
    with socket.socket() as again:
        again.bind(("127.0.0.1", port))
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_busy_port_is_refused_at_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HttpServer(Echo(), ports=[taken.getsockname()[1]])
        with pytest.raises(OSError):
            server.start()


def test_intake_wakes_a_waiting_trigger_and_respects_its_bound() -> None:
    intake: Intake[str] = Intake()

    async def main() -> float:
        threading.Timer(0.05, lambda: intake.put("a")).start()
        started = trio.current_time()
        await intake.wait(5)
        return trio.current_time() - started

    assert trio.run(main) < 2, "the wait was not woken by put"
    assert intake.put("b", fits=lambda size: size < 2)
    assert not intake.put("c", fits=lambda size: size < 2)
    assert intake.oldest() == "a"
    marked: list[str] = []
    assert intake.take(10, marked.append) == ["a", "b"] == marked
    assert not intake.discard("a", unless=lambda item: False)
    intake.put("d")
    assert not intake.discard("d", unless=lambda item: True) and intake.discard("d", unless=lambda item: False)
    assert intake.drain() == []

    async def times_out() -> None:
        with trio.fail_after(2):
            await intake.wait(0.05)

    trio.run(times_out)
