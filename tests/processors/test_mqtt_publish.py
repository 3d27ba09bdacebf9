"""PublishMQTT against the real Mosquitto on 127.0.0.1:1883 (each test on topics of its own)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flowyard.processors.publish_mqtt import PublishMQTT
from flowyard.runtime.sdk import ProvenanceEventType
from flowyard.runtime.sdk.testing import ProcessorRunner

pytestmark = pytest.mark.integration

BROKER = "tcp://127.0.0.1:1883"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Subscriber:
    """A plain paho client that records what arrives on a topic."""

    def __init__(self, topic: str, qos: int = 2) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        self.client.subscribe(topic, qos)
        assert subscribed.wait(5), "no SUBACK"

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(message)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def topic() -> str:
    return f"flowyard-test/{uuid.uuid4().hex}"


@pytest.fixture
def subscriber(topic: str) -> Iterator[Subscriber]:
    sub = Subscriber(topic)
    yield sub
    sub.close()


def publisher(topic: str, qos: str = "1", retain: str = "false", broker: str = BROKER) -> ProcessorRunner:
    runner = ProcessorRunner(PublishMQTT)
    runner.set_property("Broker URI", broker)
    runner.set_property("Topic", topic)
    runner.set_property("Quality of Service", qos)
    runner.set_property("Retain Message", retain)
    runner.set_property("Connection Timeout", "5")
    return runner


@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_published_messages_arrive_with_each_quality_of_service(topic: str, subscriber: Subscriber,
                                                                 qos: str) -> None:
    runner = publisher(topic, qos)
    runner.enqueue("first")
    runner.enqueue(b"\x00binary\xff")
    runner.run()
    runner.assert_all_transferred("success", 2)
    wait_until(lambda: len(subscriber.payloads()) == 2, "two messages")
    assert subscriber.payloads() == [b"first", b"\x00binary\xff"]
    assert [m.qos for m in subscriber.messages] == [int(qos)] * 2
    sends = runner.provenance_events(ProvenanceEventType.SEND)
    assert [e.transit_uri for e in sends] == [f"{BROKER}/{topic}"] * 2


def test_topic_qos_and_retain_come_from_attributes(topic: str, subscriber: Subscriber) -> None:
    runner = publisher("${t}", "${q}", "${r}")
    runner.enqueue("a", {"t": topic, "q": "2", "r": "false"})
    runner.enqueue("b", {"t": topic, "q": "1", "r": "false"})
    runner.run()
    runner.assert_all_transferred("success", 2)
    wait_until(lambda: len(subscriber.messages) == 2, "two messages")
    assert sorted((m.payload, m.qos) for m in subscriber.messages) == [(b"a", 2), (b"b", 1)]


@pytest.mark.parametrize(("attributes", "why"), [
    ({"q": "3", "r": "false"}, "QoS 3"),
    ({"q": "one", "r": "false"}, "QoS not a number"),
    ({"q": "1", "r": "maybe"}, "retain not a boolean"),
])
def test_invalid_values_from_attributes_go_to_failure_penalized(topic: str, subscriber: Subscriber,
                                                                 attributes: dict[str, str], why: str) -> None:
    runner = publisher(topic, "${q}", "${r}")
    runner.enqueue("bad", attributes)
    runner.enqueue("good", {"q": "1", "r": "false"})
    runner.run()
    runner.assert_transferred("failure", 1)
    runner.assert_transferred("success", 1)
    assert runner.flowfiles_for("failure")[0].content == b"bad", why
    assert runner.flowfiles_for("failure")[0].is_penalized(runner.clock())
    wait_until(lambda: subscriber.payloads() == [b"good"], "the good message")


def test_retained_message_reaches_a_later_subscriber(topic: str) -> None:
    runner = publisher(topic, "1", "true")
    runner.enqueue("kept")
    runner.run()
    runner.assert_all_transferred("success", 1)
    late = Subscriber(topic)
    try:
        wait_until(lambda: late.payloads() == [b"kept"], "the retained message")
        assert late.messages[0].retain
    finally:
        late.close()
        cleanup = publisher(topic, "1", "true")
        cleanup.enqueue(b"")  # an empty retained message clears the topic's retained message
        cleanup.run()


def test_demarcator_publishes_each_piece(topic: str, subscriber: Subscriber) -> None:
    runner = publisher(topic, "1")
    runner.set_property("Message Demarcator", "|")
    runner.enqueue("one|two||three")
    runner.run()
    runner.assert_all_transferred("success", 1)
    wait_until(lambda: len(subscriber.payloads()) == 3, "three messages")
    assert subscriber.payloads() == [b"one", b"two", b"three"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_broker_routes_to_failure_and_yields(topic: str) -> None:
    runner = publisher(topic, "1", broker=f"tcp://127.0.0.1:{_closed_port()}")
    runner.enqueue("lost?")
    runner.run()
    runner.assert_all_transferred("failure", 1)
    assert runner.flowfiles_for("failure")[0].is_penalized(runner.clock())
    assert runner.yield_count == 1
    assert any("Connection refused" in message for _, message in runner.bulletins)


def test_second_broker_uri_is_tried_when_the_first_refuses(topic: str, subscriber: Subscriber) -> None:
    runner = publisher(topic, "1", broker=f"tcp://127.0.0.1:{_closed_port()},{BROKER}")
    runner.enqueue("via the second")
    runner.run()
    runner.assert_all_transferred("success", 1)
    wait_until(lambda: subscriber.payloads() == [b"via the second"], "the message")


@pytest.mark.parametrize(("name", "value"), [
    ("Broker URI", "ws://127.0.0.1:1883"),
    ("Broker URI", "127.0.0.1:1883"),
    ("Record Reader", "some-reader"),
    ("Password", "secret"),
])
def test_invalid_configurations(name: str, value: str) -> None:
    runner = publisher("t", "1")
    runner.set_property(name, value)
    runner.assert_not_valid()


def test_password_is_sensitive() -> None:
    assert PublishMQTT.spec.property("password").sensitive
