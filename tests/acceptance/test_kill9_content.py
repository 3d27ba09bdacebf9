"""kill -9 loop with large content: numbered 96 KiB flowfiles (content files, not
RocksDB) are gzipped (small: inline in the commit), gunzipped (content files
again) and written by PutFile, while the engine is SIGKILLed at random moments
and restarted. At the end every id is on disk with its exact content, and no
content file is left that the repository does not account for: each one that
is still there belongs to a claim (live or archived), and no claim is live any
more, as no flowfile is queued."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT

from engine_process import EngineProcess, kill_at_random, names_in, wait_until, write_flow
from flowyard_test_processors import expected_content
from repository_checks import check_content_accounted

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 5_000
KILLS = 8
CONTENT_SIZE = 96 * 1024  # above the 64 KiB that go inline in a commit
SOURCE_BATCH = 20


def test_kill9_with_content_files_loses_nothing_and_leaves_no_orphan(tmp_path: Path) -> None:
    out, dups, data = tmp_path / "out", tmp_path / "dups", tmp_path / "data"
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(TOTAL), "Batch Size": str(SOURCE_BATCH), "Content Size": str(CONTENT_SIZE)}},
        {"identifier": "tag", "type": "UpdateAttribute", "properties": {"tagged": "yes"}},
        {"identifier": "gz", "type": "CompressContent", "autoTerminatedRelationships": ["failure"],
         "properties": {"Mode": "compress", "Compression Format": "gzip"}},
        {"identifier": "gunzip", "type": "CompressContent", "autoTerminatedRelationships": ["failure"],
         "properties": {"Mode": "decompress", "Compression Format": "gzip"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success"],
         "properties": {"Directory": str(out), "Conflict Resolution Strategy": "fail"}},
        {"identifier": "put-dups", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(dups), "Conflict Resolution Strategy": "replace"}},
    ], [
        {"identifier": "c0", "source": {"id": "src"}, "destination": {"id": "tag"},
         "selectedRelationships": ["success"]},
        {"identifier": "c1", "source": {"id": "tag"}, "destination": {"id": "gz"},
         "selectedRelationships": ["success"]},
        {"identifier": "c2", "source": {"id": "gz"}, "destination": {"id": "gunzip"},
         "selectedRelationships": ["success"]},
        {"identifier": "c3", "source": {"id": "gunzip"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
        {"identifier": "c4", "source": {"id": "put"}, "destination": {"id": "put-dups"},
         "selectedRelationships": ["failure"]},
    ])
    progress = kill_at_random(flow, data, kills=KILLS, seed=20261207, delay=(0.05, 1.2),
                              done=lambda: len(names_in(out)))
    assert sum(1 for p in progress if p > 0) >= KILLS // 2, f"the flow barely ran between kills: {progress}"
    assert len(names_in(out)) < TOTAL, "every kill came too late to matter; lower the delays"

    engine = EngineProcess(flow, data)
    engine.wait_ready()
    wait_until(lambda: len(names_in(out)) >= TOTAL, timeout=600, what=f"{TOTAL} files in {out}")
    assert engine.terminate() == 0, engine.output()[-2000:]

    names = sorted(names_in(out))
    assert names == [f"{seq:08d}.dat" for seq in range(TOTAL)], "every id, exactly once, nothing else"
    for seq in range(TOTAL):
        assert (out / f"{seq:08d}.dat").read_bytes() == expected_content(seq, CONTENT_SIZE), seq
    duplicated = names_in(dups)
    assert len(duplicated) <= KILLS * PUT_BATCH_LIMIT, (len(duplicated), progress)
    for name in duplicated:
        assert (dups / name).read_bytes() == expected_content(int(name.split(".")[0]), CONTENT_SIZE)

    check_content_accounted(data / "repository")
