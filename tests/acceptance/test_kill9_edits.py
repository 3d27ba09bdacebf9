"""kill -9 loop of ``flowyard serve`` in the middle of live edits: a client renames
a processor and moves a connection's back pressure as fast as the API answers,
and the server is SIGKILLed at random moments and started again on its data
directory. After every restart the flow is readable and holds the last edit
the API acknowledged (or the one in flight when the kill came, never an older
one), the running processor runs again, and the flowfiles it made are there."""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine_process import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER, PASSWORD = "admin", "kill9-edits-pass"
KILLS = 6
FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "Edits under kill -9",
    "processors": [
        {"identifier": "gen", "name": "n0", "type": "GenerateFlowFile", "schedulingPeriod": "50 ms",
         "properties": {"Batch Size": "10"}},
        {"identifier": "sink", "name": "Sink", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ],
    "connections": [{"identifier": "c", "source": {"id": "gen"}, "destination": {"id": "sink"},
                     "selectedRelationships": ["success"], "backPressureObjectThreshold": 1_000_000}],
}}


def serve(tmp_path: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = tmp_path / "server.log"
    initial = tmp_path / "initial.json"
    initial.write_text(json.dumps(FLOW))
    env = {**os.environ, "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD}
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(data),
                                    "--port", "0", "--flow", str(initial)], stdout=out, stderr=subprocess.STDOUT,
                                   env=env)
    found: list[str] = []

    def started() -> bool:
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)", log.read_bytes()[offset:].decode(errors="replace"))
        if match:
            found.append(match.group(1))
        assert process.poll() is None, log.read_text()[-2000:]
        return bool(match)

    wait_until(started, timeout=60, what="flowyard serve to start")
    return process, found[0]


@contextlib.contextmanager
def client(url: str) -> Iterator[httpx.Client]:
    """An API client logged in with a bearer token."""
    with httpx.Client(base_url=url, timeout=10) as http:
        token = http.post("/api/login", json={"username": USER, "password": PASSWORD}).json()["token"]
        http.cookies.clear()
        http.headers["Authorization"] = f"Bearer {token}"
        yield http


def test_acknowledged_edits_survive_kill9_and_the_flow_runs_on(tmp_path: Path) -> None:
    data = tmp_path / "data"
    rng = random.Random(20261211)
    acknowledged = 0  # the number in the last name the API acknowledged
    for _ in range(KILLS):
        process, url = serve(tmp_path, data)
        with client(url) as api:
            gen = api.get("/api/processors/gen").json()
            name = gen["name"]
            assert re.fullmatch(r"n\d+", name), name
            number = int(name[1:])
            assert number in (acknowledged, acknowledged + 1), (number, acknowledged)  # never an older edit
            connection = api.get("/api/connections/c").json()
            assert connection["backPressureObjectThreshold"] == 1_000_000 + number  # the same edits, together
            wait_until(lambda: api.get("/api/processors/gen").json()["runState"] == "RUNNING", timeout=30,
                       what="the generator running again")
            acknowledged = number
            stop = threading.Event()
            done: list[int] = []

            def edit(api: httpx.Client = api, start: int = number, stop: threading.Event = stop,
                     done: list[int] = done) -> None:
                n = start
                revision = api.get("/api/processors/gen").json()["revision"]
                crevision = api.get("/api/connections/c").json()["revision"]
                while not stop.is_set():
                    try:
                        answer = api.post("/api/edits", json={"edits": [
                            {"action": "update", "kind": "processor", "id": "gen", "revision": revision,
                             "changes": {"name": f"n{n + 1}"}},
                            {"action": "update", "kind": "connection", "id": "c", "revision": crevision,
                             "changes": {"backPressureObjectThreshold": 1_000_000 + n + 1}}]})
                    except httpx.HTTPError:
                        return  # the kill came
                    if answer.status_code != 200:
                        return
                    n += 1
                    done.append(n)
                    results = answer.json()["results"]
                    revision, crevision = results[0]["revision"], results[1]["revision"]

            editor = threading.Thread(target=edit)
            editor.start()
            time.sleep(rng.uniform(0.2, 1.5))  # a random moment to kill at, not a wait for a result
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            stop.set()
            editor.join(30)
        assert done, "no edit was acknowledged between the start and the kill"
        acknowledged = done[-1]

    process, url = serve(tmp_path, data)
    try:
        with client(url) as api:
            number = int(api.get("/api/processors/gen").json()["name"][1:])
            assert number in (acknowledged, acknowledged + 1)
            assert api.get("/api/processors/gen").json()["runState"] == "RUNNING"
            listing = api.get("/api/connections/c/flowfiles").json()
            assert listing, "the flowfiles made before the kills are still queued"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
