"""ListenHTTP: an HTTP server whose POSTed bodies become FlowFiles, answered
only once they are committed. Its properties are in ``_listen_http_props``."""

from __future__ import annotations

import functools
import gzip
import re
import shutil
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import trio

from flowyard.processors._flowfile_v3 import FlowFileStreamError, FlowFileUnpackager
from flowyard.processors._http_common import check_certificate, java_regex, parse_multipart, server_ssl_context
from flowyard.processors._http_intake import Intake
from flowyard.processors._http_server import HttpServer, Request, Response
from flowyard.processors._listen_http_props import (
    AUTHORIZED_DN,
    AUTHORIZED_ISSUER,
    BASE_PATH,
    CLIENT_AUTHENTICATION,
    HEADER_MAX_SIZE,
    HEADERS_AS_ATTRIBUTES,
    HEALTH_CHECK_PORT,
    HTTP_PROTOCOLS,
    LISTENING_ADDRESS,
    MAX_THREADS,
    MAX_UNCONFIRMED,
    MULTIPART_BUFFER,
    MULTIPART_MAX,
    PORT,
    RECORD_READER,
    RECORD_WRITER,
    RETURN_CODE,
    SSL_CONTEXT,
)
from flowyard.processors.ssl_context_service import SSLContextService
from flowyard.runtime.sdk import (
    ConfigurationError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
    ValidationResult,
)

__all__ = ["ListenHTTP"]

SUCCESS = Relationship("success", "FlowFiles made from the requests received.")

#: A request not taken by the processor within this time means its outgoing
#: connection is back-pressured (the engine stops triggering it): answer 503.
UNTAKEN_LIMIT = 1.0
_BATCH = 100
_WAIT = 0.25
_STOP_GRACE = 2.0
_HOLD_HEADER = "x-prefer-acknowledge-uri"
_ANY = re.compile(".*", re.DOTALL)
_FLOWFILE_TYPES = {"application/flowfile-v3": 3, "application/flowfile-v2": 2}
_ACCEPT = ("application/flowfile-v3,application/flowfile-v2,*/*;q=0.8")


@dataclass(eq=False)
class _Pending:
    """One POST waiting for its FlowFiles to be committed. ``status`` and
    ``done`` belong to the server's loop; ``taken`` is guarded by the queue lock."""

    request: Request
    body: IO[bytes]
    subject: str
    issuer: str
    url: str
    arrived: float
    done: trio.Event = field(default_factory=trio.Event)
    status: int = 503
    message: str = ""
    taken: bool = False
    cleanup: list[IO[bytes]] = field(default_factory=list)


class ListenHTTP(Processor):
    """Starts an HTTP server on its own port when scheduled; each POST to
    ``/<Base Path>`` becomes a FlowFile (one per part of a multipart request,
    one per packaged FlowFile of an ``application/flowfile-v3`` or ``-v2``
    body) and is answered with the Return Code only after the session that
    holds it is committed — 500 if that commit fails. HEAD answers the
    accepted FlowFile formats; GET or HEAD on ``/<Base Path>/healthcheck``
    answers 200 ``OK`` (also on the Health Check port, which serves nothing
    else); other methods answer 405.

    Back pressure: while the success connection is full (as the framework
    tells through ``context.available_relationships()``, NiFi's
    ``getAvailableRelationships``) a request is answered 503 at once, its
    body unread. Should the processor still not be triggered (stopped
    scheduling, all threads busy), a request not taken within one second,
    and every new one while the oldest waits that long, is answered 503.
    At most Maximum Thread Pool Size requests are served at once; further
    connections wait in the kernel's backlog. Bodies are
    spooled to disk past 1 MiB while they wait. The server runs in a thread
    of its own; a trigger waits for requests on the engine's event loop
    (holding no worker thread) and writes their content in a worker thread.

    Attributes: each request header whose name matches HTTP Headers for
    Attributes (under its own name), ``filename`` from a ``filename`` header,
    ``restlistener.remote.source.host``, ``restlistener.request.uri``,
    ``restlistener.remote.user.dn`` and ``restlistener.remote.issuer.dn``
    (``none`` without a client certificate). A body with
    ``Content-Encoding: gzip`` (or header ``flowfile-gzipped: true``) is
    decompressed. With TLS a client certificate whose subject or issuer DN
    does not match the patterns is answered 403.

    Differences from NiFi: the server binds 127.0.0.1 unless Listening
    Address says otherwise (NiFi binds every interface); Listening Port 0
    picks a free port. The server speaks HTTP/1.1 only (HTTP Protocols ``h2``
    is refused). A held request (NiFi's hold-and-acknowledge protocol, header
    ``x-prefer-acknowledge-uri: true``, as NiFi 1.x PostHTTP sends it) is
    answered 303 with ``Location: /<Base Path>/holds/<id>`` at once; its data
    is kept (spooled) and becomes FlowFiles when the client DELETEs that URI,
    which is answered 200 after the commit (404 for an unknown or expired
    hold). NiFi holds an open session instead; held data older than Max
    Unconfirmed Flowfile Time is dropped, as NiFi rolls it back. Max
    Unconfirmed Flowfile Time also bounds how long a request waits for its
    commit (503 after it). Record Reader/Writer need
    record services flowyard does not have yet. A bad body (corrupt gzip,
    malformed FlowFile stream or multipart) is answered 400 and nothing is
    kept. DN patterns are Java regular expressions (translated); the DNs are
    RFC 4514 strings of the leaf certificate. Return Code must be 200 to 599
    (NiFi takes any non-negative number; a 1xx is not a final answer). Max Data to Receive per Second,
    gone from NiFi 2, is not offered.
    """

    spec = ProcessorSpec(
        description=(
            "Runs an HTTP server that turns data POSTed to its base path (by default /contentListener) into FlowFiles. "
            'HEAD is also answered; other methods get 405. GET on <base path>/healthcheck answers 200 "OK", optionally '
            "on a separate port."
        ),
        tags=("ingest", "http", "https", "rest", "listen"),
        properties=(BASE_PATH, PORT, HEALTH_CHECK_PORT, SSL_CONTEXT, HTTP_PROTOCOLS, CLIENT_AUTHENTICATION,
                    AUTHORIZED_DN, AUTHORIZED_ISSUER, MAX_UNCONFIRMED, HEADERS_AS_ATTRIBUTES, HEADER_MAX_SIZE,
                    RETURN_CODE, MULTIPART_MAX, MULTIPART_BUFFER, MAX_THREADS, RECORD_READER, RECORD_WRITER,
                    LISTENING_ADDRESS),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("restlistener.remote.source.host", "The host the request came from"),
            ("restlistener.request.uri", "The request's URI path"),
            ("restlistener.remote.user.dn", "The subject DN of the client certificate, or none"),
            ("restlistener.remote.issuer.dn", "The issuer DN of the client certificate, or none"),
            ("filename", "The value of the request's filename header, if any"),
            ("http.multipart.*", "For each part of a multipart/form-data request: its name, filename, size, "
                                 "content type, and fragment sequence number and total"),
        ),
    )

    def __init__(self) -> None:
        self._server: HttpServer | None = None
        self._lock = threading.Lock()
        self._intake: Intake[_Pending] = Intake()
        self._holds: dict[str, _Pending] = {}
        self._capacity = 200
        self._active = 0
        self._stopping = False
        self.port: int | None = None
        self.health_port: int | None = None
        #: Seconds a request may wait to be taken before it counts as back pressure (503).
        self.untaken_limit = UNTAKEN_LIMIT

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Ports must differ; h2 is not served."""
        results = []
        port = context.properties.get(PORT.key)
        health = context.properties.get(HEALTH_CHECK_PORT.key)
        if health and port and health.strip() == port.strip() and port.strip() != "0":
            results.append(ValidationResult(HEALTH_CHECK_PORT.display_name,
                                            f"'{PORT.display_name}' and '{HEALTH_CHECK_PORT.display_name}' cannot "
                                            "have the same value.", HEALTH_CHECK_PORT.key))
        if context.properties.get(SSL_CONTEXT.key) and context.properties.get(HTTP_PROTOCOLS.key) == "H2":
            results.append(ValidationResult(HTTP_PROTOCOLS.display_name,
                                            "flowyard serves HTTP/1.1 only: choose http/1.1 or h2 http/1.1",
                                            HTTP_PROTOCOLS.key))
        return results

    # -- lifecycle ---------------------------------------------------------------------

    def on_scheduled(self, context: ProcessContext) -> None:
        """Start the server; raises (refusing to start) when a port cannot be bound."""
        base = context.property(BASE_PATH).evaluate().as_str()
        self._path = "/" + base
        self._holds_path = ("/" + base if base else "") + "/holds/"
        self._health_path = ("/" + base if base else "") + "/healthcheck"
        self._return_code = context.property(RETURN_CODE).as_int()
        self._subject = java_regex(context.property(AUTHORIZED_DN).as_str())
        self._issuer = java_regex(context.property(AUTHORIZED_ISSUER).value or ".*")
        headers = context.property(HEADERS_AS_ATTRIBUTES).value
        self._headers = java_regex(headers) if headers else None
        self._multipart_max = context.property(MULTIPART_MAX).as_data_size()
        self._commit_limit = context.property(MAX_UNCONFIRMED).as_duration()
        self._capacity = context.property(MAX_THREADS).as_int()
        self._logger = context.logger
        self._context = context
        ports = [context.property(PORT).evaluate().as_int()]
        health = context.property(HEALTH_CHECK_PORT).evaluate()
        if health.value:
            ports.append(health.as_int())
        contexts: list[Any] = [None] * len(ports)
        if context.property(SSL_CONTEXT).is_set:
            service = context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
            contexts[0] = server_ssl_context(service, context.property(CLIENT_AUTHENTICATION).value or "AUTO")
            if len(ports) > 1:
                contexts[1] = server_ssl_context(service, "NONE")
        self._intake.drain()
        with self._lock:
            self._stopping = False
        host = context.property(LISTENING_ADDRESS).evaluate().as_str().strip()
        server = HttpServer(
            self._handle, host=host, ports=ports,
            ssl_contexts=contexts, max_connections=self._capacity,
            max_header_size=context.property(HEADER_MAX_SIZE).as_data_size(),
            name=f"ListenHTTP {context.component_id}",
            on_error=lambda exc: context.logger.error(f"failed to answer a request: {exc!r}"),
        )
        try:
            server.start()
        except (OSError, TypeError) as exc:  # an unresolvable address, a port taken: refuse to start, naming why
            raise ConfigurationError(f"cannot listen on {LISTENING_ADDRESS.display_name} {host!r} port(s) "
                                     f"{', '.join(map(str, ports))}: {exc}") from None
        self._server = server
        self.port = server.bound_ports[0]
        self.health_port = server.bound_ports[1] if len(ports) > 1 else None
        context.logger.info(f"listening on port {self.port}, base path {self._path}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Answer every waiting request 503, stop the server and release the ports."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            self._stopping = True
        waiting = self._intake.drain()
        for pending in waiting:
            server.call_soon(self._finish, pending, 503, "the processor stopped")
        deadline = time.monotonic() + _STOP_GRACE
        while self._active and time.monotonic() < deadline:  # let those answers go out
            time.sleep(0.01)
        server.stop()
        with self._lock:
            holds, self._holds = list(self._holds.values()), {}
        for hold in holds:
            hold.body.close()
        self.port = self.health_port = None

    # -- the server's side (runs on the server's loop) ---------------------------------------

    @staticmethod
    def _finish(pending: _Pending, status: int, message: str = "") -> None:
        if not pending.done.is_set():
            pending.status = status
            pending.message = message
            pending.done.set()

    async def _handle(self, request: Request, read_body: Any) -> Response:
        with self._lock:
            self._active += 1
        try:
            return await self._answer(request, read_body)
        finally:
            with self._lock:
                self._active -= 1

    async def _answer(self, request: Request, read_body: Any) -> Response:
        health = self.health_port is not None and request.local_port == self.health_port
        if request.path == self._health_path and request.method in ("GET", "HEAD"):
            return Response(200, [("Content-Type", "text/plain")], b"OK" if request.method == "GET" else b"")
        if not health and request.method == "DELETE" and request.path.startswith(self._holds_path):
            return await self._release_hold(request)
        if health or request.path != self._path:
            return Response(404, [("Content-Type", "text/plain")], b"Not Found")
        if request.method == "HEAD":
            return Response(200, [("Accept-Encoding", "gzip"), ("Accept", _ACCEPT),
                                  ("x-nifi-transfer-protocol-version", "3")])
        if request.method == "CONNECT":
            return Response(400, [("Content-Type", "text/plain")], b"Bad Request")
        if request.method != "POST":
            return Response(405, [("Allow", "POST, HEAD"), ("Content-Type", "text/plain")], b"Method Not Allowed")
        subject, issuer, refusal = check_certificate(request.peer_certificate, self._subject, self._issuer)
        if refusal is not None:
            self._logger.warning(f"Access Forbidden [{refusal}] Host [{request.remote_host}] Subject [{subject}] "
                                 f"Issuer [{issuer}]")
            return Response(403, [("Content-Type", "text/plain")], refusal.encode())
        if self._refuses():
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable", close=True)
        body = await read_body()
        url = f"{request.scheme}://{request.local_host}:{request.local_port}{request.path}"
        if (request.header(_HOLD_HEADER) or "").strip().lower() == "true":
            return await self._hold(request, body, subject, issuer, url)
        return await self._ingest_and_wait(_Pending(request, body, subject, issuer, url, time.monotonic()))

    def _back_pressured(self) -> bool:
        """Whether the success connection is full now (NiFi asks the context the
        same before accepting a request)."""
        available = self._context.available_relationships()
        return available is not None and SUCCESS.name not in available

    def _refuses(self) -> bool:
        """Whether a new request is answered 503 at once: back pressure, a
        request waiting untaken for too long (the processor is not triggered),
        stopping, or as many requests waiting as the server serves."""
        if self._stopping or self._back_pressured() or len(self._intake) >= self._capacity:
            return True
        oldest = self._intake.oldest()
        return oldest is not None and time.monotonic() - oldest.arrived > self.untaken_limit

    async def _ingest_and_wait(self, pending: _Pending) -> Response:
        """Queue ``pending`` for a trigger and answer once it is committed (or refused)."""
        if self._stopping or not self._intake.put(pending, lambda size: size < self._capacity):
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
        try:
            with trio.move_on_after(self.untaken_limit) as untaken:
                await pending.done.wait()
            if untaken.cancelled_caught:
                if self._intake.discard(pending, unless=lambda p: p.taken):
                    return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
                with trio.move_on_after(self._commit_limit):
                    await pending.done.wait()
                if not pending.done.is_set():
                    return Response(503, [("Content-Type", "text/plain")], b"the FlowFile was not committed in time")
        finally:
            self._intake.discard(pending, unless=lambda p: p.taken)
        headers = [("Content-Type", "text/plain")]
        return Response(pending.status, headers, pending.message.encode())

    # -- NiFi's hold-and-acknowledge protocol (x-prefer-acknowledge-uri) ----------------------

    def _expire_holds(self) -> None:
        cutoff = time.monotonic() - self._commit_limit
        with self._lock:
            old = [key for key, hold in self._holds.items() if hold.arrived < cutoff]
            expired = [self._holds.pop(key) for key in old]
        for hold in expired:
            self._logger.warning(f"failed to receive acknowledgment for HOLD from {hold.request.remote_host}; "
                                 "dropping its data (the sender keeps it)")
            hold.body.close()

    async def _hold(self, request: Request, body: IO[bytes], subject: str, issuer: str, url: str) -> Response:
        """Keep the data, answer 303 with the URI to DELETE to confirm it; it
        becomes FlowFiles only on that DELETE, as NiFi's session held until then."""
        self._expire_holds()
        kept: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - closed on release/expiry
        await trio.to_thread.run_sync(shutil.copyfileobj, body, kept)
        kept.seek(0)
        identifier = str(uuid.uuid4())
        with self._lock:
            if len(self._holds) >= self._capacity:
                kept.close()
                return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
            self._holds[identifier] = _Pending(request, kept, subject, issuer, url, time.monotonic())
        location = self._holds_path + identifier
        return Response(303, [("Location", location), ("x-location-uri-intent", "flowfile-hold"),
                              ("Content-Type", "text/plain")], location.encode())

    async def _release_hold(self, request: Request) -> Response:
        _, _, refusal = check_certificate(request.peer_certificate, self._subject, _ANY)
        if refusal is not None:
            return Response(403, [("Content-Type", "text/plain")], b"not allowed based on dn")
        self._expire_holds()
        with self._lock:
            hold = self._holds.pop(request.path[len(self._holds_path):], None)
        if hold is None:
            return Response(404, [("Content-Type", "text/plain")], b"Not Found")
        if self._back_pressured():  # keep the hold: the client may confirm it again
            with self._lock:
                self._holds[request.path[len(self._holds_path):]] = hold
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
        pending = _Pending(hold.request, hold.body, hold.subject, hold.issuer, hold.url, time.monotonic())
        pending.cleanup.append(hold.body)
        try:
            return await self._ingest_and_wait(pending)
        finally:
            if not pending.taken:
                hold.body.close()

    # -- the processor's side -------------------------------------------------------------

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Wait (on the engine's loop, holding no thread) for requests, then turn
        them into FlowFiles in a worker thread; each is answered after the commit."""
        server = self._server
        if server is None:
            return
        await self._intake.wait(_WAIT)
        if self._holds:
            self._expire_holds()
        taken = self._intake.take(_BATCH, _mark_taken)
        if taken:
            await trio.to_thread.run_sync(self._ingest, context, session, server, taken)

    def _ingest(self, context: ProcessContext, session: ProcessSession, server: HttpServer,
                taken: list[_Pending]) -> None:
        for pending in taken:
            try:
                entries = self._parse(pending)
            except ValueError as exc:
                context.logger.error(f"Unable to receive file from Remote Host: [{pending.request.remote_host}] "
                                     f"SubjectDN [{pending.subject}] IssuerDN [{pending.issuer}] due to {exc}")
                server.call_soon(self._finish, pending, 400, str(exc))
                continue
            session.commit_async(
                on_success=functools.partial(server.call_soon, self._finish, pending, self._return_code),
                on_failure=functools.partial(self._failed, server, pending),
            )
            base = self._request_attributes(pending)
            try:
                for attributes, content in entries:
                    merged = {**attributes, **base}
                    if "filename" in attributes:  # NiFi favours the packaged filename over the header
                        merged["filename"] = attributes["filename"]
                    ff = session.create()
                    ff = session.write(ff, content)
                    ff = session.put_attributes(ff, merged)
                    session.provenance.receive(ff, pending.url,
                                               f"Remote DN={pending.subject}, Issuer DN={pending.issuer}")
                    session.transfer(ff, SUCCESS.name)
            finally:
                for extra in pending.cleanup:
                    extra.close()

    def _failed(self, server: HttpServer, pending: _Pending, error: BaseException | None) -> None:
        server.call_soon(self._finish, pending, 500, f"the session could not be committed: {error}")

    def _request_attributes(self, pending: _Pending) -> dict[str, str]:
        request = pending.request
        attributes: dict[str, str] = {}
        if self._headers is not None:
            for name, value in request.headers:
                if self._headers.fullmatch(name) and name not in attributes:
                    attributes[name] = value
        filename = request.header("filename")
        if filename:
            attributes["filename"] = filename
        attributes["restlistener.remote.source.host"] = request.remote_host
        attributes["restlistener.request.uri"] = request.path
        attributes["restlistener.remote.user.dn"] = pending.subject
        attributes["restlistener.remote.issuer.dn"] = pending.issuer
        return attributes

    def _parse(self, pending: _Pending) -> list[tuple[dict[str, str], Any]]:
        """(attributes, content) per FlowFile; raises ValueError for a bad body."""
        request = pending.request
        body = pending.body
        if (request.header("flowfile-gzipped") or "").strip().lower() == "true" \
                or (request.header("content-encoding") or "").strip().lower() == "gzip":
            body = _gunzip(body)
            pending.cleanup.append(body)
        content_type = (request.header("content-type") or "").strip()
        version = _FLOWFILE_TYPES.get(content_type.split(";")[0].strip().lower())
        if version is not None:
            return _unpackage(body, version)
        if "multipart/form-data" in content_type.lower():
            return self._multipart(body, content_type)
        return [({}, _copy_from(body))]

    def _multipart(self, body: IO[bytes], content_type: str) -> list[tuple[dict[str, str], Any]]:
        return list(parse_multipart(body, content_type, self._multipart_max))


def _mark_taken(pending: _Pending) -> None:
    pending.taken = True


def _copy_from(body: IO[bytes]) -> Iterator[bytes]:
    body.seek(0)
    while chunk := body.read(65536):
        yield chunk


def _gunzip(body: IO[bytes]) -> IO[bytes]:
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115 - returned
    try:
        with gzip.GzipFile(fileobj=body, mode="rb") as unzipped:
            shutil.copyfileobj(unzipped, out)
    except (OSError, EOFError, zlib.error) as exc:
        out.close()
        raise ValueError(f"the gzip body cannot be decompressed: {exc}") from None
    out.seek(0)
    return out


def _unpackage(body: IO[bytes], version: int) -> list[tuple[dict[str, str], Any]]:
    headers: list[tuple[dict[str, str], int, int]] = []
    unpackager = FlowFileUnpackager(body, version)  # type: ignore[arg-type]
    try:
        while (header := unpackager.next_flowfile()) is not None:
            attributes, size = header
            headers.append((attributes, body.tell(), size))
        # the last content is skipped only by the next call: check that it is all there
        body.seek(0, 2)
        if headers and body.tell() < headers[-1][1] + headers[-1][2]:
            raise FlowFileStreamError("the FlowFile stream ends inside the content of the last FlowFile")
    except FlowFileStreamError as exc:
        raise ValueError(str(exc)) from None
    out: list[tuple[dict[str, str], Any]] = []
    for attributes, offset, size in headers:
        kept = {k: v for k, v in attributes.items() if k != "uuid"}
        out.append((kept, _slice(body, offset, size)))
    return out


def _slice(body: IO[bytes], offset: int, size: int) -> Iterator[bytes]:
    body.seek(offset)
    remaining = size
    while remaining:
        chunk = body.read(min(remaining, 65536))
        if not chunk:
            return
        remaining -= len(chunk)
        yield chunk
