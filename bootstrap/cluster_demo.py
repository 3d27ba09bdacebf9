"""``make cluster-demo``: a three-node cluster on this machine (docs/cluster.md).

    python -m flowyard.bootstrap.cluster_demo [--data-dir data/cluster-demo] [--port 8080]

Starts one etcd (data in ``DATA/etcd``, client port a free one on 127.0.0.1,
printed) and three ``flowyard serve`` nodes ``n1``, ``n2``, ``n3`` joined to it:
web API and canvas on 127.0.0.1 ports ``PORT``, ``PORT+1``, ``PORT+2`` (``--port
0``: any free ones), node addresses on free loopback ports, data in ``DATA/n1``
.. ``DATA/n3``, output in ``DATA/n1.log`` .. ``DATA/n3.log``. The first start
makes the cluster secret (``DATA/cluster.secret``) and one login shared by the
three nodes (``DATA/login``, mode 0600, given to them as FLOWYARD_USERNAME and
FLOWYARD_PASSWORD), and gives each node the cluster demo flow
(``runtime/demo/cluster-flow.json``) as its initial flow. Later starts carry on
with the same etcd data, secret, login and flows.

Once every node is CONNECTED (as ``GET /api/cluster`` says on each), the demo
prints the three canvas URLs and the login, then waits. SIGINT (Ctrl-C),
SIGTERM or SIGHUP stop the nodes (SIGTERM, waited for) and then etcd; the exit
status is then 0. The command itself only starts a supervisor process in a
session of its own, which runs etcd and the nodes, and passes a stop on to it:
Ctrl-C in the terminal goes to every process of the terminal's process group,
and would stop etcd at once, before the nodes that leave the cluster through
it (and give each node a second stop signal, which cuts its stop short). The
supervisor stops everything too when the command is killed.

Exit status: 0 after a clean stop; 2 when the demo cannot start as asked (a web
port taken: the message says ``PORT=... make cluster-demo``; etcd missing; a
data directory that cannot be used); 1 when a node dies or the cluster does not
form in time (the message quotes the end of that node's log).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx

from flowyard.clusters.etcdserver import EtcdServer
from flowyard.runtime.sdk import ConfigurationError

__all__ = ["NODE_IDS", "ClusterDemo", "DemoError", "DemoNode", "PortTakenError", "check_ports", "cluster_flow_document",
           "main", "read_or_make_login"]

NODE_IDS = ("n1", "n2", "n3")
#: The environment variable each node gets with its own id; the demo flow reads it
#: (the Expression Language falls back to the environment after attributes).
NODE_ENV = "CLUSTER_DEMO_NODE"
USERNAME = "admin"
FLOW_RESOURCE = "demo/cluster-flow.json"
#: How long a node may take to print its URL, and the three to be CONNECTED.
URL_TIMEOUT = 60.0
CONNECT_TIMEOUT = 120.0
#: How long the nodes may take to stop after SIGTERM before they are killed.
STOP_TIMEOUT = 60.0
_SERVING = re.compile(r"flowyard serving (https?://[^\s,]+)")


class DemoError(Exception):
    """The demo cannot go on; ``exit_status`` is what the command exits with."""

    def __init__(self, message: str, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class PortTakenError(DemoError):
    """A web port the demo wants is taken (exit status 2)."""

    def __init__(self, port: int, base: int) -> None:
        suggestion = base + 10 if base + 12 <= 65535 else 8090
        super().__init__(f"port {port} on 127.0.0.1 is already in use (the demo's nodes use {base}, {base + 1} "
                         f"and {base + 2}); choose other ports, e.g.: PORT={suggestion} make cluster-demo", 2)
        self.port = port


def cluster_flow_document(output_dir: Path) -> dict[str, Any]:
    """The bundled cluster demo flow with its ``output.dir`` parameter set to
    ``output_dir`` (each node writes under ``output_dir/<node>/out``)."""
    text = resources.files("flowyard.runtime").joinpath(FLOW_RESOURCE).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    for ctx in doc.get("parameterContexts", []):
        for parameter in ctx.get("parameters", []):
            if parameter.get("name") == "output.dir":
                parameter["value"] = str(output_dir)
    return doc


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_ports(base: int) -> None:
    """Raise ``PortTakenError`` when one of ``base``..``base+2`` cannot be listened on
    (127.0.0.1). Nothing to check for ``base`` 0 (the nodes pick free ports)."""
    if base == 0:
        return
    for port in range(base, base + len(NODE_IDS)):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise PortTakenError(port, base) from None


def read_or_make_login(path: Path) -> tuple[str, str]:
    """The demo's login (username, password) from ``path`` (JSON), made at the
    first start with a random password (mode 0600)."""
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            username, password = data["username"], data["password"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DemoError(f"cannot read the demo's login {path}: {exc!r}; remove the file and a new login is "
                            "made and given to the nodes", 2) from None
        if not (isinstance(username, str) and username and isinstance(password, str) and len(password) >= 8):
            raise DemoError(f"the demo's login {path}: expected {{\"username\": NAME, \"password\": at least 8 "
                            "characters}; remove the file and a new login is made and given to the nodes", 2)
        return username, password
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"username": USERNAME, "password": password}, out)
        out.write("\n")
    return USERNAME, password


@dataclass
class DemoNode:
    """One ``flowyard serve`` child of the demo."""

    node_id: str
    data_dir: Path
    log: Path
    port: int
    address: str
    proc: subprocess.Popen[bytes] | None = None
    url: str = ""
    _log_start: int = 0
    _token: str = field(default="", repr=False)

    def output(self) -> str:
        """What the node wrote since this demo started it."""
        try:
            with self.log.open("rb") as fh:
                fh.seek(self._log_start)
                return fh.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.output().splitlines()[-lines:]) or "(nothing)"

    def start(self, command: list[str], env: dict[str, str]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env)

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def printed_url(self) -> str | None:
        found = _SERVING.search(self.output())
        return found.group(1) if found else None

    def cluster(self, client: httpx.Client, login: tuple[str, str]) -> dict[str, Any]:
        """``GET /api/cluster`` on this node (logging in first)."""
        if not self._token:
            answer = client.post(self.url + "/api/login", json={"username": login[0], "password": login[1]})
            answer.raise_for_status()
            self._token = str(answer.json()["token"])
        answer = client.get(self.url + "/api/cluster", headers={"Authorization": f"Bearer {self._token}"})
        if answer.status_code == 401:
            self._token = ""
        answer.raise_for_status()
        doc: dict[str, Any] = answer.json()
        return doc


class ClusterDemo:
    """etcd and the three nodes under ``data_dir`` (see the module docstring).
    ``start`` raises ``DemoError`` after stopping whatever it started; ``stop``
    is safe to call at any time and more than once."""

    def __init__(self, data_dir: Path, port: int, *, out: TextIO = sys.stdout,
                 stopping: threading.Event | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.out = out
        self.stopping = stopping or threading.Event()
        self.login: tuple[str, str] = ("", "")
        self.etcd: EtcdServer | None = None
        self.nodes: list[DemoNode] = []

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def start(self) -> None:
        if not 0 <= self.port <= 65535 - len(NODE_IDS) + 1:
            raise DemoError(f"--port {self.port}: expected 0 (any free ports) or a port up to "
                            f"{65535 - len(NODE_IDS) + 1} (the nodes use it and the next two)", 2)
        check_ports(self.port)
        secret = self.data_dir / "cluster.secret"
        flow = self.data_dir / "cluster-flow.json"
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # its secret and login are its owner's
            if not secret.exists():
                from flowyard.clusters.channel import write_secret

                write_secret(secret)
            self.login = read_or_make_login(self.data_dir / "login")
            flow.write_text(json.dumps(cluster_flow_document(self.data_dir), indent=2), encoding="utf-8")
        except (OSError, ConfigurationError) as exc:
            detail = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise DemoError(f"data directory {self.data_dir} cannot be used: {detail}", 2) from None
        try:
            self._start_etcd()
            self._start_nodes(secret, flow)
            self._wait_connected()
        except BaseException:
            self.stop()
            raise

    def _start_etcd(self) -> None:
        etcd_dir = self.data_dir / "etcd"
        etcd_dir.mkdir(mode=0o700, exist_ok=True)  # what etcd asks of its data directory
        self.etcd = EtcdServer(etcd_dir)
        try:
            self.etcd.start()
        except ConfigurationError as exc:
            raise DemoError(f"etcd: {exc}", 2) from None
        self.say(f"etcd on {self.etcd.url} (data in {self.etcd.data_dir}, log {self.etcd.log_path})")

    def _start_nodes(self, secret: Path, flow: Path) -> None:
        assert self.etcd is not None
        env = dict(os.environ, FLOWYARD_USERNAME=self.login[0], FLOWYARD_PASSWORD=self.login[1])
        for i, node_id in enumerate(NODE_IDS):
            node = DemoNode(node_id=node_id, data_dir=self.data_dir / node_id, log=self.data_dir / f"{node_id}.log",
                            port=self.port + i if self.port else 0, address=f"127.0.0.1:{_free_port()}")
            command = [sys.executable, "-m", "flowyard.bootstrap.cli", "serve", "--data-dir", str(node.data_dir),
                       "--port", str(node.port), "--cluster", self.etcd.url, "--node-id", node_id,
                       "--node-address", node.address, "--cluster-secret-file", str(secret), "--flow", str(flow)]
            node.start(command, dict(env, **{NODE_ENV: node_id}))
            self.nodes.append(node)
        self.say(f"starting {', '.join(NODE_IDS)} (output in {self.data_dir}/n1.log ...)")
        deadline = time.monotonic() + URL_TIMEOUT
        for node in self.nodes:
            while not node.url:
                self._check_alive()
                node.url = node.printed_url() or ""
                if not node.url:
                    self._pause(deadline, node)

    def _check_alive(self) -> None:
        if self.stopping.is_set():
            raise DemoError("stopped before the cluster was up", 0)
        for node in self.nodes:
            status = node.exited()
            if status is None:
                continue
            tail = node.tail()
            if "already in use" in tail and self.port:
                raise PortTakenError(node.port, self.port)
            raise DemoError(f"node {node.node_id} exited with status {status}; the end of {node.log}:\n{tail}")

    def _pause(self, deadline: float, node: DemoNode) -> None:
        if time.monotonic() > deadline:
            raise DemoError(f"{node.node_id} did not start serving within {URL_TIMEOUT:g} s; the end of "
                            f"{node.log}:\n{node.tail()}")
        self.stopping.wait(0.2)

    def _wait_connected(self) -> None:
        deadline = time.monotonic() + CONNECT_TIMEOUT
        seen: dict[str, dict[str, Any]] = {}
        with httpx.Client(timeout=5.0) as client:
            pending = list(self.nodes)
            while pending:
                self._check_alive()
                node = pending[0]
                try:
                    seen[node.node_id] = doc = node.cluster(client, self.login)
                    states = {m.get("nodeId"): m.get("state") for m in doc.get("nodes", [])}
                    if all(states.get(i) == "CONNECTED" for i in NODE_IDS):
                        pending.pop(0)
                        continue
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                if time.monotonic() > deadline:
                    states_text = ", ".join(f"{m.get('nodeId')} {m.get('state')}"
                                            for m in seen.get(node.node_id, {}).get("nodes", [])) or "no answer"
                    raise DemoError(f"the cluster did not form within {CONNECT_TIMEOUT:g} s: {node.node_id} sees "
                                    f"{states_text}; the end of {node.log}:\n{node.tail()}")
                self.stopping.wait(0.25)
        last = seen[self.nodes[0].node_id]
        self.say(f"cluster up: {len(self.nodes)} nodes CONNECTED, coordinator {last.get('coordinator')}, "
                 f"primary {last.get('primary')}")
        for node in self.nodes:
            self.say(f"  {node.node_id}: {node.url}/  (node address {node.address}, data in {node.data_dir})")
        self.say(f"log in as {self.login[0]!r} with password {self.login[1]!r} (kept in {self.data_dir / 'login'})")
        self.say("the flow: events made on the primary, balanced round robin, written under "
                 f"{self.data_dir}/<node>/out. Ctrl-C stops the nodes, then etcd.")

    def watch(self, parent: int | None = None) -> int:
        """Wait until asked to stop (0) or until a node exits on its own (1);
        with ``parent``, also until this process's parent is no longer it (1)."""
        while not self.stopping.is_set():
            if parent is not None and os.getppid() != parent:
                self.say("the demo's command is gone (killed?): stopping")
                return 1
            for node in self.nodes:
                status = node.exited()
                if status is not None:
                    self.say(f"node {node.node_id} exited with status {status}; the end of {node.log}:\n"
                             f"{node.tail()}")
                    return 1
            if self.etcd is not None and not self.etcd.running:
                self.say(f"etcd exited; the end of {self.etcd.log_path}:\n{_tail(self.etcd.log_path)}")
                return 1
            self.stopping.wait(0.5)
        return 0

    def stop(self) -> None:
        """SIGTERM to every node still running, wait (kill after ``STOP_TIMEOUT``), then stop etcd."""
        running = [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]
        if running:
            self.say(f"stopping {', '.join(n.node_id for n in running)}...")
        for node in running:
            assert node.proc is not None
            node.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for node in running:
            assert node.proc is not None
            try:
                node.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{node.node_id} did not stop within {STOP_TIMEOUT:g} s: killed")
                node.proc.kill()
                node.proc.wait()
        if self.etcd is not None:
            etcd, self.etcd = self.etcd, None
            etcd.stop()
            self.say("etcd stopped")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _stop_signals(stopping: threading.Event) -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP set ``stopping`` while inside."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m flowyard.bootstrap.cluster_demo",
        description="A three-node flowyard cluster on this machine: etcd and nodes n1, n2, n3 on 127.0.0.1, "
                    "running the cluster demo flow. Ctrl-C stops them.")
    parser.add_argument("--data-dir", type=Path, default=Path("data/cluster-demo"), metavar="DIR",
                        help="etcd, the nodes' data directories and logs, the secret and the login live here "
                             "(default: data/cluster-demo)")
    parser.add_argument("--port", type=int, default=8080,
                        help="the web port of n1; n2 and n3 take the next two (default: 8080; 0: any free ones)")
    parser.add_argument(_SUPERVISE, action="store_true", help=argparse.SUPPRESS)
    return parser


#: The (hidden) option of the process that runs etcd and the nodes (see ``main``).
_SUPERVISE = "--supervise"


def _front(argv: list[str]) -> int:
    """Run the demo in a session of its own (``--supervise``) and pass it on a stop
    asked here: the terminal's Ctrl-C reaches only this process (etcd, in the
    terminal's process group, would stop at once, before the nodes that leave
    the cluster through it), and a node given two stop signals would cut its own
    stop short. The exit status is the supervisor's."""
    supervisor = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cluster_demo", *argv, _SUPERVISE],
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def forward(signum: int, frame: FrameType | None) -> None:
        if supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)

    wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, forward) for s in wanted}
    try:
        status = supervisor.wait()  # handlers run while it waits (PEP 475 retries the wait)
        return 128 - status if status < 0 else status  # killed by a signal: as a shell says it
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the demo until SIGINT/SIGTERM/SIGHUP; the exit status (module docstring).
    The command starts a supervisor process (``_front``) that does the work."""
    given = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(given)
    if not args.supervise:
        return _front(given)
    stopping = threading.Event()
    demo = ClusterDemo(args.data_dir, args.port, out=out, stopping=stopping)
    parent = os.getppid()
    with _stop_signals(stopping):
        try:
            demo.start()
        except DemoError as exc:
            if exc.exit_status:
                print(f"cluster-demo: error: {exc}", file=sys.stderr)
            else:
                demo.say(str(exc))
            return exc.exit_status
        try:
            status = demo.watch(parent)
        finally:
            demo.stop()
    demo.say("stopped cleanly" if status == 0 else "stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
