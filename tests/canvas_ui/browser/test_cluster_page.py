"""The canvas's cluster side (issue 15), in Chromium against a real server.

On a single node: the load-balancing fields of a connection and the Execution
field of a processor round-trip through the configure panel (the attribute name
is required for "Partition by attribute"), and nothing of the cluster shows.

In a cluster: the server here is a single node, so the browser is told it is in a
three-node cluster by intercepting GET /api/cluster, the node actions, the status
stream, the queue listing and the provenance search (Playwright's page.route),
and the test checks what the canvas shows and which calls it makes: the toolbar's
node count, the cluster page's table (states, coordinator and primary badges,
heartbeat age, queued data), the actions offered as NiFi allows them, asked before
offload and remove, the endpoint each calls with the CSRF header, an action's
refusal shown, the banner while this node is disconnected, and the Node column,
node filter and per-node figures of the queue and provenance views."""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, USER, Server, log_in, start_server, stop_server

pytestmark = pytest.mark.integration

FLOW = {"flowyardFlowVersion": 1, "rootGroup": {
    "identifier": "root", "name": "Cluster",
    "processors": [
        {"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
         "scheduledState": "STOPPED"},
        {"identifier": "log", "name": "Log", "type": "LogAttribute", "position": {"x": 80, "y": 420},
         "autoTerminatedRelationships": ["success"], "scheduledState": "STOPPED"},
    ],
    "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "log"},
                     "selectedRelationships": ["success"]}],
}}
# Where the screenshots of the cluster page and the banner go (outside the repository: look at them by hand).
SCREENSHOT = Path("/tmp/cluster-page.png")
BANNER_SHOT = Path("/tmp/cluster-banner.png")
FIELDS_SHOT = Path("/tmp/cluster-fields.png")


@pytest.fixture
def cluster_server(tmp_path: Path) -> Any:
    srv = start_server(tmp_path, FLOW)
    yield srv
    stop_server(srv)


def component(server: Server, kind: str, ident: str) -> dict[str, Any]:
    with server.api() as api:
        answer = api.get(f"/api/{kind}/{ident}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


def test_load_balancing_and_execution_fields_round_trip_on_a_single_node(page: Any, cluster_server: Server,
                                                                        shoot: Any) -> None:
    server = cluster_server
    log_in(page, server.url)
    # a single node: no cluster button, no banner
    expect(page.get_by_test_id("toolbar")).to_be_visible()
    expect(page.get_by_test_id("btn-cluster")).to_have_count(0)
    expect(page.get_by_test_id("cluster-banner")).to_have_count(0)
    expect(page.get_by_test_id("edge-lb-c1")).to_have_count(0)

    page.goto(server.url + "/?configure=c1&kind=connection")
    panel = page.get_by_test_id("configure-panel")
    strategy = panel.get_by_test_id("conn-lb-strategy")
    expect(strategy).to_have_value("DO_NOT_LOAD_BALANCE")
    expect(panel.get_by_test_id("conn-lb-compression")).to_be_disabled()  # only used when load balanced
    expect(panel.get_by_test_id("conn-lb-attribute")).to_have_count(0)

    # partition by attribute needs the attribute: refused before anything is sent
    strategy.select_option("PARTITION_BY_ATTRIBUTE")
    panel.get_by_test_id("configure-save").click()
    expect(panel.get_by_test_id("field-error-partitioningAttribute")).to_contain_text("Name the attribute")
    assert component(server, "connections", "c1")["loadBalanceStrategy"] == "DO_NOT_LOAD_BALANCE"

    panel.get_by_test_id("conn-lb-attribute").fill("customer")
    expect(panel.get_by_test_id("field-error-partitioningAttribute")).to_have_count(0)  # editing clears it
    panel.get_by_test_id("conn-lb-compression").select_option("COMPRESS_ATTRIBUTES_ONLY")
    shoot(page, "load-balance-fields")
    page.screenshot(path=str(FIELDS_SHOT))
    panel.get_by_test_id("configure-save").click()
    expect(page.locator(".toast")).to_contain_text("Saved")
    saved = component(server, "connections", "c1")
    assert (saved["loadBalanceStrategy"], saved["partitioningAttribute"], saved["loadBalanceCompression"]) == (
        "PARTITION_BY_ATTRIBUTE", "customer", "COMPRESS_ATTRIBUTES_ONLY")

    # a reload shows what the server holds
    page.reload()
    panel = page.get_by_test_id("configure-panel")
    expect(panel.get_by_test_id("conn-lb-strategy")).to_have_value("PARTITION_BY_ATTRIBUTE")
    expect(panel.get_by_test_id("conn-lb-attribute")).to_have_value("customer")
    expect(panel.get_by_test_id("conn-lb-compression")).to_have_value("COMPRESS_ATTRIBUTES_ONLY")
    # back to round robin: the attribute field goes away
    panel.get_by_test_id("conn-lb-strategy").select_option("ROUND_ROBIN")
    expect(panel.get_by_test_id("conn-lb-attribute")).to_have_count(0)
    panel.get_by_test_id("configure-save").click()
    expect(page.locator(".toast")).to_contain_text("Saved")
    assert component(server, "connections", "c1")["loadBalanceStrategy"] == "ROUND_ROBIN"
    # the canvas marks a load-balanced connection
    expect(page.get_by_test_id("edge-lb-c1")).to_have_attribute(
        "title", "Load balanced across the cluster: round robin; attributes compressed")

    # a processor's Execution, on the Scheduling tab
    page.goto(server.url + "/?configure=gen")
    panel = page.get_by_test_id("configure-panel")
    panel.get_by_test_id("tab-scheduling").click()
    execution = panel.get_by_test_id("sched-execution")
    expect(execution).to_have_value("ALL")
    execution.select_option("PRIMARY")
    panel.get_by_test_id("configure-save").click()
    expect(page.locator(".toast")).to_contain_text("Saved")
    assert component(server, "processors", "gen")["executionNode"] == "PRIMARY"
    # and a primary-only processor (NiFi's "P")
    expect(page.locator(".react-flow__node[data-id=gen]").get_by_test_id("node-primary")).to_be_visible()
    expect(page.locator(".react-flow__node[data-id=log]").get_by_test_id("node-primary")).to_have_count(0)
    page.reload()
    page.get_by_test_id("configure-panel").get_by_test_id("tab-scheduling").click()
    expect(page.get_by_test_id("sched-execution")).to_have_value("PRIMARY")


def member(node_id: str, state: str, roles: list[str], queued: int, age: float, reason: str = "") -> dict[str, Any]:
    port = {"n1": 9443, "n2": 9444, "n3": 9445}[node_id]
    return {"nodeId": node_id, "address": f"127.0.0.1:{port}", "apiUrl": f"http://127.0.0.1:{port - 1400}",
            "state": state, "reason": reason, "heartbeat": 1765089600.5, "heartbeatAgeSeconds": age,
            "roles": roles, "queuedCount": queued, "queuedBytes": queued * 10, "alive": True}


class FakeCluster:
    """What the intercepted routes answer: a three-node cluster seen from n1, and the calls made."""

    def __init__(self) -> None:
        self.nodes = {
            "n1": member("n1", "CONNECTED", ["coordinator"], 3, 0.4),
            "n2": member("n2", "CONNECTED", ["primary"], 4, 1.2),
            "n3": member("n3", "DISCONNECTED", [], 1234, 75, "lease lost: no heartbeat for 12 s"),
        }
        self.calls: list[tuple[str, str, str | None]] = []
        self.refuse: dict[str, str] = {}

    def document(self) -> dict[str, Any]:
        me = self.nodes["n1"]
        return {"clustered": True, "nodeId": "n1", "state": me["state"], "reason": me["reason"],
                "coordinator": "n1", "primary": "n2", "nodes": list(self.nodes.values())}

    def on_cluster(self, route: Any) -> None:
        request = route.request
        path = urlparse(request.url).path
        if request.method == "GET" and path == "/api/cluster":
            route.fulfill(status=200, content_type="application/json", body=json.dumps(self.document()))
            return
        self.calls.append((request.method, path, request.headers.get("x-csrf-token")))
        match = re.fullmatch(r"/api/cluster/nodes/([^/]+)(?:/(\w+))?", path)
        assert match, path
        node_id, action = match.group(1), match.group(2) or "remove"
        if action in self.refuse:
            route.fulfill(status=409, content_type="application/json", body=json.dumps({"error": self.refuse[action]}))
            return
        if action == "remove":
            del self.nodes[node_id]
            route.fulfill(status=200, content_type="application/json", body=json.dumps({"removed": node_id}))
            return
        self.nodes[node_id]["state"] = {"offload": "OFFLOADING", "connect": "CONNECTING",
                                        "disconnect": "DISCONNECTED"}[action]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(self.document()))

    def on_stream(self, route: Any) -> None:
        """A snapshot whose queue c1 holds 3 flowfiles on n1 and 4 on n2 (the stream then ends;
        the canvas reconnects a second later and gets it again)."""
        per_node = [{"nodeId": "n1", "queuedCount": 3, "queuedBytes": 30, "flowFilesIn": 5, "flowFilesOut": 2},
                    {"nodeId": "n2", "queuedCount": 4, "queuedBytes": 40, "flowFilesIn": 6, "flowFilesOut": 2}]
        components = {
            "gen": {"kind": "processor", "runState": "STOPPED", "valid": True, "bulletins": 0, "flowFilesOut": 11,
                    "nodes": [{"nodeId": "n1", "flowFilesOut": 5}, {"nodeId": "n2", "flowFilesOut": 6}]},
            "log": {"kind": "processor", "runState": "STOPPED", "valid": True, "bulletins": 0},
            "c1": {"kind": "connection", "queuedCount": 7, "queuedBytes": 70, "flowFilesIn": 11, "flowFilesOut": 4,
                   "nodes": per_node},
        }
        data = json.dumps({"components": components, "cluster": self.document()})
        route.fulfill(status=200, headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
                      body=f"id: 1\nevent: snapshot\ndata: {data}\n\n")

    def on_queue(self, route: Any) -> None:
        request = route.request
        node = parse_qs(urlparse(request.url).query).get("node", [""])[0]
        self.calls.append((request.method, urlparse(request.url).path + (f"?node={node}" if node else ""), None))
        items = [{"uuid": f"ff-{n}-{i}", "filename": f"file-{n}-{i}", "size": 10, "entryDate": 1765089600000,
                  "lineageStartDate": 1765089600000, "penalized": False, "attributes": {}, "nodeId": n, "position": i}
                 for n, count in (("n1", 3), ("n2", 4)) for i in range(1, count + 1) if not node or n == node]
        route.fulfill(status=200, content_type="application/json", body=json.dumps(items))

    def on_provenance(self, route: Any) -> None:
        request = route.request
        node = parse_qs(urlparse(request.url).query).get("node", [""])[0]
        self.calls.append((request.method, "/api/provenance" + (f"?node={node}" if node else ""), None))
        events = [{"eventId": 7, "eventType": "CREATE", "timestamp": 1765089600000 + k, "flowfileUuid": f"ff-{n}",
                   "componentId": "gen", "componentType": "GenerateFlowFile", "relationship": None, "size": 10,
                   "filename": None, "nodeId": n} for k, n in enumerate(("n1", "n2")) if not node or n == node]
        # a merged answer names the nodes it left out (here: one that did not answer)
        gone = {} if node else {"X-Flowyard-Unavailable-Nodes": "n3"}
        route.fulfill(status=200, headers={"content-type": "application/json", **gone}, body=json.dumps(events))


def test_cluster_page_banner_and_node_breakdown(page: Any, cluster_server: Server, shoot: Any) -> None:
    server = cluster_server
    fake = FakeCluster()
    page.route(re.compile(r".*/api/cluster(/.*)?$"), fake.on_cluster)
    page.route(re.compile(r".*/api/status/stream(\?.*)?$"), fake.on_stream)
    page.route(re.compile(r".*/api/connections/c1/flowfiles(\?.*)?$"), fake.on_queue)
    page.route(re.compile(r".*/api/provenance\?.*"), fake.on_provenance)
    log_in(page, server.url)

    # the toolbar: connected of all nodes; no banner while this node is connected
    button = page.get_by_test_id("btn-cluster")
    expect(button.get_by_test_id("cluster-count")).to_have_text("2/3")
    expect(button).to_have_attribute("title", "Cluster: 2 of 3 nodes connected")
    expect(page.get_by_test_id("cluster-banner")).to_have_count(0)
    # the canvas's figures are the cluster's, with each node's in the tooltip
    expect(page.get_by_test_id("edge-queued-c1")).to_have_text(re.compile(r"^7\b"))
    expect(page.get_by_test_id("edge-queued-c1")).to_have_attribute(
        "title", "Queued on all nodes; by node:\nn1: 3 queued (30 B)\nn2: 4 queued (40 B)")
    gen_stats = page.locator(".react-flow__node[data-id=gen]").get_by_test_id("node-stats")
    expect(gen_stats).to_have_attribute(
        "title", "Last 5 minutes, all nodes; by node:\nn1: 0 in, 5 out\nn2: 0 in, 6 out")

    button.click()
    panel = page.get_by_test_id("cluster-panel")
    expect(panel).to_be_visible()
    assert "panel=cluster" in page.url
    expect(panel.get_by_test_id("cluster-summary")).to_contain_text("2 of 3 nodes connected")
    expect(panel.locator("tbody tr.pn-node-row")).to_have_count(3)
    expect(panel.get_by_test_id("cluster-state-n1")).to_have_text("CONNECTED")
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("DISCONNECTED")
    expect(panel.get_by_test_id("cluster-row-n3")).to_contain_text("lease lost: no heartbeat for 12 s")
    expect(panel.get_by_test_id("cluster-row-n3")).to_contain_text("127.0.0.1:9445")
    expect(panel.get_by_test_id("cluster-role-coordinator-n1")).to_have_text("coordinator")
    expect(panel.get_by_test_id("cluster-role-primary-n2")).to_have_text("primary")
    expect(panel.get_by_test_id("cluster-role-coordinator-n2")).to_have_count(0)
    expect(panel.get_by_test_id("cluster-role-primary-n3")).to_have_count(0)
    expect(panel.get_by_test_id("cluster-heartbeat-n2")).to_have_text("1 s")
    expect(panel.get_by_test_id("cluster-heartbeat-n3")).to_have_text("1 min")
    expect(panel.get_by_test_id("cluster-queued-n3")).to_contain_text("1,234")
    expect(panel.get_by_test_id("cluster-queued-n3")).to_contain_text("12.1 KB")

    # what each state allows (NiFi's rules, as the API enforces them)
    for node_id, enabled in (("n1", {"disconnect"}), ("n2", {"disconnect"}), ("n3", {"connect", "offload", "remove"})):
        for action in ("disconnect", "connect", "offload", "remove"):
            control = panel.get_by_test_id(f"node-{action}-{node_id}")
            if action in enabled:
                expect(control).to_be_enabled()
            else:
                expect(control).to_be_disabled()
    expect(panel.get_by_test_id("node-connect-n1")).to_have_attribute("title", re.compile("disconnected or offloaded"))
    page.mouse.move(0, 0)
    shoot(page, "cluster-page")
    page.screenshot(path=str(SCREENSHOT))

    # offload asks first, naming the data; Cancel changes nothing
    panel.get_by_test_id("node-offload-n3").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("Offload node n3? Its 1,234 queued flowfiles")
    page.get_by_test_id("confirm-no").click()
    expect(page.get_by_test_id("confirm-text")).to_have_count(0)
    assert fake.calls == []
    panel.get_by_test_id("node-offload-n3").click()
    page.get_by_test_id("confirm-yes").click()
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("OFFLOADING")
    [(method, path, csrf)] = fake.calls
    assert (method, path) == ("POST", "/api/cluster/nodes/n3/offload") and csrf, fake.calls
    expect(panel.get_by_test_id("node-remove-n3")).to_be_disabled()  # not while offloading

    # a refusal is shown, naming the node
    fake.refuse["disconnect"] = "node n2 cannot be disconnected: it is the only connected node"
    panel.get_by_test_id("node-disconnect-n2").click()  # no question: it is undone by Connect
    expect(panel.get_by_test_id("cluster-error")).to_contain_text(
        "Could not disconnect node n2: node n2 cannot be disconnected: it is the only connected node")
    assert fake.calls[-1][:2] == ("POST", "/api/cluster/nodes/n2/disconnect")
    expect(panel.get_by_test_id("cluster-state-n2")).to_have_text("CONNECTED")

    # an offloaded node can be removed, after a question
    fake.nodes["n3"]["state"] = "OFFLOADED"
    fake.nodes["n3"]["queuedCount"] = fake.nodes["n3"]["queuedBytes"] = 0
    panel.get_by_test_id("cluster-refresh").click()
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("OFFLOADED")
    panel.get_by_test_id("node-remove-n3").click()
    expect(page.get_by_test_id("confirm-text")).to_contain_text("Remove node n3 (127.0.0.1:9445) from the cluster?")
    page.get_by_test_id("confirm-yes").click()
    expect(panel.locator("tbody tr.pn-node-row")).to_have_count(2)
    assert fake.calls[-1][:2] == ("DELETE", "/api/cluster/nodes/n3") and fake.calls[-1][2]
    expect(button.get_by_test_id("cluster-count")).to_have_text("2/2")

    # this node disconnected (the next poll, or the stream, says so): the banner
    fake.nodes["n1"].update(state="DISCONNECTED", reason="could not apply edit 41: no such processor 'x'")
    banner = page.get_by_test_id("cluster-banner")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text(
        "This node (n1) is disconnected from the cluster: could not apply edit 41: no such processor 'x'. "
        "It keeps running its flow, but changes made here are refused until it reconnects.")
    shoot(page, "cluster-banner")
    page.screenshot(path=str(BANNER_SHOT))

    # the queue: a Node column, a node filter, and the figures per node
    page.goto(server.url + "/?queue=c1")
    queue = page.get_by_test_id("queue-panel")
    expect(queue.locator("tbody tr[data-testid^=queue-row-]")).to_have_count(7)
    expect(queue.get_by_test_id("queue-row-ff-n2-1").get_by_test_id("node-cell")).to_contain_text("n2")
    expect(queue.get_by_test_id("node-breakdown-n2")).to_contain_text("4 (40 B)")
    queue.get_by_test_id("queue-node-filter").select_option("n2")
    expect(queue.locator("tbody tr[data-testid^=queue-row-]")).to_have_count(4)
    assert ("GET", "/api/connections/c1/flowfiles?node=n2", None) in fake.calls

    # provenance: the same
    page.goto(server.url + "/?panel=provenance")
    prov = page.get_by_test_id("provenance-panel")
    expect(prov.locator("tbody tr")).to_have_count(2)
    expect(prov.locator("thead")).to_contain_text("Node")
    expect(prov.get_by_test_id("unavailable-nodes")).to_have_text("Node n3 did not answer: its events are not listed.")
    prov.get_by_test_id("prov-search-node").select_option("n1")
    expect(prov.locator("tbody tr")).to_have_count(1)
    expect(prov.get_by_test_id("unavailable-nodes")).to_have_count(0)
    # the node's state is shown beside it when it is not connected
    expect(prov.get_by_test_id("node-cell")).to_have_text(re.compile(r"^n1\s*DISCONNECTED$"))
    assert ("GET", "/api/provenance?node=n1", None) in fake.calls


# -- the real cluster API ------------------------------------------------------------------------
# Two nodes in this process: n1 serves the canvas with the real API (create_app with a
# ClusterView), n2 answers n1's reads through a loopback node protocol (msgpack, as on
# the wire); membership is in memory (no etcd): the node actions change it.

LOOPBACK_FLOW = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "name": "Two nodes", "processors": [
    {"identifier": "gen", "name": "Gen", "type": "GenerateFlowFile", "position": {"x": 80, "y": 80},
     "schedulingPeriod": "1 min", "properties": {"File Size": "4 B"}},
    {"identifier": "held", "name": "Held", "type": "LogAttribute", "position": {"x": 80, "y": 420},
     "scheduledState": "STOPPED", "autoTerminatedRelationships": ["success"]},
], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "held"},
                    "selectedRelationships": ["success"]}]}}
BATCH = {"n1": 2, "n2": 3}


class Membership:
    """What a ClusterView asks of its ClusterNode, in memory and shared by both nodes:
    n1 coordinator, n2 primary, n3 disconnected; the actions change the members."""

    def __init__(self, me: str, members: dict[str, Any], own: dict[str, Any]) -> None:
        self.me, self.listed, self.own = me, members, own
        self.config = SimpleNamespace(node_id=me)
        self.actions: list[tuple[str, ...]] = []

    @property
    def state(self) -> Any:
        return self.own["state"]

    @property
    def reason(self) -> str:
        return str(self.own["reason"])

    def members(self) -> list[Any]:
        return list(self.listed.values())

    def coordinator(self) -> Any:
        return self.listed.get("n1")

    def primary(self) -> Any:
        return self.listed.get("n2")

    def connected_peers(self) -> list[Any]:
        from flowyard.clusters._members import NodeState
        return [m for m in self.listed.values() if m.state is NodeState.CONNECTED and m.node_id != self.me]

    async def request_state(self, node_id: str, state: Any, reason: str, *, by: str) -> None:
        self.actions.append(("request_state", node_id, state.value, by))
        self.listed[node_id] = dataclasses.replace(self.listed[node_id], state=state, reason=reason)

    async def allow_connect(self, node_id: str, *, by: str) -> None:
        from flowyard.clusters._members import NodeState
        self.actions.append(("allow_connect", node_id, by))
        self.listed[node_id] = dataclasses.replace(self.listed[node_id], state=NodeState.CONNECTED, reason="")

    async def remove(self, node_id: str, *, by: str) -> None:
        self.actions.append(("remove", node_id, by))
        del self.listed[node_id]


class Loopback:
    """The node protocol between the two views: the addressed node's handlers, through msgpack."""

    def __init__(self, me: str, routes: dict[str, Any]) -> None:
        self.me, self.routes = me, routes

    async def call(self, address: str, path: str, payload: Any, *, timeout: float, node: str | None = None) -> Any:
        import msgpack
        reply = await self.routes[node or address][path](msgpack.unpackb(msgpack.packb(payload)), self.me)
        return msgpack.unpackb(msgpack.packb(reply))


@dataclasses.dataclass
class TwoNodes:
    url: str
    membership: Membership
    own: dict[str, Any]


@pytest.fixture
def two_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TwoNodes]:
    import trio

    from flowyard.canvas_ui.app import create_app
    from flowyard.canvas_ui.auth import AuthManager
    from flowyard.canvas_ui.server import listen_socket, run_app
    from flowyard.clusters._members import Member, NodeState
    from flowyard.clusters.status import ClusterView
    from flowyard.processors import CONTROLLER_SERVICES
    from flowyard.runtime.flow import flow_from_dict
    from flowyard.runtime.registry import discover_processors
    from flowyard.runtime.repository import Repositories
    from flowyard.runtime.service import FlowService

    monkeypatch.setenv("FLOWYARD_USERNAME", USER)
    monkeypatch.setenv("FLOWYARD_PASSWORD", PASSWORD)
    now = time.time()
    members = {
        "n1": Member("n1", "127.0.0.1:9443", "http://127.0.0.1:8081", NodeState.CONNECTED, "", now, True,
                     frozenset({"coordinator"})),
        "n2": Member("n2", "127.0.0.1:9444", "http://127.0.0.1:8082", NodeState.CONNECTED, "", now, True,
                     frozenset({"primary"})),
        "n3": Member("n3", "127.0.0.1:9445", "http://127.0.0.1:8083", NodeState.DISCONNECTED, "cut off", now - 90,
                     False),
    }
    own = {"state": NodeState.CONNECTED, "reason": ""}
    membership = Membership("n1", members, own)
    started: queue.Queue[Any] = queue.Queue()
    control: dict[str, Any] = {}

    def service_of(nid: str) -> FlowService:
        flow = json.loads(json.dumps(LOOPBACK_FLOW))
        flow["rootGroup"]["processors"][0]["properties"]["Batch Size"] = str(BATCH[nid])
        (tmp_path / nid).mkdir()
        return FlowService(flow_from_dict(flow), Repositories.in_memory(), tmp_path / nid, discover_processors(),
                           service_types=CONTROLLER_SERVICES)

    async def main() -> None:
        services = {nid: service_of(nid) for nid in BATCH}
        routes: dict[str, Any] = {}
        views = {nid: ClusterView(membership if nid == "n1" else Membership(nid, members, {
            "state": NodeState.CONNECTED, "reason": ""}), Loopback(nid, routes), services[nid], timeout=2)
            for nid in BATCH}
        for nid, view in views.items():
            routes[nid] = view.routes()
        app = create_app(services["n1"], AuthManager(tmp_path / "n1"), cluster=views["n1"])
        stopping = trio.Event()
        control.update(token=trio.lowlevel.current_trio_token(), stopping=stopping)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(services["n2"].run)
                urls = await nursery.start(functools.partial(
                    run_app, app, services["n1"], AuthManager(tmp_path / "n1"), listen_socket("127.0.0.1", 0),
                    tls_files=None, out=io.StringIO(), stopping=stopping))
                started.put(urls[0])
                await stopping.wait()
                services["n2"].request_stop()
        finally:
            for service in services.values():
                service.close()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # handed to the test thread
            started.put(exc)

    thread = threading.Thread(target=run, name="two-nodes", daemon=True)
    thread.start()
    first = started.get(timeout=60)
    if isinstance(first, BaseException):
        raise first
    try:
        yield TwoNodes(str(first), membership, own)
    finally:
        trio.from_thread.run_sync(control["stopping"].set, trio_token=control["token"])
        thread.join(30)
        assert not thread.is_alive(), "the two-node server did not stop"
    if not started.empty():
        raise started.get()


# A status stream the browser leaves (a navigation) is abandoned by the server mid-iteration,
# and trio warns when it collects the generator; in-process that warning would fail the test.
@pytest.mark.filterwarnings(
    "ignore:Async generator 'flowyard.canvas_ui.stream._events' was garbage collected:ResourceWarning")
def test_cluster_page_against_the_real_cluster_api(page: Any, two_nodes: TwoNodes) -> None:
    from flowyard.clusters._members import NodeState

    log_in(page, two_nodes.url)
    button = page.get_by_test_id("btn-cluster")
    expect(button.get_by_test_id("cluster-count")).to_have_text("2/3")
    # the stream's figures are the cluster's: 2 flowfiles queued on n1, 3 on n2
    queued = page.get_by_test_id("edge-queued-c1")
    expect(queued).to_have_text(re.compile(r"^5 \(20 B\)"), timeout=15_000)
    expect(queued).to_have_attribute("title", "Queued on all nodes; by node:\nn1: 2 queued (8 B)\nn2: 3 queued (12 B)")

    button.click()
    panel = page.get_by_test_id("cluster-panel")
    expect(panel.locator("tbody tr.pn-node-row")).to_have_count(3)
    expect(panel.get_by_test_id("cluster-role-coordinator-n1")).to_be_visible()
    expect(panel.get_by_test_id("cluster-role-primary-n2")).to_be_visible()
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("DISCONNECTED")
    expect(panel.get_by_test_id("cluster-heartbeat-n3")).to_have_text(re.compile(r"^silent\s*1 min$"))
    # connect n3 (no question), then disconnect it again: the real routes, the membership changed
    panel.get_by_test_id("node-connect-n3").click()
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("CONNECTED")
    panel.get_by_test_id("node-disconnect-n3").click()
    expect(panel.get_by_test_id("cluster-state-n3")).to_have_text("DISCONNECTED")
    expect(panel.get_by_test_id("cluster-row-n3")).to_contain_text(f"disconnected by {USER}")
    panel.get_by_test_id("node-remove-n3").click()
    page.get_by_test_id("confirm-yes").click()
    expect(panel.locator("tbody tr.pn-node-row")).to_have_count(2)
    assert two_nodes.membership.actions == [
        ("allow_connect", "n3", USER), ("request_state", "n3", "DISCONNECTED", USER), ("remove", "n3", USER)]
    # with n2 disconnected n1 is the only connected node: the page does not offer to disconnect it
    panel.get_by_test_id("node-disconnect-n2").click()
    expect(panel.get_by_test_id("cluster-state-n2")).to_have_text("DISCONNECTED")
    expect(panel.get_by_test_id("node-disconnect-n1")).to_be_disabled()
    expect(panel.get_by_test_id("node-disconnect-n1")).to_have_attribute("title", re.compile("only connected node"))
    panel.get_by_test_id("node-connect-n2").click()
    expect(panel.get_by_test_id("cluster-state-n2")).to_have_text("CONNECTED")

    # the queue: both nodes' flowfiles, each with its node; the filter asks one node
    page.goto(two_nodes.url + "/?queue=c1")
    queue_panel = page.get_by_test_id("queue-panel")
    rows = queue_panel.locator("tbody tr[data-testid^=queue-row-]")
    expect(rows).to_have_count(5)
    expect(queue_panel.get_by_test_id("node-cell").filter(has_text="n2")).to_have_count(3)
    expect(queue_panel.get_by_test_id("node-breakdown-n1")).to_contain_text("2 (8 B)")
    queue_panel.get_by_test_id("queue-node-filter").select_option("n1")
    expect(rows).to_have_count(2)
    expect(queue_panel.get_by_test_id("node-cell").filter(has_text="n2")).to_have_count(0)

    # provenance: every node's events with their node; an event of n2 is read from n2
    page.goto(two_nodes.url + "/?panel=provenance&component=gen")
    prov = page.get_by_test_id("provenance-panel")
    prov_rows = prov.locator("tbody tr")
    expect(prov_rows).to_have_count(5)  # one CREATE per flowfile
    expect(prov.get_by_test_id("node-cell").filter(has_text="n2")).to_have_count(3)
    prov.get_by_test_id("prov-search-node").select_option("n2")
    expect(prov_rows).to_have_count(3)
    prov_rows.first.click()
    expect(prov.get_by_test_id("prov-node")).to_contain_text("n2")
    expect(prov.get_by_test_id("prov-attributes")).to_be_visible()

    # the status history of one node
    page.goto(two_nodes.url + "/?history=gen")
    history = page.get_by_test_id("history-panel")
    expect(history.get_by_test_id("history-chart")).to_be_visible()
    expect(history.get_by_test_id("node-breakdown-n2")).to_contain_text("3 (12 B)", timeout=10_000)  # out: 3 of 4 B
    history.get_by_test_id("history-node-filter").select_option("n2")
    expect(history.get_by_test_id("history-chart")).to_be_visible()
    expect(history.get_by_test_id("node-breakdown")).to_have_count(0)

    # this node cut off: the banner, from the poll and the stream
    two_nodes.own.update(state=NodeState.DISCONNECTED, reason="its lease was lost")
    banner = page.get_by_test_id("cluster-banner")
    expect(banner).to_be_visible(timeout=10_000)
    expect(banner).to_contain_text("This node (n1) is disconnected from the cluster: its lease was lost.")
