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
import os
import subprocess
import sys
import uuid
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from flowyard.processors.consume_nats_jetstream import ConsumeJetStream
from flowyard.processors.publish_nats_jetstream import PublishJetStream
from flowyard.runtime.sdk import Processor

from engine_process import SUPPORT, EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = pytest.mark.integration

URL = "nats://127.0.0.1:4222"
TOTAL = 1200
KILLS = 2
CONTENT_SIZE = 32

#: Loaded into the engine process with the test processors, so the flow can name
#: them whether or not the standard catalog lists them yet.
NATS_PROCESSORS: dict[str, type[Processor]] = {"PublishJetStream": PublishJetStream,
                                               "ConsumeJetStream": ConsumeJetStream}


class NatsEngine(EngineProcess):
    """``EngineProcess`` with this module's processors loaded as well."""

    def __init__(self, flow: Path, data_dir: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT), str(Path(__file__).parent),
                                                          env.get("PYTHONPATH", "")]))
        env["FLOWYARD_PROCESSOR_MODULES"] = (
            f"flowyard_test_processors:PROCESSORS,{Path(__file__).stem}:NATS_PROCESSORS")
        self.log = data_dir.parent / f"{data_dir.name}-engine.log"
        self._log_file = open(self.log, "ab")  # noqa: SIM115 — closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowyard.runtime.cli", "run", str(flow), "--data-dir", str(data_dir),
             "--durability", "os"],
            stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
        )
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self.peak_rss = 0
        self._sampling = False
        self._sampler = None


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


def _count(directory: Path) -> int:
    try:
        return sum(1 for name in os.listdir(directory) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def test_kill9_loses_no_message_in_either_direction(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    stream, prefix = f"FLOWYARD_KILL9_{token}", f"fytest.kill9.{token}"
    _jetstream("add", stream, [f"{prefix}.>"])
    out, data = tmp_path / "out", tmp_path / "data"
    server = {"NATS Servers": URL}
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": "100", "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "publish", "type": "PublishJetStream", "autoTerminatedRelationships": ["success"],
         "properties": {**server, "Subject": f"{prefix}.data", "Expected Stream": stream,
                        "Message ID": "${filename}", "Attributes to Send as Headers (Regex)": "filename|seq"}},
        {"identifier": "consume", "type": "ConsumeJetStream",
         "properties": {**server, "Subject": f"{prefix}.>", "Stream": stream, "Durable Name": "kill9",
                        "Batch Size": "50", "Ack Wait": "2 sec", "Fetch Wait": "200 millis"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "publish"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "publish"}, "destination": {"id": "publish"},
         "selectedRelationships": ["failure"]},
        {"identifier": "c2", "source": {"id": "consume"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
    ])
    try:
        for kill in range(1, KILLS + 1):
            engine = NatsEngine(flow, data)
            engine.wait_ready()
            # killed mid-stream: once a share of the files is out, while messages are in flight
            wait_until(lambda n=kill: _count(out) >= n * TOTAL // (KILLS + 2), timeout=60,
                       what="progress before the kill", step=0.005)
            engine.kill9()
        assert _count(out) < TOTAL, "every kill came too late to matter; lower the delays"

        engine = NatsEngine(flow, data)
        engine.wait_ready()
        try:
            wait_until(lambda: _count(out) >= TOTAL, timeout=60, what=f"{TOTAL} files in {out}")
        finally:
            assert engine.terminate() == 0, engine.output()[-2000:]
        names = sorted(n for n in os.listdir(out) if not n.startswith("."))
        assert names == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every number, nothing else"
        for seq in range(TOTAL):
            assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
        assert _jetstream("count", stream) == TOTAL, "each number stored once in the stream"
    finally:
        _jetstream("delete", stream)
