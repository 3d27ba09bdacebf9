"""The cluster routes of the API: ``GET /api/cluster`` and the node actions
(authentication, CSRF, 400/404/409), the cluster versions of the read routes
(totals with a per-node breakdown, a node column and filter, the unavailable
nodes named), the single-node answers unchanged, and the live stream's
cluster document.

Two real in-memory FlowServices stand for two nodes; the node protocol is a
loopback fake (each call packed and unpacked with msgpack, as on the wire)
and membership a fake ClusterNode, with a third member that never answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import hypercorn.config
import hypercorn.trio
import msgpack
import pytest
import trio
from cluster_fakes import FakeNode, held_flow

from flowyard.canvas_ui.app import ROUTES, create_app
from flowyard.canvas_ui.auth import AuthManager
from flowyard.canvas_ui.cluster_api import UNAVAILABLE_HEADER
from flowyard.canvas_ui.stream import cluster_status_events
from flowyard.clusters._members import Member, NodeState
from flowyard.clusters.status import ClusterView
from flowyard.processors import CONTROLLER_SERVICES
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.registry import discover_processors
from flowyard.runtime.repository import Repositories
from flowyard.runtime.service import FlowService

BATCH = {"n1": 2, "n2": 3}
TIMEOUT = 0.3


def member(nid: str, state: NodeState = NodeState.CONNECTED, reason: str = "") -> Member:
    return Member(nid, nid, f"http://{nid}.example:8080", state, reason, 1.0, True)


class LoopbackChannel:
    """Calls go straight to the addressed node's handlers, through msgpack; "n3" never answers."""

    def __init__(self, me: str, routes: dict[str, Any]) -> None:
        self.me, self.routes = me, routes

    async def call(self, address: str, path: str, payload: Any, *, timeout: float, node: str | None = None) -> Any:
        if address == "n3":
            await trio.sleep_forever()
        reply = await self.routes[address][path](msgpack.unpackb(msgpack.packb(payload)), self.me)
        return msgpack.unpackb(msgpack.packb(reply))


@dataclass
class Api:
    client: httpx.AsyncClient
    auth: dict[str, str]
    csrf: str
    cookie: str
    node: FakeNode
    services: dict[str, FlowService]


def service_of(tmp_path: Path, batch: int) -> FlowService:
    tmp_path.mkdir(parents=True, exist_ok=True)
    return FlowService(flow_from_dict(held_flow(batch)), Repositories.in_memory(), tmp_path, discover_processors(),
                       service_types=CONTROLLER_SERVICES)


async def open_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, clustered: bool
                   ) -> AsyncIterator[tuple[Any, FlowService, Api]]:
    monkeypatch.setenv("FLOWYARD_USERNAME", "alice")
    monkeypatch.setenv("FLOWYARD_PASSWORD", "s3cret-pass")
    auth = AuthManager(tmp_path)
    session = auth.login("alice", "s3cret-pass")
    assert session is not None
    services = {nid: service_of(tmp_path / nid, batch) for nid, batch in BATCH.items()}
    listed = [member("n1"), member("n2"), member("n3"), member("n4", NodeState.DISCONNECTED, "cut off")]
    routes: dict[str, Any] = {}
    node = FakeNode("n1", listed)
    view = None
    for nid in BATCH:
        v = ClusterView(node if nid == "n1" else FakeNode(nid, listed), LoopbackChannel(nid, routes),
                        services[nid], timeout=TIMEOUT)
        routes[nid] = v.routes()
        view = view or v
    app = create_app(services["n1"], auth, cluster=view if clustered else None, state_interval=0.01,
                     counter_interval=0.05)
    try:
        async with trio.open_nursery() as nursery:
            for service in services.values():
                await nursery.start(service.run)
            with trio.fail_after(30):
                for nid, service in services.items():
                    while service.status()["queuedCount"] < BATCH[nid]:
                        await trio.sleep(0.02)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
                yield app, services["n1"], Api(c, {"Authorization": f"Bearer {session.token}"}, session.csrf,
                                               session.token, node, services)
            nursery.cancel_scope.cancel()
    finally:
        for service in services.values():
            service.close()


@pytest.fixture
async def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    async for _, _, a in open_api(tmp_path, monkeypatch, clustered=True):
        yield a


@pytest.fixture
async def single(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Api]:
    async for _, _, a in open_api(tmp_path, monkeypatch, clustered=False):
        yield a


ACTIONS = [("POST", "/api/cluster/nodes/n2/disconnect"), ("POST", "/api/cluster/nodes/n2/connect"),
           ("POST", "/api/cluster/nodes/n2/offload"), ("DELETE", "/api/cluster/nodes/n2")]


def test_the_cluster_routes_are_in_the_route_table() -> None:
    table = {(r.method, r.path) for r in ROUTES if not r.public}
    assert {("GET", "/api/cluster"), *((m, p.replace("n2", "{node_id}")) for m, p in ACTIONS)} <= table


async def test_single_node_answers_as_before(single: Api) -> None:
    c, auth = single.client, single.auth
    assert (await c.get("/api/cluster", headers=auth)).json() == {"clustered": False, "nodes": []}
    for method, path in ACTIONS:
        r = await c.request(method, path, headers=auth)
        assert r.status_code == 404 and "not part of a cluster" in r.json()["error"], (method, path)
    status = (await c.get("/api/status", headers=auth)).json()
    assert "nodes" not in status and "clustered" not in status and status["queuedCount"] == 2
    assert "nodes" not in status["connections"]["c1"]
    listing = await c.get("/api/connections/c1/flowfiles?node=n2", headers=auth)
    assert len(listing.json()) == 2 and "nodeId" not in listing.json()[0] and UNAVAILABLE_HEADER not in listing.headers
    events = (await c.get("/api/provenance?component=gen", headers=auth)).json()
    assert len(events) == 2 and "nodeId" not in events[0]
    lineage = (await c.get(f"/api/provenance/lineage/{events[0]['flowfileUuid']}", headers=auth)).json()
    assert any(n["id"] == f"event:{events[0]['eventId']}" for n in lineage["nodes"])


async def test_node_actions_need_auth_and_csrf(api: Api) -> None:
    c = api.client
    for method, path in [("GET", "/api/cluster"), *ACTIONS]:
        assert (await c.request(method, path)).status_code == 401, (method, path)
    c.cookies.set("flowyard_session", api.cookie)
    try:
        assert (await c.get("/api/cluster")).status_code == 200
        for method, path in ACTIONS:
            assert (await c.request(method, path)).status_code == 403, (method, path)
        ok = await c.post("/api/cluster/nodes/n2/disconnect", headers={"X-CSRF-Token": api.csrf})
        assert ok.status_code == 200
    finally:
        c.cookies.clear()
    assert api.node.actions == [("request_state", "n2", "DISCONNECTED", "disconnected by alice", "alice")]


async def test_node_actions_and_their_errors(api: Api) -> None:
    c, auth, node = api.client, api.auth, api.node
    overview = (await c.get("/api/cluster", headers=auth)).json()
    assert overview["clustered"] is True and overview["nodeId"] == "n1" and overview["state"] == "CONNECTED"
    assert overview["coordinator"] == "n1" and overview["primary"] is None
    assert [(m["nodeId"], m["state"]) for m in overview["nodes"]] == [
        ("n1", "CONNECTED"), ("n2", "CONNECTED"), ("n3", "CONNECTED"), ("n4", "DISCONNECTED")]
    assert overview["nodes"][3]["reason"] == "cut off" and overview["nodes"][0]["apiUrl"] == "http://n1.example:8080"

    r = await c.post("/api/cluster/nodes/n2/disconnect", headers=auth, json={"reason": "maintenance"})
    assert r.status_code == 200 and r.json()["nodeId"] == "n1"
    assert node.actions[-1] == ("request_state", "n2", "DISCONNECTED", "maintenance", "alice")
    for body in ({"reason": "x" * 1001}, {"reason": 5}, [1]):
        r = await c.post("/api/cluster/nodes/n2/disconnect", headers=auth, json=body)
        assert r.status_code == 400 and "reason" in r.json()["error"], body
    for method, path in ACTIONS[1:]:
        r = await c.request(method, path, headers=auth)
        assert r.status_code == 409 and "'n2' is CONNECTED" in r.json()["error"], (method, path)
    r = await c.post("/api/cluster/nodes/n4/disconnect", headers=auth)
    assert r.status_code == 409 and "DISCONNECTED" in r.json()["error"]
    for method, path in ACTIONS:
        r = await c.request(method, path.replace("n2", "n9"), headers=auth)
        assert r.status_code == 404 and "'n9'" in r.json()["error"], (method, path)

    count = len(node.actions)
    assert (await c.post("/api/cluster/nodes/n4/offload", headers=auth)).status_code == 200
    assert (await c.post("/api/cluster/nodes/n4/connect", headers=auth)).status_code == 200
    removed = await c.delete("/api/cluster/nodes/n4", headers=auth)
    assert removed.json() == {"removed": "n4"}
    assert node.actions[count:] == [("request_state", "n4", "OFFLOADING", "offloaded by alice", "alice"),
                                    ("allow_connect", "n4", "alice"), ("remove", "n4", "alice")]


async def test_status_and_statistics_are_cluster_totals(api: Api) -> None:
    c, auth = api.client, api.auth
    with trio.fail_after(TIMEOUT + 2):
        status = (await c.get("/api/status", headers=auth)).json()
    assert status["clustered"] is True and status["queuedCount"] == 5
    assert [(n["nodeId"], n.get("queuedCount")) for n in status["nodes"]] == [("n1", 2), ("n2", 3), ("n3", None)]
    assert "0.3" in status["nodes"][2]["error"]
    c1 = status["connections"]["c1"]
    assert c1["queuedCount"] == 5 and [(n["nodeId"], n["queuedCount"]) for n in c1["nodes"]] == [("n1", 2), ("n2", 3)]
    only = (await c.get("/api/status?node=n2", headers=auth)).json()
    assert only["queuedCount"] == 3
    for query, code in (("n9", 404), ("n3", 503), ("bad%20id", 400)):
        r = await c.get(f"/api/status?node={query}", headers=auth)
        assert r.status_code == code and r.json()["error"], query
    stats = (await c.get("/api/components/c1/statistics", headers=auth)).json()
    assert stats["current"] == {"queuedCount": 5, "queuedBytes": 20} and len(stats["nodes"]) == 3
    assert (await c.get("/api/components/nope/statistics", headers=auth)).status_code == 404
    group = (await c.get("/api/process-groups/root/statistics?node=n1", headers=auth)).json()
    assert group["connections"]["current"]["queuedCount"] == 2
    history = (await c.get("/api/components/c1/status-history", headers=auth)).json()
    assert history["resolution"] == "1s" and [n["nodeId"] for n in history["nodes"]] == ["n1", "n2", "n3"]
    assert (await c.get("/api/components/c1/status-history?resolution=2h", headers=auth)).status_code == 400


async def test_listings_carry_the_node(api: Api) -> None:
    c, auth = api.client, api.auth
    r = await c.get("/api/connections/c1/flowfiles", headers=auth)
    assert r.headers[UNAVAILABLE_HEADER] == "n3"
    assert sorted(item["nodeId"] for item in r.json()) == ["n1", "n1", "n2", "n2", "n2"]
    r = await c.get("/api/connections/c1/flowfiles?node=n2", headers=auth)
    assert UNAVAILABLE_HEADER not in r.headers and {item["nodeId"] for item in r.json()} == {"n2"}
    assert (await c.get("/api/connections/nope/flowfiles", headers=auth)).status_code == 404

    r = await c.get("/api/provenance?component=gen&type=CREATE", headers=auth)
    assert r.headers[UNAVAILABLE_HEADER] == "n3" and len(r.json()) == 5
    n2 = (await c.get("/api/provenance?component=gen&node=n2&limit=2", headers=auth)).json()
    assert len(n2) == 2 and {e["nodeId"] for e in n2} == {"n2"}
    assert (await c.get("/api/provenance?start=soon", headers=auth)).status_code == 400
    event = (await c.get(f"/api/provenance/events/{n2[0]['eventId']}?node=n2", headers=auth)).json()
    assert event["nodeId"] == "n2" and event["flowfileUuid"] == n2[0]["flowfileUuid"]
    r = await c.post(f"/api/provenance/events/{n2[0]['eventId']}/replay?node=n2", headers=auth)
    assert r.status_code == 409 and "http://n2.example:8080" in r.json()["error"]
    lineage = (await c.get(f"/api/provenance/lineage/{n2[0]['flowfileUuid']}", headers=auth)).json()
    assert f"event:n2:{n2[0]['eventId']}" in {n["id"] for n in lineage["nodes"]}
    assert (await c.get("/api/provenance/lineage/nothing", headers=auth)).status_code == 404
    r = await c.get("/api/bulletins", headers=auth)
    assert r.json() == [] and r.headers[UNAVAILABLE_HEADER] == "n3"


async def read_data(response: httpx.Response, data: list[str]) -> None:
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            data.append(line[6:])


async def test_the_stream_carries_the_cluster_document(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async for app, _, a in open_api(tmp_path, monkeypatch, clustered=True):
        config = hypercorn.config.Config()
        config.bind = ["127.0.0.1:0"]
        config.graceful_timeout = 0.5
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            binds = await nursery.start(partial(hypercorn.trio.serve, app, config, shutdown_trigger=stop.wait))
            async with httpx.AsyncClient(base_url=str(binds[0])) as client:
                data: list[str] = []
                async with (client.stream("GET", "/api/status/stream", headers=a.auth) as response,
                            trio.open_nursery() as reader):
                    reader.start_soon(read_data, response, data)
                    with trio.fail_after(15):
                        while not data:
                            await trio.sleep(0.01)
                    reader.cancel_scope.cancel()
            snapshot = json.loads(data[0])
            assert snapshot["cluster"]["nodeId"] == "n1" and snapshot["cluster"]["state"] == "CONNECTED"
            assert [u["nodeId"] for u in snapshot["cluster"]["unavailable"]] == ["n3"]
            c1 = snapshot["components"]["c1"]
            assert c1["queuedCount"] == 5 and {n["nodeId"] for n in c1["nodes"]} == {"n1", "n2"}
            stop.set()


async def test_stream_sends_state_changes_at_once_and_heartbeats_with_the_counters(autojump_clock: Any) -> None:
    doc = {"clustered": True, "nodeId": "n1", "state": "CONNECTED", "reason": "", "coordinator": "n1",
           "primary": "n1", "nodes": [{"nodeId": "n1", "state": "CONNECTED", "heartbeatAgeSeconds": 0.0}],
           "unavailable": []}
    reads = 0

    async def read() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        nonlocal reads
        reads += 1
        now = dict(doc, nodes=[dict(doc["nodes"][0], heartbeatAgeSeconds=reads * 0.1)])
        if reads >= 25:
            now.update(state="DISCONNECTED", reason="lease lost")
        return {"p": {"runState": "RUNNING", "in": 0}}, now

    events = cluster_status_events(read, state_interval=0.1, counter_interval=1.0)
    first = json.loads((await anext(events)).split("data: ", 1)[1])
    assert first["cluster"]["state"] == "CONNECTED"
    start = trio.current_time()
    delta = json.loads((await anext(events)).split("data: ", 1)[1])
    assert delta["components"] == {} and "cluster" in delta, "heartbeat ages go out with the counters"
    assert 1.0 <= trio.current_time() - start < 1.15, "not before the counters are due"
    while (delta := json.loads((await anext(events)).split("data: ", 1)[1]))["cluster"]["state"] == "CONNECTED":
        assert reads < 25
    assert reads == 25 and delta["cluster"]["reason"] == "lease lost", "a state change goes at the next fast tick"
    await events.aclose()  # type: ignore[attr-defined]


async def test_content_held_by_another_node_is_streamed_through_this_one(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    import flowyard.clusters.status as status_module
    monkeypatch.setattr(status_module, "CONTENT_CHUNK", 3)  # 4-byte flowfiles come in two calls
    c, auth = api.client, api.auth
    queued = (await c.get("/api/connections/c1/flowfiles?node=n2", headers=auth)).json()[0]
    _, _, size, chunks = api.services["n2"].queued_content("c1", queued["uuid"])
    expected = b"".join(chunks)
    assert size == 4
    r = await c.get(f"/api/connections/c1/flowfiles/{queued['uuid']}/content?node=n2", headers=auth)
    assert r.status_code == 200 and r.content == expected
    assert r.headers["content-length"] == "4" and "sandbox" in r.headers["content-security-policy"]
    here = (await c.get("/api/connections/c1/flowfiles?node=n1", headers=auth)).json()[0]
    local = await c.get(f"/api/connections/c1/flowfiles/{here['uuid']}/content", headers=auth)
    assert {k: v for k, v in local.headers.items() if k not in ("date", "content-disposition")} == {
        k: v for k, v in r.headers.items() if k not in ("date", "content-disposition")}, "the same headers"
    assert r.headers["content-disposition"] == f'attachment; filename="{queued["uuid"]}"'
    r = await c.get(f"/api/connections/c1/flowfiles/{here['uuid']}/content?node=n2", headers=auth)
    assert r.status_code == 404 and "n2" in r.json()["error"]

    records = await c.get(f"/api/connections/c1/flowfiles/{queued['uuid']}/records?node=n2", headers=auth)
    own = await c.get(f"/api/connections/c1/flowfiles/{here['uuid']}/records", headers=auth)
    assert records.status_code == own.status_code
    assert set(records.json()) == set(own.json())
    assert (await c.get(f"/api/connections/c1/flowfiles/{queued['uuid']}/records?node=n2&rows=0",
                        headers=auth)).status_code == 400

    event = (await c.get(f"/api/provenance?uuid={queued['uuid']}&node=n2", headers=auth)).json()[0]
    r = await c.get(f"/api/provenance/events/{event['eventId']}/content/output?node=n2&download=true", headers=auth)
    assert r.content == expected and r.headers["content-disposition"].startswith("attachment")
    r = await c.get(f"/api/provenance/events/{event['eventId']}/content/input?node=n2", headers=auth)
    assert r.status_code == 404 and "no input" in r.json()["error"]
    r = await c.get(f"/api/provenance/events/{event['eventId']}/content/output?node=n3", headers=auth)
    assert r.status_code == 503
