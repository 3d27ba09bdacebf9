"""kill -9 loop through a fan-in: numbered flowfiles are merged by MergeContent
in bins of 100 (one line each) and the bundles written by PutFile, while the
engine is SIGKILLed at random moments and restarted. MergeContent holds its
bins across triggers; a kill loses a bin's flowfiles from memory only, as they
are still in its input queue until the bundle's commit. At the end every
number is in exactly one bundle on disk, with its exact bytes; bundles written
again after a kill (PutFile's batch in flight) are the only duplicates."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT

from engine_process import EngineProcess, kill_at_random, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 120_000
BIN = 100
KILLS = 8
CONTENT_SIZE = 64  # a sha-256 in hex: tells the number back
SOURCE_BATCH = 200


def lines_in(directory: Path) -> Counter[bytes]:
    lines: Counter[bytes] = Counter()
    try:
        names = [n for n in os.listdir(directory) if not n.startswith(".")]
    except FileNotFoundError:
        return lines
    for name in names:
        lines.update((directory / name).read_bytes().split(b"\n"))
    return lines


def test_kill9_through_merge_content_loses_nothing(tmp_path: Path) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": str(SOURCE_BATCH), "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "merge", "type": "MergeContent", "autoTerminatedRelationships": ["original", "failure"],
         "properties": {"Minimum Number of Entries": str(BIN), "Maximum Number of Entries": str(BIN),
                        "Max Bin Age": "30 sec", "Delimiter Strategy": "Text", "Demarcator": "\n"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "merge"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "merge"}, "destination": {"id": "put"},
         "selectedRelationships": ["merged"]},
        {"identifier": "c2", "source": {"id": "put"}, "destination": {"id": "put-dups"},
         "selectedRelationships": ["failure"]},
    ])
    number_of = {expected_content(seq, CONTENT_SIZE): seq for seq in range(TOTAL)}
    progress = kill_at_random(flow, data, kills=KILLS, seed=20261208, delay=(0.05, 1.5),
                              done=lambda: sum(lines_in(out).values()))
    # a run killed before MergeContent fills its first bin writes nothing: a quarter of them must write
    assert sum(1 for p in progress if p > 0) >= KILLS // 4, f"the flow barely ran between kills: {progress}"
    assert sum(lines_in(out).values()) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: sum(lines_in(out).values()) >= TOTAL, timeout=600, what=f"{TOTAL} lines in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    written = lines_in(out)
    strangers = [line for line in written if line not in number_of]
    assert strangers == [], f"lines that are no flowfile's content: {strangers[:3]}"
    assert sorted(number_of[line] for line in written.elements()) == list(range(TOTAL)), \
        "every number, exactly once"
    again = lines_in(dups)
    assert all(line in written for line in again), "a duplicate is a bundle written before"
    # PutFile takes at most a batch of bundles per trigger: each kill can repeat at most one batch.
    assert sum(again.values()) <= KILLS * PUT_BATCH_LIMIT * BIN, (sum(again.values()), progress)
