"""``flowyard run`` and ``flowyard demo`` as a user runs them: a live status line,
and a clean shutdown on SIGINT (Ctrl-C) and SIGTERM that keeps queued data."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine_process import EngineProcess, wait_until, write_flow

pytestmark = pytest.mark.integration

STATUS = re.compile(r"in ([\d,]+) \(.*\) \| out ([\d,]+) \(.*\) \| queued ([\d,]+) \(.*\) \| running (\d+)/(\d+)")


def statuses(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(g.replace(",", "")) for g in m.groups()) for m in STATUS.finditer(text)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_prints_status_and_stops_cleanly_keeping_queued_data(tmp_path: Path, signum: int) -> None:
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "src", "type": "SequenceSource", "properties": {"Count": "5000", "Batch Size": "100"}},
        {"identifier": "held", "type": "AsyncSlow", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ], [{"identifier": "c1", "source": {"id": "src"}, "destination": {"id": "held"},
         "selectedRelationships": ["success"], "backPressureObjectThreshold": 0}])
    engine = EngineProcess(flow, tmp_path / "data")
    engine.wait_ready()
    wait_until(lambda: any(s[2] == 5000 for s in statuses(engine.output())), timeout=60,
               what="a status line showing 5,000 queued")
    engine.proc.send_signal(signum)
    assert engine.proc.wait(60) == 0
    engine.finish()
    out = engine.output()
    assert f"received {signal.Signals(signum).name}, stopping" in out
    assert "stopped cleanly" in out

    again = EngineProcess(flow, tmp_path / "data")
    again.wait_ready()
    assert "5,000 flowfile(s) recovered" in again.output()
    assert again.terminate() == 0


def test_demo_runs_headless_with_live_status(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "flowyard.runtime.cli", "demo", "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            moving = [s for s in statuses("".join(lines)) if s[1] > 0]
            if len(moving) >= 2:
                break
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, "".join(lines) + rest
    running = statuses("".join(lines))[-1]
    assert running[3] == running[4] == 5, "every demo component runs (4 processors and a funnel)"
    assert "stopped cleanly" in rest
