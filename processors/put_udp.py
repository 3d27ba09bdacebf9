"""PutUDP: send each FlowFile's content as one UDP datagram."""

from __future__ import annotations

import socket
import threading
import time

from flowyard.processors.put_tcp import HOSTNAME, IDLE_CONNECTION_EXPIRATION, MAX_SOCKET_SEND_BUFFER_SIZE, PORT, TIMEOUT
from flowyard.runtime.sdk import (
    InputRequirement,
    ProcessContext,
    Processor,
    ProcessorSpec,
    ProcessSession,
    Relationship,
)

__all__ = ["MAX_DATAGRAM", "PutUDP"]

MAX_DATAGRAM = 65507
"""The largest UDP payload over IPv4."""

SUCCESS = Relationship("success", "FlowFiles whose content was sent as a datagram.")
FAILURE = Relationship("failure", "FlowFiles that could not be sent, or are too large for one datagram (penalized).")


class PutUDP(Processor):
    """Sends the content of each FlowFile as one datagram to Hostname:Port.

    The socket is connected to the destination (so the operating system
    reports an unreachable port on the next send) and reused until it has
    been idle for Idle Connection Expiration or the processor stops. A
    FlowFile larger than a datagram can carry (65507 bytes), or one that
    cannot be sent (unknown host, port reported unreachable, network error),
    goes to failure, penalized, and the processor yields, as in NiFi. Sent
    FlowFiles get a SEND event ``udp://host:port``; an empty FlowFile goes
    to success without a datagram (NiFi's Netty sender writes none). UDP itself gives no
    delivery guarantee: success means the datagram left this host.
    """

    spec = ProcessorSpec(
        description=(
            "Sends the content of each FlowFile as a single UDP datagram to a host and port. Content larger than a "
            "datagram can carry (just under 64 KB) cannot be sent, and the FlowFile goes to failure."
        ),
        tags=("remote", "egress", "put", "udp", "network", "socket", "datagram"),
        properties=(HOSTNAME, PORT, MAX_SOCKET_SEND_BUFFER_SIZE, IDLE_CONNECTION_EXPIRATION, TIMEOUT),
        relationships=(SUCCESS, FAILURE),
        input_requirement=InputRequirement.REQUIRED,
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._destination: tuple[str, int] | None = None
        self._last_used = 0.0

    def on_stopped(self, context: ProcessContext) -> None:
        """Close the socket."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            finally:
                self._socket = None

    def _open(self, context: ProcessContext, host: str, port: int) -> socket.socket:
        expiration = context.property(IDLE_CONNECTION_EXPIRATION).evaluate(None).as_duration()
        if self._socket is not None and (self._destination != (host, port) or (
                expiration > 0 and time.monotonic() - self._last_used > expiration)):
            self._close()
        if self._socket is None:
            address = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_DGRAM)[0]
            sock = socket.socket(address[0], socket.SOCK_DGRAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF,
                                max(4096, context.property(MAX_SOCKET_SEND_BUFFER_SIZE).as_data_size()))
                sock.connect(address[4])
            except BaseException:
                sock.close()
                raise
            self._socket = sock
            self._destination = (host, port)
        timeout = context.property(TIMEOUT)
        self._socket.settimeout(timeout.evaluate(None).as_duration() if timeout.is_set else None)
        return self._socket

    def on_trigger(self, context: ProcessContext, session: ProcessSession) -> None:
        """Send one FlowFile as a datagram."""
        ff = session.get()
        if ff is None:
            return
        transit = "udp://" + (context.property(HOSTNAME).raw or "") + ":" + (context.property(PORT).raw or "")
        with self._lock:
            try:
                host = context.property(HOSTNAME).evaluate(None).as_str().strip()
                port = int(context.property(PORT).evaluate(None).as_str().strip())
                transit = f"udp://{host}:{port}"
                if ff.size > MAX_DATAGRAM:
                    raise ValueError(f"content of {ff.size} bytes is larger than a datagram can carry "
                                     f"({MAX_DATAGRAM} bytes)")
                sock = self._open(context, host, port)
                content = session.read_bytes(ff)
                if content:  # NiFi's Netty sender writes no datagram for empty content
                    sock.send(content)
                self._last_used = time.monotonic()
            except (OSError, ValueError) as exc:
                self._close()
                context.logger.error(f"Send Failed FlowFile[uuid={ff.uuid}, size={ff.size}] to {transit}: {exc}")
                session.transfer(session.penalize(ff), FAILURE)
                context.yield_()
                return
        session.provenance.send(ff, transit)
        session.transfer(ff, SUCCESS)
