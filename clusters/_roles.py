"""Who may stand for and hold the coordinator and primary roles, and the
campaign that keeps a node's candidacy to those rules.

As in NiFi, a node that is not CONNECTED holds no role, with one exception
the replication part needs (joining a cluster that has no flow yet waits for
a coordinator to elect one, and a node is CONNECTED only once it has the
flow):

* primary: only a CONNECTED node stands for it and holds it.
* coordinator: a CONNECTED node stands; a CONNECTING node stands only when no
  other live CONNECTED node is a candidate (a cold start, every node joining
  again after an etcd outage, or the last CONNECTED candidate gone); once
  standing it keeps its candidacy while CONNECTING or CONNECTED.
* DISCONNECTING, DISCONNECTED, OFFLOADING, OFFLOADED: neither; a node whose
  state leaves the allowed ones drops the role at once (``on_*_change(False)``)
  and resigns its candidacy (fenced by its election key's revision).

This cannot deadlock: when no CONNECTED node stands, every CONNECTING node
may, so some node becomes coordinator; a CONNECTING coordinator elects the
flow at a cold start, and otherwise joining (catching up from the log or the
snapshot) needs no coordinator, so CONNECTING nodes become CONNECTED and
stand for both roles. A CONNECTING coordinator commits no edit until it is
CONNECTED (the replication part refuses them meanwhile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from flowyard.clusters._members import COORDINATOR, NodeState
from flowyard.clusters.election import Election, Fence
from flowyard.clusters.etcd import EtcdError

if TYPE_CHECKING:
    from flowyard.clusters.node import ClusterNode

__all__ = ["campaign", "may_hold", "may_stand"]

_HOLDING = frozenset({NodeState.CONNECTING, NodeState.CONNECTED})


def may_hold(role: str, state: NodeState) -> bool:
    """Whether a node in ``state`` may keep standing for (and hold) ``role``."""
    return state in _HOLDING if role == COORDINATOR else state is NodeState.CONNECTED


def may_stand(role: str, state: NodeState, connected_rival: bool) -> bool:
    """Whether a node in ``state`` may start standing for ``role``; ``connected_rival``:
    another live CONNECTED node stands for it."""
    if state is NodeState.CONNECTED:
        return True
    return role == COORDINATOR and state is NodeState.CONNECTING and not connected_rival


def _connected_rival(node: ClusterNode, role: str) -> bool:
    standing = set(node._view.candidates(role))
    return any(m.node_id in standing for m in node.connected_peers())


async def _until_deposed(node: ClusterNode, fence: Fence) -> None:
    """Return once our election key, seen once, is gone (the lease expired, or deleted by hand)."""
    seen = False
    version = node.version
    while True:
        if node._view.holds(fence.key):
            seen = True
        elif seen:
            return
        version = await node.changed(version)


async def campaign(node: ClusterNode, role: str, lease: int) -> None:
    """Stand for ``role`` under ``lease`` whenever the rules allow, for as long as the
    session lasts: hold the role from election until the key goes or the node's state
    no longer allows it (then resign, and stand again once allowed)."""
    election = Election(node.etcd, node.config.key("election", role, ""))
    config = node.config
    delay = config.retry_initial
    try:
        while True:
            version = node.version
            while not may_stand(role, node.state, _connected_rival(node, role)):
                version = await node.changed(version)
            failed = False
            async with trio.open_nursery() as nursery:

                async def guard() -> None:
                    seen = node.version
                    while may_hold(role, node.state):
                        seen = await node.changed(seen)
                    nursery.cancel_scope.cancel()

                async def stand() -> None:
                    nonlocal failed
                    try:
                        fence = await election.campaign(lease, node.node_id)
                    except EtcdError:
                        # etcd unreachable, or the candidacy went with the lease: the lease
                        # keeper ends the session in the second case
                        failed = True
                        nursery.cancel_scope.cancel()
                        return
                    node._resign[role] = (election, fence)
                    if may_hold(role, node.state):
                        node._set_role(role, fence)
                        await _until_deposed(node, fence)
                        node._resign.pop(role, None)
                        node._set_role(role, None)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(guard)
                nursery.start_soon(stand)
            node._set_role(role, None)
            held = node._resign.pop(role, None)
            if held is not None:  # no longer allowed: give the role up in etcd too
                with trio.CancelScope(shield=True), trio.move_on_after(node.etcd.timeout):
                    try:
                        await held[0].resign(held[1])
                    except EtcdError:
                        pass  # the lease takes the key with it in the end
            if failed:
                await trio.sleep(delay)
                delay = min(delay * 2, config.retry_max)
            else:
                delay = config.retry_initial
    finally:
        node._resign.pop(role, None)
        node._set_role(role, None)
