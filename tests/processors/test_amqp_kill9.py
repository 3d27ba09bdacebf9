"""kill -9 with RabbitMQ: numbered flowfiles are published (At least once) to a durable queue and
consumed back from it into PutFile; ``flowyard run`` is SIGKILLed while files are still arriving
(consumed messages in flight, unacknowledged or uncommitted) and restarted. At the end every number
is on disk with its exact content: no message is lost between flowyard and the broker (duplicates
may occur and are overwritten by PutFile's replace). Whether a kill also lands mid-publish depends on
timing (publishing is faster than PutFile)."""

from __future__ import annotations

import os
import random
import socket
import uuid
from pathlib import Path

import pika
import pytest

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = pytest.mark.integration

TOTAL = 1000
KILLS = 2
CONTENT_SIZE = 32


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def _count(directory: Path) -> int:
    try:
        return sum(1 for name in os.listdir(directory) if not name.startswith("."))
    except FileNotFoundError:
        return 0


@pytest.mark.skipif(not _broker_up(), reason="RabbitMQ is not running on 127.0.0.1:5672")
def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    queue = f"flowyard-kill9-{uuid.uuid4().hex}"
    connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", 5672, socket_timeout=5))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    out, data = tmp_path / "out", tmp_path / "data"
    broker = {"Host Name": "127.0.0.1", "Port": "5672"}
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": "100", "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "publish", "type": "PublishAMQP", "autoTerminatedRelationships": ["success"],
         "properties": {**broker, "Routing Key": queue, "Delivery Guarantee": "AT_LEAST_ONCE",
                        "Headers Source": "FLOWFILE_ATTRIBUTES", "Headers Pattern": "filename|seq"}},
        {"identifier": "consume", "type": "ConsumeAMQP",
         "properties": {**broker, "Queue": queue, "Batch Size": "50", "Prefetch Count": "200",
                        "Header Output Format": "FlowFile Attributes", "Header Key Prefix": "h"}},
        {"identifier": "name", "type": "UpdateAttribute", "properties": {"filename": "${h.filename}"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "publish"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "publish"}, "destination": {"id": "publish"},
         "selectedRelationships": ["failure"]},
        {"identifier": "c2", "source": {"id": "consume"}, "destination": {"id": "name"},
         "selectedRelationships": ["success"]},
        {"identifier": "c3", "source": {"id": "name"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
    ])
    rng = random.Random(20261207)
    try:
        for _ in range(KILLS):
            engine = EngineProcess(flow, data)
            engine.wait_ready()
            target = _count(out) + rng.randint(50, 150)  # mid-stream: once some more have arrived
            wait_until(lambda target=target: _count(out) >= target, timeout=30,
                       what=f"{target} files in {out}", step=0.01)
            engine.kill9()
        assert _count(out) < TOTAL, "every kill came too late to matter"

        engine = EngineProcess(flow, data)
        engine.wait_ready()
        try:
            wait_until(lambda: _count(out) >= TOTAL, timeout=60, what=f"{TOTAL} files in {out}")
        finally:
            assert engine.terminate() == 0, engine.output()[-2000:]
        names = sorted(n for n in os.listdir(out) if not n.startswith("."))
        assert names == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every number, nothing else"
        for seq in range(TOTAL):
            assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
    finally:
        channel.queue_delete(queue)
        connection.close()
