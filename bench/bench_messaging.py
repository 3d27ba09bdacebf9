"""Benchmarks of the messaging connectors and processors (issue 13); each prints ``BENCH <name> <value> <unit>``."""

from __future__ import annotations

from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}


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
