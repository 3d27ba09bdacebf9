"""Memory stays bounded: a 200 MB flowfile streams through (2 GB in the slow
variant), and a million queued flowfiles fit in well under 1 GB and all come
back after a restart."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from engine_process import EngineProcess, wait_until, write_flow
from flowyard_test_processors import pattern_chunk

pytestmark = pytest.mark.integration

MiB = 1 << 20


def expected_digest(size: int) -> str:
    h = hashlib.sha256()
    for i in range(size // MiB):
        h.update(pattern_chunk(i))
    if size % MiB:
        h.update(pattern_chunk(size // MiB, size % MiB))
    return h.hexdigest()


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(MiB):
            h.update(block)
    return h.hexdigest()


@pytest.mark.parametrize("size_mb", [200, pytest.param(2048, marks=pytest.mark.slow)])
def test_large_flowfile_streams_with_bounded_memory(tmp_path: Path, size_mb: int) -> None:
    out = tmp_path / "out"
    size = size_mb * MiB
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "BigSource", "properties": {"Size": f"{size_mb} MB"},
         "scheduledState": "STOPPED"},
        {"identifier": "tag", "type": "UpdateAttribute", "properties": {"checked": "yes"}},
        {"identifier": "put", "type": "PutFile", "autoTerminatedRelationships": ["success", "failure"],
         "properties": {"Directory": str(out)}},
    ], [
        {"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "tag"},
         "selectedRelationships": ["success"]},
        {"identifier": "c2", "source": {"id": "tag"}, "destination": {"id": "put"},
         "selectedRelationships": ["success"]},
    ])
    # The source starts stopped so the baseline is taken with everything loaded;
    # then the flow is restarted with the source running.
    engine = EngineProcess(flow, tmp_path / "data")
    engine.wait_ready()
    wait_until(lambda: engine.rss() > 0, timeout=10, what="a memory reading")
    baseline = engine.rss()
    assert engine.terminate() == 0
    text = (tmp_path / "flow.json").read_text().replace('"scheduledState": "STOPPED"', '"scheduledState": "RUNNING"')
    (tmp_path / "flow.json").write_text(text)
    engine = EngineProcess(flow, tmp_path / "data")
    engine.wait_ready()
    engine.start_sampling()
    target = out / "big.dat"
    wait_until(lambda: target.exists() and target.stat().st_size == size, timeout=1800,
               what=f"{size_mb} MB in {target}")
    peak = engine.stop_sampling()
    assert engine.terminate() == 0
    growth = peak - baseline
    print(f"BENCH large_flowfile_rss_growth_{size_mb}mb {growth / MiB:.1f} MiB")
    assert growth < 100 * MiB, f"peak RSS grew by {growth / MiB:.0f} MiB"
    assert file_digest(target) == expected_digest(size)


@pytest.mark.slow
def test_million_queued_flowfiles_fit_in_memory_and_survive_restart(tmp_path: Path) -> None:
    total = 1_000_000
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource",
         "properties": {"Count": str(total), "Batch Size": "2000", "Content Size": "0"}},
        {"identifier": "held", "type": "AsyncSlow", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ], [
        {"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "held"},
         "selectedRelationships": ["success"], "backPressureObjectThreshold": 0,
         "backPressureDataSizeThreshold": "0 B"},
    ])
    engine = EngineProcess(flow, tmp_path / "data")
    engine.wait_ready()
    engine.start_sampling()
    wait_until(lambda: re.search(r"queued 1,000,000 ", engine.output()) is not None, timeout=900,
               what="1,000,000 queued flowfiles")
    peak = engine.stop_sampling()
    assert engine.terminate() == 0
    print(f"BENCH million_queued_peak_rss {peak / MiB:.0f} MiB")
    assert peak < 1024 * MiB

    engine = EngineProcess(flow, tmp_path / "data")
    engine.wait_ready(timeout=300)
    assert "1,000,000 flowfile(s) recovered" in engine.output()
    assert engine.rss() < 1024 * MiB
    assert engine.terminate() == 0
    assert os.path.exists(tmp_path / "data" / "repository")
