"""Run a single-member etcd for tests and local clusters (``EtcdServer``).

The server listens on loopback only (client and peer ports picked free at start), keeps its
data in the given directory (or a temporary one, removed at exit) and is ready when its
``/health`` answers. Disk: etcd 3.4 preallocates each WAL segment (64 MB) and offers no
option to shrink it, so every data directory costs ~64 to 128 MB while the server lives;
``--quota-backend-bytes`` caps the key-value store itself (at 256 MB here by default).
``--max-request-bytes`` is raised from etcd's 1.5 MiB to 10 MiB (flow snapshots are values).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

from flowyard.runtime.sdk import ConfigurationError

__all__ = ["EtcdServer", "find_etcd"]

_STARTUP_TIMEOUT = 15.0


def find_etcd() -> str:
    """The path of the ``etcd`` binary. ConfigurationError when it is not installed."""
    found = shutil.which("etcd") or ("/usr/bin/etcd" if os.access("/usr/bin/etcd", os.X_OK) else None)
    if found is None:
        raise ConfigurationError(
            "etcd is not installed (no `etcd` on PATH): run `make etcd`, "
            "or `sudo apt-get install etcd-server`")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EtcdServer:
    """One etcd process as a context manager: ``with EtcdServer() as server: server.url``.

    ``data_dir`` keeps the data (created when missing); without it a temporary directory is
    used and removed by ``stop``/exit. ``stop`` terminates (SIGTERM, then SIGKILL after 5 s),
    ``kill`` is SIGKILL (for crash tests), ``restart`` starts again on the same ports and
    data. Startup waits at most ``startup_timeout`` seconds for ``/health``; a failure
    raises ConfigurationError with the end of etcd's log."""

    def __init__(self, data_dir: str | os.PathLike[str] | None = None, *, name: str = "flowyard",
                 quota_backend_bytes: int = 256 * 1024 * 1024, max_request_bytes: int = 10 * 1024 * 1024,
                 startup_timeout: float = _STARTUP_TIMEOUT) -> None:
        self.name = name
        self.quota_backend_bytes = quota_backend_bytes
        self.max_request_bytes = max_request_bytes
        self.startup_timeout = startup_timeout
        self._temp: tempfile.TemporaryDirectory[str] | None = None
        if data_dir is None:
            self._temp = tempfile.TemporaryDirectory(prefix="flowyard-etcd-")
            self._base = Path(self._temp.name)
            self.data_dir = self._base / "data"
        else:
            self.data_dir = Path(data_dir)
            self._base = self.data_dir.parent
        self.log_path = self._base / f"{self.data_dir.name}.etcd.log"
        self.client_port = 0
        self.peer_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL, e.g. ``http://127.0.0.1:40123`` (after start)."""
        if not self.client_port:
            raise RuntimeError("EtcdServer.url: the server was never started")
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> EtcdServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Start etcd (fresh ports the first time, the same ones after) and wait until healthy."""
        if self.running:
            return
        binary = find_etcd()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"etcd data dir {self.data_dir}: cannot be created: {exc.strerror or exc}") from None
        fresh_ports = not self.client_port
        for attempt in range(3):
            if fresh_ports:
                self.client_port, self.peer_port = _free_port(), _free_port()
            try:
                self._spawn(binary)
                return
            except ConfigurationError:
                if not fresh_ports or attempt == 2 or "address already in use" not in self._log_tail():
                    raise

    def _spawn(self, binary: str) -> None:
        peer = f"http://127.0.0.1:{self.peer_port}"
        args = [
            binary, "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"{self.name}={peer}",
            "--quota-backend-bytes", str(self.quota_backend_bytes),
            "--max-request-bytes", str(self.max_request_bytes),
            "--max-wals", "1", "--max-snapshots", "1",
            # keep the last 1,000 revisions only: heartbeats and state writes would otherwise fill the quota
            "--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000",
            "--logger", "zap", "--log-level", "warn",
        ]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.startup_timeout
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    self._process = None
                    raise ConfigurationError(
                        f"etcd exited at start (data dir {self.data_dir}); its log ends:\n{self._log_tail()}")
                try:
                    answer = client.get(self.url + "/health")
                    if answer.status_code == 200 and answer.json().get("health") in ("true", True):
                        return
                except (httpx.TransportError, ValueError):
                    pass
                time.sleep(0.05)
        self.kill()
        raise ConfigurationError(
            f"etcd did not become healthy within {self.startup_timeout:g} s on {self.url} "
            f"(data dir {self.data_dir}); its log ends:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate etcd (SIGTERM; SIGKILL after 5 s). The data stays until ``close``."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL etcd at once (a crash)."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop (when running) and start again on the same ports and data."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop etcd and remove a temporary data directory."""
        self.stop()
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
