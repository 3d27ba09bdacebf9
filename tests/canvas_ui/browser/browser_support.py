"""Helpers of the browser tests: a real `flowyard serve` in a subprocess, logging in."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
USER, PASSWORD = "admin", "browser-pass"
ROOT = Path(__file__).resolve().parents[3]
DOC_IMAGES = ROOT / "docs" / "img"

class Server:
    """A running `flowyard serve` (base URL, data directory, process)."""

    def __init__(self, url: str, data_dir: Path, process: subprocess.Popen[bytes]) -> None:
        self.url, self.data_dir, self.process = url, data_dir, process

    @contextlib.contextmanager
    def api(self) -> Iterator[Any]:
        """An httpx client logged in with a bearer token (closed on leaving)."""
        import httpx

        with httpx.Client(base_url=self.url, timeout=10) as client:
            token = client.post("/api/login", json={"username": USER, "password": PASSWORD}).json()["token"]
            client.cookies.clear()
            client.headers["Authorization"] = f"Bearer {token}"
            yield client


def start_server(tmp_path: Path, flow: dict[str, Any] | None = None, *, demo: bool = False,
                 extra_args: list[str] | None = None) -> Server:
    data_dir = tmp_path / "data"
    log = tmp_path / "server.log"
    env = {**os.environ, "FLOWYARD_USERNAME": USER, "FLOWYARD_PASSWORD": PASSWORD}
    if demo:
        command = [sys.executable, "-m", "flowyard.bootstrap.cli", "demo", "--data-dir", str(data_dir), "--port", "0"]
    else:
        initial = tmp_path / "initial.json"
        initial.write_text(json.dumps(flow or {"flowyardFlowVersion": 1, "rootGroup": {"name": "Browser test"}}))
        command = [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(data_dir), "--port", "0",
                   "--flow", str(initial)]
    command += extra_args or []
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)", log.read_text())
        if match:
            return Server(match.group(1), data_dir, process)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"flowyard serve did not start:\n{log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def log_in(page: Any, url: str) -> None:
    page.goto(url + "/")
    page.get_by_placeholder("User name").fill(USER)
    page.get_by_placeholder("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("toolbar").wait_for(timeout=15_000)
