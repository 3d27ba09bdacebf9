"""The Expression Language over a running flow: UpdateAttribute sets attributes
from expressions, RouteOnAttribute routes the stream by expression, PutFile
builds its directory from attributes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import trio

from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS


def connect(ident: str, src: str, dst: str, rel: str) -> dict[str, Any]:
    return {"identifier": ident, "source": {"id": src}, "destination": {"id": dst}, "selectedRelationships": [rel]}


async def test_update_route_and_put_by_expression(tmp_path: Path) -> None:
    out = tmp_path / "out"
    flow = flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "40", "Batch Size": "10"}},
        {"identifier": "tag", "type": "UpdateAttribute", "properties": {
            "parity": "${seq:mod(2):equals(0):ifElse('even', 'odd')}",
            "label": "${filename:substringBeforeLast('.'):toUpper()}-${fileSize}"}},
        {"identifier": "route", "type": "RouteOnAttribute", "properties": {
            "Routing Strategy": "Route to Property name", "even": "${parity:equals('even')}"}},
        {"identifier": "put-even", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": f"{out}/${{parity}}"}},
        {"identifier": "put-odd", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": f"{out}/${{parity}}", "Conflict Resolution Strategy": "fail"}},
    ], "connections": [
        connect("c1", "src", "tag", "success"), connect("c2", "tag", "route", "success"),
        connect("c3", "route", "put-even", "even"), connect("c4", "route", "put-odd", "unmatched"),
    ]}})
    repos = Repositories.in_memory()
    engine = Engine(flow, repos, registry={**discover_processors(), **TEST_PROCESSORS})
    assert all(n.is_valid for n in engine.nodes.values()), [n.validation for n in engine.nodes.values()]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        with trio.fail_after(120):
            while engine.status().flowfiles_out < 40:
                await trio.sleep(0.05)
        engine.request_stop()
    assert sorted(os.listdir(out / "even")) == [f"{n:08d}.dat" for n in range(0, 40, 2)]
    assert sorted(os.listdir(out / "odd")) == [f"{n:08d}.dat" for n in range(1, 40, 2)]
    routed = [e for e in repos.provenance.events() if e.component_id == "route" and e.event_type.name == "ROUTE"]
    assert {e.relationship for e in routed} == {"even", "unmatched"}
    tagged = [e for e in repos.provenance.events() if e.component_id == "tag"]
    assert tagged and all(e.attributes["label"].endswith("-64") for e in tagged)
    assert {e.attributes["label"].split("-")[0] for e in tagged} == {f"{n:08d}" for n in range(40)}
