"""Issue 10 through the command line, in child processes: SIGTERM stops the
process within a bounded time whatever a processor does; every entry point
knows the same controller services; what cannot be used is refused with exit
2 and a message, never a traceback; the data directory is owner-only."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from engine_process import SUPPORT, EngineProcess, wait_until, write_flow

pytestmark = pytest.mark.integration


def flowyard(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize(("command", "processor"), [("run", "HangInThread"), ("run", "SpinOnLoop"),
                                                    ("serve", "SpinOnLoop")])
def test_sigterm_stops_within_the_stop_timeout_whatever_a_processor_does(tmp_path: Path, command: str,
                                                                         processor: str) -> None:
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "stuck", "type": processor, "schedulingPeriod": "1 sec",
         "autoTerminatedRelationships": ["success"]}], [])
    env = {**os.environ, "PYTHONPATH": str(SUPPORT), "FLOWYARD_USERNAME": "admin", "FLOWYARD_PASSWORD": "long-enough",
           "FLOWYARD_PROCESSOR_MODULES": "flowyard_test_processors:PROCESSORS"}
    args = ([str(flow)] if command == "run" else ["--flow", str(flow), "--port", "0"])
    ready = b"flowyard running" if command == "run" else b"flowyard serving"
    log = tmp_path / "log.txt"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", command, *args, "--data-dir",
                                 str(tmp_path / "data"), "--stop-timeout", "2 sec"], stdout=out,
                                stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(lambda: ready in log.read_bytes(), timeout=60, what="the engine to start")
            time.sleep(1.0)  # the processor is stuck by now (it is triggered at once; SpinOnLoop after 0.5 s)
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(30)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)
    output = log.read_text(errors="replace")
    assert code == 3, output
    assert took < 15, f"stopped after {took:.1f} s"
    assert "did not finish within 2 s" in output
    assert "Traceback" not in output


def test_run_knows_the_controller_services_serve_knows(tmp_path: Path) -> None:
    flow = tmp_path / "flow.json"
    flow.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "controllerServices": [{"identifier": "cache", "type": "LocalMapCacheService", "name": "Cache"}],
        "processors": [
            {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "100 ms",
             "properties": {"Custom Text": "same", "Data Format": "Text"}},
            {"identifier": "dedup", "type": "DetectDuplicate",
             "autoTerminatedRelationships": ["duplicate", "failure"],
             "properties": {"Distributed Cache Service": "cache",
                            "Cache Entry Identifier": "${filename:substring(0,1)}"}},
            {"identifier": "log", "type": "LogAttribute", "autoTerminatedRelationships": ["success"]}],
        "connections": [
            {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "dedup"},
             "selectedRelationships": ["success"]},
            {"identifier": "c2", "source": {"id": "dedup"}, "destination": {"id": "log"},
             "selectedRelationships": ["non-duplicate"]}]}}))
    engine = EngineProcess(flow, tmp_path / "data")
    try:
        engine.wait_ready()
        wait_until(lambda: " | out " in engine.output() and "bulletins 0" in engine.output(), timeout=30,
                   what="a status line")
        assert engine.terminate() == 0, engine.output()
    finally:
        engine.finish()
    output = engine.output()
    assert "unknown controller service type" not in output
    assert "invalid" not in output, output


def test_a_flow_over_the_limits_is_refused_with_exit_2(tmp_path: Path) -> None:
    group: dict[str, Any] = {"name": "deepest"}
    for level in range(40):  # within the JSON depth limit, beyond the group nesting limit
        group = {"name": f"level {level}", "processGroups": [group]}
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": group}))
    for command in (["run", str(deep), "--data-dir", str(tmp_path / "a")],
                    ["serve", "--flow", str(deep), "--data-dir", str(tmp_path / "b"), "--port", "0"]):
        result = flowyard(*command)
        assert result.returncode == 2, result.stderr
        assert "at most 32 levels deep" in result.stderr
        assert "Traceback" not in result.stderr
    nested_json = tmp_path / "nested.json"
    nested_json.write_text("[" * 100_000 + "]" * 100_000)
    result = flowyard("run", str(nested_json), "--data-dir", str(tmp_path / "c"))
    assert result.returncode == 2 and "nests deeper than" in result.stderr and "Traceback" not in result.stderr
    tasks = tmp_path / "tasks.json"
    tasks.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {"processors": [
        {"identifier": "g", "type": "GenerateFlowFile", "concurrentlySchedulableTaskCount": 10**12}]}}))
    result = flowyard("run", str(tasks), "--data-dir", str(tmp_path / "d"))
    assert result.returncode == 2 and "concurrentlySchedulableTaskCount: must be from 1 to 100" in result.stderr


def test_bad_credentials_are_refused_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "credentials.json").write_text("{not json")
    result = flowyard("serve", "--data-dir", str(data), "--port", "0")
    assert result.returncode == 2, result.stderr
    assert "credentials.json is damaged" in result.stderr and "set-credentials" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in data.iterdir()) == ["credentials.json"], "nothing else was touched"
    short = flowyard("serve", "--data-dir", str(tmp_path / "other"), "--port", "0",
                     env={"FLOWYARD_USERNAME": "admin", "FLOWYARD_PASSWORD": "short"})
    assert short.returncode == 2 and "at least 8 characters" in short.stderr


def test_the_data_directory_is_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "old").mkdir(parents=True)
    (data / "old" / "leftover.txt").write_text("x")
    os.chmod(data / "old" / "leftover.txt", 0o644)
    os.chmod(data / "old", 0o755)
    os.chmod(data, 0o755)
    flow = write_flow(tmp_path / "flow.json", [
        {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "50 ms"},
        {"identifier": "put", "type": "PutFile", "properties": {"Directory": str(data / "out")},
         "autoTerminatedRelationships": ["success", "failure"]}],
        [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "put"},
          "selectedRelationships": ["success"]}])
    engine = EngineProcess(flow, data)
    try:
        engine.wait_ready()
        wait_until(lambda: (data / "out").is_dir() and any((data / "out").iterdir()), timeout=30,
                   what="PutFile to write a file")
        assert engine.terminate() == 0
    finally:
        engine.finish()
    loose = []
    for path in [data, *data.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        if stat.S_IMODE(mode) & 0o077:
            loose.append(f"{path.relative_to(tmp_path)} {oct(stat.S_IMODE(mode))}")
    assert loose == [], loose
