from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from flowyard_http_testkit import make_pki

from flowyard.processors.listen_tcp import ListenTCP
from flowyard.processors.put_tcp import PutTCP
from flowyard.processors.ssl_context_service import StandardSSLContextService
from flowyard.runtime.sdk import FlowyardError, ProvenanceEventType
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

pytestmark = pytest.mark.integration


def listener(properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ListenTCP)
    r.set_property("Port", "0")
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    r.run(1, stop_on_finish=False)  # starts the server
    return r


def port_of(r: ProcessorRunner) -> int:
    port = r.processor.listening_port  # type: ignore[attr-defined]
    assert port > 0
    return int(port)


def receive(r: ProcessorRunner, count: int, timeout: float = 5.0) -> list[MockFlowFile]:
    deadline = time.monotonic() + timeout
    while len(r.flowfiles_for("success")) < count and time.monotonic() < deadline:
        r.run(1, stop_on_finish=False)
    return r.flowfiles_for("success")


def send(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_line_becomes_a_flowfile() -> None:
    r = listener()
    port = port_of(r)
    send(port, b"one\ntwo\n")
    flowfiles = receive(r, 2)
    r.stop()
    assert [ff.content for ff in flowfiles] == [b"one", b"two"]
    for ff in flowfiles:
        assert ff.attributes["tcp.sender"] == "127.0.0.1"
        assert ff.attributes["tcp.port"] == str(port)
    events = r.provenance_events(ProvenanceEventType.RECEIVE)
    assert events and events[0].transit_uri == f"tcp://127.0.0.1:{port}"


def test_batching_joins_messages_of_one_sender_with_the_delimiter() -> None:
    r = listener({"Max Batch Size": "10", "Batching Message Delimiter": "|"})
    send(port_of(r), b"a|b|c|")
    (ff,) = receive(r, 1)
    deadline = time.monotonic() + 5
    content = ff.content
    while content.count(b"|") < 2 and time.monotonic() < deadline:  # the lines may arrive in several batches
        r.run(1, stop_on_finish=False)
        content = b"|".join(f.content for f in r.flowfiles_for("success"))
    r.stop()
    assert content == b"a|b|c"


def test_last_message_without_delimiter_is_delivered_at_close() -> None:
    r = listener()
    send(port_of(r), b"x\nno end")
    flowfiles = receive(r, 2)
    r.stop()
    assert [ff.content for ff in flowfiles] == [b"x", b"no end"]


def test_overlong_message_is_discarded_and_the_next_kept() -> None:
    r = listener({"Receive Buffer Size": "10 B"})
    send(port_of(r), b"short\n" + b"L" * 100 + b"\nafter\n")
    flowfiles = receive(r, 2)
    r.stop()
    assert [ff.content for ff in flowfiles] == [b"short", b"after"]
    assert any("longer than the Receive Buffer Size" in m for _, m in r.bulletins)


def test_full_queue_applies_back_pressure_without_losing_messages() -> None:
    r = listener({"Max Size of Message Queue": "2", "Max Batch Size": "1"})
    port = port_of(r)
    lines = [b"m%d" % i for i in range(50)]
    sender = threading.Thread(target=send, args=(port, b"\n".join(lines) + b"\n"), daemon=True)
    sender.start()
    time.sleep(0.2)  # give the server time to fill its queue
    assert len(r.processor._messages) <= 2  # type: ignore[attr-defined]
    flowfiles = receive(r, 50, timeout=10)
    sender.join(5)
    r.stop()
    assert [ff.content for ff in flowfiles] == lines


def test_connection_limit_holds_further_clients_in_the_backlog() -> None:
    r = listener({"Max Number of TCP Connections": "1"})
    port = port_of(r)
    first = socket.create_connection(("127.0.0.1", port), timeout=5)
    second = socket.create_connection(("127.0.0.1", port), timeout=5)  # accepted by the kernel, not served
    second.sendall(b"second\n")
    first.sendall(b"first\n")
    (ff,) = receive(r, 1)
    assert ff.content == b"first"
    r.run(3, stop_on_finish=False)
    assert len(r.flowfiles_for("success")) == 1
    first.close()
    flowfiles = receive(r, 2)
    second.close()
    r.stop()
    assert [f.content for f in flowfiles] == [b"first", b"second"]


def test_idle_connections_are_closed() -> None:
    r = listener({"Idle Connection Timeout": "200 ms"})
    client = socket.create_connection(("127.0.0.1", port_of(r)), timeout=5)
    client.settimeout(5)
    assert client.recv(1) == b""  # closed by the server
    client.close()
    r.stop()


def test_port_is_released_on_stop_and_reusable_at_once() -> None:
    port = free_port()
    r = listener({"Port": str(port)})
    send(port, b"a\n")
    receive(r, 1)
    r.stop()
    with pytest.raises(ConnectionRefusedError):
        send(port, b"b\n")
    again = listener({"Port": str(port)})
    send(port, b"c\n")
    assert [ff.content for ff in receive(again, 1)] == [b"c"]
    again.stop()


def test_a_port_in_use_keeps_the_processor_from_starting() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = ProcessorRunner(ListenTCP)
        r.set_property("Port", str(busy.getsockname()[1]))
        with pytest.raises(FlowyardError, match="cannot listen"):
            r.run()


@pytest.mark.parametrize(
    ("properties", "valid"),
    [({"Port": "70000"}, False), ({"Port": "x"}, False), ({"Max Batch Size": "0"}, False),
     ({"Character Set": "nope"}, False), ({"Message Delimiter": "\\r\\n"}, True), ({"Worker Threads": "4"}, True)],
)
def test_listen_validation(properties: Mapping[str, str], valid: bool) -> None:
    r = ProcessorRunner(ListenTCP)
    r.set_property("Port", "0")
    for name, value in properties.items():
        r.set_property(name, value)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


# -- PutTCP -------------------------------------------------------------------------------


def sender(port: int, properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(PutTCP)
    r.set_property("Hostname", "127.0.0.1")
    r.set_property("Port", str(port))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


class Sink:
    """A TCP server recording what each accepted connection sent."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.05)
        self.port = int(self.server.getsockname()[1])
        self.connections: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            data = b""
            with conn:
                conn.settimeout(5)
                while chunk := conn.recv(65536):
                    data += chunk
            self.connections.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.server.close()


@pytest.mark.parametrize(
    ("per_flowfile", "connections"),
    [("false", [b"a\r\nb\r\n"]), ("true", [b"a\r\n", b"b\r\n"])],
)
def test_put_tcp_delimiter_and_connection_per_flowfile(per_flowfile: str, connections: list[bytes]) -> None:
    sink = Sink()
    r = sender(sink.port, {"Outgoing Message Delimiter": "\\r\\n", "Connection Per FlowFile": per_flowfile})
    r.enqueue(b"a")
    r.enqueue(b"b")
    r.run(2)  # on_stopped closes the kept connection
    deadline = time.monotonic() + 5
    while len(sink.connections) < len(connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    assert sink.connections == connections
    r.assert_all_transferred("success", 2)
    ff = r.flowfiles_for("success")[0]
    assert ff.attributes["record.count.transmitted"] == "0"
    (event, _) = r.provenance_events(ProvenanceEventType.SEND)
    assert event.transit_uri == f"tcp://127.0.0.1:{sink.port}"


def test_put_tcp_delimiter_from_attributes(evaluator: object) -> None:
    sink = Sink()
    r = ProcessorRunner(PutTCP, evaluator=evaluator)  # type: ignore[arg-type]
    r.set_property("Hostname", "127.0.0.1")
    r.set_property("Port", str(sink.port))
    r.set_property("Outgoing Message Delimiter", "${sep}")
    r.enqueue(b"x", {"sep": ";"})
    r.run()
    deadline = time.monotonic() + 5
    while not sink.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    assert sink.connections == [b"x;"]


def test_put_tcp_connection_refused_goes_to_failure_penalized() -> None:
    r = sender(free_port())
    r.enqueue(b"data")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())
    assert r.yield_count == 1
    assert any("Send Failed" in m for _, m in r.bulletins)


def test_put_tcp_unknown_host_goes_to_failure() -> None:
    r = sender(9, {"Hostname": "no-such-host.invalid"})
    r.enqueue(b"data")
    r.run()
    r.assert_all_transferred("failure", 1)


def test_put_tcp_reconnects_after_the_peer_closed() -> None:
    sink = Sink()
    r = sender(sink.port, {"Outgoing Message Delimiter": "\\n"})
    r.enqueue(b"1")
    r.run(stop_on_finish=False)
    # the server closes its side of the kept connection
    deadline = time.monotonic() + 5
    r.processor._connection.shutdown(socket.SHUT_WR)  # type: ignore[attr-defined]
    while not sink.connections and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    r.enqueue(b"2")
    r.run()
    deadline = time.monotonic() + 5
    while len(sink.connections) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    assert sink.connections == [b"1\n", b"2\n"]
    r.assert_all_transferred("success", 2)


@pytest.mark.parametrize(
    ("properties", "valid"),
    [({}, True), ({"Port": "0"}, False), ({"Transmission Strategy": "RECORD_ORIENTED"}, False),
     ({"Transmission Strategy": "Record-oriented"}, False), ({"Timeout": "soon"}, False)],
)
def test_put_tcp_validation(properties: Mapping[str, str], valid: bool) -> None:
    r = sender(1234, properties)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


# -- the two together ---------------------------------------------------------------------


def test_put_tcp_to_listen_tcp_over_loopback() -> None:
    listen = listener({"Max Batch Size": "1"})
    port = port_of(listen)
    put = sender(port, {"Outgoing Message Delimiter": "\\n"})
    payloads = [b"event %d" % i for i in range(20)]
    put.enqueue_many((p, {}) for p in payloads)
    put.run(20)
    put.assert_all_transferred("success", 20)
    received = receive(listen, 20)
    listen.stop()
    assert [ff.content for ff in received] == payloads


def test_put_tcp_to_listen_tcp_with_mutual_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    listen = ProcessorRunner(ListenTCP)
    listen.add_controller_service("server-tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM",
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    listen.enable_controller_service("server-tls")
    for name, value in {"Port": "0", "SSL Context Service": "server-tls", "Client Auth": "REQUIRED"}.items():
        listen.set_property(name, value)
    listen.run(1, stop_on_finish=False)
    put = sender(port_of(listen), {"Outgoing Message Delimiter": "\\n", "SSL Context Service": "client-tls"})
    put.add_controller_service("client-tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.client_pem), "Keystore Type": "PEM",
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    put.enable_controller_service("client-tls")
    put.enqueue(b"secret")
    put.enqueue(b"again")
    put.run(1, stop_on_finish=False)
    first = put.processor._connection  # type: ignore[attr-defined]
    select.select([first], [], [], 1.0)  # TLS 1.3 session tickets arrive: readable, yet not closed
    put.run(1, stop_on_finish=False)
    assert first is not None and put.processor._connection is first  # type: ignore[attr-defined]  # reused
    put.stop()
    put.assert_all_transferred("success", 2)
    received = receive(listen, 2)
    listen.stop()
    assert [f.content for f in received] == [b"secret", b"again"]
    ff = received[0]
    assert ff.attributes["client.certificate.subject.dn"].startswith("CN=client")
    assert ff.attributes["client.certificate.issuer.dn"].startswith("CN=flowyard test CA")


def test_put_tcp_without_client_certificate_is_refused_by_listen_tcp(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    listen = ProcessorRunner(ListenTCP)
    listen.add_controller_service("server-tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM",
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    listen.enable_controller_service("server-tls")
    for name, value in {"Port": "0", "SSL Context Service": "server-tls"}.items():
        listen.set_property(name, value)
    listen.run(1, stop_on_finish=False)
    put = sender(port_of(listen), {"Outgoing Message Delimiter": "\\n"})  # plain TCP to a TLS port
    put.enqueue(b"not secret")
    put.run()
    listen.run(3, stop_on_finish=False)
    listen.stop()
    assert listen.flowfiles_for("success") == []


def test_messages_of_a_rolled_back_session_are_queued_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import flowyard.processors.listen_tcp as module

    r = listener()
    send(port_of(r), b"precious\n")
    original = module.emit_batches

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("content repository unavailable")

    monkeypatch.setattr(module, "emit_batches", broken)
    deadline = time.monotonic() + 5
    while not r.errors and time.monotonic() < deadline:
        r.run(1, stop_on_finish=False, raise_errors=False)
    assert r.errors
    monkeypatch.setattr(module, "emit_batches", original)
    (ff,) = receive(r, 1)
    r.stop()
    assert ff.content == b"precious"


def test_put_tcp_failing_expression_goes_to_failure(evaluator: object) -> None:
    r = ProcessorRunner(PutTCP, evaluator=evaluator)  # type: ignore[arg-type]
    r.set_property("Hostname", "127.0.0.1")
    r.set_property("Port", "9")
    r.set_property("Outgoing Message Delimiter", "${boom}")
    r.enqueue(b"x")
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())


# -- NiFi's TestListenTCP ------------------------------------------------------------------------------------

NIFI_MESSAGES = b"".join(b"This is message %d\n" % i for i in range(1, 6))


def _tls_listener(tmp_path: Path, client_auth: str | None) -> tuple[ProcessorRunner, object]:
    pki = make_pki(tmp_path / "pki")
    r = ProcessorRunner(ListenTCP)
    r.add_controller_service("server-tls", StandardSSLContextService, {
        "Keystore Filename": str(pki.server_pem), "Keystore Type": "PEM",
        "Truststore Filename": str(pki.ca_pem), "Truststore Type": "PEM"})
    r.enable_controller_service("server-tls")
    r.set_property("Port", "0")
    r.set_property("SSL Context Service", "server-tls")
    if client_auth is not None:
        r.set_property("Client Auth", client_auth)
    return r, pki


def test_nifi_custom_validate(tmp_path: Path) -> None:
    r = ProcessorRunner(ListenTCP)
    r.set_property("Port", "1")
    r.assert_valid()
    r, _ = _tls_listener(tmp_path, "")
    r.assert_not_valid()
    r.set_property("Client Auth", "REQUIRED")
    r.assert_valid()


def test_nifi_run() -> None:
    r = listener()
    send(port_of(r), NIFI_MESSAGES)
    received = receive(r, 5)
    r.stop()
    assert [ff.content for ff in received] == [b"This is message %d" % i for i in range(1, 6)]


def test_nifi_run_batching() -> None:
    r = listener({"Max Batch Size": "3", "Pool Receive Buffers": "False"})
    port = port_of(r)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(NIFI_MESSAGES)
        deadline = time.monotonic() + 5
        while len(r.processor._messages) < 5 and time.monotonic() < deadline:  # type: ignore[attr-defined]
            time.sleep(0.01)
    received = receive(r, 2)
    r.stop()
    assert [ff.content for ff in received] == [b"This is message 1\nThis is message 2\nThis is message 3",
                                               b"This is message 4\nThis is message 5"]


@pytest.mark.parametrize("client_auth", ["REQUIRED", "NONE"])
def test_nifi_run_client_auth(tmp_path: Path, client_auth: str) -> None:
    import ssl

    r, pki = _tls_listener(tmp_path, client_auth)
    r.run(1, stop_on_finish=False)
    context = ssl.create_default_context(cafile=str(pki.ca_pem))  # type: ignore[attr-defined]
    if client_auth == "REQUIRED":
        context.load_cert_chain(str(pki.client_pem))  # type: ignore[attr-defined]
    with socket.create_connection(("127.0.0.1", port_of(r)), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="localhost") as client:
        client.sendall(NIFI_MESSAGES)
    received = receive(r, 5)
    r.stop()
    assert [ff.content for ff in received] == [b"This is message %d" % i for i in range(1, 6)]
    for ff in received:
        if client_auth == "REQUIRED":
            assert ff.attributes["client.certificate.subject.dn"].startswith("CN=client")
            assert ff.attributes["client.certificate.issuer.dn"].startswith("CN=flowyard test CA")
        else:
            assert "client.certificate.subject.dn" not in ff.attributes
            assert "client.certificate.issuer.dn" not in ff.attributes


# -- NiFi's TestPutTCP ---------------------------------------------------------------------------------------

NIFI_VALID_FILES = [b"abcdefghijklmnopqrstuvwxyz", b"zyxwvutsrqponmlkjihgfedcba", b"12345678", b"343424222",
                    "!@\u00a3$%^&*()_+:|{}[];\\".encode()]


def _sent(sink: Sink, connections: int) -> bytes:
    deadline = time.monotonic() + 5
    while len(sink.connections) < connections and time.monotonic() < deadline:
        time.sleep(0.01)
    return b"".join(sink.connections)


@pytest.mark.parametrize(
    ("delimiter", "per_flowfile", "host"),
    [
        pytest.param("\n", "false", "127.0.0.1", id="run-success"),
        pytest.param("\n", "false", "${server.address}", id="server-variable-expression"),
        pytest.param("{delimiter}\r\n", "false", "127.0.0.1", id="multi-char-delimiter"),
        pytest.param("\n", "true", "127.0.0.1", id="connection-per-flowfile"),
    ],
)
def test_nifi_put_tcp_run_success(monkeypatch: pytest.MonkeyPatch, delimiter: str, per_flowfile: str,
                                  host: str) -> None:
    monkeypatch.setenv("server.address", "127.0.0.1")
    sink = Sink()
    r = sender(sink.port, {"Hostname": host, "Outgoing Message Delimiter": delimiter,
                           "Connection Per FlowFile": per_flowfile})
    r.assert_valid()
    for item in NIFI_VALID_FILES:
        r.enqueue(item)
    r.run(len(NIFI_VALID_FILES))
    data = _sent(sink, len(NIFI_VALID_FILES) if per_flowfile == "true" else 1)
    sink.close()
    r.assert_all_transferred("success", len(NIFI_VALID_FILES))
    r.assert_queue_empty()
    assert data.split(delimiter.encode())[:-1] == NIFI_VALID_FILES


def test_nifi_put_tcp_connection_failure_then_success_again() -> None:
    sink = Sink()
    r = sender(sink.port, {"Outgoing Message Delimiter": "\n"})
    for item in NIFI_VALID_FILES:
        r.enqueue(item)
    r.run(len(NIFI_VALID_FILES))
    assert _sent(sink, 1).split(b"\n")[:-1] == NIFI_VALID_FILES
    sink.close()
    r.clear_transfer_state()
    for item in NIFI_VALID_FILES:
        r.enqueue(item)
    r.run(len(NIFI_VALID_FILES))
    r.assert_queue_empty()
    r.assert_transferred("success", 0)
    sink = Sink()
    r.clear_transfer_state()
    r.set_property("Port", str(sink.port))
    for item in NIFI_VALID_FILES:
        r.enqueue(item)
    r.run(len(NIFI_VALID_FILES))
    assert _sent(sink, 1).split(b"\n")[:-1] == NIFI_VALID_FILES
    sink.close()
    r.assert_all_transferred("success", len(NIFI_VALID_FILES))


def test_nifi_put_tcp_empty_file_and_large_file() -> None:
    sink = Sink()
    r = sender(sink.port, {"Outgoing Message Delimiter": "\n", "Connection Per FlowFile": "true"})
    r.enqueue(b"")
    r.enqueue(b"x" * 32768)
    r.run(2)
    data = _sent(sink, 2)
    sink.close()
    r.assert_all_transferred("success", 2)
    r.assert_queue_empty()
    assert b"x" * 32768 + b"\n" in data


def test_nifi_put_tcp_five_hundred_messages() -> None:
    sink = Sink()
    r = sender(sink.port, {"Outgoing Message Delimiter": "\n"})
    for _ in range(500):
        r.enqueue(b"x" * 64)
    r.run(500)
    data = _sent(sink, 1)
    sink.close()
    r.assert_all_transferred("success", 500)
    assert data == (b"x" * 64 + b"\n") * 500
