"""kill -9 with Mosquitto: numbered FlowFiles are published with QoS 1 (each to a topic named after
it) and consumed back through a resumed session (fixed Client ID, QoS 1) into PutFile; ``flowyard
run`` is SIGKILLed while files are still arriving (messages received but unacknowledged or
uncommitted) and restarted. At the end every number is on disk with its exact content: no message
is lost between flowyard and the broker in either direction (duplicates may occur and are
overwritten by PutFile's replace)."""

from __future__ import annotations

import random
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from broker_kill9 import kill_and_recover, port_open, round_trip_flow
from paho.mqtt.enums import CallbackAPIVersion

from engine_process import wait_until

pytestmark = pytest.mark.integration

#: Below Mosquitto's default max_queued_messages (1000) per session, which it enforces by dropping.
TOTAL = 300
CONTENT_SIZE = 32


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


@pytest.mark.skipif(not port_open(1883), reason="Mosquitto is not running on 127.0.0.1:1883")
def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    base = f"flowyard-kill9/{uuid.uuid4().hex}"
    client_id = f"flowyard-kill9-{uuid.uuid4().hex}"
    _session(client_id, clean=False, topic=f"{base}/#")
    out = tmp_path / "out"
    broker = {"Broker URI": "tcp://127.0.0.1:1883", "Connection Timeout": "5"}
    flow = round_trip_flow(
        tmp_path / "flow.json", out, total=TOTAL, batch=50, content_size=CONTENT_SIZE,
        publish={"type": "PublishMQTT", "properties": {
            **broker, "Topic": f"{base}/${{filename}}", "Quality of Service": "1", "Retain Message": "false"}},
        consume={"type": "ConsumeMQTT", "autoTerminatedRelationships": ["parse.failure"], "properties": {
            **broker, "Topic Filter": f"{base}/#", "Quality of Service": "1", "Client ID": client_id,
            "Session State": "false", "Max Queue Size": "100"}},
        consumed="Message", rename={"filename": "${mqtt.topic:substringAfterLast('/')}"})
    rng = random.Random(20261207)
    try:
        # mid-stream: once some more have arrived
        kill_and_recover(flow, tmp_path / "data", out, total=TOTAL, content_size=CONTENT_SIZE,
                         kill_after=lambda _kill, done: done + rng.randint(30, 80))
    finally:
        _session(client_id, clean=True)
