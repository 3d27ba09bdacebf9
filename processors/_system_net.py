"""What the socket processors share: NiFi's listener properties, delimiter
escapes, the bind address, and the bounded queue of received messages that
each listener's background threads fill and its triggers drain."""

from __future__ import annotations

import array
import fcntl
import queue
import socket
import struct
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flowyard.runtime.sdk import (
    ComponentLog,
    ExpressionScope,
    FlowFile,
    ProcessContext,
    ProcessSession,
    PropertySpec,
    Relationship,
    validators,
)

__all__ = [
    "BATCHING_MESSAGE_DELIMITER",
    "CHARACTER_SET",
    "LISTEN_PORT",
    "LOCAL_NETWORK_INTERFACE",
    "MAX_BATCH_SIZE",
    "MAX_MESSAGE_QUEUE_SIZE",
    "MAX_SOCKET_BUFFER_SIZE",
    "NOT_EMPTY",
    "RECEIVE_BUFFER_SIZE",
    "Message",
    "MessageQueue",
    "bind_address",
    "emit_batches",
    "take_for_session",
    "unescape_delimiter",
]

#: How long a background thread blocks before it looks at the stop flag again.
POLL_SECONDS = 0.1


def _check_listen_port(value: str) -> str | None:
    text = value.strip()
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        return f"{value!r} is not a valid port: expected a whole number from 0 (any free port) to 65535"
    return None


LOCAL_NETWORK_INTERFACE = PropertySpec(
    key="local-network-interface",
    display_name="Local Network Interface",
    description=(
        "The name of a local network interface (e.g. eth0) or a local address (e.g. 0.0.0.0 for every interface) "
        "to listen on. When not set, flowyard listens on 127.0.0.1 only."
    ),
    validator=validators.NON_EMPTY,
    expression_scope=ExpressionScope.ENVIRONMENT,
)
LISTEN_PORT = PropertySpec(
    key="port",
    display_name="Port",
    description="The local port to listen on. 0 picks a free port (logged when the processor starts).",
    required=True,
    validator=validators.Validator("port", "a port number from 0 to 65535", _check_listen_port),
    expression_scope=ExpressionScope.ENVIRONMENT,
)
RECEIVE_BUFFER_SIZE = PropertySpec(
    key="receive-buffer-size",
    display_name="Receive Buffer Size",
    description=(
        "The size of each receive buffer. For TCP it is also the longest message accepted: a longer one is dropped "
        "with a warning. Size it for the largest messages expected."
    ),
    required=True,
    default="65507 B",
    validator=validators.DATA_SIZE,
)
MAX_MESSAGE_QUEUE_SIZE = PropertySpec(
    key="max-size-of-message-queue",
    display_name="Max Size of Message Queue",
    description=(
        "How many received messages may wait in memory for the processor to take them. A larger queue absorbs bursts "
        "better but uses more memory during them."
    ),
    required=True,
    default="10000",
    validator=validators.POSITIVE_INTEGER,
)
MAX_SOCKET_BUFFER_SIZE = PropertySpec(
    key="max-size-of-socket-buffer",
    display_name="Max Size of Socket Buffer",
    description=(
        "The socket receive buffer size to ask the operating system for. Too small a buffer can overflow before it is "
        "read, losing incoming data."
    ),
    required=True,
    default="1 MB",
    validator=validators.DATA_SIZE,
)
CHARACTER_SET = PropertySpec(
    key="character-set",
    display_name="Character Set",
    description="The character set used to encode the delimiter for the received data.",
    required=True,
    default="UTF-8",
    validator=validators.CHARACTER_SET,
)
MAX_BATCH_SIZE = PropertySpec(
    key="max-batch-size",
    display_name="Max Batch Size",
    description=(
        "The most messages put into one FlowFile, joined by the Batching Message Delimiter."
    ),
    required=True,
    default="1",
    validator=validators.POSITIVE_INTEGER,
)
def _check_not_empty(value: str) -> str | None:
    return None if value != "" else "the value is empty"


NOT_EMPTY = validators.Validator("not empty", "any text, whitespace such as a newline included", _check_not_empty)
"""NiFi's NON_EMPTY_VALIDATOR: only the empty string is refused, so a delimiter may be a real newline."""

BATCHING_MESSAGE_DELIMITER = PropertySpec(
    key="message-delimiter",
    display_name="Batching Message Delimiter",
    description=(
        "What goes between messages batched into one FlowFile (see Max Batch Size). \\n, \\r and \\t stand for "
        "newline, carriage return and tab."
    ),
    required=True,
    default="\\n",
    validator=NOT_EMPTY,
    aliases=("Message Delimiter",),
)


def unescape_delimiter(text: str) -> str:
    """NiFi's delimiter escapes: ``\\n``, ``\\r`` and ``\\t`` become the characters."""
    return text.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")


def _interface_ipv4(name: str) -> str | None:
    """The IPv4 address of the network interface ``name`` (Linux), or None."""
    if name not in {n for _, n in socket.if_nameindex()}:
        return None
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        request = array.array("B", struct.pack("256s", name.encode()[:15]))
        fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
        return socket.inet_ntoa(request.tobytes()[20:24])
    except OSError:
        return None
    finally:
        probe.close()


def bind_address(context: ProcessContext) -> str:
    """Where a listener binds: Local Network Interface as an interface name or
    an address; 127.0.0.1 when unset. Raises ``ValueError`` for a name that
    is neither."""
    value = context.property(LOCAL_NETWORK_INTERFACE).evaluate(None).value
    if value is None or not value.strip():
        return "127.0.0.1"
    name = value.strip()
    address = _interface_ipv4(name)
    if address is not None:
        return address
    try:
        return str(socket.getaddrinfo(name, None, socket.AF_INET)[0][4][0])
    except (socket.gaierror, IndexError) as exc:
        raise ValueError(f"{name!r} is neither a network interface nor an address of this host: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Message:
    """One received message and who sent it."""

    sender: str
    sender_port: int
    data: bytes
    certificate: tuple[str, str] | None = None


class MessageQueue:
    """The bounded queue between a listener's socket threads and its triggers."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queue: queue.Queue[Message] = queue.Queue(capacity)

    def put(self, message: Message, stopping: threading.Event) -> bool:
        """Wait for room (back pressure on the sender), unless stopping; False if not queued."""
        while not stopping.is_set():
            try:
                self._queue.put(message, timeout=POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def offer(self, message: Message) -> bool:
        """Queue without waiting; False when full (the caller drops the message)."""
        try:
            self._queue.put_nowait(message)
            return True
        except queue.Full:
            return False

    def take(self, count: int, wait: float) -> list[Message]:
        """Up to ``count`` messages, waiting at most ``wait`` seconds for the first."""
        taken: list[Message] = []
        try:
            taken.append(self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait())
        except queue.Empty:
            return taken
        while len(taken) < count:
            try:
                taken.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return taken

    def give_back(self, messages: Iterable[Message]) -> int:
        """Queue ``messages`` again (a session that took them was rolled back),
        without waiting; returns how many found no room and were lost."""
        lost = 0
        for message in messages:
            if not self.offer(message):
                lost += 1
        return lost

    def __len__(self) -> int:
        return self._queue.qsize()


def take_for_session(
    session: ProcessSession, messages: MessageQueue, count: int, wait: float, logger: ComponentLog,
) -> list[Message]:
    """Take up to ``count`` messages for ``session``; if the session is rolled
    back they are queued again (at the end of the queue)."""
    taken = messages.take(count, wait)
    if taken:
        def give_back(_: BaseException | None) -> None:
            lost = messages.give_back(taken)
            if lost:
                logger.error(f"{lost} received message(s) lost: the session was rolled back and the queue is full")

        session.commit_async(on_failure=give_back)
    return taken


def emit_batches(
    session: ProcessSession, messages: Iterable[Message], delimiter: bytes, protocol: str, port: int,
    relationship: Relationship, *, sender_port_attribute: bool = False, key_by_port: bool = False,
) -> list[FlowFile]:
    """One FlowFile per sender: the messages joined by ``delimiter``, with
    ``<protocol>.sender`` and ``<protocol>.port`` and a RECEIVE event."""
    groups: dict[tuple[str, int], list[Message]] = {}
    for message in messages:
        key = (message.sender, message.sender_port if key_by_port else 0)
        groups.setdefault(key, []).append(message)
    sent = []
    for (sender, _), batch in groups.items():
        if sum(len(m.data) for m in batch) + len(delimiter) * (len(batch) - 1) == 0:
            continue  # an empty FlowFile is not sent, as in NiFi
        pieces: list[bytes] = []
        for i, message in enumerate(batch):
            if i:
                pieces.append(delimiter)
            pieces.append(message.data)
        ff = session.write(session.create(), pieces)
        attributes = {f"{protocol}.sender": sender, f"{protocol}.port": str(port)}
        if sender_port_attribute:
            attributes[f"{protocol}.sender.port"] = str(batch[0].sender_port)
        if batch[0].certificate is not None:
            attributes["client.certificate.subject.dn"], attributes["client.certificate.issuer.dn"] = \
                batch[0].certificate
        ff = session.put_attributes(ff, attributes)
        session.provenance.receive(ff, f"{protocol}://{sender}:{port}")
        session.transfer(ff, relationship)
        sent.append(ff)
    return sent


def wait_joined(threads: Iterable[threading.Thread], timeout: float) -> None:
    """Join ``threads`` within ``timeout`` seconds in all."""
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
