"""HandleHttpRequest: an HTTP server whose requests become FlowFiles, each
parked in an HTTP context map until HandleHttpResponse answers it."""

from __future__ import annotations

import functools
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import parse_qsl

import trio

from flowyard.processors._http_common import (
    LISTEN_PORT,
    java_regex,
    parse_multipart,
    server_ssl_context,
    transit_uri,
)
from flowyard.processors._http_intake import Intake
from flowyard.processors._http_server import HttpServer, Request, Response, StreamedBody
from flowyard.processors.http_context_map import HTTP_CONTEXT_MAP, HttpContextMap, HttpRequestContext
from flowyard.processors.ssl_context_service import (
    RESTRICTED_SSL_CONTEXT_SERVICE,
    SSLContextService,
    certificate_dn,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ConfigurationError,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["HandleHttpRequest"]

SUCCESS = Relationship("success", "One FlowFile per request received (per part, for a multipart request).")

_WAIT = 0.25
_BATCH = 50
_STOP_GRACE = 2.0

PORT = PropertySpec(
    key="listening-port", display_name="Listening Port",
    description="The port the HTTP server listens on (0: any free port).", required=True, default="80",
    expression_scope=ExpressionScope.ENVIRONMENT, validator=LISTEN_PORT,
)
HOSTNAME = PropertySpec(
    key="hostname", display_name="Hostname",
    description="The host name or address the server binds to. Unset: flowyard binds 127.0.0.1 (NiFi: all interfaces).",
    validator=validators.NON_EMPTY,
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service", display_name="SSL Context Service",
    description="When set, the server speaks HTTPS only, with the certificate of this SSL Context Service; otherwise "
                "plain HTTP only.",
    identifies_controller_service=RESTRICTED_SSL_CONTEXT_SERVICE,
)
HTTP_PROTOCOLS = PropertySpec(
    key="http-protocols", display_name="HTTP Protocols",
    description="The HTTP versions offered in TLS protocol negotiation (ALPN); flowyard serves http/1.1 "
                "only.", required=True, default="HTTP_1_1",
    allowed_values=(AllowableValue("HTTP_1_1", "http/1.1", "HTTP/1.1"),
                    AllowableValue("H2_HTTP_1_1", "h2 http/1.1", "HTTP/2 or HTTP/1.1, whichever the client asks for "
                                                                 "(flowyard: HTTP/1.1)."),
                    AllowableValue("H2", "h2", "HTTP/2 only (not supported by flowyard)")),
    dependencies=(PropertyDependency("ssl-context-service"),),
)
CONTEXT_MAP = PropertySpec(
    key="http-context-map", display_name="HTTP Context Map",
    description="The HTTP Context Map that holds each request until HandleHttpResponse answers it.",
    required=True, identifies_controller_service=HTTP_CONTEXT_MAP,
)
ALLOWED_PATHS = PropertySpec(
    key="allowed-paths", display_name="Allowed Paths",
    description="When set, only requests whose path matches this regular expression are accepted; others get 404 Not "
                "Found.", validator=validators.NON_EMPTY,
)
URL_CHARSET = PropertySpec(
    key="default-url-character-set", display_name="Default URL Character Set",
    description="The character set URL parameters are decoded with when the request names none.",
    required=True, default="UTF-8", validator=validators.CHARACTER_SET,
)


def _allow(method: str, default: str) -> PropertySpec:
    return PropertySpec(
        key=f"allow-{method.lower()}", display_name=f"Allow {method}",
        description=f"Whether {method} requests are accepted (if not, they get 405).", required=True, default=default,
        allowed_values=(AllowableValue("true"), AllowableValue("false")),
    )


ALLOW = {m: _allow(m, d) for m, d in (("GET", "true"), ("POST", "true"), ("PUT", "true"), ("DELETE", "true"),
                                      ("HEAD", "false"), ("OPTIONS", "false"))}
MAX_THREADS = PropertySpec(
    key="maximum-threads", display_name="Maximum Threads",
    description="How many requests are served at the same time (NiFi: the embedded server's thread count).",
    required=True, default="200", validator=validators.integer_range(8, 1000),
)
HEADER_MAX_SIZE = PropertySpec(
    key="request-header-maximum-size", display_name="Request Header Maximum Size",
    description="The largest request header section accepted.", required=True,
    default="8 KB", validator=validators.DATA_SIZE,
)
ADDITIONAL_METHODS = PropertySpec(
    key="additional-http-methods", display_name="Additional HTTP Methods",
    description="Other HTTP methods to accept, separated by commas.",
)
CLIENT_AUTHENTICATION = PropertySpec(
    key="client-authentication", display_name="Client Authentication",
    description="Whether clients must present a certificate. Only used with an SSL Context Service that has a "
                "truststore.", required=True, default="No Authentication",
    allowed_values=(
        AllowableValue("No Authentication", description="No client certificate is asked for; any client may connect."),
        AllowableValue("Want Authentication", description="A client certificate is asked for and checked, but clients "
                                                          "without one are let in too."),
        AllowableValue("Need Authentication", description="Only clients presenting a certificate trusted by the SSL "
                                                          "Context Service's truststore may connect."),
    ),
)
CONTAINER_QUEUE_SIZE = PropertySpec(
    key="container-queue-size", display_name="Container Queue Size",
    description="How many received requests may wait for the processor to take them; more are answered "
                "503.", required=True, default="50",
    validator=validators.POSITIVE_INTEGER, aliases=("container-queue-size",),
)
MULTIPART_MAX = PropertySpec(
    key="multipart-request-max-size", display_name="Multipart Request Max Size",
    description="The largest multipart/form-data request accepted, a guard against requests that would fill memory or "
                "disk.", required=True, default="1 MB",
    validator=validators.DATA_SIZE, aliases=("multipart-request-max-size",),
)
MULTIPART_BUFFER = PropertySpec(
    key="multipart-read-buffer-size", display_name="Multipart Read Buffer Size",
    description="The part size above which NiFi writes an uploaded multipart file to disk (flowyard: bodies past 1 MiB "
                "are spooled to disk whatever their type).", required=True, default="512 KB",
    validator=validators.DATA_SIZE, aliases=("multipart-read-buffer-size",),
)
PARAMETERS_TO_ATTRIBUTES = PropertySpec(
    key="parameters-to-attributes", display_name="Parameters to Attributes",
    description="Names of query or form parameters, separated by commas, to add as http.param.* attributes.",
    aliases=("parameters-to-attributes",),
)


@dataclass(eq=False)
class _Incoming(HttpRequestContext):
    """A request waiting in the container queue, then in the context map.
    ``answered`` is guarded by ``lock``; the answer is delivered on the server's loop."""

    request: Request
    body: IO[bytes]
    server: HttpServer
    arrived: float
    done: trio.Event = field(default_factory=trio.Event)
    response: Response | None = None
    taken: bool = False
    answered: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def request_uri(self) -> str:
        """The request's URI."""
        return f"{self.request.scheme}://{self.request.local_host}:{self.request.local_port}{self.request.target}"

    def respond(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> bool:
        """Answer once; False if already answered or the server is gone."""
        with self.lock:
            if self.answered:
                return False
            self.answered = True
        return self.server.call_soon(self._deliver, Response(status, list(headers), body))

    def respond_streaming(self, status: int, headers: Sequence[tuple[str, str]], length: int,
                          read: Callable[[int], bytes]) -> bool:
        """Answer with a streamed body and wait until it is sent (see HttpRequestContext)."""
        with self.lock:
            if self.answered:
                return False
            self.answered = True
        sent = threading.Event()
        outcome = [False]

        def finished(ok: bool) -> None:
            outcome[0] = ok
            sent.set()

        body = StreamedBody(length, read, finished)
        if not self.server.call_soon(self._deliver, Response(status, list(headers), body)):
            return False
        while not sent.wait(0.5):
            if not self.server.alive:
                return False
        return outcome[0]

    def _deliver(self, response: Response) -> None:
        if not self.done.is_set():
            self.response = response
            self.done.set()
        elif isinstance(response.body, StreamedBody):
            response.body.finished(False)  # the request was answered meanwhile (expired)


class HandleHttpRequest(Processor):
    """Starts an HTTP server when scheduled; each request (of an allowed
    method, on an Allowed Path) becomes a FlowFile holding its body, with the
    request described in attributes, and is parked in the HTTP Context Map
    under ``http.context.identifier`` until a HandleHttpResponse answers it.
    A request left unanswered for the map's Request Expiration is answered
    503; so is one arriving while Container Queue Size requests wait to be
    taken (the processor is not triggered while its outgoing connection is
    full) or while the map holds Maximum Outstanding Requests. A method that
    is not allowed is answered 405, a path that is not allowed 404. The server
    runs in a thread of its own; a trigger waits for requests on the engine's
    event loop (holding no worker thread) and writes their content in a worker
    thread. A session that is rolled back answers its requests 503.

    Attributes: ``http.context.identifier``, ``mime.type`` (the request's
    Content-Type), ``http.servlet.path``, ``http.context.path`` (empty),
    ``http.method``, ``http.local.name``, ``http.local.addr``,
    ``http.server.port``, ``http.query.string``, ``http.remote.host``,
    ``http.remote.addr``, ``http.protocol``, ``http.request.uri``,
    ``http.request.url``, ``http.query.param.<name>`` (the first value of
    each), ``http.param.<name>`` for the Parameters to Attributes (from the
    query or a urlencoded form body), ``http.headers.<Name>`` for every
    header, and with a client certificate ``http.subject.dn``,
    ``http.issuer.dn`` and ``http.principal.name``. A multipart/form-data
    request becomes one FlowFile per part, all with the same
    ``http.context.identifier`` and the part's ``http.multipart.*`` and
    ``http.headers.multipart.*`` attributes (answer it once).

    Differences from NiFi: binds 127.0.0.1 unless Hostname is set (NiFi binds
    every interface); Listening Port 0 picks a free port. HTTP/1.1 only (h2 is
    refused). A multipart/form-data request larger than Multipart Request
    Max Size, or malformed, is answered 400; ``http.remote.user``,
    ``http.auth.type`` and the ``http.certificate.sans.*`` attributes are not
    written. Bodies past 1 MiB are spooled to disk while they wait to be taken.
    """

    spec = ProcessorSpec(
        description=(
            "Runs an HTTP server and turns each request it receives into a FlowFile, keeping the request open so that "
            "a HandleHttpResponse processor can answer it; together they make a web service."
        ),
        tags=("http", "https", "request", "listen", "ingress", "web service"),
        properties=(PORT, HOSTNAME, SSL_CONTEXT, HTTP_PROTOCOLS, CONTEXT_MAP, ALLOWED_PATHS, URL_CHARSET,
                    *ALLOW.values(), MAX_THREADS, HEADER_MAX_SIZE, ADDITIONAL_METHODS, CLIENT_AUTHENTICATION,
                    CONTAINER_QUEUE_SIZE, MULTIPART_MAX, MULTIPART_BUFFER, PARAMETERS_TO_ATTRIBUTES),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("http.context.identifier", "The key of the waiting request in the HTTP Context Map, which "
                                        "HandleHttpResponse uses to answer it."),
            ("mime.type", "The request's Content-Type header."),
            ("http.servlet.path", "The request path."),
            ("http.context.path", "The context path (always empty)."),
            ("http.method", "The request method, e.g. GET or POST."),
            ("http.local.name", "The server's local host name or address."),
            ("http.server.port", "The port the server listens on."),
            ("http.query.string", "The query string of the request URL."),
            ("http.remote.host", "The client's host name."),
            ("http.remote.addr", "The client's address."),
            ("http.protocol", "The request's protocol, e.g. HTTP/1.1."),
            ("http.request.uri", "The request URI."),
            ("http.principal.name", "The subject DN of the client certificate, if any"),
            ("http.query.param.XXX", "The first value of each query parameter."),
            ("http.param.XXX", "The value of each parameter named in Parameters to Attributes (from the query or a "
                               "urlencoded form)."),
            ("http.subject.dn", "The subject Distinguished Name of the client's certificate, if it sent one."),
            ("http.issuer.dn", "The issuer Distinguished Name of the client's certificate."),
            ("http.headers.XXX", "The value of each request header."),
            ("http.headers.multipart.XXX", "The headers of the multipart part."),
            ("http.multipart.size", "Multipart: the part's size."),
            ("http.multipart.content.type", "Multipart: the part's content type."),
            ("http.multipart.name", "Multipart: the part's name."),
            ("http.multipart.filename", "Multipart: the file name of an uploaded file part."),
            ("http.multipart.fragments.sequence.number", "Multipart: the part's position, from 1."),
            ("http.multipart.fragments.total.number", "Multipart: how many parts the request has."),
        ),
    )

    def __init__(self) -> None:
        self._server: HttpServer | None = None
        self._lock = threading.Lock()
        self._intake: Intake[_Incoming] = Intake()
        self._active = 0
        self._stopping = False
        self.port: int | None = None

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """h2 is not served; Allowed Paths must compile."""
        results = []
        if context.properties.get(SSL_CONTEXT.key) and context.properties.get(HTTP_PROTOCOLS.key) == "H2":
            results.append(ValidationResult(HTTP_PROTOCOLS.display_name,
                                            "flowyard serves HTTP/1.1 only: choose http/1.1 or h2 http/1.1",
                                            HTTP_PROTOCOLS.key))
        paths = context.properties.get(ALLOWED_PATHS.key)
        if paths:
            try:
                java_regex(paths)
            except ValueError as exc:
                results.append(ValidationResult(ALLOWED_PATHS.display_name,
                                                f"{paths!r} is not a valid regular expression: {exc}",
                                                ALLOWED_PATHS.key))
        return results

    def on_scheduled(self, context: ProcessContext) -> None:
        """Start the server (raises when the port cannot be bound)."""
        self._map = context.property(CONTEXT_MAP).as_controller_service(HttpContextMap)
        self._methods = {m for m, spec in ALLOW.items() if context.property(spec).as_str() == "true"}
        extra = context.property(ADDITIONAL_METHODS).value or ""
        self._methods |= {m.strip().upper() for m in extra.split(",") if m.strip()}
        paths = context.property(ALLOWED_PATHS).value
        self._paths = java_regex(paths) if paths else None
        self._charset = context.property(URL_CHARSET).as_str()
        names = context.property(PARAMETERS_TO_ATTRIBUTES).value or ""
        self._parameters = [n.strip() for n in names.split(",") if n.strip()]
        self._capacity = context.property(CONTAINER_QUEUE_SIZE).as_int()
        self._multipart_max = context.property(MULTIPART_MAX).as_data_size()
        ssl_context: Any = None
        if context.property(SSL_CONTEXT).is_set:
            service = context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
            mode = context.property(CLIENT_AUTHENTICATION).as_str()
            if not service.is_trust_store_configured:
                mode = "No Authentication"
            ssl_context = server_ssl_context(service, mode)
        self._intake.drain()
        with self._lock:
            self._stopping = False
        host = (context.property(HOSTNAME).value or "127.0.0.1").strip()
        ports = [context.property(PORT).evaluate().as_int()]
        server = HttpServer(
            self._handle, host=host, ports=ports, ssl_contexts=[ssl_context],
            max_connections=context.property(MAX_THREADS).as_int(),
            max_header_size=context.property(HEADER_MAX_SIZE).as_data_size(),
            name=f"HandleHttpRequest {context.component_id}",
            on_error=lambda exc: context.logger.error(f"failed to answer a request: {exc!r}"),
        )
        try:
            server.start()
        except (OSError, TypeError) as exc:  # an unresolvable address, a port taken: refuse to start, naming why
            raise ConfigurationError(f"cannot listen on {HOSTNAME.display_name} {host!r} port(s) "
                                     f"{', '.join(map(str, ports))}: {exc}") from None
        self._server = server
        self.port = server.bound_ports[0]
        context.logger.info(f"listening on port {self.port}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Answer the requests not yet taken 503, stop the server, release the port.
        Requests already in the context map are dropped with their connections."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._lock:
            self._stopping = True
        waiting = self._intake.drain()
        for incoming in waiting:  # NiFi's words, which clients may look for
            incoming.respond(503, [("Content-Type", "text/plain")], b"Processor is shutting down")
        deadline = time.monotonic() + _STOP_GRACE
        while self._active and time.monotonic() < deadline:
            time.sleep(0.01)
        server.stop()
        self.port = None

    # -- the server's side --------------------------------------------------------------

    async def _handle(self, request: Request, read_body: Any) -> Response:
        with self._lock:
            self._active += 1
        try:
            return await self._answer(request, read_body)
        finally:
            with self._lock:
                self._active -= 1

    async def _answer(self, request: Request, read_body: Any) -> Response:
        server = self._server
        if server is None:
            return Response(503, close=True)
        if request.method not in self._methods:
            return Response(405, [("Content-Type", "text/plain")], b"Method Not Allowed")
        if self._paths is not None and not self._paths.fullmatch(request.path):
            return Response(404, [("Content-Type", "text/plain")], b"Not Found")
        if self._stopping or len(self._intake) >= self._capacity:
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable", close=True)
        body = await read_body()
        incoming = _Incoming(request, body, server, time.monotonic())
        if self._stopping:
            return Response(503, [("Content-Type", "text/plain")], b"Processor is shutting down")
        if not self._intake.put(incoming, lambda size: size < self._capacity):
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
        try:
            with trio.move_on_after(self._map.request_timeout + 1.0):
                await incoming.done.wait()
        finally:
            self._intake.discard(incoming, unless=lambda i: i.taken)
        if incoming.response is None:
            incoming.respond(503, [], b"")  # mark it answered: a late HandleHttpResponse goes to failure
            return Response(503, [("Content-Type", "text/plain")], b"Service Unavailable")
        return incoming.response

    # -- the processor's side --------------------------------------------------------------

    async def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Wait (holding no thread) for requests, then turn them into FlowFiles
        registered in the context map, in a worker thread."""
        if self._server is None:
            return
        await self._intake.wait(_WAIT)
        taken = self._intake.take(_BATCH, _mark_taken)
        if taken:
            await trio.to_thread.run_sync(self._ingest, context, session, taken)

    def _ingest(self, context: ProcessContext, session: ProcessSession, taken: list[_Incoming]) -> None:
        for incoming in taken:
            content_type = incoming.request.header("content-type") or ""
            parts: list[tuple[dict[str, str], bytes]] | None = None
            if "multipart/form-data" in content_type.lower():
                try:
                    parts = parse_multipart(incoming.body, content_type, self._multipart_max)
                except ValueError as exc:
                    context.logger.error(f"Failed to read the multipart request from "
                                         f"{incoming.request.remote_host}: {exc}; answered 400")
                    incoming.respond(400, [("Content-Type", "text/plain")], str(exc).encode())
                    continue
            identifier = str(uuid.uuid4())
            if not self._map.register(identifier, incoming):
                context.logger.warning(f"Failed to register the HTTP request from {incoming.request.remote_host}: "
                                       "the HTTP Context Map holds its Maximum Outstanding Requests; answered 503")
                incoming.respond(503, [], b"")
                continue
            session.commit_async(on_failure=functools.partial(self._rolled_back, identifier, incoming))
            base = self._attributes(identifier, incoming)
            pieces: list[tuple[dict[str, str], Any]] = (
                [({}, functools.partial(_copy, incoming.body))] if parts is None else list(parts))
            for part_attributes, content in pieces:
                ff = session.create()
                ff = session.write(ff, content)
                ff = session.put_attributes(ff, {**base, **part_attributes})
                subject = base.get("http.subject.dn")
                session.provenance.receive(ff, transit_uri(base), f"Received from {incoming.request.remote_host}"
                                           + (f" with DN={subject}" if subject else ""))
                session.transfer(ff, SUCCESS.name)

    def _rolled_back(self, identifier: str, incoming: _Incoming, error: BaseException | None) -> None:
        self._map.complete(identifier)
        incoming.respond(503, [], b"")

    def _attributes(self, identifier: str, incoming: _Incoming) -> dict[str, str]:
        request = incoming.request
        attributes = {
            "http.context.identifier": identifier,
            "http.servlet.path": request.path,
            "http.context.path": "",
            "http.method": request.method,
            "http.local.name": request.local_host,
            "http.local.addr": request.local_host,
            "http.server.port": str(request.local_port),
            "http.remote.host": request.remote_host,
            "http.remote.addr": f"{request.remote_host}:{request.remote_port}",
            "http.protocol": request.http_version,
            "http.request.uri": request.path,
            "http.request.url": f"{request.scheme}://{request.local_host}:{request.local_port}{request.path}",
        }
        content_type = request.header("content-type")
        if content_type:
            attributes["mime.type"] = content_type
        if request.query:
            attributes["http.query.string"] = request.query
        query = parse_qsl(request.query, keep_blank_values=True, encoding=self._charset, errors="replace")
        for name, value in query:
            attributes.setdefault(f"http.query.param.{name}", value)
        if self._parameters:
            params = dict(reversed(query))
            if (content_type or "").lower().startswith("application/x-www-form-urlencoded"):
                incoming.body.seek(0)
                form = incoming.body.read(1 << 20).decode(self._charset, errors="replace")
                incoming.body.seek(0)
                for name, value in reversed(parse_qsl(form, keep_blank_values=True)):
                    params.setdefault(name, value)
            for name in self._parameters:
                if name in params:
                    attributes[f"http.param.{name}"] = params[name]
        for name, value in request.headers:
            attributes.setdefault(f"http.headers.{name}", value)
        if request.peer_certificate is not None:
            subject, issuer = certificate_dn(request.peer_certificate)
            attributes["http.subject.dn"] = subject
            attributes["http.issuer.dn"] = issuer
            attributes["http.principal.name"] = subject
        return attributes


def _mark_taken(incoming: _Incoming) -> None:
    incoming.taken = True


def _copy(body: IO[bytes], out: IO[bytes]) -> None:
    body.seek(0)
    shutil.copyfileobj(body, out, 65536)
