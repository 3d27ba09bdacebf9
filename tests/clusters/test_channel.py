"""The node protocol: signed calls over a real server on port 0, sealing, secret files."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from flowyard.clusters.channel import (
    ChannelRefusal,
    ClusterError,
    ClusterKeys,
    NodeChannel,
    PeerAuthError,
    PeerRefused,
    PeerUnavailable,
    Sealer,
    _request_mac,
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


ROUTES = {"/t/echo": _echo, "/t/refuse": _refuse, "/t/crash": _crash, "/t/record": _record}


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
    answer = await client.call(server.address, "/t/echo", {"n": [1, 2], "b": b"\x00\xff", 7: "int key"})
    assert answer == {"got": {"n": [1, 2], "b": b"\x00\xff", 7: "int key"}, "from": "node-a"}


async def test_big_payload(server: Server, client: NodeChannel) -> None:
    blob = os.urandom(8 * 1024 * 1024)
    with trio.fail_after(30):
        answer = await client.call(server.address, "/t/echo", blob)
    assert hashlib.sha256(answer["got"]).digest() == hashlib.sha256(blob).digest()


async def test_refusals_map_to_peer_errors(server: Server, client: NodeChannel) -> None:
    with pytest.raises(PeerRefused, match="no thanks, node-a") as refused:
        await client.call(server.address, "/t/refuse", None)
    assert refused.value.status == 409 and refused.value.node == "node-b"
    assert refused.value.address == server.address
    with pytest.raises(PeerRefused, match="handler bug") as crashed:
        await client.call(server.address, "/t/crash", None)
    assert crashed.value.status == 500
    with pytest.raises(PeerRefused, match="no route /t/none on node node-b") as missing:
        await client.call(server.address, "/t/none", None)
    assert missing.value.status == 404


def _signed_headers(path: str, body: bytes, *, keys: ClusterKeys = KEYS, when_ms: int | None = None,
                    nonce: str = "ab" * 16) -> dict[str, str]:
    when = str(when_ms if when_ms is not None else int(time.time() * 1000))
    return {"x-flowyard-node": "node-x", "x-flowyard-time": when, "x-flowyard-nonce": nonce,
            "x-flowyard-signature": _request_mac(keys.auth, "POST", path, "node-x", when, nonce, body)}


async def test_bad_signature_is_401_and_nothing_runs(server: Server) -> None:
    calls.clear()
    body = b"\xa1x"  # msgpack "x"
    url = f"http://{server.address}/t/record"
    async with httpx.AsyncClient() as http:
        forged = await http.post(url, content=body, headers=_signed_headers("/t/record", body, keys=OTHER_KEYS))
        assert forged.status_code == 401
        unsigned = await http.post(url, content=body)
        assert unsigned.status_code == 401
        tampered = _signed_headers("/t/record", body, nonce="cd" * 16)
        assert (await http.post(url, content=b"\xa1y", headers=tampered)).status_code == 401
        bad = _signed_headers("/t/record", b"\xc1", nonce="ef" * 16)
        assert (await http.post(url, content=b"\xc1", headers=bad)).status_code == 400
    assert calls == []


async def test_replayed_nonce_is_refused(server: Server) -> None:
    calls.clear()
    body = b"\xa1x"
    headers = _signed_headers("/t/record", body, nonce="12" * 16)
    url = f"http://{server.address}/t/record"
    async with httpx.AsyncClient() as http:
        assert (await http.post(url, content=body, headers=headers)).status_code == 200
        replay = await http.post(url, content=body, headers=headers)
    assert replay.status_code == 401 and b"replayed" in replay.content
    assert calls == ["x"]


async def test_stale_time_is_refused_and_reported_as_auth_error() -> None:
    async with trio.open_nursery() as nursery:
        server = await _start(nursery, "node-b", KEYS, clock=lambda: time.time() + 45)
        channel = NodeChannel("node-a", KEYS)
        try:
            with pytest.raises(PeerAuthError, match=r"off this node's clock"):
                await channel.call(server.address, "/t/echo", 1)
        finally:
            await channel.aclose()
        nursery.cancel_scope.cancel()


async def test_a_server_with_another_secret_is_detected_by_the_client(client: NodeChannel) -> None:
    async with trio.open_nursery() as nursery:
        impostor = await _start(nursery, "node-z", OTHER_KEYS)
        with pytest.raises(PeerAuthError, match="not signed with this cluster's secret") as info:
            await client.call(impostor.address, "/t/echo", 1)
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
            await client.call(address, "/t/echo", 1, timeout=0.5)
    with pytest.raises(ConfigurationError, match="host:port"):
        await client.call("nohost", "/t/echo", 1)


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
    assert derive_keys(b"s" * 32) == KEYS and KEYS.auth != KEYS.seal and KEYS != OTHER_KEYS
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
            await client.call(address, "/t/echo", b"x" * 2048)
        assert big.value.status == 413
        with pytest.raises(PeerRefused, match="cannot be packed") as bad:
            await client.call(address, "/t/set", None)
        assert bad.value.status == 500
        body = b"\xc0"
        headers = _signed_headers("/t/echo", body, nonce="34" * 16)
        headers["x-flowyard-signature"] = _request_mac(KEYS.auth, "PUT", "/t/echo", "node-x",
                                                       headers["x-flowyard-time"], "34" * 16, body)
        async with httpx.AsyncClient() as http:
            put = await http.put(f"http://{address}/t/echo", content=body, headers=headers)
            assert put.status_code == 405

            async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
                for _ in range(4):
                    yield b"x" * 512

            streamed = await http.post(f"http://{address}/t/echo", content=chunked())
        assert streamed.status_code == 413
        small = NodeChannel("node-a", KEYS, max_body=10)
        with pytest.raises(ClusterError, match="exceeds 10"):
            await small.call(address, "/t/echo", b"x" * 100)
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
