"""kill -9 loop: 100,000 numbered flowfiles pass through three processors into
PutFile while the engine is SIGKILLed at random moments and restarted. At the
end every id is on disk with its exact content; nothing is lost, and the only
duplicates are flowfiles PutFile had written in a batch that was in flight
when a kill came (they arrive again, find their file, and go to ``failure``,
where a second PutFile records them)."""

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

TOTAL = 100_000
KILLS = 12
CONTENT_SIZE = 64
SOURCE_BATCH = 500


def count_files(directory: Path) -> int:
    try:
        return sum(1 for name in os.listdir(directory) if not name.startswith("."))
    except FileNotFoundError:
        return 0


def test_kill9_loses_nothing(tmp_path: Path) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    stages = [{"identifier": f"stage{i}", "type": "UpdateAttribute", "properties": {f"stage{i}": "done"}}
              for i in (1, 2, 3)]
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": str(SOURCE_BATCH), "Content Size": str(CONTENT_SIZE)}},
        *stages,
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "stage1"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "stage1"}, "destination": {"id": "stage2"},
         "selectedRelationships": ["success"]},
        {"identifier": "c2", "source": {"id": "stage2"}, "destination": {"id": "stage3"},
         "selectedRelationships": ["success"]},
        {"identifier": "c3", "source": {"id": "stage3"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
        {"identifier": "c4", "source": {"id": "put"}, "destination": {"id": "put-dups"},
         "selectedRelationships": ["failure"]},
    ])
    rng = random.Random(20261124)
    progress = []
    for _ in range(KILLS):
        engine = EngineProcess(flow, data)
        engine.wait_ready()
        before = count_files(out)
        time.sleep(rng.uniform(0.05, 1.5))  # a random moment to kill at, not a wait for a result
        engine.kill9()
        progress.append(count_files(out) - before)
    assert sum(1 for p in progress if p > 0) >= KILLS // 2, f"the flow barely ran between kills: {progress}"
    assert count_files(out) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: count_files(out) >= TOTAL, timeout=900, what=f"{TOTAL} files in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    names = sorted(n for n in os.listdir(out) if not n.startswith("."))
    assert names == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every id, exactly once, nothing else"
    for seq in range(TOTAL):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
    duplicated = [n for n in os.listdir(dups) if not n.startswith(".")] if dups.exists() else []
    # PutFile takes at most a batch per trigger: each kill can repeat at most one batch.
    assert len(duplicated) <= KILLS * PUT_BATCH_LIMIT, (len(duplicated), progress)
    for name in duplicated:
        assert (dups / name).read_bytes() == expected_content(int(name.split(".")[0]), CONTENT_SIZE)
