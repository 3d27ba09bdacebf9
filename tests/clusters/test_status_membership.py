"""ClusterView over real ClusterNodes and a real etcd: the overview, the node
actions a user takes (each node follows its admin key), and reads that fan out
to the members that are CONNECTED (a disconnected node's figures leave the
totals). Leases of 2 s; every wait bounded."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import trio

from flowyard.bootstrap.compose import open_service
from flowyard.clusters.channel import NodeChannel, derive_keys
from flowyard.clusters.etcd import Etcd
from flowyard.clusters.etcdserver import EtcdServer
from flowyard.clusters.node import ClusterConfig, ClusterNode, NodeState
from flowyard.clusters.status import ClusterView, NodeActionRefused
from flowyard.runtime.service import FlowService

pytestmark = pytest.mark.integration

BATCH = {"n1": 2, "n2": 3}
_names = itertools.count()


def flow(batch: int) -> dict[str, Any]:
    return {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 min",
         "properties": {"Batch Size": str(batch), "File Size": "4 B"}},
        {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "held"},
                        "selectedRelationships": ["success"]}]}}


async def until(node: ClusterNode, condition: Callable[[], bool], timeout: float = 15) -> None:
    with trio.fail_after(timeout):
        version = node.version
        while not condition():
            version = await node.changed(version)


async def test_overview_actions_and_reads_over_real_membership(tmp_path: Path, etcd_server: EtcdServer) -> None:
    keys = derive_keys(secrets.token_bytes(32))
    name = f"status{next(_names)}"
    services: dict[str, FlowService] = {}
    channels: dict[str, NodeChannel] = {}
    clients: list[Etcd] = []
    views: dict[str, ClusterView] = {}
    nodes: dict[str, ClusterNode] = {}
    try:
        async with trio.open_nursery() as nursery:
            for nid, batch in BATCH.items():
                initial = tmp_path / f"{nid}.json"
                initial.write_text(json.dumps(flow(batch)))
                services[nid] = open_service(tmp_path / nid, initial_flow=initial)
                await nursery.start(services[nid].run)
                channels[nid] = NodeChannel(nid, keys)
                view = ClusterView(None, channels[nid], services[nid], timeout=1.0)  # type: ignore[arg-type]
                address = await nursery.start(channels[nid].serve, view.routes(), "127.0.0.1:0")
                client = Etcd(etcd_server.url, timeout=3.0)
                clients.append(client)
                config = ClusterConfig(node_id=nid, address=address, api_url=f"http://{nid}.example",
                                       etcd_endpoints=(etcd_server.url,), cluster_name=name, lease_ttl=2,
                                       heartbeat_interval=0.5, retry_initial=0.1, retry_max=0.5)
                nodes[nid] = view.node = ClusterNode(config, client)  # type: ignore[assignment]
                views[nid] = view
                await nursery.start(nodes[nid].run)
            for node in nodes.values():
                await node.set_state(NodeState.CONNECTED)  # what replication does once caught up
            n1, n2 = nodes["n1"], nodes["n2"]
            await until(n1, lambda: [m.state for m in n1.members()] == [NodeState.CONNECTED] * 2)
            for nid, batch in BATCH.items():
                with trio.fail_after(30):
                    while services[nid].status()["queuedCount"] < batch:
                        await trio.sleep(0.02)

            await until(n1, lambda: n1.primary() is not None and n1.coordinator() is not None)
            overview = views["n1"].overview()
            assert overview["nodeId"] == "n1" and overview["state"] == "CONNECTED"
            assert [(m["nodeId"], m["state"]) for m in overview["nodes"]] == [("n1", "CONNECTED"),
                                                                              ("n2", "CONNECTED")]
            assert overview["coordinator"] in ("n1", "n2") and overview["primary"] in ("n1", "n2")
            status = await views["n1"].status()
            assert status["queuedCount"] == 5 and [n["nodeId"] for n in status["nodes"]] == ["n1", "n2"]

            await views["n1"].disconnect("n2", by="alice")
            await until(n2, lambda: n2.state is NodeState.DISCONNECTED)
            assert n2.reason == "disconnected by alice"
            await until(n1, lambda: n1.member("n2") is not None
                        and n1.member("n2").state is NodeState.DISCONNECTED)  # type: ignore[union-attr]
            alone = await views["n1"].status()
            assert alone["queuedCount"] == 2 and [n["nodeId"] for n in alone["nodes"]] == ["n1"]
            assert (await views["n1"].status(node="n2"))["queuedCount"] == 3, "asked alone, it still answers"
            await until(n2, lambda: n2.member("n2") is not None
                        and n2.member("n2").state is NodeState.DISCONNECTED)  # type: ignore[union-attr]
            with pytest.raises(NodeActionRefused, match="only connected node"):
                await views["n2"].disconnect("n1", by="alice")

            await views["n2"].connect("n2", by="bob")
            await until(n2, lambda: n2.state is NodeState.CONNECTING)
            assert "bob" in n2.reason
            nursery.cancel_scope.cancel()
    finally:
        for closable in [*channels.values(), *clients]:
            with trio.CancelScope(shield=True):
                await closable.aclose()
        for service in services.values():
            service.close()
