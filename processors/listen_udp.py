"""ListenUDP: receive datagrams and batch them into FlowFiles."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable

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
)
from flowyard.runtime.sdk import (
    ConfigurationError,
    ExpressionScope,
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    PropertySpec,
    Relationship,
    ValidationResult,
    validators,
)

__all__ = ["ListenUDP", "UdpMessageServer"]

_TRIGGER_WAIT = 0.05
#: Drops are reported in one warning at most this often (seconds), with their count.
_DROP_WARNING_INTERVAL = 10.0

SUCCESS = Relationship("success", "FlowFiles of the datagrams received, batched per sending host.")

SENDING_HOST = PropertySpec(
    key="sending-host",
    display_name="Sending Host",
    description=(
        "The address or name of the only host whose datagrams are accepted (together with Sending Host Port). "
        "Environment variables may be used."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
SENDING_HOST_PORT = PropertySpec(
    key="sending-host-port",
    display_name="Sending Host Port",
    description=(
        "The only source port whose datagrams are accepted (together with Sending Host). Environment variables may be "
        "used."
    ),
    validator=validators.PORT,
    expression_scope=ExpressionScope.ENVIRONMENT,
)


class UdpMessageServer:
    """A UDP socket read by one background thread; each datagram is a message.
    When the queue is full, datagrams are dropped and counted (UDP has no way
    to hold the sender back)."""

    def __init__(
        self, address: str, port: int, messages: MessageQueue, *, receive_size: int, socket_buffer: int,
        sender: tuple[str, int] | None,
    ) -> None:
        self.messages = messages
        self._receive_size = max(1, receive_size)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._dropped = 0
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(4096, socket_buffer))
            self._socket.bind((address, port))
            if sender is not None:
                self._socket.connect(sender)  # the kernel then delivers only that sender's datagrams
            self._socket.settimeout(POLL_SECONDS)
        except OSError:
            self._socket.close()
            raise
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"ListenUDP:{self.port}")
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                data, peer = self._socket.recvfrom(self._receive_size)
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                continue  # e.g. ICMP errors reported on a connected socket
            if not self.messages.offer(Message(peer[0], peer[1], data)):
                with self._lock:
                    self._dropped += 1

    def take_dropped(self) -> int:
        """Datagrams dropped for a full queue since the last call."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        return dropped

    def stop(self) -> None:
        """Stop reading and release the port."""
        self._stopping.set()
        self._thread.join(5.0)
        self._socket.close()


class ListenUDP(Processor):
    """Listens for datagrams on Port and turns them into FlowFiles.

    The socket is read by a background thread from when the processor starts
    until it stops, bound to Local Network Interface (127.0.0.1 when unset).
    Each datagram (up to Receive Buffer Size bytes; the rest of a longer one is
    cut off by the socket) is one message in a queue of at most Max Size of
    Message Queue messages; when it is full, further datagrams are dropped and
    counted, and a warning gives the count (at most one every 10 seconds).
    Each trigger takes up to Max Batch Size messages and makes one FlowFile
    per sending host: the
    datagrams joined by the Batching Message Delimiter, with ``udp.sender``,
    ``udp.sender.port`` (of the first datagram) and ``udp.port`` (the listening
    port); a RECEIVE event ``udp://<sender>:<port>``. With Sending Host and
    Sending Host Port, only that sender's datagrams are accepted. Messages
    taken by a session that is then rolled back are queued again.

    Differences from NiFi: without Local Network Interface flowyard listens on
    127.0.0.1 only (NiFi: every interface); the property also takes an
    address (IPv4 only). Port 0 picks a free port. A port that cannot be bound keeps the
    processor from starting. Datagrams queued when the processor stops stay
    for its next start (lost when flowyard exits, as in NiFi).
    """

    spec = ProcessorSpec(
        description=(
            "Receives UDP datagrams on a port and turns them into FlowFiles, one datagram per FlowFile by default or "
            "several per FlowFile with a larger Max Batch Size. Sending Host and Sending Host Port restrict it to one "
            "sender; otherwise datagrams from anywhere are accepted."
        ),
        tags=("ingest", "udp", "listen", "source", "network", "socket", "datagram"),
        properties=(LOCAL_NETWORK_INTERFACE, LISTEN_PORT, RECEIVE_BUFFER_SIZE, MAX_MESSAGE_QUEUE_SIZE,
                    MAX_SOCKET_BUFFER_SIZE, CHARACTER_SET, MAX_BATCH_SIZE, BATCHING_MESSAGE_DELIMITER, SENDING_HOST,
                    SENDING_HOST_PORT),
        relationships=(SUCCESS,),
        input_requirement=InputRequirement.FORBIDDEN,
        writes_attributes=(
            ("udp.sender", "The address of the host that sent the datagrams."),
            ("udp.sender.port", "The port the datagrams were sent from."),
            ("udp.port", "The local port the datagrams arrived on."),
        ),
    )

    def __init__(self) -> None:
        self._server: UdpMessageServer | None = None
        self._messages: MessageQueue | None = None
        self._unreported_drops = 0
        self._last_drop_warning = -float("inf")
        self._delimiter = b"\n"

    @property
    def listening_port(self) -> int:
        """The port the socket is bound to (0 when it is not running)."""
        return self._server.port if self._server is not None else 0

    def validate(self, context: ProcessContext) -> Iterable[ValidationResult]:
        """Sending Host and Sending Host Port go together."""
        host = context.property(SENDING_HOST).value
        port = context.property(SENDING_HOST_PORT).value
        if (host or "").strip() and not (port or "").strip():
            return (ValidationResult(SENDING_HOST_PORT.display_name,
                                     "Must specify Sending Host Port when specifying Sending Host",
                                     SENDING_HOST_PORT.key),)
        if (port or "").strip() and not (host or "").strip():
            return (ValidationResult(SENDING_HOST.display_name,
                                     "Must specify Sending Host when specifying Sending Host Port", SENDING_HOST.key),)
        return ()

    def on_scheduled(self, context: ProcessContext) -> None:
        """Bind the port and start reading. Raises (the processor does not start) when it cannot bind."""
        capacity = context.property(MAX_MESSAGE_QUEUE_SIZE).as_int()
        if self._messages is None or self._messages.capacity != capacity:
            self._messages = MessageQueue(capacity)
        charset = context.property(CHARACTER_SET).as_str()
        self._delimiter = unescape_delimiter(context.property(BATCHING_MESSAGE_DELIMITER).as_str()).encode(charset)
        try:
            sender = None
            if context.property(SENDING_HOST).is_set:
                sender = (context.property(SENDING_HOST).evaluate(None).as_str().strip(),
                          int(context.property(SENDING_HOST_PORT).evaluate(None).as_str().strip()))
            address = bind_address(context)
            self._server = UdpMessageServer(
                address, int(context.property(LISTEN_PORT).evaluate(None).as_str().strip()), self._messages,
                receive_size=context.property(RECEIVE_BUFFER_SIZE).as_data_size(),
                socket_buffer=context.property(MAX_SOCKET_BUFFER_SIZE).as_data_size(), sender=sender,
            )
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"ListenUDP cannot listen: {exc}") from exc
        context.logger.info(f"listening on udp {address}:{self._server.port}")

    def on_stopped(self, context: ProcessContext) -> None:
        """Stop reading and release the port."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            dropped = server.take_dropped() + self._unreported_drops
            self._unreported_drops = 0
            if dropped:
                context.logger.warning(f"dropped {dropped} datagram(s): the message queue was full")

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Batch up to Max Batch Size queued datagrams into FlowFiles, one per sending host."""
        if self._messages is None or self._server is None:
            return
        self._unreported_drops += self._server.take_dropped()
        now = time.monotonic()
        if self._unreported_drops and now - self._last_drop_warning >= _DROP_WARNING_INTERVAL:
            context.logger.warning(f"dropped {self._unreported_drops} datagram(s): the message queue was full "
                                   f"({self._messages.capacity} messages)")
            self._unreported_drops = 0
            self._last_drop_warning = now
        messages = take_for_session(session, self._messages, context.property(MAX_BATCH_SIZE).as_int(),
                                    _TRIGGER_WAIT, context.logger)
        if messages:
            emit_batches(session, messages, self._delimiter, "udp", self._server.port, SUCCESS,
                         sender_port_attribute=True)
