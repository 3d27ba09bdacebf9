"""A small etcd v3 client over etcd's JSON gateway (httpx on trio; no gRPC, no protobuf).

etcd 3.4 answers JSON on its client URL (``/v3/kv/range``, ``/v3/kv/txn``, ``/v3/lease/*``,
the streaming ``/v3/watch``). Keys and values travel base64-encoded and 64-bit numbers as
JSON strings; fields that hold their default (``0``, ``false``, empty) are left out. This
module hides all of that: keys are ``str``, values ``bytes``, revisions ``int``.

Errors::

    FlowyardError
     └── EtcdError                 etcd refused the request (the message names the endpoint
          │                        and etcd's own message) or answered something unreadable
          ├── EtcdUnavailable      no endpoint answered (connection refused, timeout, a watch
          │                        stream that broke), or a write whose outcome is unknown
          └── EtcdCompacted        a watch asked for history etcd has compacted away;
                                   ``compact_revision`` is the oldest revision still kept

Failover: requests go to the endpoint that answered last; when it cannot be reached the
next one is tried. A read is retried on any transport failure; a write (put, delete, txn,
grant, revoke) only when the connection could not be opened, because a write that timed
out may have been applied: that raises ``EtcdUnavailable`` saying the outcome is unknown.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import h11
import httpx
import trio

from flowyard.clusters._etcdwire import (
    Compare,
    KeyValue,
    Op,
    TxnResult,
    WatchEvent,
    _b64,
    _error_of,
    _int,
    _kv,
    _prefix_end,
    _revision,
)
from flowyard.runtime.sdk import FlowyardError

__all__ = ["Compare", "Etcd", "EtcdCompacted", "EtcdError", "EtcdUnavailable", "KeyValue", "LeaseKeeper",
           "Op", "TxnResult", "WatchEvent"]

# gRPC status codes etcd answers with (in the gateway's "code" field).
_GRPC_NOT_FOUND = 5
_GRPC_OUT_OF_RANGE = 11
_GRPC_UNAVAILABLE = 14


class EtcdError(FlowyardError):
    """etcd refused a request or answered something this client cannot read."""


class EtcdUnavailable(EtcdError):
    """No etcd endpoint answered (or a watch stream broke, or a write's outcome is unknown)."""


class EtcdCompacted(EtcdError):
    """A watch's start revision is older than etcd's compaction point."""

    def __init__(self, message: str, compact_revision: int) -> None:
        super().__init__(message)
        self.compact_revision = compact_revision


# --- the client ------------------------------------------------------------------------


class _Body(httpx.AsyncByteStream):
    """A request body sent in one piece, its own (single-use) iterator: httpx's body iterates
    with an async generator, which a request cancelled while sending leaves to the garbage
    collector (a ResourceWarning)."""

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self._data is None:
            raise StopAsyncIteration
        data, self._data = self._data, None
        return data


def _request(url: str, body: dict[str, Any], timeout: httpx.Timeout) -> httpx.Request:
    """A JSON POST with a :class:`_Body` and the client's timeout (``send`` reads it from
    the request)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    target = httpx.URL(url)  # a request given its stream gets no automatic headers
    headers = {"Host": target.netloc.decode("ascii"), "Content-Type": "application/json",
               "Content-Length": str(len(data))}
    return httpx.Request("POST", target, headers=headers, stream=_Body(data),
                         extensions={"timeout": timeout.as_dict()})


class Etcd:
    """An etcd v3 client for one cluster. ``endpoints`` are client URLs (a list or a
    comma-separated string, e.g. ``http://127.0.0.1:2379``); ``timeout`` bounds each request
    (a watch's idle wait is unbounded). One pooled HTTP client; close with ``aclose`` or
    ``async with``."""

    def __init__(self, endpoints: str | Sequence[str], *, timeout: float = 5.0) -> None:
        items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
        self.endpoints = [e.strip().rstrip("/") for e in items if e.strip()]
        if not self.endpoints:
            raise ValueError("etcd endpoints: none given (expected URLs like http://127.0.0.1:2379)")
        for endpoint in self.endpoints:
            url = httpx.URL(endpoint)
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError(f"etcd endpoint {endpoint!r}: expected a URL like http://127.0.0.1:2379")
        if timeout <= 0:
            raise ValueError(f"etcd timeout must be positive, not {timeout}")
        self.timeout = timeout
        self._current = 0
        self._client = httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> Etcd:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections (a watch has its own, closed when its block ends)."""
        await self._client.aclose()

    # -- transport --

    def _order(self) -> list[int]:
        n = len(self.endpoints)
        return [(self._current + i) % n for i in range(n)]

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool) -> dict[str, Any]:
        failures: list[str] = []
        for index in self._order():
            endpoint = self.endpoints[index]
            try:
                response = await self._client.send(_request(endpoint + path, body, self._client.timeout))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failures.append(f"{endpoint}: {exc or type(exc).__name__}")
                continue
            except httpx.TransportError as exc:
                if idempotent:
                    failures.append(f"{endpoint}: {exc or type(exc).__name__}")
                    continue
                raise EtcdUnavailable(
                    f"etcd {endpoint}{path}: no answer ({exc or type(exc).__name__}); the outcome is unknown"
                ) from exc
            try:
                answer = response.json()
            except ValueError as exc:
                raise EtcdError(f"etcd {endpoint}{path}: HTTP {response.status_code}, not JSON: "
                                f"{response.text[:200]!r}") from exc
            if isinstance(answer, dict) and isinstance(answer.get("result"), dict) and "error" not in answer:
                answer = answer["result"]  # the streaming endpoints (keepalive) wrap their message
            error = _error_of(answer)
            if error is not None and error[0] == _GRPC_UNAVAILABLE:
                # No leader (safe to repeat elsewhere), or a timeout (a write may have happened).
                if not idempotent and "no leader" not in error[1]:
                    raise EtcdUnavailable(f"etcd {endpoint}{path}: {error[1]}; the outcome is unknown")
                failures.append(f"{endpoint}: {error[1]}")
                continue
            self._current = index
            if error is not None:
                raise _refusal(endpoint, path, *error)
            if response.status_code >= 400 or not isinstance(answer, dict):
                raise EtcdError(f"etcd {endpoint}{path}: HTTP {response.status_code}: {response.text[:200]!r}")
            return answer
        raise EtcdUnavailable(f"etcd unavailable ({path}): " + "; ".join(failures))

    # -- key-value --

    async def get(self, key: str) -> KeyValue | None:
        """The key, or None when absent."""
        answer = await self._post("/v3/kv/range", {"key": _b64(key)}, idempotent=True)
        kvs = answer.get("kvs") or []
        return _kv(kvs[0]) if kvs else None

    async def range(self, prefix: str, *, limit: int = 0) -> tuple[list[KeyValue], int]:
        """Every key starting with ``prefix`` in key order (at most ``limit`` when not 0),
        with the revision the read saw (watch from ``revision + 1`` to miss nothing)."""
        if limit < 0:
            raise ValueError(f"etcd range {prefix!r}: limit must be >= 0, not {limit}")
        body: dict[str, Any] = {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))}
        if limit:
            body["limit"] = str(limit)
        answer = await self._post("/v3/kv/range", body, idempotent=True)
        return [_kv(kv) for kv in answer.get("kvs") or []], _revision(answer)

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> int:
        """Write the key; returns the revision of the write."""
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
        if lease:
            body["lease"] = str(lease)
        return _revision(await self._post("/v3/kv/put", body, idempotent=False))

    async def delete(self, key: str, *, prefix: bool = False) -> int:
        """Delete the key (every key starting with it when ``prefix``); returns how many."""
        body: dict[str, Any] = {"key": _b64(key)}
        if prefix:
            body["range_end"] = _b64(_prefix_end(key))
        return _int((await self._post("/v3/kv/deleterange", body, idempotent=False)).get("deleted"))

    async def txn(self, compare: Sequence[Compare], success: Sequence[Op],
                  failure: Sequence[Op] = ()) -> TxnResult:
        """Atomically: when every compare holds run ``success``, else ``failure``."""
        body = {
            "compare": [c.to_json() for c in compare],
            "success": [op.to_json() for op in success],
            "failure": [op.to_json() for op in failure],
        }
        answer = await self._post("/v3/kv/txn", body, idempotent=False)
        responses: list[Any] = []
        for item in answer.get("responses") or []:
            if "response_range" in item:
                responses.append([_kv(kv) for kv in item["response_range"].get("kvs") or []])
            elif "response_put" in item:
                responses.append(_revision(item["response_put"]))
            elif "response_delete_range" in item:
                responses.append(_int(item["response_delete_range"].get("deleted")))
            else:
                responses.append(item)
        return TxnResult(bool(answer.get("succeeded", False)), _revision(answer), responses)

    # -- leases --

    async def grant(self, ttl: int) -> int:
        """A new lease of ``ttl`` seconds (etcd raises very short TTLs to its minimum, ~2 s)."""
        if not isinstance(ttl, int) or ttl < 1:
            raise ValueError(f"etcd lease ttl must be a whole number of seconds >= 1, not {ttl!r}")
        return _int((await self._post("/v3/lease/grant", {"TTL": str(ttl)}, idempotent=False)).get("ID"))

    async def keepalive(self, lease_id: int) -> int:
        """Renew the lease once; returns its TTL, 0 when the lease is gone (expired or revoked)."""
        answer = await self._post("/v3/lease/keepalive", {"ID": str(lease_id)}, idempotent=True)
        return _int(answer.get("TTL"))

    async def revoke(self, lease_id: int) -> None:
        """Revoke the lease (its keys are deleted). A lease already gone is not an error."""
        try:
            await self._post("/v3/lease/revoke", {"ID": str(lease_id)}, idempotent=False)
        except _LeaseNotFound:
            pass

    async def time_to_live(self, lease_id: int) -> int:
        """The lease's remaining seconds, -1 when it does not exist (etcd's convention)."""
        answer = await self._post("/v3/lease/timetolive", {"ID": str(lease_id)}, idempotent=True)
        return _int(answer.get("TTL"))

    # -- watch --

    @asynccontextmanager
    async def watch(self, prefix: str, *, start_revision: int = 0) -> AsyncIterator[AsyncIterator[list[WatchEvent]]]:
        """Watch every key starting with ``prefix`` (from ``start_revision`` when not 0, else
        from now). Yields an async iterator of event batches (one batch per etcd revision
        group, never empty). The iterator raises ``EtcdCompacted`` when ``start_revision``
        was compacted away, and ``EtcdUnavailable`` when the stream ends or breaks (etcd
        stopped, connection lost); it never ends by itself otherwise. Cancelling the reader
        or leaving the block closes the stream.

        A network path that silently drops packets is not noticed by the stream itself:
        pair a watch with a ``LeaseKeeper``, whose failing keepalives notice it."""
        request: dict[str, Any] = {"key": _b64(prefix), "range_end": _b64(_prefix_end(prefix))}
        if start_revision:
            request["start_revision"] = str(start_revision)
        body = json.dumps({"create_request": request}).encode()
        failures: list[str] = []
        for index in self._order():
            endpoint = self.endpoints[index]
            stream = _WatchStream(endpoint, prefix)
            try:
                try:
                    with trio.fail_after(self.timeout):
                        await stream.open(body)
                except (OSError, trio.BrokenResourceError, trio.TooSlowError, h11.ProtocolError) as exc:
                    failures.append(f"{endpoint}: {exc or type(exc).__name__}")
                    continue
                self._current = index
                yield stream
                return
            finally:
                await stream.aclose()
        raise EtcdUnavailable(f"etcd unavailable (watch {prefix!r}): " + "; ".join(failures))

    async def health(self) -> bool:
        """Whether some endpoint reports itself healthy (``GET /health``)."""
        for endpoint in self.endpoints:
            try:
                response = await self._client.get(endpoint + "/health")
                if response.status_code == 200 and response.json().get("health") in ("true", True):
                    return True
            except (httpx.TransportError, ValueError):
                continue
        return False


class _LeaseNotFound(EtcdError):
    """etcd does not know the lease (revoke treats it as done)."""


def _refusal(endpoint: str, path: str, code: int, message: str) -> EtcdError:
    text = f"etcd {endpoint}{path}: {message}"
    if code == _GRPC_NOT_FOUND and "lease not found" in message:
        return _LeaseNotFound(text)
    if code == _GRPC_OUT_OF_RANGE and "compacted" in message:
        return EtcdCompacted(text, 0)
    return EtcdError(text)


class _WatchStream:
    """One watch stream on its own connection (h11 over a trio stream, no async generators:
    a reader that stops early or is cancelled leaves nothing half-iterated behind)."""

    def __init__(self, endpoint: str, prefix: str) -> None:
        self._url = httpx.URL(endpoint)
        self._where = f"etcd {endpoint} watch {prefix!r}"
        self._conn = h11.Connection(h11.CLIENT)
        self._stream: trio.abc.Stream | None = None
        self._pending = b""
        self._lines: deque[bytes] = deque()

    async def open(self, body: bytes) -> None:
        https = self._url.scheme == "https"
        host, port = self._url.host, self._url.port or (443 if https else 80)
        opener = trio.open_ssl_over_tcp_stream if https else trio.open_tcp_stream
        self._stream = await opener(host, port)
        request = h11.Request(method="POST", target="/v3/watch", headers=[
            ("Host", f"{host}:{port}"), ("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        await self._stream.send_all(self._conn.send(request) + self._conn.send(h11.Data(data=body))
                                    + self._conn.send(h11.EndOfMessage()))
        event = await self._next_event()
        if not isinstance(event, h11.Response):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")
        if event.status_code != 200:
            raise EtcdError(f"{self._where}: HTTP {event.status_code}")

    async def _next_event(self) -> Any:
        assert self._stream is not None
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._conn.receive_data(bytes(await self._stream.receive_some(65536)))

    def __aiter__(self) -> _WatchStream:
        return self

    async def __anext__(self) -> list[WatchEvent]:
        while True:
            while self._lines:
                events = _watch_message(self._lines.popleft(), self._where)
                if events:
                    return events
            try:
                event = await self._next_event()
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError) as exc:
                raise EtcdUnavailable(f"{self._where}: the stream broke ({exc or type(exc).__name__})") from exc
            if isinstance(event, h11.Data):
                *lines, self._pending = (self._pending + bytes(event.data)).split(b"\n")
                self._lines.extend(line for line in lines if line.strip())
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                raise EtcdUnavailable(f"{self._where}: the stream ended")

    async def aclose(self) -> None:
        if self._stream is not None:
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self._stream)


def _watch_message(line: bytes, where: str) -> list[WatchEvent]:
    """The events of one watch message (none for the creation and progress messages)."""
    try:
        message = json.loads(line)
    except ValueError as exc:
        raise EtcdError(f"{where}: unreadable message {line[:200]!r}") from exc
    error = _error_of(message)
    if error is not None:
        if error[0] == _GRPC_UNAVAILABLE:
            raise EtcdUnavailable(f"{where}: {error[1]}")
        raise EtcdError(f"{where}: {error[1]}")
    result = message.get("result", {})
    if result.get("canceled"):
        compacted = _int(result.get("compact_revision"))
        if compacted:
            raise EtcdCompacted(f"{where}: the start revision was compacted (oldest kept: {compacted})", compacted)
        raise EtcdError(f"{where}: canceled by etcd: {result.get('cancel_reason', 'no reason given')}")
    return [WatchEvent("DELETE" if ev.get("type") == "DELETE" else "PUT", _kv(ev.get("kv", {})))
            for ev in result.get("events") or []]


# --- lease keeping ---------------------------------------------------------------------


class LeaseKeeper:
    """Holds one lease alive. ``run`` grants it (``task_status.started(lease_id)``) and
    renews it every ``ttl / 3`` seconds. When etcd says the lease is gone, or renewals have
    failed for longer than ``ttl`` (so etcd has let it expire), ``lost`` is set and ``run``
    returns. ``revoke`` ends ``run`` without setting ``lost``."""

    def __init__(self, etcd: Etcd, ttl: int) -> None:
        if not isinstance(ttl, int) or ttl < 2:
            raise ValueError(f"lease ttl must be a whole number of seconds >= 2, not {ttl!r}")
        self._etcd = etcd
        self.ttl = ttl
        self.lost = trio.Event()
        self._lease_id: int | None = None
        self._scope: trio.CancelScope | None = None
        self._revoked = False

    @property
    def lease_id(self) -> int:
        """The lease (after ``run`` started). RuntimeError before."""
        if self._lease_id is None:
            raise RuntimeError("LeaseKeeper.lease_id: the lease is not granted yet (start run first)")
        return self._lease_id

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Grant the lease and keep it alive until it is lost or revoked (see the class)."""
        lease_id = await self._etcd.grant(self.ttl)
        self._lease_id = lease_id
        with trio.CancelScope() as self._scope:
            task_status.started(lease_id)
            interval = self.ttl / 3
            deadline = trio.current_time() + self.ttl  # renewed-until, as far as we know
            while not self._revoked:
                await trio.sleep(interval)
                with trio.move_on_after(max(deadline - trio.current_time(), 0.0)):
                    try:
                        remaining = await self._etcd.keepalive(lease_id)
                    except EtcdError:
                        remaining = None
                    if remaining == 0:
                        self.lost.set()
                        return
                    if remaining is not None:
                        deadline = trio.current_time() + self.ttl
                        continue
                if trio.current_time() >= deadline:
                    self.lost.set()
                    return

    async def revoke(self) -> None:
        """Revoke the lease now (its keys go) and stop ``run``."""
        self._revoked = True
        if self._scope is not None:
            self._scope.cancel()
        if self._lease_id is not None:
            await self._etcd.revoke(self._lease_id)
