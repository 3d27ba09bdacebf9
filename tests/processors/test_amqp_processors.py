"""ConsumeAMQP and PublishAMQP against the real RabbitMQ on 127.0.0.1:5672 (guest/guest).

Every test declares its own durable queue (a uuid name) and deletes it afterwards.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

from flowyard.processors.consume_amqp import ConsumeAMQP, effective_prefetch, format_headers
from flowyard.processors.publish_amqp import PublishAMQP, parse_headers
from flowyard.runtime.sdk import ProcessingError
from flowyard.runtime.sdk.testing import ProcessorRunner

HOST, PORT = "127.0.0.1", 5672


# -- pure helpers (no broker) --------------------------------------------------------

@pytest.mark.parametrize(("text", "separator", "expected"), [
    ("foo=bar,foo2=bar2", ",", {"foo": "bar", "foo2": "bar2"}),
    (" foo = bar , k ", ",", {"foo": "bar", "k": None}),
    ("foo=bar|a=b=c|=x|y=", "|", {"foo": "bar", "y": ""}),
    ("a=1;b=2", ";", {"a": "1", "b": "2"}),
    ("a=1;b=2", ",", {}),  # one entry with two '=' is malformed and skipped
])
def test_amqp_headers_attribute_is_parsed_as_nifi(text: str, separator: str, expected: dict[str, Any]) -> None:
    warnings: list[str] = []
    assert parse_headers(text, separator, warnings.append) == expected


@pytest.mark.parametrize(("fmt", "kwargs", "expected"), [
    ("Comma-Separated String", {}, {"amqp$headers": "{foo=bar,n=5,flag=true,none}"}),
    ("Comma-Separated String", {"separator": "|", "remove_braces": True},
     {"amqp$headers": "foo=bar|n=5|flag=true|none"}),
    ("JSON String", {}, {"amqp$headers": '{"foo":"bar","n":5,"flag":true,"none":null}'}),
    ("FlowFile Attributes", {"prefix": "hdr"}, {"hdr.foo": "bar", "hdr.n": "5", "hdr.flag": "true"}),
])
def test_headers_are_written_in_each_output_format(fmt: str, kwargs: dict[str, Any], expected: dict[str, str]) -> None:
    headers = {"foo": "bar", "n": 5, "flag": True, "none": None}
    assert format_headers(headers, fmt, **kwargs) == expected


@pytest.mark.parametrize(("prefetch", "batch", "expected"),
                         [(0, 10, 100), (0, 500, 1000), (5, 10, 5), (0, 40000, 65535)])
def test_prefetch_zero_is_bounded(prefetch: int, batch: int, expected: int) -> None:
    assert effective_prefetch(prefetch, batch) == expected


# -- against RabbitMQ -----------------------------------------------------------------

def _broker_up() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


broker = pytest.mark.skipif(not _broker_up(), reason="RabbitMQ is not running on 127.0.0.1:5672")


@pytest.fixture
def channel() -> Iterator[Any]:
    connection = pika.BlockingConnection(pika.ConnectionParameters(HOST, PORT, socket_timeout=5))
    ch = connection.channel()
    yield ch
    connection.close()


@pytest.fixture
def queue(channel: Any) -> Iterator[str]:
    name = f"flowyard-test-{uuid.uuid4().hex}"
    channel.queue_declare(name, durable=True)
    yield name
    channel.queue_delete(name)


def _ready(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _consumer(queue: str, **props: str) -> ProcessorRunner:
    runner = ProcessorRunner(ConsumeAMQP)
    runner.set_property("Queue", queue)
    runner.set_property("Host Name", HOST)
    for name, value in props.items():
        runner.set_property(name.replace("_", " "), value)
    return runner


def _consume(runner: ProcessorRunner, count: int, *, max_triggers: int = 100) -> None:
    for _ in range(max_triggers):
        if len(runner.flowfiles_for("success")) >= count:
            break
        runner.run(1, stop_on_finish=False)
    assert len(runner.flowfiles_for("success")) == count


def _publisher(routing_key: str, guarantee: str = "AT_LEAST_ONCE", **props: str) -> ProcessorRunner:
    runner = ProcessorRunner(PublishAMQP)
    runner.set_property("Routing Key", routing_key)
    runner.set_property("Host Name", HOST)
    runner.set_property("Delivery Guarantee", guarantee)
    for name, value in props.items():
        runner.set_property(name, value)
    return runner


@pytest.mark.integration
@broker
def test_round_trip_publish_then_consume(channel: Any, queue: str) -> None:
    publisher = _publisher(queue)
    for i in range(5):
        publisher.enqueue(f"message {i}", {"amqp$contentType": "text/plain", "amqp$headers": f"n={i},kind=test",
                                           "amqp$messageId": f"id-{i}", "amqp$deliveryMode": "2"})
    publisher.run()
    publisher.assert_all_transferred("success", 5)
    assert _ready(channel, queue) == 5
    sends = publisher.provenance_events()
    assert any("/E:/RK:" + queue in (e.transit_uri or "") for e in sends)

    consumer = _consumer(queue)
    _consume(consumer, 5)
    consumer.stop()
    out = sorted(consumer.flowfiles_for("success"), key=lambda f: f.attributes["amqp$messageId"])
    for i, ff in enumerate(out):
        ff.assert_content_equals(f"message {i}")
        ff.assert_attribute_equals("amqp$contentType", "text/plain")
        ff.assert_attribute_equals("amqp$deliveryMode", "2")
        ff.assert_attribute_equals("amqp$routingKey", queue)
        ff.assert_attribute_equals("amqp$exchange", "")
        ff.assert_attribute_equals("amqp$headers", f"{{n={i},kind=test}}")
    assert _ready(channel, queue) == 0  # acknowledged after the commit: nothing comes back


@pytest.mark.integration
@broker
def test_properties_and_headers_become_attributes(channel: Any, queue: str) -> None:
    props = pika.BasicProperties(
        content_type="application/json", content_encoding="utf-8", delivery_mode=2, priority=3,
        correlation_id="corr", reply_to="replies", expiration="60000", message_id="m1", timestamp=1700000000,
        type="order", user_id="guest", app_id="app", cluster_id="c1", headers={"foo": "bar", "n": 7},
    )
    channel.basic_publish("", queue, b'{"a": 1}', props)
    consumer = _consumer(queue, **{"Header_Output_Format": "FlowFile Attributes", "Header_Key_Prefix": "h"})
    _consume(consumer, 1)
    consumer.stop()
    ff = consumer.flowfiles_for("success")[0]
    expected = {
        "amqp$contentType": "application/json", "amqp$contentEncoding": "utf-8", "amqp$deliveryMode": "2",
        "amqp$priority": "3", "amqp$correlationId": "corr", "amqp$replyTo": "replies",
        "amqp$expiration": "60000", "amqp$messageId": "m1", "amqp$timestamp": "1700000000000",
        "amqp$type": "order", "amqp$userId": "guest", "amqp$appId": "app", "amqp$clusterId": "c1",
        "amqp$routingKey": queue, "amqp$exchange": "", "h.foo": "bar", "h.n": "7",
    }
    for key, value in expected.items():
        ff.assert_attribute_equals(key, value)
    assert "amqp$headers" not in ff.attributes

    # Republishing the FlowFile carries the same properties (timestamp in ms on both sides).
    publisher = _publisher(queue)
    publisher.enqueue(b"again", {**ff.attributes, "amqp$headers": "x=1"})
    publisher.run()
    publisher.assert_all_transferred("success", 1)
    _, got, body = channel.basic_get(queue, auto_ack=True)
    assert body == b"again"
    assert (got.content_type, got.priority, got.timestamp, got.type, got.app_id, got.headers) == (
        "application/json", 3, 1700000000, "order", "app", {"x": "1"})


@pytest.mark.integration
@broker
def test_headers_from_flowfile_attributes_by_pattern(channel: Any, queue: str) -> None:
    publisher = _publisher(queue, **{"Headers Source": "FLOWFILE_ATTRIBUTES", "Headers Pattern": "app\\..*"})
    publisher.enqueue(b"x", {"app.a": "1", "app.b": "2", "other": "3"})
    publisher.run()
    publisher.assert_all_transferred("success", 1)
    _, props, _ = channel.basic_get(queue, auto_ack=True)
    assert props.headers == {"app.a": "1", "app.b": "2"}


@pytest.mark.integration
@broker
def test_a_rolled_back_session_requeues_its_messages(channel: Any, queue: str) -> None:
    for i in range(3):
        channel.basic_publish("", queue, f"m{i}".encode())

    class FailingConsume(ConsumeAMQP):
        def on_trigger(self, context: Any, session: Any) -> None:
            super().on_trigger(context, session)
            if self._outstanding:
                raise ProcessingError("downstream failure")

    runner = ProcessorRunner(FailingConsume)
    runner.set_property("Queue", queue)
    runner.set_property("Host Name", HOST)
    for _ in range(50):
        runner.run(1, stop_on_finish=False)
        if runner.errors:
            break
    assert runner.errors and not runner.flowfiles_for("success")
    runner.stop()  # sends the queued nacks (requeue), then closes
    _wait(lambda: _ready(channel, queue) == 3, "the 3 messages back in the queue")
    redelivered = []
    for _ in range(3):
        method, _, body = channel.basic_get(queue, auto_ack=True)
        redelivered.append((body, method.redelivered))
    assert sorted(redelivered) == [(b"m0", True), (b"m1", True), (b"m2", True)]


@pytest.mark.integration
@broker
def test_unacknowledged_messages_stay_with_the_broker_and_prefetch_bounds_them(channel: Any, queue: str) -> None:
    for i in range(30):
        channel.basic_publish("", queue, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
    consumer = _consumer(queue, Prefetch_Count="5", Batch_Size="10")
    _consume(consumer, 5)  # the broker sent only 5 before any ack
    assert len(consumer.flowfiles_for("success")) == 5
    assert _ready(channel, queue) == 25
    # Back pressure: not triggered; the 5 committed are acknowledged at the next trigger, and more come.
    _consume(consumer, 30)
    consumer.stop()
    assert _ready(channel, queue) == 0
    assert sorted(f.content.decode() for f in consumer.flowfiles_for("success")) == sorted(
        f"m{i}" for i in range(30))


@pytest.mark.integration
@broker
def test_a_consumer_lost_before_acknowledging_gets_the_messages_again(channel: Any, queue: str) -> None:
    for i in range(4):
        channel.basic_publish("", queue, f"m{i}".encode())
    consumer = _consumer(queue)
    _consume(consumer, 4)
    consumer.processor._close()  # type: ignore[attr-defined]  # the connection dies before the acks are sent
    consumer.stop()
    _wait(lambda: _ready(channel, queue) == 4, "the unacknowledged messages back in the queue")


@pytest.mark.integration
@broker
def test_auto_acknowledge(channel: Any, queue: str) -> None:
    for i in range(3):
        channel.basic_publish("", queue, f"m{i}".encode())
    consumer = _consumer(queue, **{"Auto-Acknowledge Messages": "true"})
    _consume(consumer, 3)
    consumer.processor._close()  # type: ignore[attr-defined]
    consumer.stop()
    assert _ready(channel, queue) == 0


@pytest.mark.integration
@broker
@pytest.mark.parametrize(("guarantee", "relationship"), [("AT_LEAST_ONCE", "failure"), ("AT_MOST_ONCE", "success")])
def test_unroutable_message(guarantee: str, relationship: str) -> None:
    publisher = _publisher(f"nowhere-{uuid.uuid4().hex}", guarantee, **{"Exchange Name": "amq.direct"})
    publisher.enqueue(b"lost")
    publisher.run()
    publisher.assert_all_transferred(relationship, 1)
    assert publisher.flowfiles_for(relationship)[0].is_penalized(publisher.clock()) is (relationship == "failure")


@pytest.mark.integration
@broker
def test_missing_exchange_goes_to_failure_and_the_next_flowfile_still_publishes(channel: Any, queue: str) -> None:
    publisher = _publisher(queue, **{"Exchange Name": "${exchange}"})
    publisher.enqueue(b"a", {"exchange": f"missing-{uuid.uuid4().hex}"})
    publisher.enqueue(b"b", {"exchange": ""})
    publisher.run()
    assert [f.content for f in publisher.flowfiles_for("failure")] == [b"a"]
    assert [f.content for f in publisher.flowfiles_for("success")] == [b"b"]
    assert _ready(channel, queue) == 1


@pytest.mark.integration
def test_broker_unreachable() -> None:
    port = str(_closed_port())
    publisher = _publisher("q", Port=port)
    publisher.enqueue(b"a")
    publisher.enqueue(b"b")
    publisher.run()
    publisher.assert_transferred("failure", 1)  # the other went back to the queue
    assert publisher.queue_size == 1
    publisher.run()
    publisher.assert_all_transferred("failure", 2)
    assert all(f.is_penalized(publisher.clock()) for f in publisher.flowfiles_for("failure"))
    assert publisher.yield_count == 2

    consumer = _consumer("q", Port=port)
    consumer.run(2)
    assert consumer.flowfiles_for("success") == []
    assert consumer.yield_count == 2
    assert any("Cannot consume" in message for _, message in consumer.bulletins)


def test_too_large_flowfile_goes_to_failure_unpenalized() -> None:
    publisher = _publisher("q", **{"Maximum Input FlowFile Size": "1 B"})
    publisher.enqueue(b"too big")
    publisher.run()
    publisher.assert_all_transferred("failure", 1)
    assert not publisher.flowfiles_for("failure")[0].is_penalized(publisher.clock())


@pytest.mark.parametrize(("name", "value"), [("Header Separator", "ab"), ("Brokers", "nohostport"),
                                             ("Prefetch Count", "70000"), ("Port", "0")])
def test_invalid_configuration(name: str, value: str) -> None:
    runner = _consumer("q") if name == "Prefetch Count" else _publisher("q")
    runner.set_property(name, value)
    runner.assert_not_valid()
