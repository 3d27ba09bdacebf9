"""kill -9 with RabbitMQ: numbered flowfiles are published (At least once) to a durable queue and
consumed back from it into PutFile; ``flowyard run`` is SIGKILLed while files are still arriving
(consumed messages in flight, unacknowledged or uncommitted) and restarted. At the end every number
is on disk with its exact content: no message is lost between flowyard and the broker (duplicates
may occur and are overwritten by PutFile's replace). Whether a kill also lands mid-publish depends on
timing (publishing is faster than PutFile)."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pika
import pytest
from broker_kill9 import kill_and_recover, port_open, round_trip_flow

pytestmark = pytest.mark.integration

TOTAL = 1000
CONTENT_SIZE = 32


@pytest.mark.skipif(not port_open(5672), reason="RabbitMQ is not running on 127.0.0.1:5672")
def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    queue = f"flowyard-kill9-{uuid.uuid4().hex}"
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, socket_timeout=5))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    out = tmp_path / "out"
    broker = {"Host Name": "127.0.0.1", "Port": "5672"}
    flow = round_trip_flow(
        tmp_path / "flow.json", out, total=TOTAL, batch=100, content_size=CONTENT_SIZE,
        publish={"type": "PublishAMQP", "properties": {
            **broker, "Routing Key": queue, "Delivery Guarantee": "AT_LEAST_ONCE",
            "Headers Source": "FLOWFILE_ATTRIBUTES", "Headers Pattern": "filename|seq"}},
        consume={"type": "ConsumeAMQP", "properties": {
            **broker, "Queue": queue, "Batch Size": "50", "Prefetch Count": "200",
            "Header Output Format": "FlowFile Attributes", "Header Key Prefix": "h"}},
        rename={"filename": "${h.filename}"})
    rng = random.Random(20261207)
    try:
        # mid-stream: once some more have arrived
        kill_and_recover(flow, tmp_path / "data", out, total=TOTAL, content_size=CONTENT_SIZE,
                         kill_after=lambda _kill, done: done + rng.randint(50, 150))
    finally:
        channel.queue_delete(queue)
        connection.close()
