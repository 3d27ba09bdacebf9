"""The stateless engine gives what the standard engine gives: chains of standard
processors (each writing content the next one reads, splitting, cloning, routing,
records) run inside a group once on the STANDARD and once on the STATELESS
engine, on the same input; the flowfiles that leave the group are the same, byte
for byte and attribute for attribute (uuids and times aside)."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest
import trio
from trio_wait import wait_for

from flowyard.processors import CONTROLLER_SERVICES, PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

from flowyard_test_processors import PROCESSORS as TEST_PROCESSORS

REGISTRY = {**PROCESSORS, **TEST_PROCESSORS}
COUNT = 12
#: Two JSON lines per flowfile, different for each.
JSON = '{"id": ${seq}, "name": "n${seq}", "items": [1, 2, 3], "nested": {"k": "v${seq}"}}'
CONTENT = JSON + "\n" + JSON.replace("items", "more")
#: Attributes that differ between two runs of the same flow.
VARYING = ("uuid", "time", "date", "identifier")

#: Each chain: (type, properties, relationship to the next step, relationships auto-terminated).
CHAINS: dict[str, list[tuple[str, dict[str, str], str, list[str]]]] = {
    "rewrite-split-extract": [
        ("ReplaceText", {"Replacement Strategy": "Regex Replace", "Search Value": "n(\\d+)",
                         "Replacement Value": "N$1"}, "success", ["failure"]),
        ("SplitText", {"Line Split Count": "1"}, "splits", ["original", "failure"]),
        ("ExtractText", {"num": "\"id\": (\\d+)"}, "matched", ["unmatched"]),
    ],
    "gzip-gunzip-hash": [
        ("CompressContent", {"Mode": "compress", "Compression Format": "gzip"}, "success", ["failure"]),
        ("CompressContent", {"Mode": "decompress", "Compression Format": "gzip"}, "success", ["failure"]),
        ("CryptographicHashContent", {}, "success", ["failure"]),
    ],
    "split-jolt-evaluate": [
        ("SplitText", {"Line Split Count": "1"}, "splits", ["original", "failure"]),
        ("JoltTransformJSON", {"Jolt Specification": '[{"operation": "shift", "spec": '
                                                     '{"id": "ident", "nested": {"k": "kk"}}}]'},
         "success", ["failure"]),
        ("EvaluateJsonPath", {"Destination": "flowfile-attribute", "ident": "$.ident"}, "matched",
         ["unmatched", "failure"]),
    ],
    "records-convert-split": [
        ("ConvertRecord", {"Record Reader": "reader", "Record Writer": "writer"}, "success", ["failure"]),
        ("SplitRecord", {"Record Reader": "csv-reader", "Record Writer": "writer", "Records Per Split": "1"},
         "splits", ["original", "failure"]),
    ],
    "clone-trim-segment": [
        ("DuplicateFlowFile", {"Number of Copies": "2"}, "success", []),
        ("ModifyBytes", {"Start Offset": "2 B", "End Offset": "3 B"}, "success", []),
        ("SegmentContent", {"Segment Size": "40 B"}, "segments", ["original"]),
    ],
    "route-append-split": [
        ("RouteOnContent", {"Match Requirement": "content must contain match", "even": "\"id\": \\d*[02468],"},
         "even", ["unmatched"]),
        ("ReplaceText", {"Replacement Strategy": "Append", "Evaluation Mode": "Entire text",
                         "Replacement Value": ",end"}, "success", ["failure"]),
        ("SplitContent", {"Byte Sequence Format": "Text", "Byte Sequence": ","}, "splits", ["original"]),
    ],
}


def chain_flow(engine: str, chain: list[tuple[str, dict[str, str], str, list[str]]]) -> Any:
    steps = [f"p{i}" for i in range(len(chain))]
    processors = [{"identifier": sid, "type": ptype, "properties": props, "scheduledState": "STOPPED",
                   "autoTerminatedRelationships": auto}
                  for sid, (ptype, props, _, auto) in zip(steps, chain, strict=True)]
    ends = ["in", *steps, "out"]
    connections = [{"identifier": f"c-{a}", "source": {"id": a}, "destination": {"id": b},
                    **({"selectedRelationships": [chain[i - 1][2]]} if i else {})}
                   for i, (a, b) in enumerate(pairwise(ends))]
    group = {"identifier": "g", "name": "Chain", "executionEngine": engine,
             "inputPorts": [{"identifier": "in", "name": "In", "scheduledState": "STOPPED"}],
             "outputPorts": [{"identifier": "out", "name": "Out", "scheduledState": "STOPPED"}],
             "processors": processors, "connections": connections}
    services = [{"identifier": sid, "name": sid, "type": stype, "scheduledState": "ENABLED", "properties": {}}
                for sid, stype in (("reader", "JsonTreeReader"), ("csv-reader", "CSVReader"),
                                   ("writer", "CSVRecordSetWriter"))]
    return flow_from_dict({"flowyardFlowVersion": 1, "rootGroup": {
        "identifier": "root", "controllerServices": services,
        "processors": [
            {"identifier": "src", "type": "SequenceSource", "scheduledState": "STOPPED",
             "properties": {"Count": str(COUNT), "Batch Size": str(COUNT), "Content Size": "0"}},
            {"identifier": "json", "type": "ReplaceText", "scheduledState": "STOPPED",
             "autoTerminatedRelationships": ["failure"],
             "properties": {"Replacement Strategy": "Always Replace", "Evaluation Mode": "Entire text",
                            "Replacement Value": CONTENT}},
            {"identifier": "sink", "type": "AsyncSlow", "properties": {"Delay": "0 ms"},
             "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
        ],
        "processGroups": [group],
        "connections": [
            {"identifier": "c-src", "source": {"id": "src"}, "destination": {"id": "json"},
             "selectedRelationships": ["success"]},
            {"identifier": "c0", "source": {"id": "json"}, "destination": {"id": "in"},
             "selectedRelationships": ["success"]},
            {"identifier": "c9", "source": {"id": "out"}, "destination": {"id": "sink"}},
        ]}})


async def outputs(engine_kind: str, chain: list[tuple[str, dict[str, str], str, list[str]]]) -> list[Any]:
    """What leaves the group, sorted, once everything inside has stopped moving."""
    repos = Repositories.in_memory()
    engine = Engine(chain_flow(engine_kind, chain), repos, registry=REGISTRY, service_types=CONTROLLER_SERVICES)
    members = ["in", *(f"p{i}" for i in range(len(chain))), "out"]
    inside = [q for cid, q in engine.queues.items() if cid.startswith("c-") and cid != "c-src"]
    async with trio.open_nursery() as nursery:
        await nursery.start(engine.run)
        engine.start_processor("src")
        engine.start_processor("json")
        await wait_for(lambda: engine.queues["c0"].count == COUNT)
        await engine.stop_processor("src")
        await engine.stop_processor("json")
        for member in members:
            engine.start_processor(member)

        def settled() -> bool:
            runner = engine.stateless.runners.get("g")
            idle = (all(q.count == 0 and q.in_flight == 0 for q in [engine.queues["c0"], *inside])
                    and all(engine.nodes[m].active_tasks == 0 for m in members)
                    and (runner is None or runner.active == 0))
            return idle or engine.bulletin_count > 0  # a bulletin: a failure, asserted on below

        await wait_for(settled, timeout=60)
        assert [b.message for b in engine.bulletins] == []
        found = []
        for ff in engine.queues["c9"].listing(limit=10_000):
            attrs = {k: v for k, v in ff.attributes.items() if not any(word in k for word in VARYING)}
            found.append((repos.content.read_bytes(ff.claim) if ff.claim else b"", json.dumps(attrs, sort_keys=True)))
        engine.request_stop()
    return sorted(found)


@pytest.mark.parametrize("name", sorted(CHAINS))
async def test_the_stateless_engine_gives_what_the_standard_engine_gives(name: str) -> None:
    standard = await outputs("STANDARD", CHAINS[name])
    assert standard, "the chain lets something through"
    assert await outputs("STATELESS", CHAINS[name]) == standard
