from __future__ import annotations

import socket
import time
from collections.abc import Mapping

import pytest

from flowyard.processors.listen_udp import ListenUDP
from flowyard.processors.put_udp import PutUDP
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

pytestmark = pytest.mark.integration


def listener(properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(ListenUDP)
    r.set_property("Port", "0")
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    r.run(1, stop_on_finish=False)
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


def client() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_datagram_becomes_a_flowfile() -> None:
    r = listener()
    port = port_of(r)
    with client() as c:
        c.sendto(b"one", ("127.0.0.1", port))
        c.sendto(b"two\n", ("127.0.0.1", port))
        sender_port = c.getsockname()[1]
    flowfiles = receive(r, 2)
    r.stop()
    assert [ff.content for ff in flowfiles] == [b"one", b"two\n"]
    for ff in flowfiles:
        assert ff.attributes["udp.sender"] == "127.0.0.1"
        assert ff.attributes["udp.sender.port"] == str(sender_port)
        assert ff.attributes["udp.port"] == str(port)
    assert r.provenance_events(ProvenanceEventType.RECEIVE)[0].transit_uri == f"udp://127.0.0.1:{port}"


def test_batching_joins_datagrams_with_the_delimiter() -> None:
    r = listener({"Max Batch Size": "10", "Batching Message Delimiter": "\\t"})
    port = port_of(r)
    with client() as c:
        for word in (b"a", b"b", b"c"):
            c.sendto(word, ("127.0.0.1", port))
    deadline = time.monotonic() + 5
    joined = b""
    while joined.count(b"\t") + len(r.flowfiles_for("success")) < 3 and time.monotonic() < deadline:
        r.run(1, stop_on_finish=False)
        joined = b"\t".join(ff.content for ff in r.flowfiles_for("success"))
    r.stop()
    assert joined == b"a\tb\tc"


def test_full_queue_drops_datagrams_with_a_counted_warning() -> None:
    r = listener({"Max Size of Message Queue": "3"})
    port = port_of(r)
    with client() as c:
        for i in range(20):
            c.sendto(b"d%d" % i, ("127.0.0.1", port))
    deadline = time.monotonic() + 5
    server = r.processor._server  # type: ignore[attr-defined]
    while len(server.messages) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.1)  # the rest arrive and are dropped
    r.run(1, stop_on_finish=False)
    r.stop()
    warnings = [m for level, m in r.bulletins if level == "WARNING" and "dropped" in m]
    assert warnings and "17 datagram(s)" in warnings[0]
    assert len(r.flowfiles_for("success")) == 1


def test_sending_host_and_port_filter_other_senders() -> None:
    with client() as wanted, client() as other:
        r = listener({"Sending Host": "127.0.0.1", "Sending Host Port": str(wanted.getsockname()[1])})
        port = port_of(r)
        other.sendto(b"ignored", ("127.0.0.1", port))
        wanted.sendto(b"accepted", ("127.0.0.1", port))
        (ff,) = receive(r, 1)
        r.run(2, stop_on_finish=False)
        r.stop()
    assert ff.content == b"accepted"
    assert len(r.flowfiles_for("success")) == 1


def test_port_is_released_on_stop() -> None:
    r = listener()
    port = port_of(r)
    r.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("properties", "valid"),
    [({"Sending Host": "127.0.0.1"}, False), ({"Sending Host Port": "1234"}, False),
     ({"Sending Host": "127.0.0.1", "Sending Host Port": "1234"}, True), ({"Port": "-1"}, False),
     ({"Message Delimiter": ","}, True)],
)
def test_listen_validation(properties: Mapping[str, str], valid: bool) -> None:
    r = ProcessorRunner(ListenUDP)
    r.set_property("Port", "0")
    for name, value in properties.items():
        r.set_property(name, value)
    if valid:
        r.assert_valid()
    else:
        r.assert_not_valid()


# -- PutUDP -------------------------------------------------------------------------------


def sender(port: int, properties: Mapping[str, str] | None = None) -> ProcessorRunner:
    r = ProcessorRunner(PutUDP)
    r.set_property("Hostname", "127.0.0.1")
    r.set_property("Port", str(port))
    for name, value in (properties or {}).items():
        r.set_property(name, value)
    return r


def test_put_udp_sends_each_flowfile_as_a_datagram() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        port = server.getsockname()[1]
        r = sender(port)
        r.enqueue(b"first")
        r.enqueue(b"x" * 65507)
        r.run(2)
        assert server.recv(70000) == b"first"
        assert server.recv(70000) == b"x" * 65507
    r.assert_all_transferred("success", 2)
    assert r.provenance_events(ProvenanceEventType.SEND)[0].transit_uri == f"udp://127.0.0.1:{port}"


def test_put_udp_too_large_goes_to_failure_penalized() -> None:
    r = sender(free_udp_port())
    r.enqueue(b"x" * 65508)
    r.run()
    r.assert_all_transferred("failure", 1)
    assert r.flowfiles_for("failure")[0].is_penalized(r.clock())
    assert r.yield_count == 1


def test_put_udp_unreachable_port_goes_to_failure() -> None:
    r = sender(free_udp_port())
    r.enqueue_many((b"probe %d" % i, {}) for i in range(5))
    r.run(5)
    # the first datagram leaves; the ICMP "port unreachable" it causes fails a later send
    assert len(r.flowfiles_for("failure")) >= 1


def test_put_udp_unknown_host_goes_to_failure() -> None:
    r = sender(9, {"Hostname": "no-such-host.invalid"})
    r.enqueue(b"x")
    r.run()
    r.assert_all_transferred("failure", 1)


def test_put_udp_to_listen_udp_over_loopback() -> None:
    listen = listener()
    put = sender(port_of(listen))
    payloads = [b"datagram %d" % i for i in range(20)]
    put.enqueue_many((p, {}) for p in payloads)
    put.run(20)
    put.assert_all_transferred("success", 20)
    received = receive(listen, 20)
    listen.stop()
    assert [ff.content for ff in received] == payloads


# -- NiFi's TestListenUDP ------------------------------------------------------------------------------------


def test_nifi_custom_validation() -> None:
    r = ProcessorRunner(ListenUDP)
    r.set_property("Port", "1")
    r.assert_valid()
    r.set_property("Sending Host", "localhost")
    r.assert_not_valid()
    r.set_property("Sending Host Port", "1234")
    r.assert_valid()
    r.set_property("Sending Host", "")
    r.assert_not_valid()


def _nifi_run(r: ProcessorRunner, sock: socket.socket, count: int, expected: int) -> list[MockFlowFile]:
    port = port_of(r)
    for i in range(1, count + 1):
        sock.sendto(b"This is message %d" % i, ("127.0.0.1", port))
    server = r.processor._server  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while len(server.messages) < min(count, expected) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # the rest arrive (and are dropped when the queue is full)
    r.run(expected, stop_on_finish=False, initialize=False)
    r.stop()
    r.assert_all_transferred("success", expected)
    return r.flowfiles_for("success")


def _verify(r: ProcessorRunner, flowfiles: list[MockFlowFile], port: int) -> None:
    for i, ff in enumerate(flowfiles, 1):
        ff.assert_content_equals(b"This is message %d" % i)
        assert ff.attributes["udp.port"] == str(port)
        assert ff.attributes["udp.sender"]
        assert len(ff.attributes["udp.sender.port"]) == 5  # an ephemeral port
    events = r.provenance_events()
    assert len(events) == len(flowfiles)
    assert all(e.event_type == ProvenanceEventType.RECEIVE and e.transit_uri.startswith("udp://") for e in events)


def test_nifi_default_behavior() -> None:
    r = listener()
    port = port_of(r)
    with client() as c:
        flowfiles = _nifi_run(r, c, 15, 15)
    _verify(r, flowfiles, port)


def test_nifi_sending_more_than_queue_size() -> None:
    r = listener({"Max Size of Message Queue": "3"})
    port = port_of(r)
    with client() as c:
        flowfiles = _nifi_run(r, c, 20, 3)
    _verify(r, flowfiles, port)


def test_nifi_batching_single_sender() -> None:
    r = listener({"Batching Message Delimiter": "NN", "Max Batch Size": "3"})
    with client() as c:
        flowfiles = _nifi_run(r, c, 5, 2)
    assert [ff.content for ff in flowfiles] == [b"This is message 1NNThis is message 2NNThis is message 3",
                                                b"This is message 4NNThis is message 5"]
    assert len(r.provenance_events(ProvenanceEventType.RECEIVE)) == 2


def test_nifi_batching_with_different_senders() -> None:
    r = listener({"Max Batch Size": "10"})
    port = port_of(r)
    two = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    two.bind(("127.0.0.2", 0))  # another host of the loopback range: batches are kept per sending host
    with client() as one, two:
        for sock in (one, one, two, two):
            sock.sendto(b"test message", ("127.0.0.1", port))
        server = r.processor._server  # type: ignore[attr-defined]
        deadline = time.monotonic() + 5
        while len(server.messages) < 4 and time.monotonic() < deadline:
            time.sleep(0.005)
    r.run(1, stop_on_finish=False, initialize=False)
    r.stop()
    r.assert_all_transferred("success", 2)  # one FlowFile per sender
    assert sorted(ff.content for ff in r.flowfiles_for("success")) == [b"test message\ntest message"] * 2
    assert len(r.provenance_events(ProvenanceEventType.RECEIVE)) == 2


def test_nifi_run_when_no_events_available() -> None:
    r = listener({"Max Batch Size": "10"})
    r.run(5)
    r.assert_all_transferred("success", 0)


def test_nifi_with_sending_host_and_port_same_as_sender() -> None:
    with client() as c:
        r = listener({"Sending Host": "localhost", "Sending Host Port": str(c.getsockname()[1])})
        port = port_of(r)
        flowfiles = _nifi_run(r, c, 6, 6)
    _verify(r, flowfiles, port)


# -- NiFi's TestPutUDP ---------------------------------------------------------------------------------------

NIFI_VALID_FILES = [b"FIRST", b"SECOND", b"12345678", b"343424222", "!@\u00a3$%^&*()_+:|{}[];\\".encode()]


def _datagrams(server: socket.socket, wait: float = 0.2) -> list[bytes]:
    server.settimeout(wait)
    received = []
    try:
        while True:
            received.append(server.recv(65536))
    except TimeoutError:
        return received


def _udp_server() -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    return server


@pytest.mark.parametrize(
    "items",
    [pytest.param(NIFI_VALID_FILES, id="send"), pytest.param([b"x" * 32768 + b"\n"], id="send-large-file")],
)
def test_nifi_put_udp_send(items: list[bytes]) -> None:
    with _udp_server() as server:
        r = sender(server.getsockname()[1])
        r.assert_valid()
        for item in items:
            r.enqueue(item)
            r.run()
        assert _datagrams(server) == items
    r.assert_all_transferred("success", len(items))
    r.assert_queue_empty()


def test_nifi_put_udp_send_empty_file_sends_nothing() -> None:
    with _udp_server() as server:
        r = sender(server.getsockname()[1])
        r.enqueue(b"")
        r.run()
        assert _datagrams(server, 0.05) == []
    r.assert_all_transferred("success", 1)
    r.assert_queue_empty()


def test_nifi_put_udp_change_properties_and_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("server.address", "127.0.0.1")
    r = ProcessorRunner(PutUDP)
    r.set_property("Hostname", "${server.address}")
    for _ in range(3):
        r.clear_transfer_state()
        with _udp_server() as server:
            r.set_property("Port", str(server.getsockname()[1]))
            r.assert_valid()
            for item in NIFI_VALID_FILES:
                r.enqueue(item)
                r.run()
            assert _datagrams(server) == NIFI_VALID_FILES
        r.assert_all_transferred("success", len(NIFI_VALID_FILES))
    r.assert_queue_empty()
