"""``make cluster-demo`` as a user meets it (issue 15): ``python -m
flowyard.bootstrap.cluster_demo --port 0`` starts etcd and three nodes on
loopback, prints their canvas URLs and a login that works on all three; the
nodes are CONNECTED with one coordinator and one primary; the demo flow's events
are made on the primary only and spread round robin over the nodes; Ctrl-C
(SIGINT to the demo's process group) stops the nodes, then etcd, and exits 0,
leaving no process behind. A web port that is taken is refused before anything
starts, naming ``PORT=... make cluster-demo``; a node that cannot start or dies
stops the demo (exit 1) with the end of its log."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cluster_harness import wait_for

from flowyard.bootstrap.cluster_demo import NODE_IDS, cluster_flow_document
from flowyard.runtime.flow import load_flow

pytestmark = [pytest.mark.integration, pytest.mark.slow]

URL_LINE = re.compile(r"^  (n\d): (http://127\.0\.0\.1:\d+)/ ", re.M)


@dataclass
class Demo:
    """The demo process, where its output goes, and what it printed."""

    proc: subprocess.Popen[bytes]
    data_dir: Path
    output: Path
    urls: dict[str, str] = field(default_factory=dict)
    children: dict[int, str] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def login(self) -> dict[str, str]:
        data: dict[str, str] = json.loads((self.data_dir / "login").read_text())
        return data

    def get(self, node: str, path: str, **kw: Any) -> Any:
        return self.request(node, "GET", path, **kw)

    def request(self, node: str, method: str, path: str, **kw: Any) -> Any:
        """The JSON answer of ``method path`` on ``node`` (logged in); asserts a 200."""
        with httpx.Client(base_url=self.urls[node], timeout=15) as client:
            if node not in self._tokens:
                answer = client.post("/api/login", json=self.login())
                assert answer.status_code == 200, answer.text
                self._tokens[node] = answer.json()["token"]
            answer = client.request(method, path, headers={"Authorization": f"Bearer {self._tokens[node]}"}, **kw)
            assert answer.status_code == 200, f"{method} {path} on {node}: {answer.status_code} {answer.text}"
            return answer.json()


def _descendants_of(pid: int) -> dict[int, str]:
    """pid -> command line of the processes below ``pid`` (children, theirs...), leaving out a
    child that still shows its parent's command line: forked, not yet running its own
    program (a node starts ``ldconfig`` so while trio loads, for one)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    found: dict[int, str] = {}
    below = [pid]
    while below:
        parent = below.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                if parent != pid and commands.get(child) == commands.get(parent):
                    continue
                found[child] = commands.get(child, "")
                below.append(child)
    return found


def _demo_processes(pid: int) -> dict[int, str]:
    """The processes the demo ``pid`` runs: its supervisor, etcd and the nodes
    (whatever short-lived helpers they start aside)."""
    return {child: command for child, command in _descendants_of(pid).items()
            if _SUPERVISOR in command or command.split(" ")[0].endswith("/etcd") or " serve --data-dir " in command}


_SUPERVISOR = "flowyard.bootstrap.cluster_demo"


def _alive(pid: int, command: str) -> bool:
    """Whether ``pid`` still runs ``command`` (not a zombie, not a reused pid)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        current = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, IndexError):
        return False
    return state != "Z" and current == command


def _stop(demo: Demo, timeout: float = 90) -> int:
    """Ctrl-C as a terminal sends it: SIGINT to the demo's whole process group."""
    if demo.proc.poll() is None:
        os.killpg(demo.proc.pid, signal.SIGINT)
    try:
        return demo.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        demo.proc.kill()
        demo.proc.wait(30)
        raise AssertionError(f"the demo did not stop within {timeout} s:\n{demo.text()[-4000:]}") from None
    finally:
        for pid, command in demo.children.items():  # never leave a node or etcd behind, whatever failed
            if _alive(pid, command):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_demo(root: Path) -> Iterator[Demo]:
    """The demo on ``root/data`` with ``--port 0``, once it printed its three URLs; stopped on leaving."""
    output = root / "demo.out"
    with output.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "flowyard.bootstrap.cluster_demo", "--data-dir",
                                 str(root / "data"), "--port", "0"], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # a process group of its own, as under a terminal
    started = Demo(proc, root / "data", output)
    try:
        def printed() -> dict[str, str] | None:
            started.children.update(_demo_processes(proc.pid))
            if proc.poll() is not None:
                raise RuntimeError(f"the demo exited with {proc.returncode}:\n{started.text()[-6000:]}")
            urls = dict(URL_LINE.findall(started.text()))
            return urls if len(urls) == len(NODE_IDS) else None

        started.urls = wait_for(printed, timeout=180, what="the demo to print the three canvas URLs", step=0.25)
        started.children.update(_demo_processes(proc.pid))
        yield started
    finally:
        _stop(started)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with running_demo(tmp_path_factory.mktemp("cluster-demo")) as started:
        yield started


def test_the_bundled_flow_is_a_primary_only_source_into_a_round_robin_connection(tmp_path: Path) -> None:
    doc = cluster_flow_document(tmp_path)
    assert [p["value"] for c in doc["parameterContexts"] for p in c["parameters"]
            if p["name"] == "output.dir"] == [str(tmp_path)]
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(doc))
    flow = load_flow(path)
    sources = {c.source for c in flow.connections if c.load_balance_strategy == "ROUND_ROBIN"}
    assert sources and all(p.execution_node == "PRIMARY" for p in flow.processors if p.identifier in sources)
    assert [p.execution_node for p in flow.processors if p.identifier not in sources] == ["ALL", "ALL"]


def test_the_demo_prints_three_canvas_urls_and_one_login_for_all_three(demo: Demo) -> None:
    assert sorted(demo.urls) == list(NODE_IDS)
    assert len(set(demo.urls.values())) == 3
    assert stat.S_IMODE((demo.data_dir / "login").stat().st_mode) == 0o600
    login = demo.login()
    assert f"with password {login['password']!r}" in demo.text()
    assert (demo.data_dir / "cluster.secret").exists()
    assert "etcd on http://127.0.0.1:" in demo.text()
    for node, url in demo.urls.items():
        page = httpx.get(url + "/", timeout=15)
        assert page.status_code == 200 and "<html" in page.text.lower(), f"{node} does not serve the canvas"
        assert demo.get(node, "/api/cluster")["nodeId"] == node
    # etcd and the three nodes run below the demo, each node with its own data and log, in a session that
    # is not the demo's own (the terminal's): a Ctrl-C there must not stop etcd before the nodes leave
    commands = list(demo.children.values())
    assert sum(" serve " in c for c in commands) == 3 and sum("etcd" in c.split()[0] for c in commands) == 1
    for pid, command in demo.children.items():
        assert os.getsid(pid) != os.getsid(demo.proc.pid), f"{command} is in the terminal's session"
    for node in NODE_IDS:
        assert "flowyard serving" in (demo.data_dir / f"{node}.log").read_text()


def test_three_nodes_are_connected_with_one_coordinator_and_one_primary(demo: Demo) -> None:
    seen = [demo.get(node, "/api/cluster") for node in NODE_IDS]
    for view in seen:
        assert view["clustered"] is True and view["state"] == "CONNECTED"
        assert {m["nodeId"]: m["state"] for m in view["nodes"]} == dict.fromkeys(NODE_IDS, "CONNECTED")
        holders = {role: [m["nodeId"] for m in view["nodes"] if role in m["roles"]] for role in ("coordinator",
                                                                                                "primary")}
        assert holders == {"coordinator": [view["coordinator"]], "primary": [view["primary"]]}, view
    assert len({(v["coordinator"], v["primary"]) for v in seen}) == 1, "the nodes disagree on the roles"


def _made_by_another_node(out_dir: Path, node: str) -> bool:
    """Whether ``out_dir`` holds an event that another node generated (it crossed the cluster)."""
    for path in out_dir.glob("*.json") if out_dir.is_dir() else []:
        try:
            if json.loads(path.read_text())["madeBy"] not in ("", node):
                return True
        except (OSError, ValueError, KeyError):  # being replaced: look again next time
            continue
    return False


def test_the_round_robin_connection_spreads_the_events_over_the_nodes(demo: Demo) -> None:
    def stamped_on_every_node() -> bool:
        per_node = {n["nodeId"]: n["in"] for n in demo.get("n1", "/api/status")["processors"]["stamp"]["nodes"]}
        assert set(per_node) == set(NODE_IDS), per_node
        return all(count > 0 for count in per_node.values())

    wait_for(stamped_on_every_node, timeout=60, what="every node to stamp events", step=0.5)
    # and every node but the primary writes events that another node made under DATA/<node>/out
    primary = demo.get("n1", "/api/cluster")["primary"]
    for node in NODE_IDS:
        if node != primary:
            wait_for(lambda node=node: _made_by_another_node(demo.data_dir / node / "out", node), timeout=30,
                     what=f"an event made elsewhere written by {node}", step=0.5)
    assert all(any((demo.data_dir / node / "out").glob("*.json")) for node in NODE_IDS)


def test_the_generator_runs_on_the_primary_only(demo: Demo) -> None:
    primary = demo.get("n1", "/api/cluster")["primary"]
    assert primary in NODE_IDS

    def made() -> dict[str, int]:
        entries = demo.get("n1", "/api/status")["processors"]["generate"]["nodes"]
        return {n["nodeId"]: int(n["out"]) for n in entries}

    before = made()

    def thirty_more() -> dict[str, int] | None:
        now = made()
        return now if now[primary] >= before[primary] + 30 else None

    after = wait_for(thirty_more, timeout=30, what=f"the primary {primary} to make 30 more events")
    others = {node: after[node] - before[node] for node in NODE_IDS if node != primary}
    assert others == dict.fromkeys(others, 0), f"nodes other than the primary {primary} made events: {others}"


def test_ctrl_c_stops_the_nodes_then_etcd_and_exits_0(demo: Demo) -> None:
    assert demo.proc.poll() is None
    assert len(demo.children) == 5, demo.children  # the supervisor, etcd and three nodes
    assert _stop(demo) == 0, demo.text()[-4000:]
    text = demo.text()
    assert "stopping n1, n2, n3" in text and text.index("stopping n1") < text.index("etcd stopped")
    assert text.rstrip().endswith("stopped cleanly")
    left = {pid: c for pid, c in demo.children.items() if _alive(pid, c)}
    assert not left, f"still running after the demo stopped: {left}"
    for node in NODE_IDS:
        assert (demo.data_dir / f"{node}.log").read_text().rstrip().endswith("stopped cleanly")


def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cluster_demo", "--data-dir",
                               str(tmp_path / "data"), "--port", str(port)], capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 2, done
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert re.search(r"PORT=\d+ make cluster-demo", done.stderr), done.stderr
    assert not (tmp_path / "data").exists()


def test_a_node_that_cannot_start_stops_the_demo_with_the_end_of_its_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "n2").mkdir(parents=True)
    (data / "n2" / "cluster.json").write_text('{"leaseTtl": "soon"}')  # refused by n2 alone, at its start
    done = subprocess.run([sys.executable, "-m", "flowyard.bootstrap.cluster_demo", "--data-dir", str(data),
                           "--port", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done
    assert "node n2 exited with status 2" in done.stderr
    assert f"the end of {data / 'n2.log'}:" in done.stderr and "leaseTtl" in done.stderr, done.stderr
    # what it had started is stopped again: etcd and the other nodes
    assert "etcd stopped" in done.stdout, done.stdout
    for node in ("n1", "n3"):
        log = (data / f"{node}.log").read_text()
        assert "stopped cleanly" in log or "flowyard serving" not in log, log
    assert not _running_with(str(data)), "processes of the demo are left"


def _running_with(text: str) -> list[str]:
    """Command lines of the running processes that contain ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode() if entry.name.isdigit() else ""
        except OSError:
            continue
        if text in command and _alive(int(entry.name), command):
            found.append(command)
    return found


def test_a_node_that_dies_stops_the_demo_with_the_end_of_its_log(tmp_path: Path) -> None:
    with running_demo(tmp_path) as started:
        n2 = next(pid for pid, command in started.children.items() if "--node-id n2 " in command)
        os.kill(n2, signal.SIGKILL)
        status = started.proc.wait(90)
        assert status == 1, started.text()[-4000:]
        text = started.text()
        assert "node n2 exited with status -9; the end of" in text, text
        assert "stopping n1, n3..." in text and "etcd stopped" in text, text
        left = {pid: c for pid, c in started.children.items() if _alive(pid, c)}
        assert not left, f"still running after the demo stopped: {left}"


def test_the_next_start_carries_on_with_the_edited_flow_and_the_same_login(tmp_path: Path) -> None:
    with running_demo(tmp_path) as first:
        login = first.login()
        stamp = first.get("n3", "/api/processors/stamp")
        first.request("n3", "PUT", "/api/processors/stamp", json={"revision": stamp["revision"],
                                                                   "name": "Stamp (edited on n3)"})
        for node in NODE_IDS:
            wait_for(lambda node=node: first.get(node, "/api/processors/stamp")["name"] == "Stamp (edited on n3)",
                     timeout=20, what=f"the edit on {node}")
        assert _stop(first) == 0
    (tmp_path / "demo.out").rename(tmp_path / "first.out")
    with running_demo(tmp_path) as second:
        assert second.login() == login
        assert f"with password {login['password']!r}" in second.text()
        for node in NODE_IDS:
            assert second.get(node, "/api/processors/stamp")["name"] == "Stamp (edited on n3)"
            assert {m["state"] for m in second.get(node, "/api/cluster")["nodes"]} == {"CONNECTED"}
