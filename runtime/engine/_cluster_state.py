"""Cluster-scoped processor state (NiFi's ``Scope.CLUSTER``).

A processor says where its state lives with ``Processor.state_scope(context)``
("LOCAL" or "CLUSTER"). On a single node cluster-scoped state is kept like
local state, in the repository. In a cluster ``bootstrap`` wires a
``ClusterStateStore`` (etcd, ``flowyard.clusters.state.EtcdStateStore``) into
``Engine.cluster_state``: a cluster-scoped processor's state is then read from
the store before each trigger and written with ``replace`` when the trigger's
session commits, before the repository commit (``_node.ProcessorNode.trigger``),
so that a new primary node continues where the old one stopped. A ``replace``
refused because the version moved (another node wrote meanwhile) rolls the
session back (its input returns to the queues) and the processor yields.

Ordering: the state is replaced before the flowfiles are written. A refused or
failed ``replace`` loses nothing. When the repository write then fails, the
state read before the trigger is put back (``replace`` again, on the next
version); only a crash between the two, or another node writing in between,
leaves the state ahead of the output (as NiFi's state manager does; a bulletin
says so).
See docs/cluster-internals.md, "Primary node and cluster state".
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ClusterStateStore"]


class ClusterStateStore(Protocol):
    """Where cluster-scoped component state lives in a cluster.

    Versions: 0 means no state yet; every successful ``replace`` makes a new,
    larger version. Implementations raise an exception (any ``Exception``)
    when the store cannot be reached: the trigger is then skipped or rolled
    back and the processor administratively yields."""

    async def get(self, component_id: str) -> tuple[dict[str, str], int]:
        """The component's state and its version (0: none yet)."""
        ...

    async def replace(self, component_id: str, version: int, values: dict[str, str]) -> bool:
        """Set the state if its version is still ``version``; False if it moved
        (or the writer may no longer write, e.g. a deposed primary node)."""
        ...

    async def clear(self, component_id: str) -> None:
        """Forget the component's state (the API's "clear state")."""
        ...
