"""kill -9 loop with large content: numbered 96 KiB flowfiles (content files, not
RocksDB) are gzipped (small: inline in the commit), gunzipped (content files
again) and written by PutFile, while the engine is SIGKILLed at random moments
and restarted. At the end every id is on disk with its exact content, and no
content file is left that the repository does not account for: each one that
is still there belongs to a claim (live or archived), and no claim is live any
more, as no flowfile is queued."""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from flowyard.processors.put_file import _BATCH as PUT_BATCH_LIMIT
from flowyard.runtime.repository import Repositories

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import expected_content

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOTAL = 5_000
KILLS = 8
CONTENT_SIZE = 96 * 1024  # above the 64 KiB that go inline in a commit
SOURCE_BATCH = 20


def names_in(directory: Path) -> list[str]:
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []


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
    rng = random.Random(20261207)
    progress = []
    for _ in range(KILLS):
        engine = EngineProcess(flow, data)
        engine.wait_ready()
        before = len(names_in(out))
        time.sleep(rng.uniform(0.05, 1.2))  # a random moment to kill at, not a wait for a result
        engine.kill9()
        progress.append(len(names_in(out)) - before)
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

    content_dir = data / "repository" / "content"
    files = sorted(int(name) for name in names_in(content_dir))  # before opening: recovery deletes orphans
    assert files, "no content file was ever written: the content did not take the content-file path"
    repos = Repositories.open(data / "repository")
    try:
        held: Counter[int] = Counter()  # flowfiles still queued (duplicates on their way), by resource
        for qid in repos.flowfiles.queues_with_records():
            for ff in repos.flowfiles.read_range(qid, -1, 1 << 62, 1 << 30):
                if ff.claim is not None:
                    held[ff.claim.resource] += 1
        figures = repos.recover()
        assert figures["orphans"] == 0, figures  # a clean stop leaves nothing for recovery to delete
        content = repos.content
        assert content.counts == dict(held), "every live claim is held by exactly its queued flowfiles"
        unaccounted = [r for r in files if r not in content.counts and r not in content.archived]
        assert unaccounted == [], f"{len(unaccounted)} content file(s) belong to no claim: {unaccounted[:10]}"
    finally:
        repos.close()
