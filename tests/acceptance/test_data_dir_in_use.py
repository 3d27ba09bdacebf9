"""A data directory in use by another process: a clear error, a non-zero exit,
and nothing on disk touched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flowyard.runtime.repository import Repositories

pytestmark = pytest.mark.integration


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file with its size and time, but the holder's own RocksDB info log
    (``LOG``, or ``logs/<path>_LOG`` where the repository puts it), which the
    live holder may append to at any moment (a second process that rotated it
    would show as a new ``LOG.old.*`` file)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "LOG" and not p.name.endswith("_LOG")}


def test_second_engine_on_same_data_dir_fails_clearly_and_touches_nothing(tmp_path: Path) -> None:
    flow = tmp_path / "flow.json"
    flow.write_text('{"flowyardFlowVersion": 1, "rootGroup": {"processors": [], "connections": []}}')
    data = tmp_path / "data"
    holder = Repositories.open(data / "repository")  # "another process" holding the lock
    try:
        before = snapshot(data)
        result = subprocess.run(
            [sys.executable, "-m", "flowyard.bootstrap.cli", "run", str(flow), "--data-dir", str(data)],
            capture_output=True, text=True, timeout=60,
        )
        after = snapshot(data)
    finally:
        holder.close()
    assert result.returncode == 2
    assert "already in use by another flowyard process" in result.stderr
    assert str(data) in result.stderr
    assert "Traceback" not in result.stderr
    assert after == before


def test_unreadable_flow_is_a_clear_error(tmp_path: Path) -> None:
    flow = tmp_path / "flow.json"
    flow.write_text('{"flowyardFlowVersion": 1, "rootGroup": {"processors": [{"identifier": "x"}]}}')
    result = subprocess.run(
        [sys.executable, "-m", "flowyard.bootstrap.cli", "run", str(flow), "--data-dir", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "rootGroup.processors[0].type: is required" in result.stderr
    assert not (tmp_path / "d").exists(), "a bad flow must not create the data directory"
