"""The demo's content branch as a user meets it: JSON order events split,
evaluated, reshaped by Jolt, merged per kind, gzipped and written under the data
directory; an event POSTed to its ListenHTTP shows up in those files; and the
demo still starts when ListenHTTP's port is taken."""

from __future__ import annotations

import gzip
import json
import re
import signal
import socket
import subprocess
import sys
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine_process import EngineProcess, wait_until

pytestmark = pytest.mark.integration

DEMO = json.loads(resources.files("flowyard.runtime").joinpath("demo/demo-flow.json").read_text(encoding="utf-8"))
PROCESSORS = len(DEMO["rootGroup"]["processors"])
LISTEN = next(p for p in DEMO["rootGroup"]["processors"] if p["type"] == "ListenHTTP")
DEMO_PORT = int(LISTEN["properties"]["listening-port"])
RUNNING = re.compile(r"\| running (\d+)/(\d+)( \| invalid \d+)?")
BATCH_NAME = re.compile(r"(orders|refunds)-\d{8}-\d{6}-[0-9a-f]{8}\.jsonl\.gz")
#: What the Jolt shift of the demo makes of a whole generated event.
SHAPED_KEYS = {"orderId", "type", "total", "placedAt", "customer", "shipTo"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_copy(path: Path, out_dir: Path, port: int) -> Path:
    """The bundled demo flow as ``flowyard demo`` prepares it (output.dir under the
    data directory), with ListenHTTP on ``port``."""
    doc = json.loads(json.dumps(DEMO))
    for ctx in doc["parameterContexts"]:
        for parameter in ctx["parameters"]:
            if parameter["name"] == "output.dir":
                parameter["value"] = str(out_dir)
    for processor in doc["rootGroup"]["processors"]:
        if processor["identifier"] == LISTEN["identifier"]:
            processor["properties"]["listening-port"] = str(port)
    path.write_text(json.dumps(doc))
    return path


def running(log: str) -> tuple[int, int, bool] | None:
    """(running, total, any invalid) of the last status line."""
    lines = RUNNING.findall(log)
    return (int(lines[-1][0]), int(lines[-1][1]), bool(lines[-1][2])) if lines else None


def batches(events_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Every complete gzip file written so far: name → its JSON lines."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(events_dir.glob("*.gz")) if events_dir.is_dir() else []:
        try:
            text = gzip.decompress(path.read_bytes()).decode("utf-8")
        except (EOFError, OSError):  # replaced while read: the next look sees the new file
            continue
        found[path.name] = [json.loads(line) for line in text.splitlines() if line]
    return found


def assert_shaped(event: dict[str, Any], kind: str) -> None:
    """A generated event after the demo's Jolt shift (id → orderId, kind → type,
    amount and currency → total, ts → placedAt, customer.id → customer,
    customer.country → shipTo.country)."""
    assert set(event) == SHAPED_KEYS, event
    assert event["type"] == kind, event
    uuid.UUID(event["orderId"])
    assert set(event["total"]) == {"amount", "currency"} and event["total"]["currency"] == "EUR", event
    assert isinstance(event["total"]["amount"], int) and 1 <= event["total"]["amount"] <= 100, event
    assert isinstance(event["placedAt"], int) and event["placedAt"] > 1_600_000_000_000, event
    assert re.fullmatch(r"c-\d+", event["customer"]), event
    assert event["shipTo"] in ({"country": "DE"}, {"country": "FR"}), event


def test_demo_content_branch_merges_reshaped_events_into_gzip_files_and_takes_posted_events(tmp_path: Path) -> None:
    port = free_port()
    out_dir = tmp_path / "data" / "out"
    engine = EngineProcess(demo_copy(tmp_path / "demo.json", out_dir, port), tmp_path / "data")
    try:
        engine.wait_ready()
        wait_until(lambda: running(engine.output()) is not None, timeout=15, what="a status line")
        assert "invalid" not in engine.output(), engine.output()
        assert running(engine.output()) == (PROCESSORS, PROCESSORS, False), engine.output()

        mine = f"posted-{uuid.uuid4()}"
        event = {"id": mine, "kind": "order", "amount": 42, "currency": "EUR", "ts": 1765000000000,
                 "customer": {"id": "c-me", "country": "NL"}}
        url = f"http://127.0.0.1:{port}/{LISTEN['properties']['base-path']}"
        with httpx.Client(timeout=10) as client:
            answer = client.post(url, json=event)
            assert answer.status_code == 200, answer.text
            # not JSON: taken (ListenHTTP does not look), then logged as a bad event, which raises a bulletin
            assert client.post(url, content=b"this is not json").status_code == 200

        def posted_one_written() -> bool:
            return any(e.get("orderId") == mine for lines in batches(out_dir / "events").values() for e in lines)

        wait_until(posted_one_written, timeout=30, what="the posted event in a gzip file under DATA/out/events")
        wait_until(lambda: "[WARNING] Log bad events:" in engine.output(), timeout=10,
                   what="a bulletin for the event that is not JSON")
        written = batches(out_dir / "events")
        assert engine.terminate() == 0
    finally:
        engine.finish()

    kinds = set()
    for name, lines in written.items():
        match = BATCH_NAME.fullmatch(name)
        assert match, f"{name}: the batch name says its kind and time"
        kind = match.group(1)[:-1]
        kinds.add(kind)
        assert lines, f"{name} is empty"
        for line in lines:
            if line.get("orderId") == mine:
                assert line == {"orderId": mine, "type": "order", "total": {"amount": 42, "currency": "EUR"},
                                "placedAt": 1765000000000, "customer": "c-me", "shipTo": {"country": "NL"}}
                assert kind == "order"
            else:
                assert_shaped(line, kind)
    assert "order" in kinds


def test_demo_starts_when_the_listen_port_is_taken(tmp_path: Path) -> None:
    data, log = tmp_path / "demo", tmp_path / "demo.log"
    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", DEMO_PORT))
            taken.listen()
        except OSError:
            pass  # something else holds it: taken all the same
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--headless",
                                     "--data-dir", str(data)], stdout=out, stderr=subprocess.STDOUT)
        try:
            def started_without_listener() -> bool:
                assert proc.poll() is None, f"the demo exited with {proc.returncode}:\n{log.read_text()}"
                seen = log.read_text()
                written = bool(batches(data / "out" / "events"))
                return running(seen) is not None and "failed to start" in seen and written

            wait_until(started_without_listener, timeout=30,
                       what="the demo running without its ListenHTTP and writing gzip files")
            text = log.read_text()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert re.search(r"\[ERROR\] Listen for events: failed to start: .*in use.*trying again in 30 s", text), text
    assert running(text) == (PROCESSORS, PROCESSORS, False), \
        "the rest of the demo runs, nothing is invalid, and the listener stays scheduled to try again (as NiFi)"
