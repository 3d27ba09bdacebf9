"""Schemathesis against the OpenAPI description of a real server: no request,
however odd, gets a 5xx."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_no_server_errors(tmp_path: Path) -> None:
    cli = Path(sys.executable).parent / "schemathesis"
    if not cli.exists():
        cli = Path(shutil.which("schemathesis") or "schemathesis")
    env = {**os.environ, "FLOWYARD_USERNAME": "alice", "FLOWYARD_PASSWORD": "s3cret-pass"}
    server = subprocess.Popen([sys.executable, "-m", "flowyard.runtime.cli", "serve", "--data-dir",
                               str(tmp_path / "d"), "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert server.stdout is not None
        url = None
        for line in server.stdout:
            m = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None
        token = httpx.post(f"{url}/api/login", json={"username": "alice", "password": "s3cret-pass"},
                           timeout=10).json()["token"]
        result = subprocess.run(
            [str(cli), "run", f"{url}/api/openapi.json", "--checks", "not_a_server_error",
             "-H", f"Authorization: Bearer {token}", "--max-examples", "5", "--no-color"],
            capture_output=True, text=True, timeout=600,
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
