"""Leader election on a real etcd: one leader, succession, fencing, cancelled candidacies."""

from __future__ import annotations

import itertools

import pytest
import trio

from flowyard.clusters.election import Election, Fence
from flowyard.clusters.etcd import Etcd, EtcdError, Op

pytestmark = pytest.mark.integration

_counter = itertools.count()


def _prefix() -> str:
    return f"/t/election/{next(_counter)}/"


async def _until_candidates(etcd: Etcd, election: Election, count: int) -> None:
    while len((await etcd.range(election.prefix))[0]) < count:
        await trio.sleep(0.02)


async def test_one_leader_then_the_next_in_line_when_its_lease_goes(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    assert await election.leader() is None
    first, second = await etcd.grant(10), await etcd.grant(10)
    fence_a = await election.campaign(first, "node-a")
    assert fence_a.key == election.key_of(first)
    assert await election.leader() == ("node-a", fence_a)
    elected: list[Fence] = []

    async def second_candidate() -> None:
        elected.append(await election.campaign(second, "node-b"))

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(second_candidate)
            await _until_candidates(etcd, election, 2)
            await trio.sleep(0.2)
            assert elected == []  # a leader exists: the second waits
            assert await election.campaign(first, "node-a") == fence_a  # idempotent for its lease
            await etcd.revoke(first)
    [fence_b] = elected
    assert fence_b.revision > fence_a.revision
    assert await election.leader() == ("node-b", fence_b)


async def test_expired_lease_hands_over_within_its_ttl(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    short, waiting = await etcd.grant(2), await etcd.grant(20)
    await election.campaign(short, "a")
    start = trio.current_time()
    with trio.fail_after(6):
        fence = await election.campaign(waiting, "b")
    assert trio.current_time() - start < 6
    assert (await election.leader()) == ("b", fence)


async def test_a_deposed_leaders_fenced_txn_fails(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    old = await etcd.grant(10)
    fence = await election.campaign(old, "old")
    ok = await etcd.txn([fence.compare()], [Op.put("/t/election/fenced", b"by old")])
    assert ok.succeeded
    await etcd.revoke(old)
    new = await etcd.grant(10)
    await election.campaign(new, "new")
    refused = await etcd.txn([fence.compare()], [Op.put("/t/election/fenced", b"late write")])
    assert not refused.succeeded
    kv = await etcd.get("/t/election/fenced")
    assert kv is not None and kv.value == b"by old"


async def test_cancelled_campaign_removes_its_candidacy(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    leader, waiting = await etcd.grant(10), await etcd.grant(10)
    await election.campaign(leader, "leader")
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(election.campaign, waiting, "waiting")
            await _until_candidates(etcd, election, 2)
            nursery.cancel_scope.cancel()
    kvs, _ = await etcd.range(election.prefix)
    assert [kv.value for kv in kvs] == [b"leader"]


async def test_resign_and_observe_follow_the_leadership(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    a, b = await etcd.grant(10), await etcd.grant(10)
    seen: list[tuple[str, Fence] | None] = []
    with trio.fail_after(10):
        async with election.observe() as leaders:
            seen.append(await leaders.__anext__())
            fence_a = await election.campaign(a, "a")
            seen.append(await leaders.__anext__())
            async with trio.open_nursery() as nursery:
                nursery.start_soon(election.campaign, b, "b")
                await _until_candidates(etcd, election, 2)
                await election.resign(fence_a)
            seen.append(await leaders.__anext__())
    assert seen[0] is None and seen[1] == ("a", fence_a)
    assert seen[2] is not None and seen[2][0] == "b"
    await election.resign(fence_a)  # gone already: nothing happens


async def test_candidacy_lost_while_waiting_raises(etcd: Etcd) -> None:
    election = Election(etcd, _prefix())
    leader, waiting = await etcd.grant(10), await etcd.grant(10)
    await election.campaign(leader, "leader")

    async def revoke_soon() -> None:
        await _until_candidates(etcd, election, 2)
        await etcd.revoke(waiting)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(revoke_soon)
            with pytest.raises(EtcdError, match=r"candidacy .* is gone"):
                await election.campaign(waiting, "waiting")
    with pytest.raises(ValueError, match="must end with"):
        Election(etcd, "/no/slash")
