"""ClusterNode against a real etcd: registration, one coordinator and one
primary, failover with fencing, admin disconnect/connect, remove rules, a
frozen node (SIGSTOP) and a clean leave. Leases of 2 s; every wait bounded."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
from trio.testing import MockClock

from flowyard.clusters._lease import keep_lease
from flowyard.clusters.election import Fence
from flowyard.clusters.etcd import Etcd, EtcdUnavailable, Op
from flowyard.clusters.etcdserver import EtcdServer
from flowyard.clusters.node import ClusterConfig, ClusterNode, MembershipError, NodeState

pytestmark = pytest.mark.integration

TTL = 2
_clusters = itertools.count()


class Running:
    """A node and the scope its run lives in (cancel it: the process died)."""

    def __init__(self, node: ClusterNode, scope: trio.CancelScope) -> None:
        self.node = node
        self.scope = scope

    def kill(self) -> None:
        self.scope.cancel()


@asynccontextmanager
async def cluster(server: EtcdServer, *ids: str, name: str | None = None, connect: bool = True,
                  ttl: int = TTL, url: str | None = None) -> AsyncIterator[dict[str, Running]]:
    """Start nodes ``ids`` (each with its own client, of ``url`` when given, else of the
    server) in one cluster; stop them at exit. ``connect``: set each CONNECTED once started,
    as the replication part does once the node has the flow (only a CONNECTED node stands
    for primary)."""
    name = name or f"t{next(_clusters)}"
    running: dict[str, Running] = {}
    clients: list[Etcd] = []
    try:
        async with trio.open_nursery() as nursery:
            for port, node_id in enumerate(ids, start=9440):
                client = Etcd(url or server.url, timeout=3.0)
                clients.append(client)
                config = ClusterConfig(node_id=node_id, address=f"127.0.0.1:{port}", api_url=f"http://{node_id}",
                                       etcd_endpoints=(url or server.url,), cluster_name=name, lease_ttl=ttl,
                                       heartbeat_interval=0.5, retry_initial=0.1, retry_max=0.5)
                node = ClusterNode(config, client)
                running[node_id] = Running(node, await nursery.start(_run, node))
            for r in running.values() if connect else ():
                assert await r.node.set_state(NodeState.CONNECTED)
            yield running
            nursery.cancel_scope.cancel()
    finally:
        # after the nursery: the nodes' shielded clean-ups still use their clients
        for client in clients:
            await client.aclose()


async def _run(node: ClusterNode, *, task_status: trio.TaskStatus[trio.CancelScope]) -> None:
    with trio.CancelScope() as scope:
        await node.run(task_status=_Relay(task_status, scope))


class _Relay:
    """Pass the node's own scope through nursery.start."""

    def __init__(self, status: trio.TaskStatus[trio.CancelScope], scope: trio.CancelScope) -> None:
        self._status = status
        self._scope = scope

    def started(self, value: object = None) -> None:
        self._status.started(self._scope)


async def until(node: ClusterNode, condition: Callable[[], bool], timeout: float) -> None:
    """Wait (bounded) until ``condition()`` holds, rechecking at every change of ``node``."""
    with trio.fail_after(timeout):
        version = node.version
        while not condition():
            version = await node.changed(version)


def summary(node: ClusterNode) -> list[tuple[str, str, bool, tuple[str, ...]]]:
    return [(m.node_id, m.state.value, m.alive, tuple(sorted(m.roles))) for m in node.members()]


def agreed(nodes: list[ClusterNode], count: int) -> bool:
    views = [summary(n) for n in nodes]
    if any(v != views[0] for v in views) or len(views[0]) != count:
        return False
    roles = [r for _, _, _, rs in views[0] for r in rs]
    return sorted(roles) == ["coordinator", "primary"]


async def all_agree(nodes: list[ClusterNode], count: int, timeout: float = 5.0) -> None:
    """Wait (bounded) until every node sees the same ``count`` members and one holder of each
    role, rechecking whenever any of them changes."""

    async def wake(node: ClusterNode, version: int, scope: trio.CancelScope) -> None:
        await node.changed(version)
        scope.cancel()

    with trio.fail_after(timeout):
        while True:
            versions = [n.version for n in nodes]
            if agreed(nodes, count):
                return
            async with trio.open_nursery() as nursery:
                for node, version in zip(nodes, versions):
                    nursery.start_soon(wake, node, version, nursery.cancel_scope)


async def test_three_nodes_one_coordinator_one_primary(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3", connect=False) as nodes:
        all_nodes = [r.node for r in nodes.values()]
        n1 = nodes["n1"].node
        # a cold start: every node CONNECTING; one coordinates (the flow election needs it),
        # nobody is primary before it is CONNECTED
        await until(n1, lambda: n1.coordinator() is not None and len(n1.members()) == 3, 5)
        await until(n1, lambda: sum(n.is_coordinator for n in all_nodes) == 1, 3)
        assert n1.primary() is None and not any(n.is_primary for n in all_nodes)
        for member in n1.members():
            assert (member.state, member.alive, member.reason) == (NodeState.CONNECTING, True, "")
            assert member.api_url == f"http://{member.node_id}"
            assert member.heartbeat is not None
        # the replication part says when a node has the flow
        for node in all_nodes:
            await node.set_state(NodeState.CONNECTED)
        await all_agree(all_nodes, 3)
        assert sum(n.is_coordinator for n in all_nodes) == 1
        assert sum(n.is_primary for n in all_nodes) == 1
        coordinator = n1.coordinator()
        primary = n1.primary()
        assert coordinator is not None and primary is not None
        assert nodes[coordinator.node_id].node.is_coordinator
        assert nodes[primary.node_id].node.coordinator_fence() is None or primary.node_id == coordinator.node_id
        assert nodes[primary.node_id].node.primary_fence() is not None
        await until(n1, lambda: [m.node_id for m in n1.connected_peers()] == ["n2", "n3"], 5)
        assert n1.member("n2") is not None and n1.member("nope") is None
        assert n1.member("n1").to_dict()["state"] == "CONNECTED"  # type: ignore[union-attr]


async def test_killed_coordinator_is_replaced_and_its_fence_fails(etcd_server: EtcdServer, etcd: Etcd) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3") as nodes:
        all_nodes = [r.node for r in nodes.values()]
        await all_agree(all_nodes, 3)
        old_id = next(i for i, r in nodes.items() if r.node.is_coordinator)
        old_fence = nodes[old_id].node.coordinator_fence()
        assert old_fence is not None
        assert (await etcd.txn([old_fence.compare()], [])).succeeded
        nodes[old_id].kill()  # no leave: its lease expires after the TTL
        survivors = [r.node for i, r in nodes.items() if i != old_id]
        watcher = survivors[0]
        with trio.fail_after(TTL + 2):
            await until(watcher, lambda: any(n.is_coordinator for n in survivors), TTL + 2)
        new = watcher.coordinator()
        assert new is not None and new.node_id != old_id
        assert (await etcd.txn([old_fence.compare()], [Op.put("/t/fenced", b"x")])).succeeded is False
        assert await etcd.get("/t/fenced") is None
        await until(watcher, lambda: not watcher.member(old_id).alive, 3)  # type: ignore[union-attr]
        dead = watcher.member(old_id)
        assert dead is not None and dead.state is NodeState.DISCONNECTED
        assert dead.reason.startswith("no heartbeat since 20")
        await all_agree(survivors, 3)
        # a node started after the death sees it too, with the heartbeat its members record kept
        async with cluster(etcd_server, "late", name=watcher.config.cluster_name) as late:
            seen = late["late"].node.member(old_id)
            assert seen is not None and not seen.alive and seen.state is NodeState.DISCONNECTED
            assert seen.heartbeat is not None and dead.heartbeat is not None
            assert abs(seen.heartbeat - dead.heartbeat) < 1  # the record is written at registration and state changes
        await watcher.remove(old_id, by="user")
        await until(watcher, lambda: watcher.member(old_id) is None, 3)


async def test_admin_disconnect_and_connect(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3") as nodes:
        all_nodes = [r.node for r in nodes.values()]
        await all_agree(all_nodes, 3)
        coordinator = next(r.node for r in nodes.values() if r.node.is_coordinator)
        other = next(r.node for r in nodes.values() if not r.node.is_coordinator)
        target = next(r.node for r in nodes.values() if r.node not in (coordinator, other))
        with pytest.raises(MembershipError, match="is not the cluster coordinator"):
            await other.request_state(target.node_id, NodeState.DISCONNECTED, "x", by="coordinator")
        with pytest.raises(MembershipError, match="DISCONNECTED or OFFLOADING"):
            await coordinator.request_state(target.node_id, NodeState.CONNECTED, "x", by="coordinator")
        with pytest.raises(MembershipError, match="no node 'ghost'"):
            await coordinator.request_state("ghost", NodeState.DISCONNECTED, "x", by="user")

        await coordinator.request_state(target.node_id, NodeState.DISCONNECTED, "did not answer", by="coordinator")
        await until(target, lambda: target.state is NodeState.DISCONNECTED, 3)
        assert target.reason == "did not answer"
        assert target.admin_request() == {"state": "DISCONNECTED", "reason": "did not answer", "by": "coordinator"}
        assert await target.set_state(NodeState.CONNECTED) is False  # it may not connect
        assert (target.state, target.reason) == (NodeState.DISCONNECTED, "did not answer")

        def seen_by_other() -> bool:
            member = other.member(target.node_id)
            return member is not None and member.state is NodeState.DISCONNECTED

        await until(other, seen_by_other, 3)
        assert target.node_id not in [m.node_id for m in other.connected_peers()]

        await other.allow_connect(target.node_id, by="user")
        await until(target, lambda: target.state is NodeState.CONNECTING, 3)
        assert target.admin_request() is None
        assert target.reason == "connect requested by user"

        # a node disconnected by itself (no admin request) hears "connect" too
        await target.set_state(NodeState.DISCONNECTED, "could not apply edit 7")
        await until(other, seen_by_other, 3)
        await coordinator.allow_connect(target.node_id, by="coordinator")
        await until(target, lambda: target.state is NodeState.CONNECTING, 3)

        # offload request
        await coordinator.request_state(target.node_id, NodeState.OFFLOADING, "decommission", by="user")
        await until(target, lambda: target.state is NodeState.OFFLOADING, 3)


async def test_remove_rules(etcd_server: EtcdServer, etcd: Etcd) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3") as nodes:
        all_nodes = [r.node for r in nodes.values()]
        await all_agree(all_nodes, 3)
        n1, n2, n3 = (nodes[i].node for i in ("n1", "n2", "n3"))
        with pytest.raises(MembershipError, match="cannot remove itself"):
            await n1.remove("n1", by="user")
        with pytest.raises(MembershipError, match=r"only a DISCONNECTED or OFFLOADED node.*CONNECTED"):
            await n1.remove("n2", by="user")
        with pytest.raises(MembershipError, match="no node 'ghost'"):
            await n1.remove("ghost", by="user")
        await n3.leave()

        def left() -> bool:
            member = n1.member("n3")
            return member is not None and not member.alive

        await until(n1, left, 2)  # a clean leave shows at once (no TTL wait)
        member = n1.member("n3")
        assert member is not None and (member.state, member.reason) == (NodeState.DISCONNECTED, "left the cluster")
        await all_agree([n1, n2], 3)
        coordinator = n1 if n1.is_coordinator else n2
        stale = Fence(coordinator.config.key("election", "coordinator", "gone"), 1)
        deposed = coordinator.coordinator_fence
        coordinator.coordinator_fence = lambda: stale  # type: ignore[method-assign]
        with pytest.raises(MembershipError, match="no longer the cluster coordinator"):
            await coordinator.remove("n3", by="coordinator")
        coordinator.coordinator_fence = deposed  # type: ignore[method-assign]
        await coordinator.remove("n3", by="coordinator")
        await until(n1, lambda: n1.member("n3") is None, 3)
        assert (await etcd.range(n1.config.key("")))[0] != []
        assert [kv.key for kv in (await etcd.range(n1.config.key("")))[0] if "n3" in kv.key] == []

        # a running DISCONNECTED node can be removed; its next heartbeat shows it again
        await n2.set_state(NodeState.DISCONNECTED, "could not apply edit 3")
        await until(n1, lambda: n1.member("n2").state is NodeState.DISCONNECTED, 3)  # type: ignore[union-attr]
        await n1.remove("n2", by="user")
        await until(n1, lambda: n1.member("n2") is not None and n1.member("n2").alive, 3)  # type: ignore[union-attr]


async def test_frozen_node_is_disconnected_and_rejoins(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3") as nodes:
        all_nodes = [r.node for r in nodes.values()]
        await all_agree(all_nodes, 3)
        frozen = next(r.node for r in nodes.values() if r.node.is_coordinator)
        watcher = next(r.node for r in nodes.values() if r.node is not frozen)
        changes: list[bool] = []
        frozen.on_coordinator_change.append(changes.append)
        frozen.freeze()

        def gone() -> bool:
            member = watcher.member(frozen.node_id)
            return member is not None and not member.alive

        await until(watcher, gone, TTL + 2)
        member = watcher.member(frozen.node_id)
        assert member is not None and member.state is NodeState.DISCONNECTED
        assert member.reason.startswith("no heartbeat since")
        # the frozen node's own watch sees its election key go: the role is dropped at once
        await until(frozen, lambda: changes == [False], 2)
        assert not frozen.is_coordinator
        def elected_anew() -> bool:  # the watcher may still show the frozen leader for a moment
            leader = watcher.coordinator()
            return leader is not None and leader.node_id != frozen.node_id

        await until(watcher, elected_anew, TTL + 2)

        old_lease = frozen.lease_id
        frozen.thaw()
        await until(frozen, lambda: frozen.lease_id not in (None, old_lease), TTL + 2)
        assert frozen.state is NodeState.CONNECTING
        assert frozen.reason.startswith("rejoining: lost its cluster lease (no heartbeat for ")

        def back() -> bool:
            member = watcher.member(frozen.node_id)
            return member is not None and member.alive and member.state is NodeState.CONNECTING

        await until(watcher, back, 3)
        await all_agree(all_nodes, 3)


async def test_leave_hands_roles_over_at_once(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "n1", "n2") as nodes:
        n1, n2 = nodes["n1"].node, nodes["n2"].node
        await all_agree([n1, n2], 2)
        leader, follower = (n1, n2) if n1.is_coordinator else (n2, n1)
        calls: list[bool] = []
        follower.on_coordinator_change.append(calls.append)
        primary_calls: list[bool] = []
        follower.on_primary_change.append(primary_calls.append)
        follower_was_primary = follower.is_primary
        await leader.leave()
        assert not leader.is_coordinator and not leader.is_primary
        assert leader.state is NodeState.DISCONNECTED and leader.reason == "left the cluster"
        await until(follower, lambda: follower.is_coordinator and follower.is_primary, TTL - 0.5)  # no TTL wait
        assert calls == [True]
        assert primary_calls == ([] if follower_was_primary else [True])


async def test_unreachable_etcd_is_retried_and_reported() -> None:
    config = ClusterConfig(node_id="lonely", address="127.0.0.1:9440", api_url="", cluster_name="u",
                           etcd_endpoints=("http://127.0.0.1:9",), lease_ttl=TTL, heartbeat_interval=0.5,
                           retry_initial=0.05, retry_max=0.2)
    async with Etcd(config.etcd_endpoints, timeout=1.0) as client, trio.open_nursery() as nursery:
        node = ClusterNode(config, client)
        nursery.start_soon(node.run)
        await until(node, lambda: node.reason.startswith("cannot register with etcd"), 5)
        assert node.state is NodeState.CONNECTING
        assert "127.0.0.1:9" in node.reason and "retrying in" in node.reason
        assert node.members() == [] and node.lease_id is None
        nursery.cancel_scope.cancel()


async def test_changed_wakes_on_own_state(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "n1", connect=False) as nodes:
        node = nodes["n1"].node
        version = node.version
        assert await node.changed(version - 1) == version  # already past: returns at once
        async with trio.open_nursery() as nursery:
            nursery.start_soon(node.set_state, NodeState.CONNECTED, "")
            with trio.fail_after(2):
                assert await node.changed(version) > version
        assert node.state is NodeState.CONNECTED


async def test_etcd_outage_longer_than_the_lease_disconnects_then_rejoins(fresh_etcd: EtcdServer) -> None:
    async with cluster(fresh_etcd, "solo") as nodes:
        node = nodes["solo"].node
        await until(node, lambda: node.is_coordinator and node.is_primary, 5)
        primary_calls: list[bool] = []
        node.on_primary_change.append(primary_calls.append)
        old_lease = node.lease_id
        await trio.to_thread.run_sync(fresh_etcd.stop)
        await until(node, lambda: node.state is NodeState.DISCONNECTED, TTL + 3)
        assert node.reason.startswith("lost its cluster lease (no heartbeat for ")
        assert not node.is_coordinator and not node.is_primary
        assert primary_calls == [False]
        await until(node, lambda: node.reason.startswith("cannot register with etcd"), 5)
        await trio.to_thread.run_sync(fresh_etcd.restart)
        await until(node, lambda: node.lease_id not in (None, old_lease), 10)
        assert node.state is NodeState.CONNECTING and node.reason.startswith("rejoining: lost its cluster lease")
        # the lost lease is revoked, so its election keys do not stand before the new candidacy;
        # primary again once CONNECTED (the replication part says so once it has the flow)
        await until(node, lambda: node.is_coordinator, TTL + 3)
        assert not node.is_primary
        assert await node.set_state(NodeState.CONNECTED)
        await until(node, lambda: node.is_primary, TTL + 3)
        assert primary_calls == [False, True]
        [member] = node.members()
        assert (member.node_id, member.alive, member.roles) == ("solo", True, frozenset({"coordinator", "primary"}))


class FakeLeases:
    """The keepalive of an etcd that answers from a script (a TTL, 0: gone, an error, or
    "hang")."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.calls: list[float] = []

    async def keepalive(self, lease: int) -> int:
        self.calls.append(trio.current_time())
        answer = self.answers.pop(0) if self.answers else 5
        if answer == "hang":
            await trio.sleep_forever()
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, int)
        return answer


async def keep(fake: FakeLeases, **options: object) -> tuple[str, float]:
    start = trio.current_time()
    settings: dict[str, object] = {"ttl": 3, "interval": 1.0, "granted_at": start, **options}
    reason = await keep_lease(fake, 1, **settings)  # type: ignore[arg-type]
    return reason, trio.current_time() - start


async def test_keep_lease_ends_when_etcd_says_the_lease_is_gone(autojump_clock: MockClock) -> None:
    renewed: list[float] = []
    reason, took = await keep(FakeLeases(5, 5, 0), renewed=renewed.append)
    assert (reason, took) == ("lost its cluster lease (no heartbeat for 1 s)", 3.0)
    assert renewed == [trio.current_time() - 2, trio.current_time() - 1]


async def test_keep_lease_gives_up_after_a_ttl_of_failures(autojump_clock: MockClock) -> None:
    fake = FakeLeases(*[EtcdUnavailable("etcd unavailable")] * 10)
    assert await keep(fake) == ("lost its cluster lease (no heartbeat for 3 s)", 3.0)
    fake = FakeLeases(5, "hang")  # a keepalive that never answers is abandoned at the deadline
    assert await keep(fake) == ("lost its cluster lease (no heartbeat for 3 s)", 4.0)


async def test_keep_lease_paused_past_the_ttl_is_lost_at_its_first_renewal(autojump_clock: MockClock) -> None:
    thawed = trio.Event()

    async def paused() -> None:
        await thawed.wait()

    async def thaw_later() -> None:
        await trio.sleep(30)
        thawed.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(thaw_later)
        reason, took = await keep(FakeLeases(0), paused=paused)
    assert (reason, took) == ("lost its cluster lease (no heartbeat for 30 s)", 30.0)


async def test_keep_lease_stops_a_margin_before_etcd_can_expire_the_lease(autojump_clock: MockClock) -> None:
    # the deadline is kept to the moment: not after the next full interval
    fake = FakeLeases(*[EtcdUnavailable("etcd unavailable")] * 10)
    assert await keep(fake, interval=2.0, margin=0.5) == ("lost its cluster lease (no heartbeat for 2 s)", 2.5)
    assert fake.calls == [trio.current_time() - 0.5]  # the one renewal tried, at 2 s
    fake = FakeLeases(5, "hang")  # last renewal sent at 1 s: given up at 1 + 3 - 0.5
    assert await keep(fake, margin=0.5) == ("lost its cluster lease (no heartbeat for 2 s)", 3.5)
    with pytest.raises(ValueError, match="margin must be >= 0 and below the ttl"):
        await keep(FakeLeases(), margin=3)


def election_nodes(etcd_keys: list[str], node: ClusterNode, role: str) -> bool:
    """Whether ``node`` stands for ``role`` (its lease's key is under the role's prefix)."""
    return node.lease_id is not None and f"{node.config.key('election', role, '')}{node.lease_id:016x}" in etcd_keys


async def test_a_node_not_connected_gives_up_its_roles_and_stands_again_once_connected(
        etcd_server: EtcdServer, etcd: Etcd) -> None:
    async with cluster(etcd_server, "n1", "n2", "n3") as nodes:
        all_nodes = [r.node for r in nodes.values()]
        await all_agree(all_nodes, 3)
        old = next(r.node for r in nodes.values() if r.node.is_coordinator)
        if not old.is_primary:  # make it hold both: the others resign primary until it has it
            holder = next(n for n in all_nodes if n.is_primary)
            await holder.set_state(NodeState.DISCONNECTED, "x")
            await until(old, lambda: old.is_primary, TTL)
            assert await holder.set_state(NodeState.CONNECTED) is True
        watcher = next(n for n in all_nodes if n is not old)
        changes: list[tuple[str, bool]] = []
        old.on_coordinator_change.append(lambda won: changes.append(("coordinator", won)))
        old.on_primary_change.append(lambda won: changes.append(("primary", won)))

        await watcher.request_state(old.node_id, NodeState.DISCONNECTED, "maintenance", by="user")
        with trio.fail_after(TTL):  # within the lease time: no waiting for the lease to expire
            await until(watcher, lambda: watcher.coordinator() not in (None, watcher.member(old.node_id))
                        and watcher.primary() not in (None, watcher.member(old.node_id)), TTL)
        assert old.state is NodeState.DISCONNECTED
        assert not old.is_coordinator and not old.is_primary
        assert sorted(changes) == [("coordinator", False), ("primary", False)]
        new = nodes[watcher.coordinator().node_id].node  # type: ignore[union-attr]
        await until(new, lambda: new.is_coordinator, TTL)  # its own campaign hears it too
        assert new.state is NodeState.CONNECTED
        assert new.coordinator_fence() is not None  # a fenced coordinator write can be made
        await new.request_state(old.node_id, NodeState.DISCONNECTED, "maintenance", by="coordinator")
        keys = [kv.key for kv in (await etcd.range(old.config.key("election", "")))[0]]
        assert not election_nodes(keys, old, "coordinator") and not election_nodes(keys, old, "primary")

        # connect: CONNECTING, it does not stand while a CONNECTED node does
        await watcher.allow_connect(old.node_id, by="user")
        await until(old, lambda: old.state is NodeState.CONNECTING, 3)
        await trio.sleep(0.3)  # a candidacy would be written at once: give it the chance to show
        keys = [kv.key for kv in (await etcd.range(old.config.key("election", "")))[0]]
        assert not election_nodes(keys, old, "coordinator") and not election_nodes(keys, old, "primary")
        # CONNECTED: it stands for both again, behind the others
        assert await old.set_state(NodeState.CONNECTED) is True

        async def standing() -> bool:
            keys = [kv.key for kv in (await etcd.range(old.config.key("election", "")))[0]]
            return election_nodes(keys, old, "coordinator") and election_nodes(keys, old, "primary")

        with trio.fail_after(3):
            while not await standing():
                await trio.sleep(0.05)
        assert not old.is_coordinator and not old.is_primary and new.is_coordinator


async def test_a_connected_node_going_connecting_keeps_the_coordinator_role_only(etcd_server: EtcdServer) -> None:
    async with cluster(etcd_server, "solo") as nodes:
        node = nodes["solo"].node
        await until(node, lambda: node.is_coordinator and node.is_primary, 5)
        await node.set_state(NodeState.CONNECTING, "missed cluster edits 4 to 6")
        assert node.is_coordinator and not node.is_primary  # at once
        await node.set_state(NodeState.CONNECTED)
        await until(node, lambda: node.is_primary, TTL)
        await node.set_state(NodeState.OFFLOADING, "decommission")
        assert not node.is_coordinator and not node.is_primary
        await trio.sleep(0.3)
        assert node.coordinator() is None and node.primary() is None


class CutProxy:
    """A TCP proxy to etcd whose connections can all be cut at once (new ones refused)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: list[trio.SocketStream] = []
        self.listener: trio.SocketListener | None = None

    async def serve(self, *, task_status: trio.TaskStatus[str]) -> None:
        [self.listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
        task_status.started(f"http://127.0.0.1:{self.listener.socket.getsockname()[1]}")
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    client = await self.listener.accept()
                except trio.ClosedResourceError:
                    return
                nursery.start_soon(self._pipe, client)

    async def _pipe(self, client: trio.SocketStream) -> None:
        upstream = await trio.open_tcp_stream("127.0.0.1", self.port)
        self.streams += [client, upstream]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._copy, client, upstream)
            nursery.start_soon(self._copy, upstream, client)

    @staticmethod
    async def _copy(source: trio.SocketStream, sink: trio.SocketStream) -> None:
        try:
            async for data in source:
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        finally:
            for stream in (source, sink):
                await stream.aclose()

    async def cut(self) -> None:
        assert self.listener is not None
        await self.listener.aclose()
        for stream in self.streams:
            await stream.aclose()


async def test_a_primary_cut_off_from_etcd_stops_before_another_is_elected(etcd_server: EtcdServer) -> None:
    ttl = 4  # a margin of 0.4 s between the old primary stopping and etcd expiring its lease
    events: list[tuple[float, str, bool]] = []
    name = f"t{next(_clusters)}"
    async with trio.open_nursery() as proxies:
        proxy = CutProxy(int(etcd_server.url.rsplit(":", 1)[1]))
        url = await proxies.start(proxy.serve)
        async with cluster(etcd_server, "n1", name=name, ttl=ttl, url=url) as first:
            n1 = first["n1"].node
            await until(n1, lambda: n1.is_primary, 5)
            async with cluster(etcd_server, "n2", name=name, ttl=ttl) as second:
                n2 = second["n2"].node
                await until(n2, lambda: len(n2.members()) == 2 and n2.primary() == n2.member("n1"), 5)
                for node in (n1, n2):
                    node.on_primary_change.append(
                        lambda won, node_id=node.node_id: events.append((trio.current_time(), node_id, won)))
                cut_at = trio.current_time()
                await proxy.cut()
                await until(n2, lambda: n2.is_primary, ttl + 3)
                stopped = [t for t, node_id, won in events if (node_id, won) == ("n1", False)]
                elected = [t for t, node_id, won in events if (node_id, won) == ("n2", True)]
                assert stopped and elected
                assert stopped[0] < elected[0], (stopped[0] - cut_at, elected[0] - cut_at)
                assert stopped[0] - cut_at <= ttl - 0.4 + 0.2  # within the lease time less the margin
        proxies.cancel_scope.cancel()
