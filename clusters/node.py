"""The cluster node: this process's membership, roles and state in etcd.

:class:`ClusterNode` registers the node (a non-leased ``C/members/<id>``
record that outlives it, so a dead node still shows, and the leased
``C/nodes/<id>`` re-put every heartbeat), campaigns for the coordinator and
primary roles with the same lease, and follows ``C/members/``, ``C/nodes/``,
``C/admin/`` and ``C/election/`` so :meth:`ClusterNode.members` is current.
The rules that turn those keys into members are pure
(:mod:`flowyard.clusters._members`).

Who stands for which role (:mod:`flowyard.clusters._roles`): the primary
role only a CONNECTED node; the coordinator role a CONNECTED node, or a
CONNECTING one while no other live CONNECTED node stands (someone must
coordinate a cold start). A node whose state leaves those (an admin request,
a failed edit, offloading) drops the role at once, resigns it in etcd and
stands again once allowed.

Lease loss (no renewal for the TTL less a margin of min(1 s, TTL/10): a
SIGSTOP, etcd or the network gone; or etcd saying the lease is gone) drops
both roles at once, before etcd can let the lease expire and elect another
node; then the node sets DISCONNECTED with the reason, re-registers with a
new lease as CONNECTING and campaigns again. Deposed roles are also dropped
as soon as the node sees its own election key go.

Waiting for change: every change of membership, roles, own state or admin
request bumps :attr:`ClusterNode.version`; ``await node.changed(after)``
returns once ``version > after`` (at once if it already is). Read
``v = node.version``, look, then ``v = await node.changed(v)``: nothing that
happens between the look and the wait is missed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import trio

from flowyard.clusters._follow import MembershipFollower
from flowyard.clusters._lease import keep_lease
from flowyard.clusters._members import (
    ADMIN_STATES,
    COORDINATOR,
    PRIMARY,
    ROLES,
    VERSION,
    ClusterConfig,
    ClusterConfigError,
    Member,
    MembershipError,
    NodeState,
)
from flowyard.clusters._roles import campaign, may_hold
from flowyard.clusters.election import Election, Fence
from flowyard.clusters.etcd import Compare, Etcd, EtcdError, Op

__all__ = ["ClusterConfig", "ClusterConfigError", "ClusterNode", "Fence", "Member", "MembershipError", "NodeState"]

_LEFT = "left the cluster"

def _json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


class ClusterNode:
    """This node's place in the cluster (see the module docstring).

    ``local_queued`` answers ``(count, bytes)`` of the flowfiles queued here;
    it is read at every heartbeat. ``clock`` gives unix seconds (heartbeat
    times written to etcd). Callbacks in ``on_primary_change`` and
    ``on_coordinator_change`` are called on the trio thread with True when the
    role is won and False when it is lost; they must not block or raise.
    """

    def __init__(
        self,
        config: ClusterConfig,
        etcd: Etcd,
        *,
        local_queued: Callable[[], tuple[int, int]] = lambda: (0, 0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.etcd = etcd
        self._local_queued = local_queued
        self._clock = clock
        self._own_admin = config.key("admin", config.node_id)
        self._follower = MembershipFollower(config, etcd, on_change=self._after_view, on_put=self._on_put)
        self._view = self._follower.view
        self._state = NodeState.CONNECTING
        self._reason = "not registered yet"
        self._lease: int | None = None
        self._fences: dict[str, Fence | None] = {role: None for role in ROLES}
        self._resign: dict[str, tuple[Election, Fence]] = {}
        self.on_primary_change: list[Callable[[bool], None]] = []
        self.on_coordinator_change: list[Callable[[bool], None]] = []
        self._version = 0
        self._changed = trio.Event()
        self._write_lock = trio.Lock()
        self._thawed: trio.Event | None = None  # test hook: a frozen node (see freeze)
        self._run_scope: trio.CancelScope | None = None
        self._session_scope: trio.CancelScope | None = None
        self._left = False
        self._last_admin: dict[str, Any] | None = None
        self._session_nursery: trio.Nursery | None = None
        self._granted_at = 0.0  # trio time of the current lease's grant request
        self._valid_until = 0.0  # trio time until which the lease is surely alive
        self._stale_lease: int | None = None  # a lost lease to revoke once etcd answers
        # roles are dropped this long before etcd can let the lease expire (see keep_lease)
        self._margin = min(1.0, config.lease_ttl / 10)
        self._lifetime = config.lease_ttl - self._margin

    # -- reading --

    @property
    def node_id(self) -> str:
        """This node's id."""
        return self.config.node_id

    @property
    def state(self) -> NodeState:
        """This node's own state."""
        return self._state

    @property
    def reason(self) -> str:
        """Why this node is in its state ("" when nothing to say)."""
        return self._reason

    @property
    def lease_id(self) -> int | None:
        """The lease of the current registration, None when not registered."""
        return self._lease

    @property
    def is_coordinator(self) -> bool:
        """Whether this node holds the coordinator role right now."""
        return self._fence(COORDINATOR) is not None

    @property
    def is_primary(self) -> bool:
        """Whether this node holds the primary role right now."""
        return self._fence(PRIMARY) is not None

    def coordinator_fence(self) -> Fence | None:
        """The coordinator election key and revision while we lead (put its
        compare in every coordinator txn), else None."""
        return self._fence(COORDINATOR)

    def primary_fence(self) -> Fence | None:
        """The primary election key and revision while we lead, else None."""
        return self._fence(PRIMARY)

    def _fence(self, role: str) -> Fence | None:
        """The role's fence, None as soon as the lease may have expired (a process that
        was stopped past its TTL holds nothing, even before its keepalive task runs)."""
        fence = self._fences[role]
        if fence is None:
            return None
        try:
            now = trio.current_time()
        except RuntimeError:  # outside trio: no clock to check against
            return fence
        return fence if now < self._valid_until else None

    def members(self) -> list[Member]:
        """Every node known to the cluster, sorted by node id (see
        :meth:`MembershipView.members` for what a dead node shows)."""
        return self._view.members()

    def member(self, node_id: str) -> Member | None:
        """One member, None when unknown."""
        return next((m for m in self._view.members() if m.node_id == node_id), None)

    def coordinator(self) -> Member | None:
        """The member that leads the coordinator election, None when none."""
        return self._leader(COORDINATOR)

    def primary(self) -> Member | None:
        """The member that leads the primary election, None when none."""
        return self._leader(PRIMARY)

    def _leader(self, role: str) -> Member | None:
        lead = self._view.leader(role)
        return None if lead is None else self.member(lead[0])

    def connected_peers(self) -> list[Member]:
        """The other members that are CONNECTED and alive."""
        return [m for m in self._view.members()
                if m.alive and m.state is NodeState.CONNECTED and m.node_id != self.node_id]

    def admin_request(self) -> dict[str, Any] | None:
        """The current ``C/admin/<self>`` (``{state, reason, by}``); None: this node may connect."""
        return self._view.admin(self.node_id)

    # -- change notification --

    @property
    def version(self) -> int:
        """A counter bumped by every change of membership, roles, own state or admin request."""
        return self._version

    async def changed(self, after: int) -> int:
        """Wait until :attr:`version` exceeds ``after``; returns the new version."""
        while self._version <= after:
            await self._changed.wait()
        return self._version

    def _bump(self) -> None:
        self._version += 1
        self._changed.set()
        self._changed = trio.Event()

    # -- own state --

    def _node_record(self) -> dict[str, Any]:
        count, size = self._local_queued()
        return {
            "nodeId": self.node_id,
            "address": self.config.address,
            "apiUrl": self.config.api_url,
            "state": self._state.value,
            "reason": self._reason,
            "heartbeat": self._clock(),
            "queuedCount": count,
            "queuedBytes": size,
            "version": VERSION,
        }

    def _member_record(self, *, left: bool = False) -> dict[str, Any]:
        record = self._node_record()
        record["left"] = left
        return record

    async def _write_node(self) -> None:
        """Put ``C/nodes/<id>`` (leased) from the current state; writes are serialized so an
        older record never lands after a newer one."""
        async with self._write_lock:
            lease = self._lease
            if lease is not None:
                await self.etcd.put(self.config.key("nodes", self.node_id), _json(self._node_record()), lease=lease)

    async def _write_member(self, *, left: bool = False) -> None:
        async with self._write_lock:
            await self.etcd.put(self.config.key("members", self.node_id), _json(self._member_record(left=left)))

    def _set_local(self, state: NodeState, reason: str) -> bool:
        if (state, reason) == (self._state, self._reason):
            return False
        self._state, self._reason = state, reason
        self._bump()
        for role in ROLES:  # at once, before the campaign resigns in etcd (see _roles)
            if self._fences[role] is not None and not may_hold(role, state):
                self._set_role(role, None)
        return True

    async def set_state(self, state: NodeState, reason: str = "") -> bool:
        """Set this node's own state and write it to etcd at once (``C/nodes/<id>`` and the
        members record). True when written; False when not registered or etcd refused
        (the state is set here anyway, and the next heartbeat or registration writes it),
        and when CONNECTING or CONNECTED is asked while an admin request stands (the node
        keeps the state asked by it: it may not connect)."""
        if not isinstance(state, NodeState):
            raise MembershipError(f"set_state: state must be a NodeState, got {state!r}")
        if state in (NodeState.CONNECTING, NodeState.CONNECTED) and self.admin_request() is not None:
            return False
        self._set_local(state, reason)
        if self._lease is None:
            return False
        try:
            await self._write_node()
            await self._write_member()
        except EtcdError:
            return False
        return True

    # -- admin requests --

    def _check_known(self, node_id: str, what: str) -> Member:
        member = self.member(node_id)
        if member is None:
            raise MembershipError(f"{what}: no node {node_id!r} in cluster {self.config.cluster_name!r}")
        return member

    async def _admin_write(self, node_id: str, ops: list[Op], *, by: str, what: str,
                           compares: tuple[Compare, ...] = (), changed: str = "") -> None:
        fence = None
        if by == "coordinator":
            fence = self.coordinator_fence()
            if fence is None:
                raise MembershipError(f"{what} {node_id!r}: node {self.node_id!r} is not the cluster coordinator")
            compares = (fence.compare(), *compares)
        result = await self.etcd.txn(list(compares), ops, [Op.get(fence.key)] if fence else [])
        if result.succeeded:
            return
        if fence is not None and [kv.create_revision for kv in result.responses[0]] != [fence.revision]:
            raise MembershipError(
                f"{what} {node_id!r}: node {self.node_id!r} is no longer the cluster coordinator (fence failed)")
        raise MembershipError(f"{what} {node_id!r}: {changed}")

    async def request_state(self, node_id: str, state: NodeState, reason: str, *, by: str) -> None:
        """Ask a node to go DISCONNECTED or OFFLOADING: writes ``C/admin/<node_id>`` =
        ``{state, reason, by}``. ``by="coordinator"`` fences the write with our coordinator
        fence (MembershipError when we are not, or no longer, coordinator). MembershipError
        for another state or an unknown node."""
        if state not in ADMIN_STATES:
            raise MembershipError(f"request_state {node_id!r}: state must be DISCONNECTED or OFFLOADING, got {state!r}")
        self._check_known(node_id, "request_state")
        record = {"state": NodeState(state).value, "reason": reason, "by": by}
        await self._admin_write(node_id, [Op.put(self.config.key("admin", node_id), _json(record))],
                                by=by, what="request_state")

    async def allow_connect(self, node_id: str, *, by: str) -> None:
        """The user's "connect": the node, when DISCONNECTED, OFFLOADING or OFFLOADED, goes
        CONNECTING (the replication part then catches it up). Writes the connect marker
        ``{state: CONNECTING, by}`` at ``C/admin/<node_id>`` and deletes it, so a node
        disconnected by itself (no admin request) hears it too; :meth:`admin_request` never
        returns the marker. Fenced like :meth:`request_state` when ``by="coordinator"``."""
        self._check_known(node_id, "allow_connect")
        key = self.config.key("admin", node_id)
        marker = _json({"state": NodeState.CONNECTING.value, "reason": "", "by": by})
        await self._admin_write(node_id, [Op.put(key, marker)], by=by, what="allow_connect")
        await self._admin_write(node_id, [Op.delete(key)], by=by, what="allow_connect")

    async def remove(self, node_id: str, *, by: str) -> None:
        """Remove a DISCONNECTED or OFFLOADED node other than this one: deletes its members,
        admin and leased records in one txn that also checks its leased key is unchanged
        since read (a node whose lease is gone counts as DISCONNECTED). MembershipError
        otherwise (nothing deleted). A removed node that still runs shows again at its
        next heartbeat."""
        if node_id == self.node_id:
            raise MembershipError(f"remove {node_id!r}: a node cannot remove itself (use leave)")
        member = self._check_known(node_id, "remove")
        # Read its leased key afresh and remove only if it is still what we checked.
        live_key = self.config.key("nodes", node_id)
        live = await self.etcd.get(live_key)
        state: NodeState
        if live is None:
            state = NodeState.DISCONNECTED if member.state is not NodeState.OFFLOADED else member.state
            unchanged = Compare.version(live_key, "=", 0)
        else:
            try:
                state = NodeState(str(json.loads(live.value).get("state")))
            except (ValueError, AttributeError):
                state = NodeState.CONNECTING
            unchanged = Compare.mod_revision(live_key, "=", live.mod_revision)
        if state not in (NodeState.DISCONNECTED, NodeState.OFFLOADED):
            raise MembershipError(
                f"remove {node_id!r}: only a DISCONNECTED or OFFLOADED node can be removed; it is {state.value}")
        ops = [Op.delete(self.config.key(part, node_id)) for part in ("members", "admin", "nodes")]
        await self._admin_write(node_id, ops, by=by, what="remove", compares=(unchanged,),
                                changed="the node changed state meanwhile (it is heartbeating again); nothing removed")

    def _on_admin(self) -> None:
        """Follow our own admin request (level: called after every view change)."""
        admin = self.admin_request()
        if admin == self._last_admin:
            return
        before, self._last_admin = self._last_admin, admin
        if self._lease is None or self._left:
            return
        if admin is not None:
            if self._set_local(NodeState(admin["state"]), str(admin.get("reason", ""))):
                self._nursery_write()
        elif before is not None:
            self._connect_requested(str(before.get("by", "")))

    def _connect_requested(self, by: str) -> None:
        if self._lease is None or self._left:
            return
        if self._state in (NodeState.DISCONNECTED, NodeState.OFFLOADING, NodeState.OFFLOADED):
            reason = f"connect requested by {by}" if by else "connect requested"
            if self._set_local(NodeState.CONNECTING, reason):
                self._nursery_write()

    def _nursery_write(self) -> None:
        if self._session_nursery is not None:
            self._session_nursery.start_soon(self._write_quietly)

    async def _write_quietly(self) -> None:
        try:
            await self._write_node()
            await self._write_member()
        except EtcdError:
            pass  # the next heartbeat (or registration) writes it

    # -- running --

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Register, heartbeat, campaign and follow membership until cancelled or
        :meth:`leave`. ``task_status.started()`` once registered (CONNECTING, or
        DISCONNECTED when an admin request says so) and the membership read once.
        While etcd cannot be reached the node retries with back-off and says why in
        :attr:`reason`."""
        with trio.CancelScope() as self._run_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._follower.run)
                started = False
                lost = ""
                while not self._left:
                    await self._register(lost)
                    await self._follower.wait_synced()
                    if not started:
                        task_status.started()
                        started = True
                    lost = await self._session(self._lease)
                    if self._left:
                        break
                    self._drop_roles()
                    self._stale_lease, self._lease = self._lease, None
                    self._set_local(NodeState.DISCONNECTED, lost)
                    # a network path that dropped our keepalives may hold our watch streams
                    # stalled too: follow afresh
                    self._follower.restart_watches()
                    with trio.move_on_after(self.config.lease_ttl):
                        await self._write_quietly()
                nursery.cancel_scope.cancel()

    async def _register(self, lost: str) -> None:
        """Grant a lease and write our records, retrying with back-off."""
        delay = self.config.retry_initial
        while True:
            try:
                granted_at = trio.current_time()
                lease = await self.etcd.grant(self.config.lease_ttl)
                self._granted_at = granted_at
                self._valid_until = granted_at + self._lifetime
                if self._stale_lease is not None:
                    # after an etcd outage the lost lease may live on: its election keys would
                    # stand before our new candidacy until it expires
                    await self.etcd.revoke(self._stale_lease)
                    self._stale_lease = None
                if self._left:
                    await self.etcd.revoke(lease)
                    return
                admin_kv = await self.etcd.get(self.config.key("admin", self.node_id))
                try:
                    admin = json.loads(admin_kv.value) if admin_kv is not None else None
                except ValueError:
                    admin = None
                if isinstance(admin, dict) and admin.get("state") in {s.value for s in ADMIN_STATES}:
                    self._set_local(NodeState(admin["state"]), str(admin.get("reason", "")))
                    self._last_admin = admin
                else:
                    self._set_local(NodeState.CONNECTING, f"rejoining: {lost}" if lost else "")
                self._lease = lease
                await self._write_node()
                await self._write_member()
                return
            except EtcdError as exc:
                if self._lease is not None:  # granted, then a write failed: let it go
                    self._stale_lease, self._lease = self._lease, None
                self._set_local(self._state, f"cannot register with etcd ({exc}); retrying in {delay:.1f} s")
                await trio.sleep(delay)
                delay = min(delay * 2, self.config.retry_max)

    async def _session(self, lease: int | None) -> str:
        """Heartbeat and campaign under the current lease; returns why the lease was lost
        ("" when the session ended by leave)."""
        lost = ""
        if lease is None or self._left:
            return lost
        try:
            async with trio.open_nursery() as nursery:
                self._session_nursery = nursery
                self._session_scope = nursery.cancel_scope

                async def keep() -> None:
                    nonlocal lost
                    lost = await self._keep_lease(lease)
                    self._drop_roles()  # before etcd can let the lease expire (see keep_lease)
                    nursery.cancel_scope.cancel()

                nursery.start_soon(keep)
                nursery.start_soon(self._heartbeat)
                for role in ROLES:
                    nursery.start_soon(campaign, self, role, lease)
        finally:
            self._session_nursery = None
            self._session_scope = None
        return lost

    async def _wait_thawed(self) -> None:
        while self._thawed is not None:
            await self._thawed.wait()

    async def _keep_lease(self, lease: int) -> str:
        """Renew the lease until it is gone; returns the reason."""

        def renewed(sent: float) -> None:
            self._valid_until = sent + self._lifetime

        try:
            return await keep_lease(self.etcd, lease, ttl=self.config.lease_ttl, margin=self._margin,
                                    interval=min(self.config.heartbeat_interval, self.config.lease_ttl / 3),
                                    granted_at=self._granted_at, renewed=renewed, paused=self._wait_thawed)
        finally:
            self._valid_until = 0.0

    async def _heartbeat(self) -> None:
        while True:
            await trio.sleep(self.config.heartbeat_interval)
            await self._wait_thawed()
            try:
                await self._write_node()
            except EtcdError:
                pass  # the lease keeper decides when this is a loss

    def _set_role(self, role: str, fence: Fence | None) -> None:
        had = self._fences[role] is not None
        self._fences[role] = fence
        if had == (fence is not None):
            return
        self._bump()
        callbacks = self.on_coordinator_change if role == COORDINATOR else self.on_primary_change
        for callback in list(callbacks):
            callback(fence is not None)

    def _drop_roles(self) -> None:
        for role in ROLES:
            self._set_role(role, None)

    # -- following etcd --

    def _on_put(self, key: str, value: bytes) -> None:
        if key != self._own_admin:
            return
        try:
            record = json.loads(value)
        except ValueError:
            return
        if isinstance(record, dict) and record.get("state") == NodeState.CONNECTING.value:
            self._connect_requested(str(record.get("by", "")))

    def _after_view(self) -> None:
        self._bump()
        self._on_admin()

    # -- test hooks --

    def freeze(self) -> None:
        """Test hook: stop renewing the lease and heartbeating, as a SIGSTOPped process
        would (the watches go on). :meth:`thaw` resumes."""
        if self._thawed is None:
            self._thawed = trio.Event()

    def thaw(self) -> None:
        """Test hook: undo :meth:`freeze`."""
        if self._thawed is not None:
            thawed, self._thawed = self._thawed, None
            thawed.set()

    # -- leaving --

    async def leave(self) -> None:
        """Leave cleanly: resign roles, mark the members record DISCONNECTED "left the
        cluster" (OFFLOADED stays OFFLOADED), revoke the lease (the others see the node
        gone at once) and stop :meth:`run`."""
        self._left = True
        held = list(self._resign.values())
        if self._session_scope is not None:  # first, so no campaign starts again
            self._session_scope.cancel()
        self._drop_roles()
        for election, fence in held:
            try:
                await election.resign(fence)
            except EtcdError:
                pass
        if self._state is not NodeState.OFFLOADED:
            self._set_local(NodeState.DISCONNECTED, _LEFT)
        lease, self._lease = self._lease, None
        try:
            await self._write_member(left=True)
        finally:
            if lease is not None:
                await self.etcd.revoke(lease)
            if self._run_scope is not None:
                self._run_scope.cancel()
