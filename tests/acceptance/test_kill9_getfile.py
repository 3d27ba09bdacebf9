"""kill -9 loop from a directory to a directory: GetFile takes 72 KiB files (copied
into content files by the kernel) and deletes each one only once its FlowFile is
committed; PutFile writes them out; the engine is SIGKILLed at random moments and
restarted. At the end the input directory is empty and every file is out with
its exact bytes. A kill between a commit and the deletions makes GetFile take a
file again (at-least-once, as NiFi's GetFile): such a copy finds its name taken
and goes to ``dups``, and it is the only kind of duplicate."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT

from engine_process import EngineProcess, kill_at_random, names_in, wait_until, write_flow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 6_000
KILLS = 8
SIZE = 72 * 1024  # above the 64 KiB that go inline in a commit


def content_of(number: int) -> bytes:
    return (f"{number:08d}".encode() * (SIZE // 8 + 1))[:SIZE]


def test_kill9_from_get_file_to_put_file_loses_nothing(tmp_path: Path) -> None:
    source, out, dups, data = (tmp_path / n for n in ("in", "out", "dups", "data"))
    source.mkdir()
    for number in range(TOTAL):
        (source / f"{number:08d}.bin").write_bytes(content_of(number))
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "get", "type": "GetFile",
         "properties": {"Input Directory": str(source), "Polling Interval": "0 sec", "Batch Size": "20"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "get"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"], "backPressureObjectThreshold": 40},  # GetFile keeps pace
        {"identifier": "c1", "source": {"id": "put"}, "destination": {"id": "put-dups"},
         "selectedRelationships": ["failure"]},
    ])
    progress = kill_at_random(flow, data, kills=KILLS, seed=20261210, delay=(0.05, 0.6),
                              done=lambda: len(names_in(out)))
    assert sum(1 for p in progress if p > 0) >= KILLS // 2, f"the flow barely ran between kills: {progress}"
    assert len(names_in(out)) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: len(names_in(out)) >= TOTAL and not names_in(source), timeout=600,
               what=f"{TOTAL} files in {out} and none left in {source}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    assert sorted(names_in(out)) == [f"{number:08d}.bin" for number in range(TOTAL)], "every file, once"
    for name in names_in(out):
        assert (out / name).read_bytes() == content_of(int(name[:8])), name
    for name in names_in(dups):
        assert (dups / name).read_bytes() == content_of(int(name[:8])), name
    # a kill repeats at most what GetFile had committed but not yet deleted, and PutFile's batch in flight
    assert len(names_in(dups)) <= KILLS * (20 + PUT_BATCH_LIMIT), (len(names_in(dups)), progress)
