"""kill -9 with NATS JetStream in both directions: numbered flowfiles are
published (PublishJetStream, success only on the stream's acknowledgement) to
a file stream and consumed back (ConsumeJetStream, a durable consumer acked
only after the commit) into PutFile while ``flowyard run`` is SIGKILLed
mid-stream and restarted. At the end every number is on disk with its exact
content — no message lost between flowyard and the server — and the stream
holds each number once (the Message ID lets it drop republished ones)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from pathlib import Path

import nats
import pytest
from broker_kill9 import kill_and_recover, round_trip_flow
from nats.js.api import StreamConfig

pytestmark = pytest.mark.integration

URL = "nats://127.0.0.1:4222"
TOTAL = 1200
KILLS = 2
CONTENT_SIZE = 32

def _jetstream(action: str, name: str, subjects: list[str] | None = None) -> int:
    async def main() -> int:
        nc = await nats.connect(URL, connect_timeout=2, allow_reconnect=False)
        try:
            js = nc.jetstream()
            if action == "add":
                await js.add_stream(StreamConfig(name=name, subjects=subjects))
            elif action == "delete":
                await js.delete_stream(name)
            return int((await js.stream_info(name)).state.messages) if action == "count" else 0
        finally:
            await nc.close()
    # In a thread of its own: Playwright's sync API (the browser tests) leaves an event loop running
    # in the main thread, where asyncio.run() refuses to start.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result(timeout=60)


def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    stream, prefix = f"FLOWYARD_KILL9_{token}", f"fytest.kill9.{token}"
    _jetstream("add", stream, [f"{prefix}.>"])
    out = tmp_path / "out"
    server = {"NATS Servers": URL}
    flow = round_trip_flow(
        tmp_path / "flow.json", out, total=TOTAL, batch=100, content_size=CONTENT_SIZE,
        publish={"type": "PublishJetStream", "properties": {
            **server, "Subject": f"{prefix}.data", "Expected Stream": stream, "Message ID": "${filename}",
            "Attributes to Send as Headers (Regex)": "filename|seq"}},
        consume={"type": "ConsumeJetStream", "properties": {
            **server, "Subject": f"{prefix}.>", "Stream": stream, "Durable Name": "kill9", "Batch Size": "50",
            "Ack Wait": "2 sec", "Fetch Wait": "200 millis"}})
    try:
        # killed mid-stream: once a share of the files is out, while messages are in flight
        kill_and_recover(flow, tmp_path / "data", out, total=TOTAL, content_size=CONTENT_SIZE,
                         kill_after=lambda kill, _done: kill * TOTAL // (KILLS + 2), kills=KILLS, step=0.005)
        assert _jetstream("count", stream) == TOTAL, "each number stored once in the stream"
    finally:
        _jetstream("delete", stream)
