"""kill -9 loop through a stateless process group: the source outside commits
its flowfiles into the group's input connection; each invocation of the group
(UpdateAttribute, then PutFile, with PutFile's failures going to a second
PutFile inside the group) commits once. A kill at any moment of an invocation
leaves its input in the connection, so it runs again after the restart:
nothing is lost, every file is written with the right content, and the only
repeats are the files of the invocations the kills interrupted (they land in
``dups``: PutFile refuses to overwrite, as in the standard engine's kill test)."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest

from engine_process import EngineProcess, wait_until
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 6_000
KILLS = 5
CONTENT_SIZE = 32


def _files(directory: Path) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


def _flow(path: Path, out: Path, dups: Path) -> Path:
    group = {
        "identifier": "g", "name": "Write", "executionEngine": "STATELESS",
        "inputPorts": [{"identifier": "in", "name": "In"}],
        "processors": [
            {"identifier": "stage", "type": "UpdateAttribute", "properties": {"stage": "done"}},
            {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
             "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
            {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
             "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
        ],
        "connections": [
            {"identifier": "c-in", "source": {"id": "in"}, "destination": {"id": "stage"}},
            {"identifier": "c1", "source": {"id": "stage"}, "destination": {"id": "put"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "put"}, "destination": {"id": "put-dups"},
             "selectedRelationships": ["failure"]},
        ],
    }
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": [{"identifier": "src", "type": "SequenceSource",
                        "properties": {"Count": str(TOTAL), "Batch Size": "100",
                                       "Content Size": str(CONTENT_SIZE)}}],
        "processGroups": [group],
        "connections": [{"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "in"},
                         "selectedRelationships": ["success"]}],
    }}))
    return path


def test_kill9_during_stateless_invocations_loses_nothing(tmp_path: Path) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    flow = _flow(tmp_path / "flow.json", out, dups)
    rng = random.Random(20261207)
    progress = []
    for _ in range(KILLS):
        engine = EngineProcess(flow, data)
        engine.wait_ready()
        before = len(_files(out))
        wait_until(lambda b=before: len(_files(out)) > b, timeout=120, what="the group writing files")  # type: ignore[misc]
        time.sleep(rng.uniform(0.0, 0.3))  # then a random moment to kill at, within the next invocations
        engine.kill9()
        progress.append(len(_files(out)) - before)
    assert len(_files(out)) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: len(_files(out)) >= TOTAL, timeout=600, what=f"{TOTAL} files in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    assert sorted(_files(out)) == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every id, exactly once"
    for seq in range(TOTAL):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
    for name in _files(dups):  # repeats of interrupted invocations: the same data, never another
        assert (dups / name).read_bytes() == expected_content(int(name.split(".")[0]), CONTENT_SIZE)
