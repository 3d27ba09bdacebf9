"""Cluster-scoped processor state in a real etcd (``clusters.state.EtcdStateStore``):
versions, sealing, clearing, fencing by the primary election, and ListFile moving
from one primary node to the next without listing a file twice or skipping one."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
import trio

from flowyard.clusters.channel import Sealer
from flowyard.clusters.election import Election, Fence
from flowyard.clusters.etcd import Etcd
from flowyard.clusters.state import ClusterStateError, EtcdStateStore
from flowyard.processors import PROCESSORS
from flowyard.runtime.engine import Engine
from flowyard.runtime.flow import flow_from_dict
from flowyard.runtime.repository import Repositories

# An hour ago, with a millisecond part: past ListFile's listing lag.
BASE_NS = (int(time.time()) - 3600) * 1_000_000_000 + 123_000_000


def _prefix() -> str:
    return f"/flowyard/state-{uuid.uuid4().hex[:12]}/"


async def test_versions_follow_etcd_and_a_moved_version_is_refused(etcd: Etcd) -> None:
    prefix = _prefix()
    store = EtcdStateStore(etcd, Sealer(os.urandom(32)), prefix)
    assert await store.get("p1") == ({}, 0)
    assert not await store.replace("p1", 1, {"a": "1"})  # nothing there yet
    assert await store.replace("p1", 0, {"a": "1"})
    assert await store.get("p1") == ({"a": "1"}, 1)
    assert not await store.replace("p1", 0, {"a": "x"})  # someone else's stale read
    assert await store.replace("p1", 1, {"a": "2", "b": "ü"})
    assert await store.get("p1") == ({"a": "2", "b": "ü"}, 2)
    kv = await etcd.get(prefix + "state/p1")
    assert kv is not None and kv.version == 2
    assert b"\xc3\xbc" not in kv.value and msgpack.packb({"a": "2", "b": "ü"}) not in kv.value  # sealed
    assert await store.get("p2") == ({}, 0)  # per component


async def test_clear_empties_the_state_and_refuses_earlier_readers(etcd: Etcd) -> None:
    store = EtcdStateStore(etcd, Sealer(os.urandom(32)), _prefix())
    await store.clear("p")  # nothing to clear
    assert await store.get("p") == ({}, 0)
    assert await store.replace("p", 0, {"listing.timestamp": "5"})
    await store.clear("p")
    assert await store.get("p") == ({}, 2)
    assert not await store.replace("p", 1, {"listing.timestamp": "6"})


async def test_a_value_sealed_elsewhere_or_moved_is_a_clear_error(etcd: Etcd) -> None:
    prefix = _prefix()
    store = EtcdStateStore(etcd, Sealer(os.urandom(32)), prefix)
    assert await store.replace("p", 0, {"k": "v"})
    other = EtcdStateStore(etcd, Sealer(os.urandom(32)), prefix)
    with pytest.raises(ClusterStateError, match=f"{prefix}state/p.*cluster secret"):
        await other.get("p")
    kv = await etcd.get(prefix + "state/p")
    assert kv is not None
    await etcd.put(prefix + "state/q", kv.value)  # moved to another component
    with pytest.raises(ClusterStateError, match="state/q"):
        await store.get("q")
    sealer = Sealer(os.urandom(32))
    await etcd.put(prefix + "state/r", sealer.seal(prefix + "state/r", msgpack.packb({"values": {"k": 1}})))
    with pytest.raises(ClusterStateError, match="not a map of text to text"):
        await EtcdStateStore(etcd, sealer, prefix).get("r")


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="key_prefix"):
        EtcdStateStore(None, Sealer(os.urandom(32)), "/")  # type: ignore[arg-type]
    store = EtcdStateStore(None, Sealer(os.urandom(32)), "/flowyard/c")  # type: ignore[arg-type]
    assert store.key("p") == "/flowyard/c/state/p"
    with pytest.raises(ValueError, match="component id"):
        store.key("a/b")


async def test_a_deposed_primary_cannot_replace(etcd: Etcd) -> None:
    prefix = _prefix()
    sealer = Sealer(os.urandom(32))
    election = Election(etcd, prefix + "election/primary/")
    lease_a = await etcd.grant(30)
    fence_a = await election.campaign(lease_a, "A")
    held: dict[str, Fence | None] = {"A": fence_a, "B": None}
    store_a = EtcdStateStore(etcd, sealer, prefix, fence=lambda: held["A"])
    store_b = EtcdStateStore(etcd, sealer, prefix, fence=lambda: held["B"])
    assert await store_a.replace("p", 0, {"n": "1"})
    assert not await store_b.replace("p", 1, {"n": "2"})  # B is not primary: not even asked
    await etcd.revoke(lease_a)  # A's lease expires; A has not noticed yet
    lease_b = await etcd.grant(30)
    held["B"] = await election.campaign(lease_b, "B")
    assert not await store_a.replace("p", 1, {"n": "stale"})  # the version matches, the fence does not
    assert await store_b.replace("p", 1, {"n": "2"})
    assert await store_a.get("p") == ({"n": "2"}, 2)
    await etcd.revoke(lease_b)


def _list_file_flow(directory: Path) -> dict[str, Any]:
    processors = [
        {"identifier": "list", "type": "ListFile", "executionNode": "PRIMARY", "schedulingPeriod": "50 ms",
         "yieldDuration": "50 ms",
         "properties": {"Input Directory": str(directory), "Input Directory Location": "Remote"}},
        {"identifier": "sink", "type": "UpdateAttribute", "scheduledState": "STOPPED"},
    ]
    connections = [{"identifier": "listed", "source": {"id": "list"}, "destination": {"id": "sink"},
                    "selectedRelationships": ["success"]}]
    return {"flowyardFlowVersion": 1,
            "rootGroup": {"processors": processors, "connections": connections, "funnels": []}}


def _make_files(directory: Path, numbers: range) -> None:
    for n in numbers:
        path = directory / f"f{n}.txt"
        path.write_text(str(n))
        os.utime(path, ns=(BASE_NS + n * 1_000_000, BASE_NS + n * 1_000_000))


def _listed(engine: Engine) -> list[str]:
    return [ff.attributes["filename"] for ff in engine.list_queue("listed", limit=1000)]


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await trio.sleep(0.02)


async def test_list_file_continues_on_the_new_primary_without_relisting_or_skipping(
        etcd: Etcd, tmp_path: Path) -> None:
    prefix = _prefix()
    sealer = Sealer(os.urandom(32))
    election = Election(etcd, prefix + "election/primary/")
    held: dict[str, Fence | None] = {"A": None, "B": None}
    flow = flow_from_dict(_list_file_flow(tmp_path))
    engine_a = Engine(flow, Repositories.in_memory(), registry=PROCESSORS)
    engine_b = Engine(flow, Repositories.in_memory(), registry=PROCESSORS)
    engine_a.cluster_state = EtcdStateStore(etcd, sealer, prefix, fence=lambda: held["A"])
    engine_b.cluster_state = EtcdStateStore(etcd, sealer, prefix, fence=lambda: held["B"])
    engine_b.set_primary(False)
    assert engine_a.nodes["list"].state_scope == "CLUSTER"
    lease_a = await etcd.grant(30)
    held["A"] = await election.campaign(lease_a, "A")
    _make_files(tmp_path, range(1, 4))
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            await nursery.start(engine_a.run)
            await nursery.start(engine_b.run)
            await _until(lambda: len(_listed(engine_a)) == 3)
            assert engine_b.nodes["list"].stats.tasks == 0
            # A loses its lease without noticing: it goes on listing, but cannot write the state.
            await etcd.revoke(lease_a)
            _make_files(tmp_path, range(4, 6))
            tasks = engine_a.nodes["list"].stats.tasks
            await _until(lambda: engine_a.nodes["list"].stats.tasks >= tasks + 3)
            assert len(_listed(engine_a)) == 3
            assert any("could not be replaced" in b.message for b in engine_a.nodes["list"].bulletins)
            # B is elected and told; A is told it is no longer primary.
            lease_b = await etcd.grant(30)
            held["B"] = await election.campaign(lease_b, "B")
            engine_b.set_primary(True)
            engine_a.set_primary(False)
            held["A"] = None
            await _until(lambda: len(_listed(engine_b)) >= 2)
            _make_files(tmp_path, range(6, 7))
            await _until(lambda: len(_listed(engine_b)) >= 3)
            tasks = engine_b.nodes["list"].stats.tasks
            await _until(lambda: engine_b.nodes["list"].stats.tasks >= tasks + 3)
            engine_a.request_stop()
            engine_b.request_stop()
    assert sorted(_listed(engine_a)) == ["f1.txt", "f2.txt", "f3.txt"]
    assert sorted(_listed(engine_b)) == ["f4.txt", "f5.txt", "f6.txt"]
    assert engine_b.cluster_state is not None
    values, _ = await engine_b.cluster_state.get("list")
    assert values["listing.timestamp"] == str((BASE_NS + 6_000_000) // 1_000_000)
    assert engine_a.repositories.state.get("list").version == 0  # never kept locally
    await etcd.revoke(lease_b)
