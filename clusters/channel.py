"""The node protocol: authenticated msgpack calls between cluster nodes, and sealing.

Both sides hold the cluster secret. Two keys are derived from it (HKDF-SHA256): ``auth``
signs every request and every answer (HMAC-SHA256), ``seal`` encrypts what the cluster
writes into etcd (AES-GCM, the etcd key as associated data).

A request carries ``X-Flowyard-Node``, ``X-Flowyard-Time`` (unix ms), ``X-Flowyard-Nonce``
(16 random bytes, hex) and ``X-Flowyard-Signature`` over method, path, node, time, nonce and
the body's SHA-256. The server refuses (401, the handler is not run) a bad signature, a time
more than 30 s off its clock, or a nonce it saw in the last 60 s. The answer carries
``X-Flowyard-Signature`` over status, the request's nonce and the body's SHA-256; the client
checks it, so a peer without the secret is found out either way.

Errors::

    FlowyardError
     └── ClusterError                  the cluster layer failed; also a sealed value that
          │                            cannot be opened (wrong secret or tampered)
          └── PeerError                a call to another node failed (.node, .address)
               ├── PeerUnavailable     no connection, or no answer within the timeout
               ├── PeerRefused         the peer answered an error (.status, .message)
               └── PeerAuthError       the peer's answer is not signed with our secret, or
                                       it refused our signature (401)

A handler raises ``ChannelRefusal(status, message)`` to answer an error on purpose; any
other exception answers 500 with its message.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import stat
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypercorn.config
import hypercorn.trio
import msgpack
import trio
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from flowyard.runtime.sdk import ConfigurationError, FlowyardError

__all__ = [
    "MAX_BODY_BYTES",
    "ChannelRefusal",
    "ClusterError",
    "ClusterKeys",
    "Handler",
    "NodeChannel",
    "PeerAuthError",
    "PeerError",
    "PeerRefused",
    "PeerUnavailable",
    "Sealer",
    "derive_keys",
    "read_secret",
    "write_secret",
]

log = logging.getLogger(__name__)

#: Largest request or answer body a channel accepts (load-balanced batches are large).
MAX_BODY_BYTES = 256 * 1024 * 1024
#: How far a request's time may be from the receiver's clock.
MAX_CLOCK_SKEW_S = 30.0
#: How long a nonce is remembered (a replay within it is refused; older is stale anyway).
NONCE_MEMORY_S = 60.0
_MIN_SECRET = 32
_NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NONCE = re.compile(r"[0-9a-f]{32}")
_H_NODE, _H_TIME, _H_NONCE, _H_SIG = ("x-flowyard-node", "x-flowyard-time", "x-flowyard-nonce",
                                      "x-flowyard-signature")


class ClusterError(FlowyardError):
    """The cluster layer failed (see the module's hierarchy)."""


class PeerError(ClusterError):
    """A call to another node failed. ``node`` (when known) and ``address`` name the peer."""

    def __init__(self, message: str, *, node: str | None, address: str) -> None:
        super().__init__(message)
        self.node = node
        self.address = address


class PeerUnavailable(PeerError):
    """The peer could not be reached or did not answer in time."""


class PeerRefused(PeerError):
    """The peer answered an error status with ``message``."""

    def __init__(self, status: int, message: str, *, node: str | None, address: str) -> None:
        super().__init__(f"{_peer(node, address)} refused ({status}): {message}", node=node, address=address)
        self.status = status
        self.message = message


class PeerAuthError(PeerError):
    """The peer does not prove it holds the cluster secret, or it refused our proof."""


class ChannelRefusal(Exception):
    """Raised by a handler to answer ``status`` with ``message`` (nothing else is logged)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: A route's handler: (payload decoded from msgpack, calling node id) -> msgpack-able answer.
Handler = Callable[[Any, str], Awaitable[Any]]


def _peer(node: str | None, address: str) -> str:
    return f"node {node} ({address})" if node else f"node at {address}"


# --- keys and sealing ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClusterKeys:
    """The two keys derived from the cluster secret."""

    auth: bytes
    seal: bytes

    def __repr__(self) -> str:
        return "ClusterKeys(<hidden>)"


def derive_keys(secret: bytes) -> ClusterKeys:
    """HKDF-SHA256 of the cluster secret: ``auth`` (info "flowyard node auth v1") and
    ``seal`` (info "flowyard cluster seal v1"), 32 bytes each."""
    if len(secret) < _MIN_SECRET:
        raise ConfigurationError(f"cluster secret: {len(secret)} bytes, at least {_MIN_SECRET} are needed")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

    return ClusterKeys(auth=derive(b"flowyard node auth v1"), seal=derive(b"flowyard cluster seal v1"))


def read_secret(path: str | os.PathLike[str]) -> bytes:
    """The cluster secret in ``path`` (surrounding whitespace stripped, so a text file and its
    copy with another line ending give the same secret). ConfigurationError when the file is
    missing, readable by group or others (fix: ``chmod 600``), or shorter than 32 bytes."""
    where = Path(path)
    try:
        info = where.stat()
        data = where.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"cluster secret file {where}: not found (make one with "
                                 f"`flowyard cluster-secret {where}` and copy it to every node)") from None
    except OSError as exc:
        raise ConfigurationError(f"cluster secret file {where}: cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"cluster secret file {where}: not a regular file")
    if info.st_mode & 0o077:
        raise ConfigurationError(
            f"cluster secret file {where}: permissions {stat.S_IMODE(info.st_mode):04o} are too open "
            f"(group or others may access it): run `chmod 600 {where}`")
    secret = data.strip()
    if len(secret) < _MIN_SECRET:
        raise ConfigurationError(f"cluster secret file {where}: {len(secret)} bytes, at least {_MIN_SECRET} "
                                 "are needed")
    return secret


def write_secret(path: str | os.PathLike[str]) -> None:
    """Write a new random secret (32 bytes, hex) to ``path`` with mode 0600.
    ConfigurationError when the file exists (it is never overwritten)."""
    where = Path(path)
    try:
        fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"cluster secret file {where}: already exists (not overwritten)") from None
    except OSError as exc:
        raise ConfigurationError(f"cluster secret file {where}: cannot be created: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_hex(32) + "\n")
        file.flush()
        os.fsync(file.fileno())


class Sealer:
    """AES-GCM with the cluster's ``seal`` key. A sealed blob is a 12-byte nonce followed by
    the ciphertext; ``context`` (the etcd key) is associated data, so a blob only opens under
    the context it was sealed for."""

    def __init__(self, key: bytes) -> None:
        if len(key) not in (16, 24, 32):
            raise ValueError(f"Sealer: the key must be 16, 24 or 32 bytes, not {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, context: str, data: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, context.encode())

    def open(self, context: str, blob: bytes) -> bytes:
        """The plaintext; ClusterError when the blob is damaged, was sealed for another
        context, or with another cluster secret."""
        if len(blob) < 12 + 16:
            raise ClusterError(f"sealed value at {context}: {len(blob)} bytes, too short to be sealed")
        try:
            return self._aead.decrypt(blob[:12], blob[12:], context.encode())
        except InvalidTag:
            raise ClusterError(f"sealed value at {context} cannot be opened: another cluster secret, "
                               "or the value was changed or moved") from None


# --- signatures ------------------------------------------------------------------------


def _request_mac(key: bytes, method: str, path: str, node: str, when: str, nonce: str, body: bytes) -> str:
    text = "\n".join(["flowyard-request", method, path, node, when, nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _response_mac(key: bytes, status: int, nonce: str, body: bytes) -> str:
    text = "\n".join(["flowyard-response", str(status), nonce, hashlib.sha256(body).hexdigest()])
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


# --- the channel -----------------------------------------------------------------------


class NodeChannel:
    """This node's end of the node protocol: a server app for its routes and a client for
    calls to other nodes (one pooled HTTP client; ``aclose`` it). ``clock`` (unix seconds)
    is for tests."""

    def __init__(self, node_id: str, keys: ClusterKeys, *, max_body: int = MAX_BODY_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        if not _NODE_ID.fullmatch(node_id):
            raise ConfigurationError(f"node id {node_id!r}: expected 1 to 64 of A-Z a-z 0-9 _ . -")
        self.node_id = node_id
        self._keys = keys
        self._max_body = max_body
        self._clock = clock
        self._nonces: dict[str, float] = {}
        self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))

    async def aclose(self) -> None:
        """Close the pooled client connections."""
        await self._client.aclose()

    # -- server --

    def app(self, routes: Mapping[str, Handler]) -> ASGIApp:
        """An ASGI app answering POSTs to ``routes`` (path -> handler). Authentication is
        checked before anything else (401, nothing done); then an unknown path is 404, a
        body that is not msgpack 400, a ``ChannelRefusal`` its status, another exception
        500. Error bodies are msgpack ``{"error": message}``."""
        table = dict(routes)
        for path in table:
            if not path.startswith("/"):
                raise ValueError(f"node channel route {path!r} must start with '/'")

        async def endpoint(request: Request) -> Response:
            return await self._dispatch(request, table)

        return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET", "PUT", "DELETE"])])

    async def _dispatch(self, request: Request, table: Mapping[str, Handler]) -> Response:
        nonce = request.headers.get(_H_NONCE, "")
        too_big = self._answer(413, {"error": f"body larger than {self._max_body} bytes"}, nonce)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            return too_big
        body = bytearray()
        async with aclosing(request.stream()) as chunks:
            async for chunk in chunks:
                body += chunk
                if len(body) > self._max_body:
                    return too_big
        refusal = self._check_request(request, bytes(body))
        if refusal is not None:
            log.warning("node protocol: refused %s %s from %s: %s", request.method, request.url.path,
                        request.client.host if request.client else "?", refusal)
            return self._answer(401, {"error": refusal}, nonce)
        caller = request.headers[_H_NODE]
        handler = table.get(request.url.path)
        if handler is None:
            return self._answer(404, {"error": f"no route {request.url.path} on node {self.node_id}"}, nonce)
        if request.method != "POST":
            return self._answer(405, {"error": f"{request.method} is not allowed (POST only)"}, nonce)
        try:
            payload = _unpack(bytes(body))
        except (ValueError, msgpack.UnpackException) as exc:
            return self._answer(400, {"error": f"body is not msgpack: {exc}"}, nonce)
        try:
            reply = await handler(payload, caller)
        except ChannelRefusal as refused:
            return self._answer(refused.status, {"error": refused.message}, nonce)
        except Exception as exc:
            log.exception("node protocol: %s from %s failed", request.url.path, caller)
            return self._answer(500, {"error": f"{type(exc).__name__}: {exc}"}, nonce)
        try:
            return self._answer(200, reply, nonce)
        except (TypeError, ValueError, OverflowError) as exc:
            log.error("node protocol: the answer of %s cannot be packed: %s", request.url.path, exc)
            return self._answer(500, {"error": f"the answer cannot be packed: {exc}"}, nonce)

    def _check_request(self, request: Request, body: bytes) -> str | None:
        """Why the request is not authentic, or None (then its nonce is remembered)."""
        headers = request.headers
        node, when, nonce, signature = (headers.get(h, "") for h in (_H_NODE, _H_TIME, _H_NONCE, _H_SIG))
        if not (node and when and nonce and signature):
            return "missing X-Flowyard-Node, -Time, -Nonce or -Signature"
        if not _NODE_ID.fullmatch(node) or not _NONCE.fullmatch(nonce) or not when.isdigit():
            return "malformed X-Flowyard-Node, -Time or -Nonce"
        expected = _request_mac(self._keys.auth, request.method, request.url.path, node, when, nonce, body)
        if not hmac.compare_digest(expected, signature):
            return "bad signature (does the caller hold this cluster's secret?)"
        now = self._clock()
        skew = int(when) / 1000 - now
        if abs(skew) > MAX_CLOCK_SKEW_S:
            return f"request time is {skew:+.0f} s off this node's clock (at most {MAX_CLOCK_SKEW_S:g} s)"
        self._forget_nonces(now)
        if nonce in self._nonces:
            return "replayed request (nonce already seen)"
        self._nonces[nonce] = now
        return None

    def _forget_nonces(self, now: float) -> None:
        # Insertion order is time order (same clock), so the old ones are at the front.
        for nonce, seen in list(self._nonces.items()):
            if now - seen <= NONCE_MEMORY_S:
                break
            del self._nonces[nonce]

    def _answer(self, status: int, value: Any, nonce: str) -> Response:
        body = _pack(value)
        headers = {"x-flowyard-node": self.node_id}
        if _NONCE.fullmatch(nonce):
            headers[_H_SIG] = _response_mac(self._keys.auth, status, nonce, body)
        return Response(body, status_code=status, media_type="application/msgpack", headers=headers)

    async def serve(self, routes: Mapping[str, Handler], address: str, *,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve ``routes`` on ``address`` ("host:port", port 0 picks one) until cancelled;
        ``task_status.started`` gets the bound "host:port"."""
        _split_address(address)
        config = hypercorn.config.Config()
        config.bind = [address]
        config.graceful_timeout = 1.0
        config.accesslog = None
        config.errorlog = logging.getLogger("flowyard.clusters.channel.server")
        config.h11_max_incomplete_size = 64 * 1024
        config.keep_alive_timeout = 30.0
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(hypercorn.trio.serve, self.app(routes), config)
            bound = str(binds[0]).split("://", 1)[-1]
            task_status.started(bound)

    # -- client --

    async def call(self, address: str, path: str, payload: Any, *, timeout: float = 10.0,
                   node: str | None = None) -> Any:
        """POST ``payload`` (msgpack) to ``path`` on the node at ``address`` and return its
        decoded answer. ``node`` (the peer's id, when known) only names it in errors.
        Raises PeerUnavailable (no connection, timeout), PeerAuthError (the answer is not
        signed with our secret, or the peer refused our signature), PeerRefused (any other
        error status)."""
        host, port = _split_address(address)
        body = _pack(payload)
        if len(body) > self._max_body:
            raise ClusterError(f"call {path} to {_peer(node, address)}: body of {len(body)} bytes exceeds "
                               f"{self._max_body}")
        when = str(int(self._clock() * 1000))
        nonce = secrets.token_hex(16)
        headers = {
            "content-type": "application/msgpack",
            _H_NODE: self.node_id, _H_TIME: when, _H_NONCE: nonce,
            _H_SIG: _request_mac(self._keys.auth, "POST", path, self.node_id, when, nonce, body),
        }
        url = f"http://{host}:{port}{path}"
        try:
            response = await self._client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise PeerUnavailable(f"{_peer(node, address)} did not answer {path} within {timeout:g} s",
                                  node=node, address=address) from exc
        except httpx.TransportError as exc:
            raise PeerUnavailable(f"{_peer(node, address)} cannot be reached for {path}: "
                                  f"{exc or type(exc).__name__}", node=node, address=address) from exc
        node = node or response.headers.get(_H_NODE)
        signature = response.headers.get(_H_SIG, "")
        expected = _response_mac(self._keys.auth, response.status_code, nonce, response.content)
        if not hmac.compare_digest(expected, signature):
            raise PeerAuthError(f"{_peer(node, address)}: the answer to {path} is not signed with this "
                                "cluster's secret (another cluster, or a different secret file)",
                                node=node, address=address)
        try:
            answer = _unpack(response.content)
        except (ValueError, msgpack.UnpackException) as exc:
            raise PeerRefused(response.status_code, f"answer is not msgpack: {exc}", node=node,
                              address=address) from exc
        if response.status_code == 200:
            return answer
        message = str(answer.get("error")) if isinstance(answer, dict) else repr(answer)
        if response.status_code == 401:
            raise PeerAuthError(f"{_peer(node, address)} refused the call to {path}: {message}",
                                node=node, address=address)
        raise PeerRefused(response.status_code, message, node=node, address=address)


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(f"node address {address!r}: expected host:port")
    return host, int(port)
