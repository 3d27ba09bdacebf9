"""The kill -9 round trip shared by the broker tests (RabbitMQ, MQTT, NATS JetStream).

A flow publishes numbered flowfiles (``SequenceSource``) to a broker and
consumes them back into ``PutFile`` (replace on conflict, so duplicates are
harmless); ``flowyard run`` is SIGKILLed mid-stream a few times and restarted;
at the end every number must be on disk with its exact content and nothing
else: no message lost between flowyard and the broker in either direction.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

__all__ = ["count_files", "kill_and_recover", "port_open", "round_trip_flow"]


def port_open(port: int) -> bool:
    """Whether something listens on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def count_files(directory: Path) -> int:
    """Files (not dot files) in ``directory``; 0 before it exists."""
    try:
        return sum(1 for name in os.listdir(directory) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def _connect(ident: str, src: str, dst: str, relationship: str) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": [relationship]}


def round_trip_flow(path: Path, out: Path, *, total: int, batch: int, content_size: int,
                    publish: dict[str, Any], consume: dict[str, Any], consumed: str = "success",
                    rename: dict[str, str] | None = None) -> Path:
    """Write the flow: SequenceSource → ``publish`` (failure loops back) and ``consume``
    (relationship ``consumed``) → [UpdateAttribute ``rename``] → PutFile into ``out``.
    ``publish``/``consume`` are processor entries without an identifier."""
    processors = [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(total), "Batch Size": str(batch), "Content Size": str(content_size)}},
        {"identifier": "publish", "autoTerminatedRelationships": ["success"], **publish},
        {"identifier": "consume", **consume},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "replace"}},
    ]
    connections = [_connect("c0", "src", "publish", "success"), _connect("c1", "publish", "publish", "failure")]
    if rename:
        processors.append({"identifier": "name", "type": "UpdateAttribute", "properties": rename})
        connections += [_connect("c2", "consume", "name", consumed), _connect("c3", "name", "put", "success")]
    else:
        connections.append(_connect("c2", "consume", "put", consumed))
    write_flow(path, processors, connections)
    return path


def kill_and_recover(flow: Path, data: Path, out: Path, *, total: int, content_size: int,
                     kill_after: Callable[[int, int], int], kills: int = 2, step: float = 0.01,
                     engine: Callable[[Path, Path], EngineProcess] = EngineProcess) -> None:
    """Run ``flow`` and SIGKILL it ``kills`` times, each once ``kill_after(kill, files so far)``
    files are out; then run it to the end and check every number arrived exactly as sent."""
    for kill in range(1, kills + 1):
        process = engine(flow, data)
        process.wait_ready()
        target = kill_after(kill, count_files(out))
        wait_until(lambda target=target: count_files(out) >= target, timeout=60,
                   what=f"{target} files in {out} before kill {kill}", step=step)
        process.kill9()
    assert count_files(out) < total, "every kill came too late to matter"

    process = engine(flow, data)
    process.wait_ready()
    try:
        wait_until(lambda: count_files(out) >= total, timeout=60, what=f"{total} files in {out}")
    finally:
        assert process.terminate() == 0, process.output()[-2000:]
    names = sorted(n for n in os.listdir(out) if not n.startswith("."))
    assert names == [f"{seq:08d}.dat" for seq in range(total)], "every number, nothing else"
    for seq in range(total):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, content_size), seq
