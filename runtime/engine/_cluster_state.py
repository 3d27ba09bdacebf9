"""Cluster-scoped processor state (NiFi's ``Scope.CLUSTER``).

On a single node cluster-scoped state is kept like local state, in the
repository. In a cluster ``bootstrap`` wires a ``ClusterStateStore`` (etcd,
from ``flowyard.clusters``) into ``Engine.cluster_state`` so that the new
primary node continues where the old one stopped.
See docs/cluster-internals.md, "Primary node and cluster state".
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ClusterStateStore"]


class ClusterStateStore(Protocol):
    """Where cluster-scoped component state lives in a cluster."""

    async def get(self, component_id: str) -> tuple[dict[str, str], int]:
        """The component's state and its version (0: none yet)."""
        ...

    async def replace(self, component_id: str, version: int, values: dict[str, str]) -> bool:
        """Set the state if its version is still ``version``; False if it moved."""
        ...
