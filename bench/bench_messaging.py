"""Benchmarks of the messaging connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}


# -- AMQP (RabbitMQ on 127.0.0.1:5672) ------------------------------------------------------------
# Both publish and consume 20,000 messages of 100 bytes at the same time through a fresh durable
# queue: publisher confirms (one per message), consumer acks one per delivery tag, prefetch 500.

AMQP_MESSAGES = 20_000
AMQP_BODY = b"x" * 100


def _amqp_queue() -> tuple[object, str]:
    import uuid

    import pika

    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    queue = f"bench-{uuid.uuid4().hex}"
    connection.channel().queue_declare(queue, durable=True)
    return connection, queue


def publish_consume_amqp() -> None:
    """GenerateFlowFile → PublishAMQP (At least once) and ConsumeAMQP → auto-terminated, in one engine
    (in-memory repositories); messages/s arriving through ConsumeAMQP, after a warm-up of 2,000."""
    import time

    import trio

    from flowyard.processors import PROCESSORS
    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    connection, queue = _amqp_queue()
    broker = {"Host Name": "127.0.0.1", "Port": "5672"}
    flow = {"processors": [
        {"identifier": "gen", "type": "GenerateFlowFile",
         "properties": {"Custom Text": AMQP_BODY.decode(), "Data Format": "Text", "Batch Size": "100"}},
        {"identifier": "publish", "type": "PublishAMQP", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {**broker, "Routing Key": queue, "Delivery Guarantee": "AT_LEAST_ONCE"}},
        {"identifier": "consume", "type": "ConsumeAMQP", "autoTerminatedRelationships": ["success"],
         "properties": {**broker, "Queue": queue, "Batch Size": "100", "Prefetch Count": "500"}},
    ], "connections": [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "publish"},
                        "selectedRelationships": ["success"], "backPressureObjectThreshold": 1000}]}
    engine = Engine(flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": flow}), Repositories.in_memory(),
                    registry=PROCESSORS)
    node = engine.nodes["consume"]
    timing: dict[str, float] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            with trio.fail_after(600):
                # success is auto-terminated: what ConsumeAMQP received shows as removed
                while node.stats.flowfiles_removed < 2000:
                    await trio.sleep(0.001)
                start_count, started = node.stats.flowfiles_removed, time.perf_counter()
                while node.stats.flowfiles_removed < start_count + AMQP_MESSAGES:
                    await trio.sleep(0.001)
                timing["rate"] = (node.stats.flowfiles_removed - start_count) / (time.perf_counter() - started)
            engine.request_stop()

    try:
        trio.run(main)
    finally:
        connection.channel().queue_delete(queue)  # type: ignore[attr-defined]
        connection.close()  # type: ignore[attr-defined]
    print(f"BENCH publish_consume_amqp {timing['rate']:.0f} messages/s")


def publish_consume_amqp_pika() -> None:
    """The ceiling: pika alone, a confirming publisher and an acking consumer (prefetch 500) on two
    connections in two threads, the same messages as ``publish_consume_amqp``."""
    import threading
    import time

    import pika

    connection, queue = _amqp_queue()

    def publish() -> None:
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
        channel = conn.channel()
        channel.confirm_delivery()
        for _ in range(AMQP_MESSAGES):
            channel.basic_publish("", queue, AMQP_BODY, pika.BasicProperties(), mandatory=True)
        conn.close()

    received = [0]

    def on_message(channel: object, method: object, _props: object, _body: bytes) -> None:
        channel.basic_ack(delivery_tag=method.delivery_tag)  # type: ignore[attr-defined]
        received[0] += 1
        if received[0] >= AMQP_MESSAGES:
            channel.stop_consuming()  # type: ignore[attr-defined]

    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672))
    channel = conn.channel()
    channel.basic_qos(prefetch_count=500)
    channel.basic_consume(queue, on_message)
    started = time.perf_counter()
    publisher = threading.Thread(target=publish)
    publisher.start()
    channel.start_consuming()
    elapsed = time.perf_counter() - started
    publisher.join()
    conn.close()
    connection.channel().queue_delete(queue)  # type: ignore[attr-defined]
    connection.close()  # type: ignore[attr-defined]
    print(f"BENCH publish_consume_amqp_pika {AMQP_MESSAGES / elapsed:.0f} messages/s")


BENCHMARKS["publish_consume_amqp"] = publish_consume_amqp
BENCHMARKS["publish_consume_amqp_pika"] = publish_consume_amqp_pika


# -- MQTT (Mosquitto on 127.0.0.1:1883) -----------------------------------------------------------
# Publish and consume 100-byte messages with QoS 1 on a fresh topic at the same time. Mosquitto
# keeps at most 20 unacknowledged + 1000 queued messages per subscriber and drops beyond, so the
# figure is what arrives through the consumer per second over a bounded window.

MQTT_MESSAGES = 10_000
MQTT_BODY = b"x" * 100


def publish_consume_mqtt() -> None:
    """GenerateFlowFile → PublishMQTT (QoS 1) and ConsumeMQTT (QoS 1) → auto-terminated, in one engine
    (in-memory repositories); messages/s arriving through ConsumeMQTT after a warm-up of 1,000 (counted
    as removed: auto-terminated)."""
    import time
    import uuid

    import trio

    from flowyard.processors import PROCESSORS
    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    topic = f"bench/{uuid.uuid4().hex}"
    broker = {"Broker URI": "tcp://127.0.0.1:1883"}
    flow = {"processors": [
        {"identifier": "gen", "type": "GenerateFlowFile",
         "properties": {"Custom Text": MQTT_BODY.decode(), "Data Format": "Text", "Batch Size": "100"}},
        {"identifier": "publish", "type": "PublishMQTT", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {**broker, "Topic": topic, "Quality of Service": "1", "Retain Message": "false"}},
        {"identifier": "consume", "type": "ConsumeMQTT", "autoTerminatedRelationships": ["Message", "parse.failure"],
         "properties": {**broker, "Topic Filter": topic, "Quality of Service": "1", "Max Queue Size": "1000"}},
    ], "connections": [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "publish"},
                        "selectedRelationships": ["success"], "backPressureObjectThreshold": 1000}]}
    engine = Engine(flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": flow}), Repositories.in_memory(),
                    registry=PROCESSORS)
    node = engine.nodes["consume"]
    timing: dict[str, float] = {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            with trio.fail_after(600):
                while node.stats.flowfiles_removed < 1000:
                    await trio.sleep(0.001)
                start_count, started = node.stats.flowfiles_removed, time.perf_counter()
                while node.stats.flowfiles_removed < start_count + MQTT_MESSAGES and time.perf_counter() - started < 60:
                    await trio.sleep(0.001)
                timing["rate"] = (node.stats.flowfiles_removed - start_count) / (time.perf_counter() - started)
            engine.request_stop()

    trio.run(main)
    print(f"BENCH publish_consume_mqtt {timing['rate']:.0f} messages/s")


def publish_consume_mqtt_paho() -> None:
    """The ceiling: paho alone, a QoS 1 publisher waiting for every PUBACK in batches of 100 and a
    consumer acknowledging each message by hand, on two connections, the same messages."""
    import threading
    import time
    import uuid

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"bench/{uuid.uuid4().hex}"
    received = [0]
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        client.ack(message.mid, message.qos)
        received[0] += 1
        if received[0] >= MQTT_MESSAGES:
            done.set()

    consumer = mqtt.Client(CallbackAPIVersion.VERSION2, manual_ack=True)
    consumer.on_message = on_message
    consumer.on_subscribe = lambda *_args: subscribed.set()
    consumer.connect("127.0.0.1", 1883)
    consumer.loop_start()
    while not consumer.is_connected():
        time.sleep(0.01)
    consumer.subscribe(topic, 1)
    subscribed.wait(5)
    stop = threading.Event()

    def publish() -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.connect("127.0.0.1", 1883)
        client.loop_start()
        while not stop.is_set():
            infos = [client.publish(topic, MQTT_BODY, qos=1) for _ in range(100)]
            for info in infos:
                info.wait_for_publish(10)
        client.disconnect()
        client.loop_stop()

    publisher = threading.Thread(target=publish)
    started = time.perf_counter()
    publisher.start()
    done.wait(60)
    elapsed = time.perf_counter() - started
    stop.set()
    publisher.join()
    consumer.disconnect()
    consumer.loop_stop()
    print(f"BENCH publish_consume_mqtt_paho {received[0] / elapsed:.0f} messages/s")


BENCHMARKS["publish_consume_mqtt"] = publish_consume_mqtt
BENCHMARKS["publish_consume_mqtt_paho"] = publish_consume_mqtt_paho


# -- NATS JetStream (publish_consume_nats) ------------------------------------------------------
#
# 20,000 messages of 100 bytes through a file stream on the local nats-server, published and
# consumed at the same time. flowyard: GenerateFlowFile → PublishJetStream (success only on the
# stream's PubAck) and ConsumeJetStream (durable pull consumer, ack after the commit) in one
# engine with in-memory repositories; messages/s = consumed messages over the time from the first
# to the 20,000th (``publish_consume_nats``). The ceiling: nats-py alone in one asyncio loop
# (publishes awaited in batches of 100, fetches of 100 acknowledged one by one), the same stream
# set-up, in the same run (``publish_consume_nats_client``).

_NATS_URL = "nats://127.0.0.1:4222"
_NATS_MESSAGES = 20_000


def _nats_stream(action: str, name: str, subject: str = "") -> None:
    import asyncio

    import nats
    from nats.js.api import StreamConfig

    async def main() -> None:
        nc = await nats.connect(_NATS_URL)
        try:
            if action == "add":
                await nc.jetstream().add_stream(StreamConfig(name=name, subjects=[subject]))
            else:
                await nc.jetstream().delete_stream(name)
        finally:
            await nc.close()
    asyncio.run(main())


def _nats_client_alone(stream: str, subject: str) -> float:
    import asyncio
    import time

    import nats

    async def main() -> float:
        nc = await nats.connect(_NATS_URL)
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable="bench", stream=stream)
        payload = b"x" * 100
        started = time.perf_counter()

        async def publish() -> None:
            for _ in range(_NATS_MESSAGES // 100):
                await asyncio.gather(*(js.publish(subject, payload) for _ in range(100)))

        async def consume() -> None:
            got = 0
            while got < _NATS_MESSAGES:
                try:
                    messages = await sub.fetch(100, timeout=1)
                except nats.errors.TimeoutError:
                    continue
                for message in messages:
                    await message.ack()
                got += len(messages)

        await asyncio.gather(publish(), consume())
        elapsed = time.perf_counter() - started
        await nc.close()
        return _NATS_MESSAGES / elapsed
    return asyncio.run(main())


def _nats_through_flowyard(stream: str, subject: str) -> float:
    import time

    import trio

    from flowyard.processors import PROCESSORS
    from flowyard.processors.consume_nats_jetstream import ConsumeJetStream
    from flowyard.processors.publish_nats_jetstream import PublishJetStream
    from flowyard.runtime.engine import Engine
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.repository import Repositories

    registry = {**PROCESSORS, "PublishJetStream": PublishJetStream, "ConsumeJetStream": ConsumeJetStream}
    engine = Engine(flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            {"identifier": "gen", "type": "GenerateFlowFile",
             "properties": {"File Size": "100 B", "Batch Size": "100", "Unique FlowFiles": "false"}},
            {"identifier": "publish", "type": "PublishJetStream", "autoTerminatedRelationships": ["success"],
             "properties": {"NATS Servers": _NATS_URL, "Subject": subject, "Batch Size": "100"}},
            {"identifier": "consume", "type": "ConsumeJetStream", "autoTerminatedRelationships": ["success"],
             "properties": {"NATS Servers": _NATS_URL, "Subject": subject, "Stream": stream,
                            "Durable Name": "bench", "Batch Size": "100", "Fetch Wait": "100 millis"}},
        ],
        "connections": [
            {"identifier": "c0", "source": {"id": "gen"}, "destination": {"id": "publish"},
             "selectedRelationships": ["success"], "backPressureObjectThreshold": 1000},
            {"identifier": "c1", "source": {"id": "publish"}, "destination": {"id": "publish"},
             "selectedRelationships": ["failure"]},
        ]}}), Repositories.in_memory(), registry=registry)
    consumer, timing = engine.nodes["consume"], {}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(engine.run)
            with trio.fail_after(300):
                while consumer.stats.flowfiles_removed == 0:
                    await trio.sleep(0.001)
                first, started = consumer.stats.flowfiles_removed, time.perf_counter()
                while consumer.stats.flowfiles_removed < first + _NATS_MESSAGES:
                    await trio.sleep(0.001)
                timing["rate"] = (consumer.stats.flowfiles_removed - first) / (time.perf_counter() - started)
            engine.request_stop()

    trio.run(main)
    return timing["rate"]


def publish_consume_nats() -> None:
    """JetStream round trip: flowyard (PublishJetStream + ConsumeJetStream) vs nats-py alone."""
    import uuid

    results = {}
    for label, run in (("client", _nats_client_alone), ("flowyard", _nats_through_flowyard)):
        token = uuid.uuid4().hex
        stream, subject = f"FLOWYARD_BENCH_{token}", f"flowyard.bench.{token}"
        _nats_stream("add", stream, subject)
        try:
            results[label] = run(stream, subject)
        finally:
            _nats_stream("delete", stream)
    print(f"BENCH publish_consume_nats {results['flowyard']:.0f} messages/s")
    print(f"BENCH publish_consume_nats_client {results['client']:.0f} messages/s")


BENCHMARKS["publish_consume_nats"] = publish_consume_nats
