"""Load-balanced connections in a cluster: which node a flowfile belongs to.

The engine is cluster-agnostic: ``bootstrap`` wires a ``Partitioner`` (from
``flowyard.clusters``) into ``Engine.partitioner`` when the node is in a
cluster; on a single node it is None and every flowfile stays local.
See docs/cluster-internals.md, "Load-balanced connections".
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Partitioner"]


class Partitioner(Protocol):
    """Chooses the node of each flowfile entering a load-balanced connection."""

    def node_for(self, connection_id: str, strategy: str, attribute: str | None) -> str | None:
        """The node id the flowfile goes to (None: this node). ``strategy`` is
        the connection's ``loadBalanceStrategy``; ``attribute`` the value of its
        ``partitioningAttribute`` on the flowfile (PARTITION_BY_ATTRIBUTE)."""
        ...
