"""The node protocol: authenticated, encrypted msgpack calls between cluster nodes, and sealing.

Both sides hold the cluster secret. Three keys are derived from it (HKDF-SHA256): ``auth``
signs every request and every answer (HMAC-SHA256), ``wire`` encrypts every request and
answer body (AES-GCM), ``seal`` encrypts what the cluster writes into etcd (AES-GCM, the
etcd key as associated data).

A request carries ``X-Flowyard-Node`` (the caller), ``X-Flowyard-To`` (the node it is
meant for), ``X-Flowyard-Time`` (unix ms), ``X-Flowyard-Nonce`` (16 random bytes, hex),
``X-Flowyard-Body-Sha256`` (of the body as sent) and ``X-Flowyard-Signature`` over method,
path, caller, receiver, time, nonce and that digest. The body is a 12-byte AES-GCM nonce
and the msgpack payload encrypted under ``wire`` with the signed header text as associated
data. The server checks the headers BEFORE it reads any of the body and refuses (401,
connection closed, the handler is not run) a bad signature, a request meant for another
node, a time more than 30 s off its clock, or a nonce it saw in the last 60 s; then it
reads the body (at most ``max_body`` bytes, 413, within ``body_timeout`` s, 408), hashing
it as it comes, and refuses one that does not match the signed digest. At most
``max_reading`` requests are read at a time (503 beyond). The answer carries
``X-Flowyard-Node`` (the responder), ``X-Flowyard-Body-Sha256`` and ``X-Flowyard-Signature``
over status, responder, the request's nonce and the digest, its body encrypted the same
way; the client checks the signature and that the responder is the node it called before
it reads the body (at most ``max_body`` bytes), so a peer without the secret is found out
either way, and an answer cannot be taken from another node or for another request.

What stays open: the headers (node ids, path, time) and body sizes are readable on the
wire. A captured request is refused by every other node, and by its receiver within 60 s
(nonce memory); the receiver forgets its nonces when it restarts, so a request captured
less than 30 s before a restart can be replayed to it once after it (the load-balanced
transfer route dedupes batches by id for that).

Errors::

    FlowyardError
     └── ClusterError                  the cluster layer failed; also a sealed value that
          │                            cannot be opened (wrong secret or tampered)
          └── PeerError                a call to another node failed (.node, .address)
               ├── PeerUnavailable     no connection, or no answer within the timeout
               ├── PeerRefused         the peer answered an error (.status, .message)
               └── PeerAuthError       the peer's answer is not signed with our secret, it
                                       comes from another node, or the peer refused our
                                       signature (401)

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
from starlette.requests import ClientDisconnect, Request
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
#: How long a server waits for a whole request body (a stalled one is cut after READ_TIMEOUT_S).
BODY_TIMEOUT_S = 60.0
#: How long a server waits for any bytes from a client reading its request.
READ_TIMEOUT_S = 10.0
#: How many requests a server reads (body not yet authenticated) at a time; 503 beyond.
MAX_READING = 32
_MIN_SECRET = 32
_NODE_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NONCE = re.compile(r"[0-9a-f]{32}")
_H_NODE, _H_TO, _H_TIME, _H_NONCE, _H_SHA, _H_SIG = (
    "x-flowyard-node", "x-flowyard-to", "x-flowyard-time", "x-flowyard-nonce", "x-flowyard-body-sha256",
    "x-flowyard-signature")
_SHA = re.compile(r"[0-9a-f]{64}")
_GCM_NONCE, _GCM_TAG = 12, 16
#: Bodies larger than this are hashed and (de)crypted in a worker thread.
_THREAD_BYTES = 4 * 1024 * 1024


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
    """The keys derived from the cluster secret: ``auth`` signs node calls, ``seal``
    encrypts etcd values, ``wire`` encrypts node call bodies."""

    auth: bytes
    seal: bytes
    wire: bytes

    def __repr__(self) -> str:
        return "ClusterKeys(<hidden>)"


def derive_keys(secret: bytes) -> ClusterKeys:
    """HKDF-SHA256 of the cluster secret: ``auth`` (info "flowyard node auth v1"),
    ``seal`` (info "flowyard cluster seal v1") and ``wire`` (info "flowyard node wire v1"),
    32 bytes each."""
    if len(secret) < _MIN_SECRET:
        raise ConfigurationError(f"cluster secret: {len(secret)} bytes, at least {_MIN_SECRET} are needed")

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)

    return ClusterKeys(auth=derive(b"flowyard node auth v1"), seal=derive(b"flowyard cluster seal v1"),
                       wire=derive(b"flowyard node wire v1"))


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


# --- signatures and the wire --------------------------------------------------------------


def _request_text(method: str, path: str, node: str, to: str, when: str, nonce: str) -> str:
    """What a request's signature covers besides its body digest (the body's associated data)."""
    return "\n".join(["flowyard-request v2", method, path, node, to, when, nonce])


def _response_text(status: int, node: str, nonce: str) -> str:
    """What an answer's signature covers besides its body digest (the body's associated data)."""
    return "\n".join(["flowyard-response v2", str(status), node, nonce])


def _mac(key: bytes, text: str, digest: str) -> str:
    """The signature of ``text`` and a body's ``digest`` (hex SHA-256 of the body as sent)."""
    return hmac.new(key, f"{text}\n{digest}".encode(), hashlib.sha256).hexdigest()


def _seal_body(aead: AESGCM, text: str, plain: bytes) -> tuple[bytes, str]:
    """The wire body (GCM nonce + ciphertext, ``text`` as associated data) and its hex SHA-256."""
    nonce = os.urandom(_GCM_NONCE)
    body = nonce + aead.encrypt(nonce, plain, text.encode())
    return body, hashlib.sha256(body).hexdigest()


def _open_body(aead: AESGCM, text: str, body: bytes) -> bytes:
    """The plaintext of a wire body; InvalidTag when it was not sealed for ``text``."""
    if len(body) < _GCM_NONCE + _GCM_TAG:
        raise InvalidTag
    return aead.decrypt(body[:_GCM_NONCE], body[_GCM_NONCE:], text.encode())


async def _maybe_thread(size: int, work: Callable[[], Any]) -> Any:
    """``work()``, in a worker thread when ``size`` bytes make it long (the loop keeps running)."""
    return await trio.to_thread.run_sync(work) if size > _THREAD_BYTES else work()


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


# --- the channel -----------------------------------------------------------------------


class NodeChannel:
    """This node's end of the node protocol: a server app for its routes and a client for
    calls to other nodes (one pooled HTTP client; ``aclose`` it). ``max_body``: largest body
    (either way, as sent); ``body_timeout``: seconds a server waits for a request's whole
    body; ``max_reading``: requests a server reads at a time (503 beyond); ``clock`` (unix
    seconds) is for tests."""

    def __init__(self, node_id: str, keys: ClusterKeys, *, max_body: int = MAX_BODY_BYTES,
                 body_timeout: float = BODY_TIMEOUT_S, max_reading: int = MAX_READING,
                 clock: Callable[[], float] = time.time) -> None:
        if not _NODE_ID.fullmatch(node_id):
            raise ConfigurationError(f"node id {node_id!r}: expected 1 to 64 of A-Z a-z 0-9 _ . -")
        self.node_id = node_id
        self._keys = keys
        self._aead = AESGCM(keys.wire)
        self._max_body = max_body
        self._body_timeout = body_timeout
        self._max_reading = max_reading
        self._reading = 0
        self._clock = clock
        self._nonces: dict[str, float] = {}
        self._warned = 0.0
        self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))

    async def aclose(self) -> None:
        """Close the pooled client connections."""
        await self._client.aclose()

    # -- server --

    def app(self, routes: Mapping[str, Handler]) -> ASGIApp:
        """An ASGI app answering POSTs to ``routes`` (path -> handler). The headers are
        authenticated before anything else and before the body is read (401, nothing done,
        connection closed); then an unknown path is 404, another method 405, too many
        requests being read 503, a body too large 413, a body not in within the body
        timeout 408, a body that does not match its signed digest 401, a body that is not
        msgpack 400, a ``ChannelRefusal`` its status, another exception 500. Error bodies
        are msgpack ``{"error": message}``."""
        table = dict(routes)
        for path in table:
            if not path.startswith("/"):
                raise ValueError(f"node channel route {path!r} must start with '/'")

        async def endpoint(request: Request) -> Response:
            return await self._dispatch(request, table)

        return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "GET", "PUT", "DELETE"])])

    async def _dispatch(self, request: Request, table: Mapping[str, Handler]) -> Response:
        headers, path = request.headers, request.url.path
        nonce = headers.get(_H_NONCE, "")
        refusal = self._check_headers(request)
        if refusal is not None:
            self._warn(f"node protocol: refused {request.method} {path} from "
                       f"{request.client.host if request.client else '?'}: {refusal}")
            return self._answer(401, {"error": refusal}, nonce, close=True)
        caller = headers[_H_NODE]
        handler = table.get(path)
        if handler is None:
            return self._answer(404, {"error": f"no route {path} on node {self.node_id}"}, nonce, close=True)
        if request.method != "POST":
            return self._answer(405, {"error": f"{request.method} is not allowed (POST only)"}, nonce, close=True)
        too_big = {"error": f"body larger than {self._max_body} bytes"}
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            return self._answer(413, too_big, nonce, close=True)
        if self._reading >= self._max_reading:
            return self._answer(503, {"error": f"node {self.node_id} is reading {self._reading} requests; "
                                               "try again"}, nonce, close=True)
        self._reading += 1
        try:
            body = await self._read_body(request)
        except ClientDisconnect:
            return self._answer(400, {"error": "the body ended early"}, nonce, close=True)
        finally:
            self._reading -= 1
        if body is None:
            return self._answer(408, {"error": f"body not received within {self._body_timeout:g} s"}, nonce,
                                close=True)
        if isinstance(body, int):
            return self._answer(413, too_big, nonce, close=True)
        digest, data = body
        text = _request_text(request.method, path, caller, self.node_id, headers[_H_TIME], nonce)
        if not hmac.compare_digest(digest, headers[_H_SHA]):
            self._warn(f"node protocol: refused {path} from {caller}: the body does not match its signed digest")
            return self._answer(401, {"error": "the body does not match its signed digest"}, nonce)
        try:
            payload = _unpack(await _maybe_thread(len(data), lambda: _open_body(self._aead, text, data)))
        except InvalidTag:
            return self._answer(400, {"error": "the body cannot be opened with this cluster's wire key"}, nonce)
        except (ValueError, msgpack.UnpackException) as exc:
            return self._answer(400, {"error": f"body is not msgpack: {exc}"}, nonce)
        try:
            reply = await handler(payload, caller)
        except ChannelRefusal as refused:
            return self._answer(refused.status, {"error": refused.message}, nonce)
        except Exception as exc:
            log.exception("node protocol: %s from %s failed", path, caller)
            return self._answer(500, {"error": f"{type(exc).__name__}: {exc}"}, nonce)
        try:
            return self._answer(200, reply, nonce)
        except (TypeError, ValueError, OverflowError) as exc:
            log.error("node protocol: the answer of %s cannot be packed: %s", path, exc)
            return self._answer(500, {"error": f"the answer cannot be packed: {exc}"}, nonce)

    async def _read_body(self, request: Request) -> tuple[str, bytes] | int | None:
        """(hex SHA-256, body); the size read so far when it passed ``max_body``; None when it
        did not come in within the body timeout. ClientDisconnect when the client left."""
        body = bytearray()
        sha = hashlib.sha256()
        with trio.move_on_after(self._body_timeout):
            async with aclosing(request.stream()) as chunks:
                async for chunk in chunks:
                    body += chunk
                    if len(body) > self._max_body:
                        return len(body)
                    sha.update(chunk)
            return sha.hexdigest(), bytes(body)
        return None

    def _check_headers(self, request: Request) -> str | None:
        """Why the request's headers are not authentic, or None (then its nonce is remembered)."""
        headers = request.headers
        node, to, when, nonce, digest, signature = (headers.get(h, "") for h in
                                                    (_H_NODE, _H_TO, _H_TIME, _H_NONCE, _H_SHA, _H_SIG))
        if not (node and to and when and nonce and digest and signature):
            return "missing X-Flowyard-Node, -To, -Time, -Nonce, -Body-Sha256 or -Signature"
        if not (_NODE_ID.fullmatch(node) and _NONCE.fullmatch(nonce) and when.isdigit() and _SHA.fullmatch(digest)):
            return "malformed X-Flowyard-Node, -Time, -Nonce or -Body-Sha256"
        expected = _mac(self._keys.auth, _request_text(request.method, request.url.path, node, to, when, nonce),
                        digest)
        if not hmac.compare_digest(expected, signature):
            return "bad signature (does the caller hold this cluster's secret?)"
        if to != self.node_id:
            return f"the request is meant for node {to}, this is node {self.node_id}"
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

    def _warn(self, message: str) -> None:
        """A refusal, logged as a warning at most once a second (a flood is logged at debug)."""
        now = time.monotonic()
        if now - self._warned >= 1.0:
            self._warned = now
            log.warning("%s", message)
        else:
            log.debug("%s", message)

    def _answer(self, status: int, value: Any, nonce: str, *, close: bool = False) -> Response:
        """The answer: signed and sealed for the request's ``nonce``, or plain msgpack
        (unsigned) when the request has no well-formed nonce."""
        body = _pack(value)
        headers = {_H_NODE: self.node_id}
        if close:  # the body was not read: the connection cannot be reused
            headers["connection"] = "close"
        if _NONCE.fullmatch(nonce):
            text = _response_text(status, self.node_id, nonce)
            body, digest = _seal_body(self._aead, text, body)
            headers[_H_SHA] = digest
            headers[_H_SIG] = _mac(self._keys.auth, text, digest)
        return Response(body, status_code=status, media_type="application/msgpack", headers=headers)

    async def serve(self, routes: Mapping[str, Handler], address: str, *,
                    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve ``routes`` on ``address`` ("host:port", port 0 picks one) until cancelled;
        ``task_status.started`` gets the bound "host:port". A connection that sends nothing
        for READ_TIMEOUT_S (also between requests), or has not sent a request's headers 30 s
        after it opened or had its last answer, is closed."""
        _split_address(address)
        config = hypercorn.config.Config()
        config.bind = [address]
        config.graceful_timeout = 1.0
        config.accesslog = None
        config.errorlog = logging.getLogger("flowyard.clusters.channel.server")
        config.h11_max_incomplete_size = 64 * 1024
        config.keep_alive_timeout = 30.0
        config.read_timeout = READ_TIMEOUT_S  # type: ignore[assignment]  # typed int, used as seconds
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(hypercorn.trio.serve, self.app(routes), config)
            bound = str(binds[0]).split("://", 1)[-1]
            task_status.started(bound)

    # -- client --

    async def call(self, address: str, path: str, payload: Any, *, timeout: float = 10.0,
                   node: str | None = None) -> Any:
        """POST ``payload`` (msgpack, sealed) to ``path`` on node ``node`` at ``address`` and
        return its decoded answer. ``node`` is required (None is a ValueError): the request
        is signed for that node only, and the answer must be signed by it. Raises
        PeerUnavailable (no connection; no answer, or a pause in it, longer than
        ``timeout``), PeerAuthError (the answer is not signed with our secret or comes from
        another node, or the peer refused our signature), PeerRefused (any other error
        status, an answer larger than ``max_body``), ClusterError (the payload is larger)."""
        if node is None:
            raise ValueError(f"call {path} to {address}: node= (the id of the node called) is required")
        host, port = _split_address(address)
        plain = _pack(payload)
        when = str(int(self._clock() * 1000))
        nonce = secrets.token_hex(16)
        text = _request_text("POST", path, self.node_id, node, when, nonce)
        body, digest = await _maybe_thread(len(plain), lambda: _seal_body(self._aead, text, plain))
        if len(body) > self._max_body:
            raise ClusterError(f"call {path} to {_peer(node, address)}: body of {len(body)} bytes exceeds "
                               f"{self._max_body}")
        headers = {
            "content-type": "application/msgpack",
            _H_NODE: self.node_id, _H_TO: node, _H_TIME: when, _H_NONCE: nonce, _H_SHA: digest,
            _H_SIG: _mac(self._keys.auth, text, digest),
        }
        url = f"http://{host}:{port}{path}"
        try:
            async with self._client.stream("POST", url, content=body, headers=headers, timeout=timeout) as response:
                status, answer = await self._read_answer(response, nonce, path, node, address)
        except httpx.TimeoutException as exc:
            raise PeerUnavailable(f"{_peer(node, address)} did not answer {path} within {timeout:g} s",
                                  node=node, address=address) from exc
        except httpx.TransportError as exc:
            raise PeerUnavailable(f"{_peer(node, address)} cannot be reached for {path}: "
                                  f"{exc or type(exc).__name__}", node=node, address=address) from exc
        if status == 200:
            return answer
        message = str(answer.get("error")) if isinstance(answer, dict) else repr(answer)
        if status == 401:
            raise PeerAuthError(f"{_peer(node, address)} refused the call to {path}: {message}",
                                node=node, address=address)
        raise PeerRefused(status, message, node=node, address=address)

    async def _read_answer(self, response: httpx.Response, nonce: str, path: str, node: str,
                           address: str) -> tuple[int, Any]:
        """(status, decoded answer), its headers checked before its body is read."""
        status, headers = response.status_code, response.headers
        responder, digest = headers.get(_H_NODE, ""), headers.get(_H_SHA, "")
        text = _response_text(status, responder, nonce)
        if not hmac.compare_digest(_mac(self._keys.auth, text, digest), headers.get(_H_SIG, "")):
            raise PeerAuthError(f"{_peer(node, address)}: the answer to {path} is not signed with this "
                                "cluster's secret (another cluster, or a different secret file)",
                                node=node, address=address)
        if responder != node:
            raise PeerAuthError(f"{_peer(node, address)}: the answer to {path} comes from node {responder} "
                                f"(is {address} still node {node}?)", node=node, address=address)
        length = headers.get("content-length", "")
        too_big = PeerRefused(status, f"answer to {path} larger than {self._max_body} bytes", node=node,
                              address=address)
        if length.isdigit() and int(length) > self._max_body:
            raise too_big
        body = bytearray()
        sha = hashlib.sha256()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > self._max_body:
                raise too_big
            sha.update(chunk)
        if not hmac.compare_digest(sha.hexdigest(), digest):
            raise PeerAuthError(f"{_peer(node, address)}: the answer to {path} does not match its signed digest",
                                node=node, address=address)
        data = bytes(body)
        try:
            return status, _unpack(await _maybe_thread(len(data), lambda: _open_body(self._aead, text, data)))
        except InvalidTag:
            raise PeerAuthError(f"{_peer(node, address)}: the answer to {path} cannot be opened with this "
                                "cluster's wire key", node=node, address=address) from None
        except (ValueError, msgpack.UnpackException) as exc:
            raise PeerRefused(status, f"answer is not msgpack: {exc}", node=node, address=address) from exc


def _split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(f"node address {address!r}: expected host:port")
    return host, int(port)
