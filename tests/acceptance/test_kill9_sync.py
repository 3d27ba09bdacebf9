"""kill -9 loop in ``sync`` durability: as test_kill9.py, smaller, with every
commit group written in two steps (the batch, then the WAL's fsync outside the
GIL, see runtime/repository/_rocks.py). A kill between the two leaves a group
written but not acknowledged; after the restart it is there (RocksDB replays
the log) and the flowfiles it moved are where it put them: nothing is lost,
and the only duplicates are PutFile's in-flight batches, as in ``os`` mode."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT  # most flowfiles one PutFile trigger takes

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 20_000
KILLS = 8
CONTENT_SIZE = 64


def _files(directory: Path) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def test_kill9_in_sync_durability_loses_nothing(tmp_path: Path) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": "200", "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "stage", "type": "UpdateAttribute", "properties": {"stage": "done"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "stage"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "stage"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
        {"identifier": "c2", "source": {"id": "put"}, "destination": {"id": "put-dups"},
         "selectedRelationships": ["failure"]},
    ])
    rng = random.Random(20261207)
    progress = []
    for _ in range(KILLS):
        engine = EngineProcess(flow, data, durability="sync")
        engine.wait_ready()
        before = len(_files(out))
        time.sleep(rng.uniform(0.05, 1.5))  # a random moment to kill at, not a wait for a result
        engine.kill9()
        progress.append(len(_files(out)) - before)
    assert sum(1 for p in progress if p > 0) >= KILLS // 2, f"the flow barely ran between kills: {progress}"
    assert len(_files(out)) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data, durability="sync")
    engine.wait_ready()
    wait_until(lambda: len(_files(out)) >= TOTAL, timeout=900, what=f"{TOTAL} files in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    assert sorted(_files(out)) == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every id, exactly once"
    for seq in range(TOTAL):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
    duplicated = _files(dups)
    assert len(duplicated) <= KILLS * PUT_BATCH_LIMIT, (len(duplicated), progress)
    for name in duplicated:
        assert (dups / name).read_bytes() == expected_content(int(name.split(".")[0]), CONTENT_SIZE)
