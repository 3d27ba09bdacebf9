"""A test harness for replication: nodes (service + ClusterNode + channel +
ClusterReplicator) on one real etcd, each in its own cancel scope so a test
can stop one (as a crash would: no leave) and start it again on the same data
directory."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from flowyard.bootstrap import compose
from flowyard.clusters.channel import NodeChannel, Sealer, derive_keys
from flowyard.clusters.etcd import Etcd
from flowyard.clusters.etcdserver import EtcdServer
from flowyard.clusters.node import ClusterConfig, ClusterNode, NodeState
from flowyard.clusters.replication import PROPOSE, VALIDATE, ClusterReplicator
from flowyard.runtime.service import FlowService

SECRET = b"r" * 32
TTL = 2
_names = itertools.count()

FLOW: dict[str, Any] = {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
    {"identifier": "tag", "type": "UpdateAttribute", "properties": {"color": "red"}, "scheduledState": "STOPPED",
     "autoTerminatedRelationships": ["success"]},
    {"identifier": "gen", "type": "GenerateFlowFile", "scheduledState": "STOPPED", "schedulingPeriod": "10 ms",
     "properties": {"Batch Size": "3"}},
], "connections": [
    {"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "tag"}, "selectedRelationships": ["success"]},
]}}


@dataclass
class Replica:
    """One running node."""

    node_id: str
    data: Path
    service: FlowService
    node: ClusterNode
    replicator: ClusterReplicator
    scope: trio.CancelScope
    closed: trio.Event = field(default_factory=trio.Event)


class Harness:
    """Nodes of one cluster on ``server``; ``options`` go to every replicator."""

    def __init__(self, server: EtcdServer, tmp: Path, nursery: trio.Nursery, **options: Any) -> None:
        self.server = server
        self.tmp = tmp
        self.nursery = nursery
        self.name = f"r{next(_names)}"
        self.options = {"validate_timeout": 3.0, "propose_timeout": 10.0, "flow_election_candidates": 1,
                        "flow_election_wait": 5.0, "retry": 0.1, "probe_interval": 0.2, **options}
        self.nodes: dict[str, Replica] = {}

    async def start(self, node_id: str, flow: dict[str, Any] | None = FLOW, **options: Any) -> Replica:
        """Open ``node_id``'s data directory (a new one from ``flow``) and run it."""
        data = self.tmp / node_id
        initial = self.tmp / f"{node_id}-initial.json"
        if flow is not None and not initial.exists():
            initial.write_text(json.dumps(flow))
        service = compose.open_service(data, initial_flow=initial if flow is not None else None)
        with trio.fail_after(30):  # registered with etcd (a node retries for ever without it)
            replica: Replica = await self.nursery.start(self._run, node_id, data, service,
                                                        {**self.options, **options})
        self.nodes[node_id] = replica
        return replica

    async def _run(self, node_id: str, data: Path, service: FlowService, options: dict[str, Any], *,
                   task_status: trio.TaskStatus[Replica]) -> None:
        keys = derive_keys(SECRET)
        channel = NodeChannel(node_id, keys)
        etcd = Etcd(self.server.url, timeout=3.0)
        late: list[ClusterReplicator] = []
        closed = trio.Event()

        async def propose(payload: Any, caller: str) -> Any:
            return await late[0].routes()[PROPOSE](payload, caller)

        async def validate(payload: Any, caller: str) -> Any:
            return await late[0].routes()[VALIDATE](payload, caller)

        try:
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    address = await nursery.start(channel.serve, {PROPOSE: propose, VALIDATE: validate},
                                                  "127.0.0.1:0")
                    config = ClusterConfig(node_id=node_id, address=address, api_url=f"http://{node_id}",
                                           etcd_endpoints=(self.server.url,), cluster_name=self.name, lease_ttl=TTL,
                                           heartbeat_interval=0.5, retry_initial=0.1, retry_max=0.5)
                    node = ClusterNode(config, etcd)
                    service.engine.set_primary(False)  # as bootstrap wires it: primary once elected
                    node.on_primary_change.append(service.engine.set_primary)
                    replicator = ClusterReplicator(node, etcd, channel, Sealer(keys.seal), service, **options)
                    late.append(replicator)
                    service.replicator = replicator
                    await nursery.start(service.run)
                    await nursery.start(node.run)
                    await nursery.start(replicator.run)
                    task_status.started(Replica(node_id, data, service, node, replicator, scope, closed))
        finally:
            with trio.CancelScope(shield=True):
                service.request_stop()
                service.close()
                await channel.aclose()
                await etcd.aclose()
                closed.set()

    async def stop(self, node_id: str) -> None:
        """Stop the node as a crash would (no leave: its lease runs out), and
        wait until its data directory is closed."""
        replica = self.nodes.pop(node_id)
        replica.scope.cancel()
        with trio.fail_after(10):
            await replica.closed.wait()


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.02)


def connected(*replicas: Replica) -> bool:
    return all(r.node.state is NodeState.CONNECTED for r in replicas)


def at(seq: int, *replicas: Replica) -> bool:
    return all(r.service.cluster_seq == seq for r in replicas)


def same(*replicas: Replica) -> None:
    first = replicas[0].service
    for other in replicas[1:]:
        assert other.service.flow == first.flow, f"{other.node_id} holds another flow"
        assert other.service.revisions == first.revisions, f"{other.node_id} holds other revisions"
        assert other.service.cluster_seq == first.cluster_seq
