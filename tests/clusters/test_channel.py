"""The node protocol: signed, sealed calls over a real server on port 0, sealing, secret files."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest
import trio
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from flowyard.clusters.channel import (
    ChannelRefusal,
    ClusterError,
    ClusterKeys,
    NodeChannel,
    PeerAuthError,
    PeerRefused,
    PeerUnavailable,
    Sealer,
    _mac,
    _request_text,
    _response_text,
    _seal_body,
    derive_keys,
    read_secret,
    write_secret,
)
from flowyard.runtime.sdk import ConfigurationError

KEYS = derive_keys(b"s" * 32)
OTHER_KEYS = derive_keys(b"o" * 32)


async def _echo(payload: Any, node: str) -> Any:
    return {"got": payload, "from": node}


async def _refuse(payload: Any, node: str) -> Any:
    raise ChannelRefusal(409, f"no thanks, {node}")


async def _crash(payload: Any, node: str) -> Any:
    raise RuntimeError("handler bug")


calls: list[Any] = []


async def _record(payload: Any, node: str) -> Any:
    calls.append(payload)
    return "done"


async def _big(payload: Any, node: str) -> Any:
    return b"y" * int(payload)


ROUTES = {"/t/echo": _echo, "/t/refuse": _refuse, "/t/crash": _crash, "/t/record": _record, "/t/big": _big}


class Server:
    def __init__(self, channel: NodeChannel, address: str) -> None:
        self.channel = channel
        self.address = address


async def _start(nursery: trio.Nursery, node_id: str, keys: ClusterKeys, **options: Any) -> Server:
    channel = NodeChannel(node_id, keys, **options)
    address = await nursery.start(channel.serve, ROUTES, "127.0.0.1:0")
    return Server(channel, address)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with trio.open_nursery() as nursery:
        started = await _start(nursery, "node-b", KEYS)
        yield started
        nursery.cancel_scope.cancel()


@pytest.fixture
async def client() -> AsyncIterator[NodeChannel]:
    channel = NodeChannel("node-a", KEYS)
    yield channel
    await channel.aclose()


async def test_round_trip_names_the_caller(server: Server, client: NodeChannel) -> None:
    answer = await client.call(server.address, "/t/echo", {"n": [1, 2], "b": b"\x00\xff", 7: "int key"},
                               node="node-b")
    assert answer == {"got": {"n": [1, 2], "b": b"\x00\xff", 7: "int key"}, "from": "node-a"}


async def test_big_payload(server: Server, client: NodeChannel) -> None:
    blob = os.urandom(8 * 1024 * 1024)
    with trio.fail_after(30):
        answer = await client.call(server.address, "/t/echo", blob, node="node-b")
    assert hashlib.sha256(answer["got"]).digest() == hashlib.sha256(blob).digest()


async def test_refusals_map_to_peer_errors(server: Server, client: NodeChannel) -> None:
    with pytest.raises(PeerRefused, match="no thanks, node-a") as refused:
        await client.call(server.address, "/t/refuse", None, node="node-b")
    assert refused.value.status == 409 and refused.value.node == "node-b"
    assert refused.value.address == server.address
    with pytest.raises(PeerRefused, match="handler bug") as crashed:
        await client.call(server.address, "/t/crash", None, node="node-b")
    assert crashed.value.status == 500
    with pytest.raises(PeerRefused, match="no route /t/none on node node-b") as missing:
        await client.call(server.address, "/t/none", None, node="node-b")
    assert missing.value.status == 404


def _signed(path: str, plain: bytes, *, keys: ClusterKeys = KEYS, when_ms: int | None = None,
            nonce: str = "ab" * 16, to: str = "node-b", method: str = "POST") -> tuple[dict[str, str], bytes]:
    """Headers and sealed body of a request from node-x, as a NodeChannel makes them."""
    when = str(when_ms if when_ms is not None else int(time.time() * 1000))
    text = _request_text(method, path, "node-x", to, when, nonce)
    body, digest = _seal_body(AESGCM(keys.wire), text, plain)
    return {"x-flowyard-node": "node-x", "x-flowyard-to": to, "x-flowyard-time": when, "x-flowyard-nonce": nonce,
            "x-flowyard-body-sha256": digest, "x-flowyard-signature": _mac(keys.auth, text, digest)}, body


def _opened(response: httpx.Response, nonce: str) -> Any:
    """The decoded answer of a raw request with ``nonce`` (its signature checked)."""
    text = _response_text(response.status_code, response.headers["x-flowyard-node"], nonce)
    digest = hashlib.sha256(response.content).hexdigest()
    assert response.headers["x-flowyard-signature"] == _mac(KEYS.auth, text, digest)
    plain = AESGCM(KEYS.wire).decrypt(response.content[:12], response.content[12:], text.encode())
    return msgpack.unpackb(plain)


async def test_bad_signature_is_401_and_nothing_runs(server: Server) -> None:
    calls.clear()
    url = f"http://{server.address}/t/record"
    async with httpx.AsyncClient() as http:
        headers, body = _signed("/t/record", b"\xa1x", keys=OTHER_KEYS)  # msgpack "x"
        forged = await http.post(url, content=body, headers=headers)
        assert forged.status_code == 401 and forged.headers["connection"] == "close"
        unsigned = await http.post(url, content=b"\xa1x")
        assert unsigned.status_code == 401
        headers, body = _signed("/t/record", b"\xa1x", nonce="cd" * 16)
        tampered = await http.post(url, content=body[:-1] + bytes([body[-1] ^ 1]), headers=headers)
        assert tampered.status_code == 401
        headers, body = _signed("/t/record", b"\xa1x", nonce="ce" * 16, to="node-c")  # signed for another node
        elsewhere = await http.post(url, content=body, headers=headers)
        assert elsewhere.status_code == 401
        headers, body = _signed("/t/record", b"\xc1", nonce="ef" * 16)
        assert (await http.post(url, content=body, headers=headers)).status_code == 400
        headers = _signed("/t/record", b"\xa1x", nonce="cf" * 16)[0]
        clear = await http.post(url, content=b"\xa1x", headers={  # not sealed, signed as it is
            **headers, "x-flowyard-body-sha256": hashlib.sha256(b"\xa1x").hexdigest(),
            "x-flowyard-signature": _mac(KEYS.auth, _request_text("POST", "/t/record", "node-x", "node-b",
                                                                  headers["x-flowyard-time"], "cf" * 16),
                                         hashlib.sha256(b"\xa1x").hexdigest())})
        assert clear.status_code == 400
    assert calls == []


async def test_replayed_nonce_is_refused(server: Server) -> None:
    calls.clear()
    headers, body = _signed("/t/record", b"\xa1x", nonce="12" * 16)
    url = f"http://{server.address}/t/record"
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=body, headers=headers)).status_code == 200
        replay = await http.post(url, content=body, headers=headers)
    assert replay.status_code == 401 and "replayed" in _opened(replay, "12" * 16)["error"]
    assert calls == ["x"]


async def test_stale_time_is_refused_and_reported_as_auth_error() -> None:
    async with trio.open_nursery() as nursery:
        server = await _start(nursery, "node-b", KEYS, clock=lambda: time.time() + 45)
        channel = NodeChannel("node-a", KEYS)
        try:
            with pytest.raises(PeerAuthError, match=r"off this node's clock"):
                await channel.call(server.address, "/t/echo", 1, node="node-b")
        finally:
            await channel.aclose()
        nursery.cancel_scope.cancel()


async def test_a_server_with_another_secret_is_detected_by_the_client(client: NodeChannel) -> None:
    async with trio.open_nursery() as nursery:
        impostor = await _start(nursery, "node-z", OTHER_KEYS)
        with pytest.raises(PeerAuthError, match="not signed with this cluster's secret") as info:
            await client.call(impostor.address, "/t/echo", 1, node="node-z")
        assert info.value.address == impostor.address
        nursery.cancel_scope.cancel()


async def test_peer_down_or_silent_is_unavailable(client: NodeChannel) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(PeerUnavailable, match="cannot be reached") as info:
        await client.call(closed, "/t/echo", 1, node="node-q")
    assert info.value.node == "node-q" and info.value.address == closed
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        with trio.fail_after(5), pytest.raises(PeerUnavailable, match=r"within 0\.5 s"):
            await client.call(address, "/t/echo", 1, timeout=0.5, node="node-q")
    with pytest.raises(ConfigurationError, match="host:port"):
        await client.call("nohost", "/t/echo", 1, node="node-q")
    with pytest.raises(ValueError, match=r"node= .* is required"):
        await client.call(closed, "/t/echo", 1)


def test_sealer_round_trip_and_tamper() -> None:
    sealer = Sealer(KEYS.seal)
    blob = sealer.seal("/flowyard/c/state/x", b"secret values")
    assert b"secret values" not in blob
    assert sealer.open("/flowyard/c/state/x", blob) == b"secret values"
    with pytest.raises(ClusterError, match="/flowyard/c/state/y cannot be opened"):
        sealer.open("/flowyard/c/state/y", blob)  # moved to another key
    with pytest.raises(ClusterError, match="cannot be opened"):
        sealer.open("/flowyard/c/state/x", blob[:-1] + bytes([blob[-1] ^ 1]))
    with pytest.raises(ClusterError, match="cannot be opened"):
        Sealer(OTHER_KEYS.seal).open("/flowyard/c/state/x", blob)
    with pytest.raises(ClusterError, match="too short"):
        sealer.open("/k", b"short")


def test_derived_keys_differ_and_are_stable() -> None:
    assert derive_keys(b"s" * 32) == KEYS and len({KEYS.auth, KEYS.seal, KEYS.wire}) == 3 and KEYS != OTHER_KEYS
    assert "hidden" in repr(KEYS)
    with pytest.raises(ConfigurationError, match="at least 32"):
        derive_keys(b"short")


def test_secret_files(tmp_path: Path) -> None:
    path = tmp_path / "cluster.secret"
    write_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    secret = read_secret(path)
    assert len(secret) == 64
    with pytest.raises(ConfigurationError, match="already exists"):
        write_secret(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match=rf"0644 are too open.*chmod 600 {path}"):
        read_secret(path)
    short = tmp_path / "short"
    short.write_bytes(b"x" * 31 + b"\n")
    short.chmod(0o600)
    with pytest.raises(ConfigurationError, match="31 bytes, at least 32"):
        read_secret(short)
    with pytest.raises(ConfigurationError, match=r"not found.*flowyard cluster-secret"):
        read_secret(tmp_path / "missing")


async def _unpackable(payload: Any, node: str) -> Any:
    return {"a set": {1, 2}}


async def test_limits_methods_and_unpackable_answers(client: NodeChannel) -> None:
    async with trio.open_nursery() as nursery:
        channel = NodeChannel("node-s", KEYS, max_body=1024)
        address = await nursery.start(channel.serve, {"/t/echo": _echo, "/t/set": _unpackable}, "127.0.0.1:0")
        with pytest.raises(PeerRefused, match="larger than 1024 bytes") as big:
            await client.call(address, "/t/echo", b"x" * 2048, node="node-s")
        assert big.value.status == 413
        with pytest.raises(PeerRefused, match="cannot be packed") as bad:
            await client.call(address, "/t/set", None, node="node-s")
        assert bad.value.status == 500
        headers, body = _signed("/t/echo", b"\xc0", nonce="34" * 16, to="node-s", method="PUT")
        async with httpx.AsyncClient() as http:
            put = await http.put(f"http://{address}/t/echo", content=body, headers=headers)
            assert put.status_code == 405

            async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
                for _ in range(4):
                    yield b"x" * 512

            headers = _signed("/t/echo", b"", nonce="35" * 16, to="node-s")[0]
            streamed = await http.post(f"http://{address}/t/echo", content=chunked(), headers=headers)
        assert streamed.status_code == 413
        small = NodeChannel("node-a", KEYS, max_body=10)
        with pytest.raises(ClusterError, match="exceeds 10"):
            await small.call(address, "/t/echo", b"x" * 100, node="node-s")
        await small.aclose()
        await channel.aclose()
        nursery.cancel_scope.cancel()
    with pytest.raises(ConfigurationError, match="node id"):
        NodeChannel("bad id", KEYS)


def test_public_surface() -> None:
    from flowyard.clusters import channel

    assert set(channel.__all__) == {
        "MAX_BODY_BYTES", "ChannelRefusal", "ClusterError", "ClusterKeys", "Handler", "NodeChannel",
        "PeerAuthError", "PeerError", "PeerRefused", "PeerUnavailable", "Sealer", "derive_keys", "read_secret",
        "write_secret"}
    assert issubclass(channel.PeerAuthError, channel.PeerError) and issubclass(channel.PeerError, ClusterError)


async def _open(address: str, path: str, headers: dict[str, str]) -> trio.SocketStream:
    """A raw connection that has sent a POST's request line and ``headers``."""
    host, port = address.rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    lines = [f"POST {path} HTTP/1.1", f"host: {address}", *(f"{k}: {v}" for k, v in headers.items())]
    await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
    return stream


async def _status(stream: trio.SocketStream) -> tuple[int, bytes]:
    """The status of the answer on ``stream`` and its head."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = await stream.receive_some(65536)
        assert data, f"connection closed before an answer: {head!r}"
        head += data
    return int(head.split(b" ", 2)[1]), head.lower()


async def _closed(stream: trio.SocketStream, chunk: bytes = b"") -> None:
    """Until the server has closed ``stream`` (sending ``chunk`` meanwhile, if any)."""
    while True:
        try:
            if chunk:
                await stream.send_all(chunk)
            else:
                while await stream.receive_some(65536):
                    pass
                return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return


async def test_headers_are_checked_before_the_body_is_read(server: Server) -> None:
    calls.clear()
    frame = b"%x\r\n" % (1 << 20) + b"x" * (1 << 20) + b"\r\n"  # 1 MB chunks of an endless chunked body
    forged = _signed("/t/record", b"", keys=OTHER_KEYS, nonce="41" * 16)[0]
    for headers in ({}, forged):
        with trio.fail_after(10):
            stream = await _open(server.address, "/t/record", {**headers, "transfer-encoding": "chunked"})
            status, head = await _status(stream)  # answered before any of the body is sent
            assert status == 401 and b"connection: close" in head
            await _closed(stream, frame)  # the rest is not read: the connection is closed
            await stream.aclose()
    headers = _signed("/t/record", b"", nonce="42" * 16)[0]  # authentic, but announces too much
    with trio.fail_after(10):
        stream = await _open(server.address, "/t/record", {**headers, "content-length": str(1 << 30)})
        assert (await _status(stream))[0] == 413
        await _closed(stream, frame)
        await stream.aclose()
    assert calls == []


async def test_a_request_is_accepted_by_the_node_it_is_meant_for_only(client: NodeChannel) -> None:
    calls.clear()
    captured: list[httpx.Request] = []

    async def capture(request: httpx.Request) -> None:
        captured.append(request)

    client._client.event_hooks["request"] = [capture]
    async with trio.open_nursery() as nursery:
        b = await _start(nursery, "node-b", KEYS)
        c = await _start(nursery, "node-c", KEYS)
        assert await client.call(b.address, "/t/record", "once", node="node-b") == "done"
        wire = captured[0]
        async with httpx.AsyncClient() as http:
            for address in (c.address, b.address):  # another node; the same one again
                replay = await http.post(f"http://{address}/t/record", content=wire.content,
                                         headers={k: v for k, v in wire.headers.items() if k.startswith("x-")})
                assert replay.status_code == 401
        with pytest.raises(PeerAuthError, match="comes from node node-c"):  # node-c now answers at b's address
            await client.call(c.address, "/t/record", "twice", node="node-b")
        nursery.cancel_scope.cancel()
    assert calls == ["once"]


async def test_bodies_are_not_in_clear_on_the_wire(server: Server, client: NodeChannel) -> None:
    sent: list[bytes] = []

    async def capture(request: httpx.Request) -> None:
        sent.append(request.content)

    client._client.event_hooks["request"] = [capture]
    secret = b"Hunter2-TopSecret"
    assert (await client.call(server.address, "/t/echo", {"password": secret}, node="node-b"))["got"] == \
        {"password": secret}
    assert sent and secret not in sent[0] and b"password" not in sent[0]
    headers, body = _signed("/t/echo", msgpack.packb({"password": secret}), nonce="43" * 16)
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://{server.address}/t/echo", content=body, headers=headers)
    assert answer.status_code == 200 and secret not in answer.content and b"password" not in answer.content
    assert _opened(answer, "43" * 16)["got"] == {"password": secret}


async def test_slow_or_stalled_uploads_are_cut_off(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    from flowyard.clusters import channel as module

    monkeypatch.setattr(module, "READ_TIMEOUT_S", 0.5)
    calls.clear()
    async with trio.open_nursery() as nursery:
        slow = await _start(nursery, "node-b", KEYS, body_timeout=1.0)
        headers, body = _signed("/t/record", b"\xa1x", nonce="51" * 16)
        with trio.fail_after(5):  # a byte every 0.2 s: each read in time, the whole body not
            stream = await _open(slow.address, "/t/record", {**headers, "content-length": str(len(body))})
            status = 0
            async with trio.open_nursery() as dribble:
                async def send() -> None:
                    for byte in body:
                        await stream.send_all(bytes([byte]))
                        await trio.sleep(0.2)
                dribble.start_soon(send)
                status = (await _status(stream))[0]
                dribble.cancel_scope.cancel()
            assert status == 408
            await _closed(stream)
            await stream.aclose()
        headers, body = _signed("/t/record", b"\xa1x", nonce="52" * 16)
        with trio.fail_after(5):  # nothing after the headers: closed after the read timeout
            stream = await _open(slow.address, "/t/record", {**headers, "content-length": str(len(body))})
            await _closed(stream)
            await stream.aclose()
        nursery.cancel_scope.cancel()
    assert calls == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_requests_read_at_a_time_are_capped_and_answers_too(client: NodeChannel) -> None:
    async with trio.open_nursery() as nursery:
        busy = await _start(nursery, "node-b", KEYS, max_reading=1)
        headers, body = _signed("/t/record", b"\xa1x", nonce="61" * 16)
        stream = await _open(busy.address, "/t/record", {**headers, "content-length": str(len(body))})
        with trio.fail_after(5):
            while busy.channel._reading < 1:
                await trio.sleep(0.01)
        with pytest.raises(PeerRefused, match="reading 1 requests") as refused:
            await client.call(busy.address, "/t/echo", 1, node="node-b")
        assert refused.value.status == 503
        await stream.send_all(body)
        assert (await _status(stream))[0] == 200
        await stream.aclose()
        small = NodeChannel("node-a", KEYS, max_body=1024)
        with pytest.raises(PeerRefused, match="larger than 1024 bytes"):
            await small.call(busy.address, "/t/big", 4096, node="node-b")
        assert len(await small.call(busy.address, "/t/big", 512, node="node-b")) == 512
        await small.aclose()
        nursery.cancel_scope.cancel()
