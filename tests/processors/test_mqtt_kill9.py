"""kill -9 with Mosquitto: numbered FlowFiles are published with QoS 1 (each to a topic named after
it) and consumed back through a resumed session (fixed Client ID, QoS 1) into PutFile; ``flowyard
run`` is SIGKILLed while files are still arriving (messages received but unacknowledged or
uncommitted) and restarted. At the end every number is on disk with its exact content: no message
is lost between flowyard and the broker in either direction (duplicates may occur and are
overwritten by PutFile's replace)."""

from __future__ import annotations

import os
import random
import socket
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = pytest.mark.integration

#: Below Mosquitto's default max_queued_messages (1000) per session, which it enforces by dropping.
TOTAL = 300
KILLS = 2
CONTENT_SIZE = 32


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


def _count(directory: Path) -> int:
    try:
        return sum(1 for name in os.listdir(directory) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def _session(client_id: str, *, clean: bool, topic: str | None = None) -> None:
    """Create the persistent session with its subscription (so nothing published before flowyard's
    first connection is missed), or forget it (``clean``)."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    try:
        wait_until(client.is_connected, timeout=5, what="the connection")
        if topic is not None:
            client.subscribe(topic, qos=1)
            assert subscribed.wait(5), "no SUBACK"
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.skipif(not _broker_up(), reason="Mosquitto is not running on 127.0.0.1:1883")
def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    base = f"flowyard-kill9/{uuid.uuid4().hex}"
    client_id = f"flowyard-kill9-{uuid.uuid4().hex}"
    _session(client_id, clean=False, topic=f"{base}/#")
    out, data = tmp_path / "out", tmp_path / "data"
    broker = {"Broker URI": "tcp://127.0.0.1:1883", "Connection Timeout": "5"}
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": "50", "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "publish", "type": "PublishMQTT", "autoTerminatedRelationships": ["success"],
         "properties": {**broker, "Topic": f"{base}/${{filename}}", "Quality of Service": "1",
                        "Retain Message": "false"}},
        {"identifier": "consume", "type": "ConsumeMQTT", "autoTerminatedRelationships": ["parse.failure"],
         "properties": {**broker, "Topic Filter": f"{base}/#", "Quality of Service": "1", "Client ID": client_id,
                        "Session State": "false", "Max Queue Size": "100"}},
        {"identifier": "name", "type": "UpdateAttribute",
         "properties": {"filename": "${mqtt.topic:substringAfterLast('/')}"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "publish"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "publish"}, "destination": {"id": "publish"},
         "selectedRelationships": ["failure"]},
        {"identifier": "c2", "source": {"id": "consume"}, "destination": {"id": "name"},
         "selectedRelationships": ["Message"]},
        {"identifier": "c3", "source": {"id": "name"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
    ])
    rng = random.Random(20261207)
    try:
        for _ in range(KILLS):
            engine = EngineProcess(flow, data)
            engine.wait_ready()
            target = _count(out) + rng.randint(30, 80)  # mid-stream: once some more have arrived
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
        _session(client_id, clean=True)
