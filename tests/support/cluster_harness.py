"""A cluster on loopback for the acceptance tests: one etcd and N ``flowyard
serve`` processes joined to it, each with its own data directory, web port and
node address; started and stopped by the test (kill -9, SIGSTOP/SIGCONT and
restart included)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from flowyard.clusters.etcdserver import EtcdServer

__all__ = ["ClusterHarness", "NodeProcess", "cluster", "free_port", "wait_for"]

SUPPORT = Path(__file__).parent
USERNAME = "admin"
PASSWORD = "cluster-test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str, step: float = 0.1) -> Any:
    """Wait until ``condition()`` returns something true (and return it); fail
    naming ``what`` after ``timeout`` seconds. Exceptions count as not yet."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except (httpx.HTTPError, AssertionError, KeyError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s" + (f" (last: {last!r})" if last else ""))
        time.sleep(step)


class NodeProcess:
    """One ``flowyard serve`` node."""

    def __init__(self, harness: ClusterHarness, node_id: str, flow: Path | None) -> None:
        self.harness = harness
        self.node_id = node_id
        self.data_dir = harness.root / node_id
        self.log = harness.root / f"{node_id}.log"
        self.address = f"127.0.0.1:{free_port()}"
        self.flow = flow
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._token = ""
        self._starts = 0

    def start(self) -> NodeProcess:
        h = self.harness
        args = [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(self.data_dir),
                "--port", "0", "--cluster", h.etcd.url, "--node-id", self.node_id, "--node-address", self.address,
                "--cluster-secret-file", str(h.secret), "--lease-ttl", str(h.lease_ttl),
                "--flow-election-wait", str(h.election_wait), "--flow-election-candidates", str(h.candidates),
                "--stop-timeout", "20 sec"]
        if self.flow is not None:
            args += ["--flow", str(self.flow)]
        env = dict(os.environ, FLOWYARD_USERNAME=USERNAME, FLOWYARD_PASSWORD=PASSWORD,
                   FLOWYARD_PROCESSOR_MODULES="flowyard_test_processors:PROCESSORS",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH", "")])))
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        self._starts += 1
        self.url = wait_for(self._printed_url, timeout=60, what=f"{self.node_id} to print its URL")
        self._token = ""
        return self

    def _printed_url(self) -> str | None:
        assert self.proc is not None
        text = self.log.read_text(errors="replace")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.node_id} exited with {self.proc.returncode}:\n{text[-4000:]}")
        urls = re.findall(r"flowyard serving (http://127\.0\.0\.1:\d+)", text)
        return urls[self._starts - 1] if len(urls) >= self._starts else None

    def client(self, timeout: float = 15.0) -> httpx.Client:
        if not self._token:
            with httpx.Client(base_url=self.url, timeout=timeout) as c:
                self._token = c.post("/api/login", json={"username": USERNAME, "password": PASSWORD}).json()["token"]
        return httpx.Client(base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {self._token}"})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        with self.client() as c:
            return c.get(path, **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        with self.client() as c:
            return c.request(method, path, **kw)

    def overview(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.get("/api/cluster").json()
        return answer

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout: float = 60) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc is not None else 0
        self.proc.send_signal(signal.SIGCONT)
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
            raise AssertionError(f"{self.node_id} did not stop within {timeout} s:\n{self.output()[-4000:]}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class ClusterHarness:
    """etcd plus nodes ``n1``..``nN`` under ``root``."""

    def __init__(self, root: Path, *, lease_ttl: int = 3, election_wait: float = 10.0, candidates: int = 3) -> None:
        self.root = root
        self.lease_ttl = lease_ttl
        self.election_wait = election_wait
        self.candidates = candidates
        self.secret = root / "cluster.secret"
        self.etcd = EtcdServer(root / "etcd")
        self.nodes: dict[str, NodeProcess] = {}

    def __enter__(self) -> ClusterHarness:
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.secret, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            # text, as `flowyard cluster-secret` writes it (raw bytes may end in whitespace, which is stripped)
            fh.write(os.urandom(32).hex().encode())
        self.etcd.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            for node in self.nodes.values():
                try:
                    node.stop(30)
                except AssertionError:
                    pass
        finally:
            self.etcd.__exit__(None, None, None)

    def add(self, node_id: str, flow: Path | None = None) -> NodeProcess:
        node = NodeProcess(self, node_id, flow)
        self.nodes[node_id] = node
        return node

    def node(self, node_id: str) -> NodeProcess:
        return self.nodes[node_id]

    def wait_connected(self, *node_ids: str, timeout: float = 60, via: str | None = None) -> dict[str, Any]:
        """Wait until every node of ``node_ids`` is CONNECTED as seen from ``via``
        (default: each of them)."""
        def seen_from(n: NodeProcess) -> bool:
            nodes = {m["nodeId"]: m for m in n.overview()["nodes"]}
            return all(nodes.get(i, {}).get("state") == "CONNECTED" for i in node_ids)

        watchers = [self.nodes[via]] if via else [self.nodes[i] for i in node_ids]
        for w in watchers:
            wait_for(lambda w=w: seen_from(w), timeout=timeout, what=f"{', '.join(node_ids)} CONNECTED seen from "
                                                                   f"{w.node_id}")
        return watchers[0].overview()


@contextmanager
def cluster(root: Path, count: int = 3, flow: Path | None = None, **kw: Any) -> Iterator[ClusterHarness]:
    """A started cluster of ``count`` nodes, all CONNECTED."""
    with ClusterHarness(root, candidates=count, **kw) as harness:
        for i in range(1, count + 1):
            harness.add(f"n{i}", flow)
        for node in harness.nodes.values():
            node.start()
        harness.wait_connected(*harness.nodes)
        yield harness
