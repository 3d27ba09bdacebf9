"""Load-balanced connections in a cluster: which node a flowfile belongs to.

The engine is cluster-agnostic: ``bootstrap`` wires a ``Partitioner`` (from
``flowyard.clusters``) into ``Engine.partitioner`` when the node is in a
cluster; on a single node it is None and every flowfile stays local. What the
engine does with the answer is in ``_balance``.
See docs/cluster-internals.md, "Load-balanced connections".
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["COMPRESSIONS", "DO_NOT_LOAD_BALANCE", "PARTITION_BY_ATTRIBUTE", "ROUND_ROBIN", "SINGLE_NODE",
           "STRATEGIES", "Partitioner"]

#: A connection's ``loadBalanceStrategy`` values (NiFi's names).
DO_NOT_LOAD_BALANCE = "DO_NOT_LOAD_BALANCE"
ROUND_ROBIN = "ROUND_ROBIN"
PARTITION_BY_ATTRIBUTE = "PARTITION_BY_ATTRIBUTE"
SINGLE_NODE = "SINGLE_NODE"
STRATEGIES = (DO_NOT_LOAD_BALANCE, ROUND_ROBIN, PARTITION_BY_ATTRIBUTE, SINGLE_NODE)
#: A connection's ``loadBalanceCompression`` values (NiFi's names).
COMPRESSIONS = ("DO_NOT_COMPRESS", "COMPRESS_ATTRIBUTES_ONLY", "COMPRESS_ATTRIBUTES_AND_CONTENT")


class Partitioner(Protocol):
    """Chooses the node of each flowfile entering a load-balanced connection.

    Called once per flowfile while a session's commit is prepared: it must be
    synchronous and cheap (no I/O, no waiting)."""

    def node_for(self, connection_id: str, strategy: str, attribute: str | None) -> str | None:
        """The node id the flowfile goes to (None: this node). ``strategy`` is
        the connection's ``loadBalanceStrategy``; ``attribute`` the value of its
        ``partitioningAttribute`` on the flowfile (PARTITION_BY_ATTRIBUTE; None
        when the flowfile lacks it or the strategy needs none)."""
        ...
