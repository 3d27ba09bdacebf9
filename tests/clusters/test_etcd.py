"""The etcd client against a real etcd: key-value, transactions, leases, watches, failover."""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path

import httpx
import pytest
import trio

from flowyard.clusters.etcd import (
    Compare,
    Etcd,
    EtcdCompacted,
    EtcdError,
    EtcdUnavailable,
    LeaseKeeper,
    Op,
    WatchEvent,
)
from flowyard.clusters.etcdserver import EtcdServer
from flowyard.runtime.sdk import ConfigurationError

pytestmark = pytest.mark.integration


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_put_get_range_delete(etcd: Etcd) -> None:
    rev = await etcd.put("/t/kv/a", b"\x00one\xff")
    await etcd.put("/t/kv/b", b"")
    await etcd.put("/t/kvx", b"outside")
    kv = await etcd.get("/t/kv/a")
    assert kv is not None
    assert kv.value == b"\x00one\xff" and kv.create_revision == rev == kv.mod_revision and kv.version == 1
    assert kv.lease == 0
    empty = await etcd.get("/t/kv/b")
    assert empty is not None and empty.value == b""
    assert await etcd.get("/t/kv/none") is None
    kvs, revision = await etcd.range("/t/kv/")
    assert [k.key for k in kvs] == ["/t/kv/a", "/t/kv/b"] and revision >= rev
    limited, _ = await etcd.range("/t/kv/", limit=1)
    assert [k.key for k in limited] == ["/t/kv/a"]
    assert await etcd.put("/t/kv/a", b"two") > rev
    again = await etcd.get("/t/kv/a")
    assert again is not None and again.version == 2 and again.create_revision == rev
    assert await etcd.delete("/t/kv/", prefix=True) == 2
    assert await etcd.delete("/t/kv/a") == 0
    assert await etcd.get("/t/kvx") is not None


async def test_txn_compare_and_swap(etcd: Etcd) -> None:
    key = "/t/txn/k"
    absent = Compare.create_revision(key, "=", 0)
    first = await etcd.txn([absent], [Op.put(key, b"1")], [Op.get(key)])
    assert first.succeeded and first.responses == [first.revision]
    second = await etcd.txn([absent], [Op.put(key, b"2")], [Op.get(key), Op.delete("/t/txn/none")])
    assert not second.succeeded
    [kvs, deleted] = second.responses
    assert [kv.value for kv in kvs] == [b"1"] and deleted == 0
    assert (await etcd.txn([Compare.value(key, "=", b"1"), Compare.version(key, ">", 0)],
                           [Op.put(key, b"3")])).succeeded
    assert not (await etcd.txn([Compare.value(key, "=", b"1")], [Op.put(key, b"4")])).succeeded
    kv = await etcd.get(key)
    assert kv is not None and kv.value == b"3"
    assert (await etcd.txn([Compare.mod_revision(key, "=", kv.mod_revision)], [Op.delete(key)])).responses == [1]
    with pytest.raises(ValueError, match="op must be one of"):
        Compare.version(key, "==", 1)


async def test_errors_name_the_endpoint_and_etcds_message(etcd: Etcd, etcd_server: EtcdServer) -> None:
    with pytest.raises(EtcdError, match=rf"{etcd_server.url}/v3/kv/put: .*lease not found"):
        await etcd.put("/t/err", b"x", lease=12345)
    with pytest.raises(ValueError, match="expected a URL"):
        Etcd("127.0.0.1:2379")


async def test_lease_expires_and_takes_its_keys(etcd: Etcd) -> None:
    lease = await etcd.grant(2)
    assert 0 < await etcd.time_to_live(lease) <= 2
    await etcd.put("/t/lease/k", b"v", lease=lease)
    kv = await etcd.get("/t/lease/k")
    assert kv is not None and kv.lease == lease
    with trio.fail_after(6):
        while await etcd.get("/t/lease/k") is not None:
            await trio.sleep(0.2)
    assert await etcd.time_to_live(lease) == -1
    assert await etcd.keepalive(lease) == 0
    await etcd.revoke(lease)  # gone already: not an error


async def test_keepalive_and_revoke(etcd: Etcd) -> None:
    lease = await etcd.grant(5)
    assert await etcd.keepalive(lease) == 5
    await etcd.put("/t/revoke/k", b"v", lease=lease)
    await etcd.revoke(lease)
    assert await etcd.get("/t/revoke/k") is None
    assert await etcd.keepalive(lease) == 0


async def test_lease_keeper_keeps_the_lease_past_its_ttl(etcd: Etcd) -> None:
    keeper = LeaseKeeper(etcd, 2)
    async with trio.open_nursery() as nursery:
        lease = await nursery.start(keeper.run)
        assert keeper.lease_id == lease
        await etcd.put("/t/keeper/k", b"v", lease=lease)
        await trio.sleep(3.5)  # beyond the TTL: only the keeper keeps the key
        assert await etcd.get("/t/keeper/k") is not None
        assert not keeper.lost.is_set()
        await keeper.revoke()
    assert await etcd.get("/t/keeper/k") is None
    assert not keeper.lost.is_set()


async def test_lease_keeper_reports_a_lease_revoked_elsewhere(etcd: Etcd) -> None:
    keeper = LeaseKeeper(etcd, 3)
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            lease = await nursery.start(keeper.run)
            await etcd.revoke(lease)
            await keeper.lost.wait()
    with pytest.raises(RuntimeError, match="not granted"):
        _ = LeaseKeeper(etcd, 3).lease_id


async def test_lease_keeper_reports_loss_when_etcd_is_unreachable(fresh_etcd: EtcdServer) -> None:
    async with Etcd(fresh_etcd.url, timeout=1.0) as client:
        keeper = LeaseKeeper(client, 2)
        with trio.fail_after(8):
            async with trio.open_nursery() as nursery:
                await nursery.start(keeper.run)
                fresh_etcd.kill()
                await keeper.lost.wait()


async def test_watch_sees_puts_and_deletes_from_a_revision(etcd: Etcd) -> None:
    first = await etcd.put("/t/watch/a", b"1")
    await etcd.put("/t/watchx", b"not mine")
    seen: list[WatchEvent] = []
    with trio.fail_after(5):
        async with etcd.watch("/t/watch/", start_revision=first) as events:
            await etcd.delete("/t/watch/a")
            await etcd.put("/t/watch/b", b"2")
            async for batch in events:
                seen.extend(batch)
                if len(seen) >= 3:
                    break
    assert [(e.kind, e.kv.key, e.kv.value) for e in seen] == [
        ("PUT", "/t/watch/a", b"1"), ("DELETE", "/t/watch/a", b""), ("PUT", "/t/watch/b", b"2")]


async def test_watch_of_compacted_history_raises(fresh_etcd: EtcdServer) -> None:
    async with Etcd(fresh_etcd.url) as client:
        first = await client.put("/t/c/k", b"1")
        last = await client.put("/t/c/k", b"2")
        httpx.post(fresh_etcd.url + "/v3/kv/compaction", json={"revision": str(last)}).raise_for_status()
        with trio.fail_after(5), pytest.raises(EtcdCompacted, match="compacted") as info:
            async with client.watch("/t/c/", start_revision=first) as events:
                async for _ in events:
                    pass
        assert info.value.compact_revision == last


async def test_watch_is_cancellable_and_ends_unavailable_when_etcd_stops(fresh_etcd: EtcdServer) -> None:
    async with Etcd(fresh_etcd.url) as client:
        with trio.move_on_after(0.3) as scope:
            async with client.watch("/t/q/") as events:
                async for _ in events:
                    pass
        assert scope.cancelled_caught
        with trio.fail_after(10), pytest.raises(EtcdUnavailable, match="watch"):
            async with client.watch("/t/q/") as events:
                fresh_etcd.kill()
                async for _ in events:
                    pass


async def test_failover_to_the_next_endpoint_and_unavailable(etcd_server: EtcdServer) -> None:
    dead = _dead_url()
    async with Etcd([dead, etcd_server.url], timeout=2.0) as client:
        await client.put("/t/fo/k", b"v")
        kv = await client.get("/t/fo/k")
        assert kv is not None and kv.value == b"v"
        assert await client.health()
        async with client.watch("/t/fo/", start_revision=kv.mod_revision) as events:
            with trio.fail_after(5):
                batch = await events.__anext__()
        assert batch[0].kv.key == "/t/fo/k"
    async with Etcd(f"{dead},{_dead_url()}", timeout=1.0) as client:
        with pytest.raises(EtcdUnavailable, match=dead.replace(".", r"\.")):
            await client.get("/t/fo/k")
        assert not await client.health()


async def test_server_restart_keeps_data_and_url(tmp_path: Path) -> None:
    with EtcdServer(tmp_path / "etcd") as server:
        url = server.url
        async with Etcd(server.url, timeout=2.0) as client:
            await client.put("/t/restart", b"kept")
            server.kill()
            with pytest.raises(EtcdUnavailable, match=url.replace(".", r"\.")):
                await client.get("/t/restart")
            server.restart()
            assert server.url == url and server.running
            kv = await client.get("/t/restart")
            assert kv is not None and kv.value == b"kept"
        server.stop()
        assert not server.running
    assert (tmp_path / "etcd" / "member").is_dir()  # a given data dir is kept


def test_server_start_failure_shows_etcds_log(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    server = EtcdServer(blocker / "data")
    with pytest.raises(ConfigurationError, match=r"etcd data dir .*not-a-dir/data: cannot be created"):
        server.start()
    bad = tmp_path / "data"
    bad.mkdir()
    (bad / "member").write_text("a file where etcd wants a directory")
    with pytest.raises(ConfigurationError, match=r"etcd exited at start .*its log ends:\n.+"):
        EtcdServer(bad).start()


def test_find_etcd_names_the_way_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from flowyard.clusters import etcdserver

    monkeypatch.setattr(etcdserver.shutil, "which", lambda name: None)
    monkeypatch.setattr(etcdserver.os, "access", lambda path, mode: False)
    with pytest.raises(ConfigurationError, match=r"make etcd.*apt-get install etcd-server"):
        etcdserver.find_etcd()


async def test_values_of_several_megabytes(etcd: Etcd) -> None:
    big = bytes(range(256)) * (5 * 4096)  # 5 MiB
    await etcd.put("/t/big", big)
    kv = await etcd.get("/t/big")
    assert kv is not None and kv.value == big
    kvs, _ = await etcd.range("/t/big")
    assert kvs[0].value == big
    with pytest.raises(EtcdError, match="larger than max"):
        await etcd.put("/t/big", big * 3)


class _FlakyLeases:
    """Stands in for Etcd in LeaseKeeper: grants lease 7; keepalive answers ``ttl`` until
    ``fail_from`` (trio time), then raises EtcdUnavailable."""

    def __init__(self, fail_from: float) -> None:
        self.fail_from = fail_from
        self.keepalives: list[float] = []

    async def grant(self, ttl: int) -> int:
        return 7

    async def keepalive(self, lease_id: int) -> int:
        self.keepalives.append(trio.current_time())
        if trio.current_time() >= self.fail_from:
            raise EtcdUnavailable("etcd unavailable: test")
        return 6


async def test_lease_keeper_declares_loss_one_ttl_after_the_last_renewal(autojump_clock: object) -> None:
    fake = _FlakyLeases(fail_from=10.0)
    keeper = LeaseKeeper(fake, 6)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        assert await nursery.start(keeper.run) == 7
        await keeper.lost.wait()
        lost_at = trio.current_time()
    last_ok = max(t for t in fake.keepalives if t < 10.0)
    assert all(b - a == pytest.approx(2.0) for a, b in zip(fake.keepalives, fake.keepalives[1:], strict=False))
    assert last_ok + 6 <= lost_at <= last_ok + 6 + 2.0


def test_public_surface() -> None:
    from flowyard.clusters import election, etcd, etcdserver

    assert sorted(etcd.__all__) == ["Compare", "Etcd", "EtcdCompacted", "EtcdError", "EtcdUnavailable",
                                    "KeyValue", "LeaseKeeper", "Op", "TxnResult", "WatchEvent"]
    assert sorted(election.__all__) == ["Election", "Fence"]
    assert sorted(etcdserver.__all__) == ["EtcdServer", "find_etcd"]


async def test_a_write_moves_on_when_the_current_endpoint_dies(fresh_etcd: EtcdServer,
                                                                etcd_server: EtcdServer) -> None:
    async with Etcd([fresh_etcd.url, etcd_server.url], timeout=2.0) as client:
        await client.put("/t/move/k", b"on the first")  # the pooled connection now goes to the first
        fresh_etcd.kill()
        await client.put("/t/move/k", b"on the second")
        kv = await client.get("/t/move/k")
        assert kv is not None and kv.value == b"on the second"


async def test_a_request_cancelled_while_its_body_is_sent_leaves_nothing_to_the_gc() -> None:
    """The body is no async generator: cancelled mid-send, nothing is finalized by the GC
    (which would warn: a ResourceWarning, an error under this suite's filterwarnings)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    accepted: list[trio.SocketStream] = []

    async def accept_and_never_read() -> None:
        accepted.append(await listeners[0].accept())  # its receive buffer fills: the send blocks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with Etcd(f"http://127.0.0.1:{port}", timeout=30.0) as client, trio.open_nursery() as nursery:
            nursery.start_soon(accept_and_never_read)
            with trio.move_on_after(1.0) as scope:
                await client.put("/t/big", b"x" * 16_000_000)
            assert scope.cancelled_caught  # it was stuck sending
            nursery.cancel_scope.cancel()
        for stream in accepted:
            await stream.aclose()
        await listeners[0].aclose()
        gc.collect()
        await trio.sleep(0.05)  # let the run loop finalize whatever the GC found
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
