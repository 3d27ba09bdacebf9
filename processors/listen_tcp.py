"""ListenTCP: receive delimited messages over TCP (optionally TLS) and batch them into FlowFiles."""

from __future__ import annotations

import socket
import ssl
import threading
import time

from flowyard.processors._system_net import (
    BATCHING_MESSAGE_DELIMITER,
    CHARACTER_SET,
    LISTEN_PORT,
    LOCAL_NETWORK_INTERFACE,
    MAX_BATCH_SIZE,
    MAX_MESSAGE_QUEUE_SIZE,
    MAX_SOCKET_BUFFER_SIZE,
    POLL_SECONDS,
    RECEIVE_BUFFER_SIZE,
    Message,
    MessageQueue,
    bind_address,
    emit_batches,
    take_for_session,
    unescape_delimiter,
    wait_joined,
)
from flowyard.processors.ssl_context_service import (
    RESTRICTED_SSL_CONTEXT_SERVICE,
    SSLContextService,
    certificate_dn,
)
from flowyard.runtime.sdk import (
    AllowableValue,
    ComponentLog,
    ConfigurationError,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertyDependency,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = ["ListenTCP", "TcpMessageServer"]

#: How long a trigger waits for the first message when none is queued.
_TRIGGER_WAIT = 0.05
_HANDSHAKE_SECONDS = 10.0

SUCCESS = Relationship("success", "FlowFiles of the messages received, batched per sending host.")

WORKER_THREADS = PropertySpec(
    key="max-number-of-tcp-connections",
    display_name="Worker Threads",
    description=(
        "The maximum number of concurrent TCP connections (each is served by its own thread). While this many are "
        "open, further clients wait in the listen backlog until one closes."
    ),
    required=True,
    default="2",
    validator=validators.POSITIVE_INTEGER,
    aliases=("Max Number of TCP Connections",),
)
IDLE_CONNECTION_TIMEOUT = PropertySpec(
    key="idle-timeout",
    display_name="Idle Connection Timeout",
    description=(
        "How long a client's connection may stay silent before it is closed. 0 seconds (the default) keeps connections "
        "open until the client closes them."
    ),
    required=True,
    default="0 seconds",
    validator=validators.TIME_PERIOD,
)
POOL_RECEIVE_BUFFERS = PropertySpec(
    key="pool-receive-buffers",
    display_name="Pool Receive Buffers",
    description="Accepted for NiFi compatibility; flowyard allocates receive buffers per connection either way.",
    required=True,
    default="True",
    allowed_values=(AllowableValue("True"), AllowableValue("False")),
)
SSL_CONTEXT = PropertySpec(
    key="ssl-context-service",
    display_name="SSL Context Service",
    description=(
        "The SSL Context Service that supplies the server's certificate. When set, only TLS connections are accepted."
    ),
    identifies_controller_service=RESTRICTED_SSL_CONTEXT_SERVICE,
)
CLIENT_AUTH = PropertySpec(
    key="client-auth",
    display_name="Client Auth",
    description="Whether clients must present a certificate during the TLS handshake. Used only with an SSL Context "
                "Service.",
    required=True,
    default="REQUIRED",
    allowed_values=(AllowableValue("WANT"), AllowableValue("REQUIRED"), AllowableValue("NONE")),
    dependencies=(PropertyDependency(SSL_CONTEXT.key),),
)


class TcpMessageServer:
    """A TCP server on background threads: one accepting, one per connection
    (at most ``max_connections``). Each connection's bytes are cut at
    ``delimiter`` into messages put on ``messages``; while that queue is full
    the connection is not read, so the sender is held back by TCP itself."""

    def __init__(
        self, address: str, port: int, messages: MessageQueue, *, delimiter: bytes, max_message: int,
        receive_size: int, socket_buffer: int, max_connections: int, idle_timeout: float,
        tls: ssl.SSLContext | None, logger: ComponentLog,
    ) -> None:
        self.messages = messages
        self._delimiter = delimiter
        self._max_message = max_message
        self._receive_size = max(1, receive_size)
        self._idle_timeout = idle_timeout
        self._tls = tls
        self._logger = logger
        self._stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(4096, socket_buffer))
            self._listener.bind((address, port))
            self._listener.listen(128)
            self._listener.settimeout(POLL_SECONDS)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True, name=f"ListenTCP:{self.port} accept")
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=POLL_SECONDS):
                continue  # at the connection limit: leave clients in the backlog
            try:
                conn, peer = self._listener.accept()
            except (TimeoutError, OSError):
                self._slots.release()
                continue
            thread = threading.Thread(target=self._serve, args=(conn, peer), daemon=True,
                                      name=f"ListenTCP:{self.port} {peer[0]}:{peer[1]}")
            with self._lock:
                self._connections.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket, peer: tuple[str, int]) -> None:
        try:
            certificate = None
            if self._tls is not None:
                conn.settimeout(_HANDSHAKE_SECONDS)
                raw, conn = conn, self._tls.wrap_socket(conn, server_side=True)
                with self._lock:
                    self._connections.discard(raw)
                    self._connections.add(conn)
                der = conn.getpeercert(binary_form=True)
                certificate = certificate_dn(der) if der else None
            conn.settimeout(POLL_SECONDS)
            self._read(conn, peer, certificate)
        except (OSError, ssl.SSLError, ValueError) as exc:
            if not self._stopping.is_set():
                self._logger.warning(f"connection from {peer[0]}:{peer[1]} failed: {exc}")
        finally:
            with self._lock:
                self._connections.discard(conn)
            try:
                conn.close()
            finally:
                self._slots.release()

    def _read(self, conn: socket.socket, peer: tuple[str, int], certificate: tuple[str, str] | None) -> None:
        buffer = bytearray()
        discarding = False
        last_data = time.monotonic()
        delimiter = self._delimiter
        while not self._stopping.is_set():
            try:
                data = conn.recv(self._receive_size)
            except TimeoutError:
                if self._idle_timeout > 0 and time.monotonic() - last_data >= self._idle_timeout:
                    self._logger.debug(f"closing idle connection from {peer[0]}:{peer[1]}")
                    return
                continue
            except ssl.SSLWantReadError:
                continue
            if not data:
                break
            last_data = time.monotonic()
            buffer += data
            while (cut := buffer.find(delimiter)) >= 0:
                frame = bytes(buffer[:cut])
                del buffer[:cut + len(delimiter)]
                if discarding:  # the end of an overlong message
                    discarding = False
                    continue
                if not self.messages.put(Message(peer[0], peer[1], frame, certificate), self._stopping):
                    return
            if len(buffer) > self._max_message:
                if not discarding:
                    self._logger.warning(f"message from {peer[0]}:{peer[1]} is longer than the Receive Buffer Size "
                                         f"({self._max_message} bytes); discarding it")
                discarding = True
                keep = len(delimiter) - 1  # a delimiter may straddle two reads
                del buffer[:len(buffer) - keep if keep else len(buffer)]
        if buffer and not discarding and not self._stopping.is_set():
            # The last message, not followed by a delimiter before the connection closed.
            self.messages.put(Message(peer[0], peer[1], bytes(buffer), certificate), self._stopping)

    def stop(self) -> None:
        """Stop accepting, close every connection and release the port (at once reusable)."""
        self._stopping.set()
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        wait_joined([self._acceptor, *threads], 5.0)


class ListenTCP(Processor):
    """Listens for TCP connections and turns the delimited messages they carry into FlowFiles.

    The server runs on background threads from when the processor starts
    until it stops, bound to Local Network Interface (127.0.0.1 when unset)
    and Port. Incoming bytes are cut at the Batching Message Delimiter (as
    NiFi does, the same delimiter frames received messages and joins batched
    ones; ``\\n`` by default), and each message goes into a queue of at most
    Max Size of Message Queue messages. When it is full, connections are not
    read until triggers make room: the senders are held back by TCP flow
    control, nothing is dropped. A message longer than Receive Buffer Size is
    discarded with a warning.

    Each trigger takes up to Max Batch Size messages and makes one FlowFile
    per sending host: the messages joined by the delimiter, with ``tcp.sender``
    (the sender's address), ``tcp.port`` (the listening port) and, with TLS
    client certificates, ``client.certificate.subject.dn`` and
    ``client.certificate.issuer.dn``; a RECEIVE event
    ``tcp://<sender>:<port>``.

    When the processor stops, the port is released at once (SO_REUSEADDR) and
    every connection is closed; messages already queued stay for the next start.
    Messages taken by a session that is then rolled back are queued again.

    Differences from NiFi: without Local Network Interface flowyard listens on
    127.0.0.1 only (NiFi: every interface); the property also takes an
    address (IPv4 only). Port 0 picks a free port. Worker Threads is the largest number of
    concurrent connections (NiFi 1.x's "Max Number of TCP Connections"; NiFi 2
    uses it for Netty worker threads). Data left after the last delimiter when
    a client closes is delivered as a last message (NiFi drops it). A port that
    cannot be bound keeps the processor from starting (NiFi logs an error and
    runs without a server). Messages queued when flowyard exits are lost, as
    in NiFi. Pool Receive Buffers is accepted and ignored.
    """

    spec = ProcessorSpec(
        description=(
            "Accepts TCP connections and turns the delimited messages they carry into FlowFiles, one message per "
            "FlowFile by default or several per FlowFile with a larger Max Batch Size. Receive Buffer Size must hold "
            "the longest message expected. An SSL Context Service makes it accept TLS connections only."
        ),
        tags=("listen", "tcp", "tls", "ssl", "network", "socket", "ingest", "source"),
        properties=(LOCAL_NETWORK_INTERFACE, RECEIVE_BUFFER_SIZE, MAX_MESSAGE_QUEUE_SIZE, MAX_SOCKET_BUFFER_SIZE,
                    CHARACTER_SET, WORKER_THREADS, MAX_BATCH_SIZE, BATCHING_MESSAGE_DELIMITER, LISTEN_PORT,
                    IDLE_CONNECTION_TIMEOUT, POOL_RECEIVE_BUFFERS, SSL_CONTEXT, CLIENT_AUTH),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("tcp.sender", "The address of the client that sent the messages."),
            ("tcp.port", "The port the messages arrived on."),
            ("client.certificate.issuer.dn", "With mutual TLS: the Distinguished Name of the issuer of the client's "
                                             "certificate."),
            ("client.certificate.subject.dn", "With mutual TLS: the Distinguished Name of the subject of the client's "
                                              "certificate."),
        ),
    )

    def __init__(self) -> None:
        self._server: TcpMessageServer | None = None
        self._messages: MessageQueue | None = None
        self._delimiter = b"\n"

    @property
    def listening_port(self) -> int:
        """The port the server listens on (0 when it is not running)."""
        return self._server.port if self._server is not None else 0

    def on_scheduled(self, context: ProcessContext) -> None:
        """Bind the port and start the server. Raises (the processor does not start) when it cannot bind."""
        capacity = context.property(MAX_MESSAGE_QUEUE_SIZE).as_int()
        if self._messages is None or self._messages.capacity != capacity:
            self._messages = MessageQueue(capacity)
        charset = context.property(CHARACTER_SET).as_str()
        self._delimiter = unescape_delimiter(context.property(BATCHING_MESSAGE_DELIMITER).as_str()).encode(charset)
        try:
            tls = None
            if context.property(SSL_CONTEXT).is_set:
                service = context.property(SSL_CONTEXT).as_controller_service(SSLContextService)
                tls = service.create_server_context(client_auth=context.property(CLIENT_AUTH).as_str())
            address = bind_address(context)
            port = int(context.property(LISTEN_PORT).evaluate(None).as_str().strip())
            receive = context.property(RECEIVE_BUFFER_SIZE).as_data_size()
            self._server = TcpMessageServer(
                address, port, self._messages, delimiter=self._delimiter, max_message=receive, receive_size=receive,
                socket_buffer=context.property(MAX_SOCKET_BUFFER_SIZE).as_data_size(),
                max_connections=context.property(WORKER_THREADS).as_int(),
                idle_timeout=context.property(IDLE_CONNECTION_TIMEOUT).as_duration(), tls=tls, logger=context.logger,
            )
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise ConfigurationError(f"ListenTCP cannot listen: {exc}") from exc
        context.logger.info(f"listening on {address}:{self._server.port}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Stop the server and release the port."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Batch up to Max Batch Size queued messages into FlowFiles, one per sender."""
        if self._messages is None or self._server is None:
            return
        messages = take_for_session(session, self._messages, context.property(MAX_BATCH_SIZE).as_int(),
                                    _TRIGGER_WAIT, context.logger)
        if messages:
            emit_batches(session, messages, self._delimiter, "tcp", self._server.port, SUCCESS)
