"""API benchmarks. ``serve_ready``: seconds from starting ``flowyard serve`` to a
healthy answer (issue 4 target: under 1.5 s)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import httpx


def serve_ready() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FLOWYARD_USERNAME": "bench", "FLOWYARD_PASSWORD": "bench-password"}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.runtime.cli", "serve", "--data-dir", tmp,
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            assert proc.stdout is not None
            url = None
            for line in proc.stdout:
                m = re.search(r"serving (http://\S+?)[ ,]", line)
                if m:
                    url = m.group(1)
                    break
            assert url, "the server did not report its address"
            while True:
                try:
                    if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.005)
            elapsed = time.perf_counter() - start
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"BENCH serve_ready {elapsed:.2f} s")


BENCHMARKS = {"serve_ready": serve_ready}
