"""Run ``flowyard run`` in a child process for acceptance tests: start it, wait
for it to be ready, watch its memory, kill it, restart it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

SUPPORT = Path(__file__).parent
READY = "flowyard running"


def write_flow(path: Path, processors: list[dict[str, Any]], connections: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"flowyardFlowVersion": 1, "rootGroup": {
        "processors": processors, "connections": connections}}))
    return path


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str, step: float = 0.05) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class EngineProcess:
    """One ``flowyard run`` child process."""

    def __init__(self, flow: Path, data_dir: Path, *, durability: str = "os",
                 extra_args: list[str] | None = None, log: Path | None = None) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT), env.get("PYTHONPATH", "")]))
        env["FLOWYARD_PROCESSOR_MODULES"] = "flowyard_test_processors:PROCESSORS"
        self.log = log or data_dir.parent / f"{data_dir.name}-engine.log"
        self._log_file = open(self.log, "ab")  # noqa: SIM115 — closed in finish()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flowyard.bootstrap.cli", "run", str(flow), "--data-dir", str(data_dir),
             "--durability", durability, *(extra_args or [])],
            stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
        )
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self.peak_rss = 0
        self._sampling = False
        self._sampler: threading.Thread | None = None

    def output(self) -> str:
        return self.log.read_bytes().decode(errors="replace")

    def wait_ready(self, timeout: float = 60.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"engine exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            return READY in self.log.read_bytes()[self._offset:].decode(errors="replace")
        wait_until(ready, timeout=timeout, what="the engine to start")

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def start_sampling(self, interval: float = 0.02) -> None:
        """Track the peak RSS of the child in a background thread."""
        self._sampling = True

        def sample() -> None:
            p = psutil.Process(self.proc.pid)
            while self._sampling:
                try:
                    self.peak_rss = max(self.peak_rss, p.memory_info().rss)
                except psutil.NoSuchProcess:
                    return
                time.sleep(interval)
        self._sampler = threading.Thread(target=sample, daemon=True)
        self._sampler.start()

    def stop_sampling(self) -> int:
        self._sampling = False
        if self._sampler is not None:
            self._sampler.join()
        return self.peak_rss

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.finish()

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.finish()
        return code

    def finish(self) -> None:
        self._sampling = False
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._log_file.close()


def kill_at_random(flow: Path, data_dir: Path, *, kills: int, seed: int, delay: tuple[float, float],
                   done: Callable[[], int]) -> list[int]:
    """Start ``flowyard run`` on ``flow`` ``kills`` times, each time SIGKILLing it a random
    ``delay`` (seconds, uniform between the two bounds) after it is ready: a moment to kill at,
    not a wait for a result. Returns how far ``done()`` moved during each run."""
    rng = random.Random(seed)
    progress = []
    for _ in range(kills):
        engine = EngineProcess(flow, data_dir)
        engine.wait_ready()
        before = done()
        time.sleep(rng.uniform(*delay))
        engine.kill9()
        progress.append(done() - before)
    return progress


def names_in(directory: Path) -> list[str]:
    """The files in ``directory`` (none if it does not exist), hidden ones left out."""
    try:
        return [name for name in os.listdir(directory) if not name.startswith(".")]
    except FileNotFoundError:
        return []
