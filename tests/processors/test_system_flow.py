"""The socket processors inside a running engine, on a real loopback port:
GenerateFlowFile → PutTCP/PutUDP ⇢ ListenTCP/ListenUDP → a stopped sink."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
import trio

from flowyard.processors import PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

pytestmark = pytest.mark.integration


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc(ident: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "type": type_, **kw}


def conn(ident: str, src: str, dst: str, rels: tuple[str, ...] = ("success",)) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": list(rels)}


@pytest.mark.parametrize(("put", "listen", "kind"), [("PutTCP", "ListenTCP", socket.SOCK_STREAM),
                                                      ("PutUDP", "ListenUDP", socket.SOCK_DGRAM)])
async def test_put_to_listen_through_the_engine(put: str, listen: str, kind: int) -> None:
    port = str(free_port(kind))
    put_properties = {"Hostname": "127.0.0.1", "Port": port}
    if put == "PutTCP":
        put_properties["Outgoing Message Delimiter"] = "\\n"
    f = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            proc("gen", "GenerateFlowFile", properties={"Custom Text": "hello", "Batch Size": "5"},
                 schedulingPeriod="1 hour", scheduledState="STOPPED"),
            proc("put", put, properties=put_properties, autoTerminatedRelationships=["success", "failure"]),
            proc("listen", listen, properties={"Port": port}),
            proc("sink", "LogAttribute", scheduledState="STOPPED"),
        ],
        "connections": [conn("c1", "gen", "put"), conn("c2", "listen", "sink")],
    }})
    repos = Repositories.in_memory()
    engine = Engine(f, repos, registry=dict(PROCESSORS))
    received = engine.queues["c2"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        listener = engine.nodes["listen"].configured.processor
        deadline = time.monotonic() + 10
        while not listener.listening_port and time.monotonic() < deadline:  # bound before anything is sent
            await trio.sleep(0.01)
        engine.start_processor("gen")
        while received.count < 5 and time.monotonic() < deadline:
            await trio.sleep(0.02)
        engine.request_stop()
    bulletins = [b.message for node in engine.nodes.values() for b in node.bulletins]
    assert received.count == 5, bulletins
    assert engine.nodes["put"].stats.errors == 0, bulletins
    for ff in received.listing(10):
        assert repos.content.read_bytes(ff.claim) == b"hello"
        assert ff.attributes[f"{listen[-3:].lower()}.port"] == port
