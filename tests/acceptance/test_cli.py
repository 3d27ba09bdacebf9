"""``flowyard run`` and ``flowyard demo`` as a user runs them: a live status line,
and a clean shutdown on SIGINT (Ctrl-C) and SIGTERM that keeps queued data; the
demo served with the web API (``make demo``) and headless."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from engine_process import EngineProcess, wait_until, write_flow

pytestmark = pytest.mark.integration

#: Every processor of the bundled demo flow runs (its ListenHTTP retries while its port is taken).
DEMO_PROCESSORS = len(json.loads((Path(__file__).resolve().parents[2] / "runtime" / "demo" / "demo-flow.json")
                                 .read_text(encoding="utf-8"))["rootGroup"]["processors"])
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


def without_credentials_from_the_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("FLOWYARD_USERNAME", "FLOWYARD_PASSWORD")}


def start_demo(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--data-dir", str(data_dir),
                                 "--port", "0"], stdout=out, stderr=subprocess.STDOUT,
                                env=without_credentials_from_the_environment())


def wait_for_url(proc: subprocess.Popen[bytes], log: Path, starts: int) -> str:
    """The URL printed by the ``starts``-th start logged in ``log``."""
    def printed() -> bool:
        assert proc.poll() is None, f"the demo exited with {proc.returncode}:\n{log.read_text()}"
        return log.read_text().count("flowyard serving") >= starts and log.read_text().count("log in as") >= starts

    wait_until(printed, timeout=60, what="the demo to print its URL and login")
    return str(re.findall(r"flowyard serving (http://127\.0\.0\.1:\d+) ", log.read_text())[starts - 1])


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0, log.read_text()


def test_demo_serves_the_demo_flow_printing_url_and_credentials(tmp_path: Path) -> None:
    data, log = tmp_path / "demo", tmp_path / "demo.log"
    proc = start_demo(data, log)
    try:
        url = wait_for_url(proc, log, 1)
        first = re.search(r"log in as 'admin' with password '([^']+)' \(generated at this first start", log.read_text())
        assert first, log.read_text()
        with httpx.Client(base_url=url, timeout=10) as client:
            wait_until(lambda: client.get("/api/health").status_code == 200, timeout=30, what="/api/health")
            token = client.post("/api/login", json={"username": "admin", "password": first.group(1)}).json()["token"]
            bearer = {"Authorization": f"Bearer {token}"}

            def flowing() -> bool:
                status = client.get("/api/status", headers=bearer).json()
                return bool(status["running"] == DEMO_PROCESSORS and status["flowfilesOut"] > 0)

            wait_until(flowing, timeout=60, what="every demo component running and flowfiles leaving the flow")
        stop(proc, log)
        assert "stopped cleanly" in log.read_text()

        # Started again: same flow and data, the password is not shown again.
        proc = start_demo(data, log)
        wait_for_url(proc, log, 2)
        assert log.read_text().count(first.group(1)) == 1, "the password is printed once only"
        assert "log in as 'admin' (forgot the password? set a new one with: flowyard set-credentials" in log.read_text()
        stop(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert log.read_text().count("stopped cleanly") == 2


def test_demo_names_a_taken_port_and_how_to_choose_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--data-dir",
                                 str(tmp_path / "demo"), "--port", str(port)], capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 2, result.stderr
    assert f"127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "--port" in result.stderr and "PORT=8081 make demo" in result.stderr
    assert not (tmp_path / "demo").exists(), "a refused start touches nothing"


def test_make_demo_passes_the_port_on() -> None:
    root = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "-n", "-C", str(root), "demo", "PORT=8123"], capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "flowyard demo --data-dir data/demo --port 8123" in dry.stdout


def test_demo_runs_headless_with_live_status(tmp_path: Path) -> None:
    log = tmp_path / "headless.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--headless", "--data-dir",
                                 str(tmp_path / "demo")], stdout=out, stderr=subprocess.STDOUT)
    try:
        def moving() -> bool:
            assert proc.poll() is None, f"the demo exited with {proc.returncode}:\n{log.read_text()}"
            return len([s for s in statuses(log.read_text()) if s[1] > 0]) >= 2

        wait_until(moving, timeout=60, what="two status lines with flowfiles leaving the flow")
        running = statuses(log.read_text())[-1]
        stop(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert running[3] == running[4] == DEMO_PROCESSORS, "every demo processor runs"
    assert "stopped cleanly" in log.read_text()
    assert (tmp_path / "demo" / "flow.json").exists(), "the same data directory layout as the served demo"
    assert list((tmp_path / "demo" / "out" / "orders").glob("event-*.json")), "orders written under DATA/out"
