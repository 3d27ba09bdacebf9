"""ConsumeMQTT against the real Mosquitto on 127.0.0.1:1883: round trips, retained
messages, acknowledgement only after commit, back pressure, shared subscriptions."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from flowyard.processors.consume_mqtt import ConsumeMQTT
from flowyard.processors.publish_mqtt import PublishMQTT
from flowyard.runtime.sdk import ProcessingError, ProvenanceEventType, RepositoryError
from flowyard.runtime.sdk.testing import MockFlowFile, ProcessorRunner

pytestmark = pytest.mark.integration

BROKER = "tcp://127.0.0.1:1883"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def topic() -> str:
    return f"flowyard-test/{uuid.uuid4().hex}"


@pytest.fixture
def paho_publisher() -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def publish(client: mqtt.Client, topic: str, payloads: list[str], qos: int = 1, retain: bool = False) -> None:
    infos = [client.publish(topic, p, qos=qos, retain=retain) for p in payloads]
    for info in infos:
        info.wait_for_publish(5)
        assert info.is_published()


def consumer(topic: str, qos: str = "1", *, client_id: str | None = None, queue: str = "100",
             group: str | None = None) -> ProcessorRunner:
    runner = ProcessorRunner(ConsumeMQTT)
    runner.set_property("Broker URI", BROKER)
    runner.set_property("Topic Filter", topic)
    runner.set_property("Quality of Service", qos)
    runner.set_property("Max Queue Size", queue)
    runner.set_property("Connection Timeout", "5")
    if client_id is not None:
        runner.set_property("Client ID", client_id)
        runner.set_property("Session State", "false")
    if group is not None:
        runner.set_property("Group ID", group)
    return runner


def forget_session(client_id: str) -> None:
    """Connect once with a clean session so the broker drops the persistent one."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        wait_until(client.is_connected, "the connection")
    finally:
        client.disconnect()
        client.loop_stop()


def drain(runner: ProcessorRunner, count: int, timeout: float = 5.0) -> list[MockFlowFile]:
    """Trigger until ``count`` FlowFiles went to Message (bounded)."""
    def enough() -> bool:
        runner.run(1, stop_on_finish=False)
        return len(runner.flowfiles_for("Message")) >= count
    wait_until(enough, f"{count} FlowFiles", timeout)
    return runner.flowfiles_for("Message")


def start(runner: ProcessorRunner) -> None:
    """Connect and subscribe (the first trigger finds nothing yet)."""
    runner.run(1, stop_on_finish=False)
    assert runner.processor._client is not None, runner.bulletins  # type: ignore[attr-defined]


@pytest.mark.parametrize("qos", ["0", "1", "2"])
def test_round_trip_through_publish_and_consume(topic: str, qos: str) -> None:
    consume = consumer(topic, qos)
    start(consume)
    try:
        publish_runner = ProcessorRunner(PublishMQTT)
        for name, value in (("Broker URI", BROKER), ("Topic", topic), ("Quality of Service", qos),
                            ("Retain Message", "false")):
            publish_runner.set_property(name, value)
        for i in range(3):
            publish_runner.enqueue(f"message {i}")
        publish_runner.run()
        publish_runner.assert_all_transferred("success", 3)
        out = drain(consume, 3)
    finally:
        consume.stop()
    assert [f.content for f in out] == [b"message 0", b"message 1", b"message 2"]
    for ff in out:
        assert ff.attributes["mqtt.broker"] == BROKER
        assert ff.attributes["mqtt.topic"] == topic
        assert ff.attributes["mqtt.qos"] == qos
        assert ff.attributes["mqtt.isDuplicate"] == "false"
        assert ff.attributes["mqtt.isRetained"] == "false"
    receives = consume.provenance_events(ProvenanceEventType.RECEIVE)
    assert [e.transit_uri for e in receives] == [f"{BROKER}/{topic}"] * 3


def test_retained_message_is_marked(topic: str, paho_publisher: mqtt.Client) -> None:
    publish(paho_publisher, topic, ["retained"], retain=True)
    consume = consumer(topic)
    try:
        start(consume)
        out = drain(consume, 1)
    finally:
        consume.stop()
        publish(paho_publisher, topic, [""], retain=True)  # clear it
    assert out[0].content == b"retained"
    assert out[0].attributes["mqtt.isRetained"] == "true"


def test_wildcard_filter_and_demarcator_batch(topic: str, paho_publisher: mqtt.Client) -> None:
    consume = consumer(f"{topic}/#")
    consume.set_property("Message Demarcator", "\n")
    start(consume)
    try:
        publish(paho_publisher, f"{topic}/a", ["1", "2"])
        publish(paho_publisher, f"{topic}/b/c", ["3"])
        wait_until(lambda: len(consume.processor._inbox.items) == 3, "three queued messages")  # type: ignore[attr-defined]
        consume.run(1, stop_on_finish=False)
    finally:
        consume.stop()
    consume.assert_all_transferred("Message", 1)
    ff = consume.flowfiles_for("Message")[0]
    assert ff.content == b"1\n2\n3"
    assert ff.attributes["mqtt.topic"] == f"{topic}/#"


def test_rolled_back_session_is_delivered_again_and_acknowledged_only_after_commit(
        topic: str, paho_publisher: mqtt.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    client_id = f"flowyard-test-{uuid.uuid4().hex}"
    consume = consumer(topic, client_id=client_id)
    start(consume)
    try:
        publish(paho_publisher, topic, ["a", "b"])
        wait_until(lambda: len(consume.processor._inbox.items) == 2, "two queued messages")  # type: ignore[attr-defined]
        calls = []

        def failing_write(txns: object, now_ms: int) -> list[object]:
            calls.append(1)
            raise RepositoryError("the repository refused the commit")
        with monkeypatch.context() as patch:  # the committer's write fails: the trigger is rolled back
            patch.setattr(consume.repositories, "write", failing_write)
            consume.run(1, stop_on_finish=False)
        assert calls and [type(e) for e in consume.errors] == [ProcessingError]
        assert consume.flowfiles_for("Message") == []
        out = drain(consume, 2)
        assert [f.content for f in out] == [b"a", b"b"]
    finally:
        consume.stop()
    # Committed and acknowledged: the resumed session has nothing left to send again.
    again = consumer(topic, client_id=client_id)
    start(again)
    try:
        publish(paho_publisher, topic, ["c"])
        out = drain(again, 1)
    finally:
        again.stop()
        forget_session(client_id)
    assert [f.content for f in out] == [b"c"]


@pytest.mark.parametrize("qos", ["1", "2"])
def test_messages_not_committed_before_stop_come_back_with_a_resumed_session(
        topic: str, paho_publisher: mqtt.Client, qos: str) -> None:
    client_id = f"flowyard-test-{uuid.uuid4().hex}"
    consume = consumer(topic, qos, client_id=client_id)
    start(consume)
    publish(paho_publisher, topic, ["x", "y"], qos=int(qos))
    wait_until(lambda: len(consume.processor._inbox.items) == 2, "two queued messages")  # type: ignore[attr-defined]
    consume.stop()  # received, never committed, never acknowledged
    # Published while flowyard is down: kept by the broker for the resumed session.
    publish(paho_publisher, topic, ["z"], qos=int(qos))
    again = consumer(topic, qos, client_id=client_id)
    try:
        start(again)
        out = drain(again, 3)
    finally:
        again.stop()
        forget_session(client_id)
    assert sorted(f.content for f in out) == [b"x", b"y", b"z"]
    if qos == "1":
        assert {f.content for f in out if f.attributes["mqtt.isDuplicate"] == "true"} == {b"x", b"y"}


def test_full_queue_stops_reading_and_nothing_is_lost(topic: str, paho_publisher: mqtt.Client) -> None:
    consume = consumer(topic, "1", queue="5")
    start(consume)
    try:
        sent = [f"m{i:03}" for i in range(60)]
        publish(paho_publisher, topic, sent)
        inbox = consume.processor._inbox  # type: ignore[attr-defined]
        wait_until(lambda: len(inbox.items) == 5, "a full queue")
        time.sleep(0.3)  # give the client the chance to overfill it (it must not)
        assert len(inbox.items) == 5
        assert consume.flowfiles_for("Message") == []
        out = drain(consume, 60)
    finally:
        consume.stop()
    assert [f.content.decode() for f in out] == sent


def test_shared_subscription_splits_the_messages(topic: str, paho_publisher: mqtt.Client) -> None:
    group = f"g{uuid.uuid4().hex[:8]}"
    first, second = consumer(topic, group=group), consumer(topic, group=group)
    start(first)
    start(second)
    try:
        publish(paho_publisher, topic, [str(i) for i in range(20)])

        def all_arrived() -> bool:
            first.run(1, stop_on_finish=False)
            second.run(1, stop_on_finish=False)
            return len(first.flowfiles_for("Message")) + len(second.flowfiles_for("Message")) >= 20
        wait_until(all_arrived, "20 messages across the group")
    finally:
        first.stop()
        second.stop()
    got = [f.content for f in first.flowfiles_for("Message") + second.flowfiles_for("Message")]
    assert sorted(got, key=int) == [str(i).encode() for i in range(20)]


def test_unreachable_broker_is_logged_and_the_processor_yields() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runner = consumer("t")
    runner.set_property("Broker URI", f"tcp://127.0.0.1:{port}")
    runner.run(2)
    assert runner.yield_count == 2
    assert runner.flowfiles_for("Message") == []
    assert any("Connection refused" in message for _, message in runner.bulletins)


@pytest.mark.parametrize(("name", "value"), [
    ("Max Queue Size", "0"),
    ("Record Writer", "some-writer"),
    ("Broker URI", "wss://127.0.0.1:1883"),
])
def test_invalid_configurations(name: str, value: str) -> None:
    runner = consumer("t")
    runner.set_property(name, value)
    runner.assert_not_valid()
