"""Joining a cluster: what ``flowyard serve --cluster ...`` adds to a node.

``wire`` builds the cluster's parts for a flow service that is not running
yet and hooks them into the runtime through its protocols (the service's
replicator, the engine's partitioner, cluster state store and primary flag);
``ClusterParts.run`` runs them beside the engine and the web API, and leaves
the cluster cleanly when cancelled. ``compose.build`` calls ``wire`` when the
options name a cluster (``cluster_options.ClusterOptions``).

See docs/cluster.md (the user's guide) and docs/cluster-internals.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import trio

from flowyard.bootstrap.cluster_options import ClusterOptions
from flowyard.clusters.channel import NodeChannel, Sealer, derive_keys, read_secret
from flowyard.clusters.etcd import Etcd
from flowyard.clusters.loadbalance import ClusterPartitioner, LoadBalancer
from flowyard.clusters.node import ClusterConfig, ClusterNode, NodeState
from flowyard.clusters.replication import ClusterReplicator
from flowyard.clusters.state import EtcdStateStore
from flowyard.clusters.status import ClusterView
from flowyard.runtime.sdk import FlowyardError
from flowyard.runtime.service import FlowService

__all__ = ["ClusterParts", "wire"]


@dataclass
class ClusterParts:
    """A node's cluster parts, wired into its ``App`` (see ``wire``)."""

    options: ClusterOptions
    etcd: Etcd
    node: ClusterNode
    channel: NodeChannel
    replicator: ClusterReplicator
    balancer: LoadBalancer
    view: ClusterView

    def routes(self) -> dict[str, Any]:
        """Every node-protocol route of the parts (one listener serves them all)."""
        return {**self.replicator.routes(), **self.balancer.routes(), **self.view.routes()}

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Join: listen on the node address, register, follow the cluster's
        flow, move load-balanced flowfiles, offload when asked; until cancelled,
        then leave cleanly (roles resigned, lease revoked: the others see the
        node gone at once). Started with the node address it listens on."""
        try:
            async with trio.open_nursery() as nursery:
                bound = await nursery.start(self.channel.serve, self.routes(), self.options.node_address)
                await nursery.start(self.node.run)
                await nursery.start(self.replicator.run)
                await nursery.start(self.balancer.run)
                nursery.start_soon(self._offload_when_asked)
                task_status.started(bound)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await self._leave()

    async def _leave(self) -> None:
        try:
            await self.node.leave()
        except FlowyardError:
            pass  # etcd gone: the lease expires by itself
        finally:
            await self.channel.aclose()
            await self.etcd.aclose()

    async def _offload_when_asked(self) -> None:
        """An OFFLOADING node (a user asked, ``C/admin/<id>``) moves every queued
        flowfile to the connected nodes, then says OFFLOADED. The offload stops
        when the node leaves OFFLOADING (a user connects it: CONNECTING), and
        when it gives up: the node stays OFFLOADING with the reason, and is not
        offloaded again until it has left that state. Once the node is
        CONNECTING or CONNECTED again, the processors the offload stopped and
        the flow marks RUNNING are started again."""

        async def offload(outcome: dict[str, Any], nursery: trio.Nursery) -> None:
            try:
                outcome["moved"] = await self.balancer.offload()
            except FlowyardError as exc:
                outcome["error"] = exc
            nursery.cancel_scope.cancel()

        async def watch(after: int, nursery: trio.Nursery) -> None:
            while self.node.state is NodeState.OFFLOADING:
                after = await self.node.changed(after)
            nursery.cancel_scope.cancel()  # connected again (or gone): the offload stops

        seen, gave_up = -1, False
        while True:
            seen = await self.node.changed(seen)
            state = self.node.state
            if state in (NodeState.CONNECTING, NodeState.CONNECTED) and self.balancer.stopped_by_offload:
                self.balancer.resume_processors()
            if state is not NodeState.OFFLOADING:
                gave_up = False
                continue
            if gave_up:
                continue
            outcome: dict[str, Any] = {}
            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch, seen, nursery)
                nursery.start_soon(offload, outcome, nursery)
            if self.node.state is not NodeState.OFFLOADING:
                seen = -1  # left OFFLOADING meanwhile: the next round looks at the state as it is
                continue
            if "error" in outcome:
                gave_up = True
                await self.node.set_state(NodeState.OFFLOADING, f"offload stopped: {outcome['error']}; connect the "
                                                                "node again, or remove it")
            else:
                moved = outcome["moved"]
                await self.node.set_state(
                    NodeState.OFFLOADED, f"offloaded: {moved['count']} flowfiles ({moved['bytes']} bytes) moved to "
                                         "the other nodes")


def wire(service: FlowService, options: ClusterOptions, api_url: str) -> ClusterParts:
    """The cluster parts of a node whose flow service is ``service`` (not
    running yet), hooked into it: edits go through the cluster (the
    service's replicator), load-balanced connections are partitioned over the
    connected nodes, cluster-scoped state lives in etcd, and primary-only
    processors wait until this node is elected primary. Reads the secret
    file (``ConfigurationError`` naming it)."""
    keys = derive_keys(read_secret(options.secret_file))
    config = ClusterConfig(node_id=options.node_id, address=options.node_address, api_url=api_url,
                           etcd_endpoints=options.etcd, cluster_name=options.cluster_name,
                           lease_ttl=options.lease_ttl, heartbeat_interval=min(2.0, options.lease_ttl / 3))
    etcd = Etcd(options.etcd)
    engine = service.engine
    node = ClusterNode(config, etcd, local_queued=lambda: _queued(service))
    channel = NodeChannel(options.node_id, keys)
    sealer = Sealer(keys.seal)
    replicator = ClusterReplicator(node, etcd, channel, sealer, service,
                                   flow_election_candidates=options.flow_election_candidates,
                                   flow_election_wait=options.flow_election_wait)
    balancer = LoadBalancer(engine, channel, node)
    engine.partitioner = ClusterPartitioner(node)
    engine.cluster_state = EtcdStateStore(etcd, sealer, config.root, fence=node.primary_fence)
    engine.set_primary(False)  # until elected
    node.on_primary_change.append(engine.set_primary)
    service.replicator = replicator
    return ClusterParts(options, etcd, node, channel, replicator, balancer, ClusterView(node, channel, service))


def _queued(service: FlowService) -> tuple[int, int]:
    status = service.engine.status()
    return status.queued_count, status.queued_bytes
