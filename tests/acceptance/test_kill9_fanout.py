"""kill -9 loop through a fan-out: every numbered flowfile is cloned onto two
connections of one relationship; one copy is routed by RouteOnAttribute
(even numbers one way, odd ones through UpdateAttribute the other) and written
by PutFile into ``even`` or ``odd``, the other copy written into ``all``,
while the engine is SIGKILLed at random moments and restarted. At the end
``even`` and ``odd`` together, and ``all`` alone, hold every number exactly
once with its bytes; the only duplicates are PutFile batches in flight."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT

from engine_process import EngineProcess, kill_at_random, names_in, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 16_000
KILLS = 8
CONTENT_SIZE = 64
SOURCE_BATCH = 250


def put(identifier: str, directory: Path) -> dict[str, object]:
    return {"identifier": identifier, "type": "PutFile", "autoTerminatedRelationships": ["success"],
            "properties": {"Directory": str(directory), "Conflict Resolution Strategy": "fail"}}


def link(identifier: str, source: str, destination: str, relationship: str = "success") -> dict[str, object]:
    return {"identifier": identifier, "source": {"id": source}, "destination": {"id": destination},
            "selectedRelationships": [relationship]}


def test_kill9_through_clones_and_routes_loses_nothing(tmp_path: Path) -> None:
    even, odd, every, dups, data = (tmp_path / n for n in ("even", "odd", "all", "dups", "data"))
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": str(SOURCE_BATCH), "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "route", "type": "RouteOnAttribute", "autoTerminatedRelationships": ["unmatched"],
         "properties": {"even": "${seq:mod(2):equals(0)}", "odd": "${seq:mod(2):equals(1)}"}},
        {"identifier": "mark", "type": "UpdateAttribute", "properties": {"parity": "odd"}},
        put("put-even", even), put("put-odd", odd), put("put-all", every),
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        link("c-route", "src", "route"), link("c-all", "src", "put-all"),
        link("c-even", "route", "put-even", "even"), link("c-odd", "route", "mark", "odd"),
        link("c-mark", "mark", "put-odd"),
        *(link(f"c-dups-{p}", p, "put-dups", "failure") for p in ("put-even", "put-odd", "put-all")),
    ])

    def done() -> int:
        return len(names_in(even)) + len(names_in(odd)) + len(names_in(every))

    progress = kill_at_random(flow, data, kills=KILLS, seed=20261209, delay=(0.05, 1.5), done=done)
    assert sum(1 for p in progress if p > 0) >= KILLS // 2, f"the flow barely ran between kills: {progress}"
    assert done() < 2 * TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: done() >= 2 * TOTAL, timeout=600, what=f"{2 * TOTAL} files")
    assert engine.terminate() == 0, engine.output()[-2000:]

    expected = [f"{seq:08d}.dat" for seq in range(TOTAL)]
    assert sorted(names_in(every)) == expected, "every number once in 'all'"
    assert sorted(names_in(even) + names_in(odd)) == expected, "every number once in 'even' or 'odd'"
    assert all(int(n[:8]) % 2 == 0 for n in names_in(even)) and all(int(n[:8]) % 2 for n in names_in(odd))
    for directory in (even, odd, every):
        for name in names_in(directory):
            assert (directory / name).read_bytes() == expected_content(int(name[:8]), CONTENT_SIZE), name
    # each kill can repeat at most one batch of each PutFile
    assert len(names_in(dups)) <= KILLS * PUT_BATCH_LIMIT * 3, (len(names_in(dups)), progress)
