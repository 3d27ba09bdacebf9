"""A small HTTP/1.1 server for the listening processors (ListenHTTP,
HandleHttpRequest): h11 for the protocol, trio for the sockets, in a thread of
its own so the engine's event loop never carries client traffic.

    server = HttpServer(handler, host="127.0.0.1", ports=[8080])
    server.start()          # binds (raises OSError now if it cannot) and serves
    server.call_soon(fn)    # run fn on the server's loop, from any thread
    server.stop()           # closes the listeners and every connection; joins

``handler(request, read_body)`` is a coroutine run on the server's loop for
each request: it may answer at once (a 404, a 503) without reading the body,
or ``await read_body()`` first. Bodies are spooled to a temporary file past
1 MiB, so memory stays bounded by the connection limit. Back pressure: at most
``max_connections`` connections are served at once; beyond that the server
stops accepting (the kernel's backlog holds the rest).

Private to the http family.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import h11
import trio

__all__ = ["BodyTooLarge", "HttpServer", "Request", "Response", "StreamedBody"]

_SPOOL = 1 << 20
_READ = 65536
_REASONS = {200: b"OK", 201: b"Created", 202: b"Accepted", 204: b"No Content", 303: b"See Other",
            400: b"Bad Request", 403: b"Forbidden", 404: b"Not Found", 405: b"Method Not Allowed",
            408: b"Request Timeout", 413: b"Payload Too Large", 431: b"Request Header Fields Too Large",
            500: b"Internal Server Error", 503: b"Service Unavailable"}


class BodyTooLarge(Exception):
    """The request body is larger than the server's limit (answered 413)."""


@dataclass
class Request:
    """One request's head, as the handler sees it."""

    method: str
    target: str
    path: str
    query: str
    http_version: str
    headers: list[tuple[str, str]]
    scheme: str
    remote_host: str
    remote_port: int
    local_host: str
    local_port: int
    peer_certificate: bytes | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lower = name.lower()
        for key, value in self.headers:
            if key.lower() == lower:
                return value
        return None


@dataclass
class StreamedBody:
    """A body sent in pieces: ``read(n)`` (called in a worker thread) gives up
    to ``n`` bytes; ``finished(sent)`` is called exactly once, with whether
    all ``length`` bytes went out."""

    length: int
    read: Callable[[int], bytes]
    finished: Callable[[bool], None]


@dataclass
class Response:
    """What the handler answers: ``body`` whole, or streamed."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | StreamedBody = b""
    close: bool = False


Handler = Callable[[Request, Callable[[], Awaitable[IO[bytes]]]], Awaitable[Response]]


class HttpServer:
    """See the module docstring. Not restartable: build a new one."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        ports: Sequence[int] = (0,),
        ssl_contexts: Sequence[ssl.SSLContext | None] | None = None,
        max_connections: int = 200,
        max_header_size: int = 8192,
        max_body_size: int | None = None,
        idle_timeout: float = 30.0,
        request_timeout: float = 60.0,
        name: str = "flowyard-http",
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._handler = handler
        self._host = host
        self._ports = list(ports)
        self._ssl = list(ssl_contexts) if ssl_contexts is not None else [None] * len(self._ports)
        self._max_connections = max_connections
        self._max_header = max_header_size
        self._max_body = max_body_size
        self._idle = idle_timeout
        self._request_timeout = request_timeout
        self._name = name
        self._on_error = on_error
        self._sockets: list[socket.socket] = []
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.bound_ports: list[int] = []

    # -- control, from any thread --------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Bind every port and start serving. Raises ``OSError`` when a port
        cannot be bound, ``TypeError`` for an address no socket takes (a NUL
        byte); nothing is left open then."""
        try:
            for port in self._ports:
                sock = socket.socket(socket.AF_INET6 if ":" in self._host else socket.AF_INET, socket.SOCK_STREAM)
                self._sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self._host, port))
                sock.listen(128)
                sock.setblocking(False)
                self.bound_ports.append(sock.getsockname()[1])
        except Exception:  # OSError, or TypeError for an address with a NUL: leave nothing open
            for sock in self._sockets:
                sock.close()
            self._sockets = []
            raise
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError("the HTTP server did not start in time")
        if self._error is not None:
            raise self._error

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Run ``fn(*args)`` on the server's loop soon; False if the server is gone."""
        token = self._token
        if token is None:
            return False
        try:
            token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            return False
        return True

    @property
    def alive(self) -> bool:
        """Whether the server's loop is running."""
        return self._token is not None

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listeners and every connection, and wait for the thread."""
        cancel = self._cancel
        if cancel is not None:
            self.call_soon(cancel.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    # -- the loop --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._started.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        limiter = trio.Semaphore(self._max_connections)
        try:
            with trio.CancelScope() as scope:
                self._cancel = scope
                async with trio.open_nursery() as nursery:
                    for sock, context in zip(self._sockets, self._ssl, strict=True):
                        listener = trio.socket.from_stdlib_socket(sock)
                        nursery.start_soon(self._accept_loop, listener, context, limiter, nursery)
                    self._started.set()
        finally:
            self._token = None

    async def _accept_loop(self, listener: trio.socket.SocketType, context: ssl.SSLContext | None,
                           limiter: trio.Semaphore, nursery: trio.Nursery) -> None:
        while True:
            await limiter.acquire()  # at the limit, stop accepting: back pressure
            try:
                conn, _ = await listener.accept()
            except OSError:
                limiter.release()
                await trio.sleep(0.05)  # e.g. out of file descriptors: do not spin
                continue
            nursery.start_soon(self._connection, conn, context, limiter)

    async def _connection(self, conn: trio.socket.SocketType, context: ssl.SSLContext | None,
                          limiter: trio.Semaphore) -> None:
        stream: trio.abc.Stream = trio.SocketStream(conn)
        try:
            peer = conn.getpeername()
            local = conn.getsockname()
            certificate: bytes | None = None
            if context is not None:
                tls = trio.SSLStream(stream, context, server_side=True)
                with trio.move_on_after(self._request_timeout) as handshake:
                    await tls.do_handshake()
                if handshake.cancelled_caught:
                    return
                certificate = tls.getpeercert(binary_form=True) or None
                stream = tls
            await self._serve(stream, peer, local, certificate, context is not None)
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.TooSlowError, ssl.SSLError, OSError,
                h11.ProtocolError):
            pass  # the client went away or spoke nonsense: nothing to answer
        except Exception as exc:  # a bug in a handler must cost one connection, not the server
            if self._on_error is not None:
                self._on_error(exc)
        finally:
            limiter.release()
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()

    async def _serve(self, stream: trio.abc.Stream, peer: Any, local: Any, certificate: bytes | None,
                     secure: bool) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self._max_header)

        async def next_event(timeout: float) -> Any:
            while True:
                event = conn.next_event()
                if event is not h11.NEED_DATA:
                    return event
                with trio.fail_after(timeout):
                    data = await stream.receive_some(_READ)
                conn.receive_data(bytes(data))

        async def send(response: Response, head: bool = False) -> None:
            body = response.body
            length = body.length if isinstance(body, StreamedBody) else len(body)
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                       if k.lower() != "content-length"]
            headers.append((b"Content-Length", str(length).encode()))
            if response.close:
                headers.append((b"Connection", b"close"))
            reason = _REASONS.get(response.status, b"")
            data = conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
            if not isinstance(body, StreamedBody):
                if body and not head:  # a HEAD answer has the length but never the body
                    data += conn.send(h11.Data(data=body))
                data += conn.send(h11.EndOfMessage())
                await stream.send_all(data)
                return
            sent = False
            try:
                remaining = 0 if head else length
                while remaining:
                    piece = await trio.to_thread.run_sync(body.read, min(remaining, _READ))
                    if not piece:
                        raise OSError(f"the response body ended {remaining} bytes short")
                    remaining -= len(piece)
                    data += conn.send(h11.Data(data=piece))
                    with trio.fail_after(self._request_timeout):  # a client that stopped reading
                        await stream.send_all(data)
                    data = b""
                data += conn.send(h11.EndOfMessage())
                with trio.fail_after(self._request_timeout):
                    await stream.send_all(data)
                sent = True
            finally:
                body.finished(sent)

        while True:
            try:
                event = await next_event(self._idle)
            except trio.TooSlowError:
                return
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    await send(Response(exc.error_status_hint, body=str(exc).encode(), close=True))
                return
            if not isinstance(event, h11.Request):
                return  # ConnectionClosed or a stray event
            head_size = len(event.target) + sum(len(k) + len(v) + 4 for k, v in event.headers.raw_items())
            if head_size > self._max_header:  # h11 bounds only heads that arrive in pieces
                await send(Response(431, [("Content-Type", "text/plain")], b"Request Header Fields Too Large",
                                    close=True))
                return
            target = event.target.decode("latin-1")
            path, _, query = target.partition("?")
            request = Request(
                method=event.method.decode("ascii"), target=target, path=path, query=query,
                http_version="HTTP/" + event.http_version.decode("ascii"),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()],
                scheme="https" if secure else "http", remote_host=str(peer[0]), remote_port=int(peer[1]),
                local_host=str(local[0]), local_port=int(local[1]), peer_certificate=certificate,
            )
            body_state: list[IO[bytes]] = []

            async def read_body(body_state: list[IO[bytes]] = body_state) -> IO[bytes]:
                if body_state:
                    body_state[0].seek(0)
                    return body_state[0]
                spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - closed below
                body_state.append(spool)
                if conn.they_are_waiting_for_100_continue:  # curl and Java clients wait for this
                    await stream.send_all(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                size = 0
                while True:
                    part = await next_event(self._request_timeout)
                    if isinstance(part, h11.Data):
                        size += len(part.data)
                        if self._max_body is not None and size > self._max_body:
                            raise BodyTooLarge(f"the request body is larger than {self._max_body} bytes")
                        spool.write(part.data)
                    elif isinstance(part, h11.EndOfMessage):
                        break
                    else:
                        raise h11.RemoteProtocolError("unexpected event in the request body")
                spool.seek(0)
                return spool

            try:
                try:
                    response = await self._handler(request, read_body)
                except BodyTooLarge as exc:
                    response = Response(413, [("Content-Type", "text/plain")], str(exc).encode(), close=True)
                except trio.TooSlowError:
                    response = Response(408, [("Content-Type", "text/plain")], b"request body too slow", close=True)
                while conn.their_state is h11.SEND_BODY:  # a body-less request's end is already buffered
                    pending = conn.next_event()
                    if pending is h11.NEED_DATA or not isinstance(pending, h11.Data | h11.EndOfMessage):
                        break
                if conn.their_state is not h11.DONE:
                    response.close = True  # the body was not read: the connection cannot be reused
                await send(response, head=request.method == "HEAD")
            finally:
                for spool in body_state:
                    spool.close()
            if response.close or conn.our_state is h11.MUST_CLOSE or conn.their_state is not h11.DONE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return
