"""Test doubles for the cluster's web side: a flow whose queue holds what its
generator made, and the part of ``ClusterNode`` that ``ClusterView`` reads,
over a fixed member list, recording the actions asked of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from flowyard.clusters._members import Member, NodeState

__all__ = ["FakeNode", "held_flow"]


def held_flow(batch: int) -> dict[str, Any]:
    """A generator that makes ``batch`` flowfiles once a minute into ``c1``,
    whose destination stays stopped (so they stay queued)."""
    return {"flowyardFlowVersion": 1, "rootGroup": {"identifier": "root", "processors": [
        {"identifier": "gen", "type": "GenerateFlowFile", "schedulingPeriod": "1 min",
         "properties": {"Batch Size": str(batch), "File Size": "4 B"}},
        {"identifier": "held", "type": "LogAttribute", "scheduledState": "STOPPED",
         "autoTerminatedRelationships": ["success"]},
    ], "connections": [{"identifier": "c1", "source": {"id": "gen"}, "destination": {"id": "held"},
                        "selectedRelationships": ["success"]}]}}


@dataclass
class FakeNode:
    """``me`` among ``listed``: the first member is the coordinator, the one at
    ``primary_at`` (None: none) the primary. Actions are recorded in ``actions``."""

    me: str
    listed: list[Member]
    primary_at: int | None = None
    state: NodeState = NodeState.CONNECTED
    reason: str = ""
    actions: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def config(self) -> Any:
        return SimpleNamespace(node_id=self.me)

    def members(self) -> list[Member]:
        return list(self.listed)

    def coordinator(self) -> Member | None:
        return self.listed[0]

    def primary(self) -> Member | None:
        return None if self.primary_at is None else self.listed[self.primary_at]

    def connected_peers(self) -> list[Member]:
        return [m for m in self.listed if m.alive and m.state is NodeState.CONNECTED and m.node_id != self.me]

    async def request_state(self, node_id: str, state: NodeState, reason: str, *, by: str) -> None:
        self.actions.append(("request_state", node_id, state, reason, by))

    async def allow_connect(self, node_id: str, *, by: str) -> None:
        self.actions.append(("allow_connect", node_id, by))

    async def remove(self, node_id: str, *, by: str) -> None:
        self.actions.append(("remove", node_id, by))
