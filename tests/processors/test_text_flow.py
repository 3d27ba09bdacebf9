"""The text processors inside a running engine: GenerateFlowFile → ReplaceText →
ExtractText → RouteOnContent → RouteText → a stopped sink, with CRLF text."""

from __future__ import annotations

import time
from typing import Any

import trio

from flowyard.processors import PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories


def proc(ident: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"identifier": ident, "type": type_, **kw}


def conn(ident: str, src: str, dst: str, rels: tuple[str, ...] = ("success",)) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst},
            "selectedRelationships": list(rels)}


async def test_text_processors_in_the_engine() -> None:
    f = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [
            proc("gen", "GenerateFlowFile", properties={"Custom Text": "id=7\r\nkeep me\r\ndrop me", "Batch Size": "3"},
                 schedulingPeriod="1 hour"),
            proc("replace", "ReplaceText", properties={"Replacement Strategy": "Append", "Replacement Value": ";"},
                 autoTerminatedRelationships=["failure"]),
            proc("extract", "ExtractText", properties={"id": "id=(\\d+)"}, autoTerminatedRelationships=["unmatched"]),
            proc("content", "RouteOnContent",
                 properties={"Match Requirement": "content must contain match", "keep": "(?m)^keep"},
                 autoTerminatedRelationships=["unmatched"]),
            proc("lines", "RouteText", properties={"Matching Strategy": "Starts With", "kept": "keep"},
                 autoTerminatedRelationships=["original", "unmatched"]),
            proc("sink", "LogAttribute", scheduledState="STOPPED"),
        ],
        "connections": [conn("c1", "gen", "replace"), conn("c2", "replace", "extract"),
                        conn("c3", "extract", "content", ("matched",)), conn("c4", "content", "lines", ("keep",)),
                        conn("c5", "lines", "sink", ("kept",))],
    }})
    repos = Repositories.in_memory()
    engine = Engine(f, repos, registry=dict(PROCESSORS))
    received = engine.queues["c5"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        deadline = time.monotonic() + 10
        while received.count < 3 and time.monotonic() < deadline:
            await trio.sleep(0.02)
        engine.request_stop()
    assert received.count == 3
    for name in ("replace", "extract", "content", "lines"):
        assert engine.nodes[name].stats.errors == 0, name
    for ff in received.listing(10):
        assert repos.content.read_bytes(ff.claim) == b"keep me;\r\n"
        assert ff.attributes["id"] == "7"
        assert ff.attributes["RouteOnContent.Route"] == "keep"
        assert ff.attributes["RouteText.Route"] == "kept"
